"""A participant's token on every route of the API, taken from the app's own OpenAPI list.

Organiser routes refuse it and change nothing; the few routes a participant may use are listed
below, each with the reason, and answer only for the token's own organisation. A route added to
the app is tried here without anyone having to remember it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.access.tokens import issue_token
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.settings import Settings
from tests.integration.test_access import ORGANISER, World, bearer, render_batch, sample_world
from tests.integration.test_checklist_upload import make_document
from tests.integration.test_deck_upload import post_deck
from tests.swedish import english_in

pytestmark = pytest.mark.integration

API = "/api/v1"
Route = tuple[str, str]

# What a participant may do, always inside its own organisation (another's answers 404).
PARTICIPANT_ROUTES: dict[Route, str] = {
    ("GET", "/api/v1/me"): "who the token stands for",
    ("GET", "/api/v1/documents"): "the listing, filtered to the token's organisation",
    ("GET", "/api/v1/organisations/{organisation_id}/documents"): "its own documents",
    ("GET", "/api/v1/documents/{document_id}/versions"): "earlier versions of its own documents",
    ("GET", "/api/v1/documents/{document_id}/file"): "downloading its own documents",
    (
        "POST",
        "/api/v1/organisations/{organisation_id}/checklist-uploads",
    ): "sending back its filled checklist",
    (
        "POST",
        "/api/v1/organisations/{organisation_id}/meetings/{meeting_id}/deck",
    ): "sending back its finished deck",
    ("GET", "/api/v1/organisations/{organisation_id}/uploads"): "what it has sent",
    ("GET", "/api/v1/uploads/{upload_id}/file"): "downloading what it has sent",
    (
        "GET",
        "/api/v1/assessment-rounds/{round_id}/scores/{organisation_id}/history",
    ): "earlier versions of its own scores",
}

# A participant's token is known but not enough here: 403 (token management), else 401.
REFUSALS = {401, 403, 404}


@dataclass
class Boundary:
    """The sample with one of everything a path can name, and a participant of Askersund."""

    world: World
    token: str
    ids: dict[str, int | str]
    other_ids: dict[str, int | str]

    def path(self, template: str, *, ids: dict[str, int | str] | None = None) -> str:
        """The route's path with every ``{name}`` replaced by a real id (KeyError if unknown)."""
        chosen = ids or self.ids
        return re.sub(r"\{(\w+)\}", lambda found: str(chosen[found.group(1)]), template)


def api_routes(world: World) -> list[Route]:
    """Every (method, path template) under /api/v1 that the app itself documents."""
    paths = world.client.get("/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith(API)
        for method in operations
    )


def row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in m.Base.metadata.sorted_tables
    }


def stored_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def one_id(
    session: Session, id_column: InstrumentedAttribute[int], *where: ColumnElement[bool]
) -> int:
    """The first row's id; the boundary needs one row of every kind a path can name."""
    found = session.scalars(select(id_column).where(*where).order_by(id_column)).first()
    assert found is not None, f"the sample has no {id_column.class_.__name__} row"
    return found


@pytest.fixture
def boundary(sample_imported: Settings) -> Iterator[Boundary]:
    with sample_world(sample_imported) as world:
        own, other = world.orgs["askersund"], world.orgs["hedemora"]
        documents = render_batch(
            world.runtime,
            meeting_id=world.meeting_id,
            kinds=[DocumentKind.DECK],
            organisation_ids=[own, other],
        )
        organiser = TestClient(world.client.app, headers=ORGANISER)
        uploads = {
            org: post_deck(
                organiser,
                world.orgs[org],
                world.meeting_id,
                make_document(organiser, DocumentKind.DECK, meeting="bm2", organisation=org),
                f"{org}.pptx",
            )
            for org in ("askersund", "hedemora")
        }
        assert [u.status_code for u in uploads.values()] == [201, 201]
        run = world.client.post(f"{API}/regenerations", json={"dry_run": True}, headers=ORGANISER)
        assert run.status_code == 202, run.text
        built = world.client.post(
            f"{API}/meetings/{world.meeting_id}/messages",
            json={"kinds": ["invitation"], "hold": True},
            headers=ORGANISER,
        )
        assert built.status_code == 200, built.text
        with unit_of_work(world.runtime.sessions) as session:
            issued = issue_token(
                session,
                organisation_id=own,
                valid_for=dt.timedelta(days=30),
                label="delegationen i Askersund",
                now=dt.datetime.now(dt.UTC),
            )
            doc = m.GeneratedDocument
            ids = {
                "network_id": one_id(session, m.Network.id),
                "group_id": one_id(session, m.Group.id),
                "organisation_id": own,
                "participant_id": one_id(
                    session, m.Participant.id, m.Participant.organisation_id == own
                ),
                "meeting_id": world.meeting_id,
                "feedback_id": one_id(session, m.MeetingFeedback.id),
                "item_id": one_id(session, m.OrganiserChecklistItem.id),
                "checklist_id": one_id(session, m.Checklist.id),
                "round_id": one_id(session, m.AssessmentRound.id),
                "initiative_id": one_id(
                    session,
                    m.ImprovementInitiative.id,
                    m.ImprovementInitiative.organisation_id == own,
                ),
                "batch_id": one_id(session, m.Batch.id),
                "token_id": issued.row.id,
                "document_id": one_id(
                    session, doc.id, doc.id.in_(documents), doc.organisation_id == own
                ),
                "upload_id": uploads["askersund"].json()["upload"]["id"],
                "run_id": run.json()["id"],
                "message_id": built.json()["added"][0],
                "kind": "invitation",
            }
            other_ids = {
                **ids,
                "organisation_id": other,
                "document_id": one_id(
                    session, doc.id, doc.id.in_(documents), doc.organisation_id == other
                ),
                "upload_id": uploads["hedemora"].json()["upload"]["id"],
            }
        yield Boundary(world=world, token=issued.token, ids=ids, other_ids=other_ids)


def test_every_organiser_route_refuses_a_participants_token_and_changes_nothing(
    boundary: Boundary,
) -> None:
    world = boundary.world
    organiser_routes = [r for r in api_routes(world) if r not in PARTICIPANT_ROUTES]
    with world.runtime.sessions() as session:
        rows_before = row_counts(session)
    files_before = stored_files(world.runtime.settings.file_store_dir)

    answers = {
        (method, template): world.client.request(
            method, boundary.path(template), json={}, headers=bearer(boundary.token)
        )
        for method, template in organiser_routes
    }

    assert len(organiser_routes) > 40
    accepted = {
        route: (response.status_code, response.text[:200])
        for route, response in answers.items()
        if response.status_code not in REFUSALS
    }
    assert accepted == {}
    # The token's holder reads why, in Swedish (no Accept-Language was sent).
    english = {
        route: response.json()["detail"]
        for route, response in answers.items()
        if english_in(response.json()["detail"]) is not None
    }
    assert english == {}
    with world.runtime.sessions() as session:
        assert row_counts(session) == rows_before
    assert stored_files(world.runtime.settings.file_store_dir) == files_before


def test_the_ids_tried_are_real_so_a_refusal_is_about_who_asks(boundary: Boundary) -> None:
    world = boundary.world
    readable = [(method, t) for method, t in api_routes(world) if method == "GET"]

    answers = {
        template: world.client.get(boundary.path(template), headers=ORGANISER).status_code
        for _, template in readable
    }

    assert set(answers.values()) == {200}, answers
    named = {
        name for _, template in api_routes(world) for name in re.findall(r"\{(\w+)\}", template)
    }
    assert named == set(boundary.ids)


def test_the_participant_routes_exist_and_answer_only_for_the_tokens_organisation(
    boundary: Boundary,
) -> None:
    world = boundary.world
    as_participant = bearer(boundary.token)
    routes = set(api_routes(world))
    with world.runtime.sessions() as session:
        rows_before = row_counts(session)

    own_reads = {
        template: world.client.get(boundary.path(template), headers=as_participant).status_code
        for method, template in PARTICIPANT_ROUTES
        if method == "GET"
    }
    elsewhere = {
        (method, template): world.client.request(
            method,
            boundary.path(template, ids=boundary.other_ids),
            json={},
            headers=as_participant,
        )
        for method, template in PARTICIPANT_ROUTES
        if "{" in template
    }

    assert set(PARTICIPANT_ROUTES) <= routes
    assert set(own_reads.values()) == {200}, own_reads
    assert {route: r.status_code for route, r in elsewhere.items()} == dict.fromkeys(elsewhere, 404)
    details = {route: r.json()["detail"] for route, r in elsewhere.items()}
    assert {route: d for route, d in details.items() if english_in(d) is not None} == {}
    with world.runtime.sessions() as session:
        assert row_counts(session) == rows_before
