"""Versions of a document slot on a real database: each batch with new data adds one.

Documents are rendered in-process through the worker's RenderJob; between batches the data
changes, so each batch renders a new version with bytes of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, update

from service.batches.control import create_batch
from service.change_detection.staleness import mark_stale
from service.database import models as m
from service.database.session import unit_of_work
from service.database.versions import (
    file_source,
    latest_documents,
    latest_numbered,
    numbered,
    slot_versions,
)
from service.domain.kinds import DocumentKind, DocumentStatus
from service.settings import Settings
from tests.integration.test_access import (
    ORGANISER,
    World,
    bearer,
    deck_texts,
    render_batch,
    sample_world,
)

pytestmark = pytest.mark.integration

OLD_NAME = "Askersunds kommun"
NEW_NAME = "Askersunds kommun (ny nämnd)"


def rename(world: World, ref: str, name: str) -> None:
    with unit_of_work(world.runtime.sessions) as session:
        session.execute(
            update(m.Organisation).where(m.Organisation.id == world.orgs[ref]).values(name=name)
        )


def deck_of(world: World, ref: str, batch_ids: list[int]) -> int:
    with world.runtime.sessions() as session:
        return session.scalars(
            select(m.GeneratedDocument.id).where(
                m.GeneratedDocument.id.in_(batch_ids),
                m.GeneratedDocument.kind == DocumentKind.DECK,
                m.GeneratedDocument.organisation_id == world.orgs[ref],
            )
        ).one()


def two_batches(world: World, *, kinds: list[DocumentKind]) -> tuple[list[int], list[int]]:
    """A batch, new names for both organisations, another batch: two versions of each slot.

    Both names change so that no slot is left unchanged: a row made from unchanged data may
    reuse the earlier file instead of becoming a version.
    """
    orgs = [world.orgs["askersund"], world.orgs["hedemora"]]
    first = render_batch(
        world.runtime, meeting_id=world.meeting_id, kinds=kinds, organisation_ids=orgs
    )
    rename(world, "askersund", NEW_NAME)
    rename(world, "hedemora", "Hedemora kommun (ny nämnd)")
    second = render_batch(
        world.runtime, meeting_id=world.meeting_id, kinds=kinds, organisation_ids=orgs
    )
    return first, second


def reuse_of(world: World, source_id: int) -> int:
    """A later row of the same slot that points at the source's file but has no key of its own.

    The worker copies the key when it reuses a file; a row without one must still serve it.
    """
    with unit_of_work(world.runtime.sessions) as session:
        source = session.get_one(m.GeneratedDocument, source_id)
        batch = create_batch(
            session,
            meeting_id=source.meeting_id,
            kinds=[source.kind],
            organisation_ids=[source.organisation_id] if source.organisation_id else None,
        )
        (row,) = [d for d in batch.documents if d.format == source.format]
        row.status = DocumentStatus.DONE
        row.reused_from_id = source.id
        row.finished_at = dt.datetime.now(dt.UTC)
        for other in batch.documents:
            if other is not row:
                session.delete(other)
        session.flush()
        return row.id


@pytest.fixture
def statements(world: World) -> Iterator[list[str]]:
    """Every SQL statement the engine runs while the test looks."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(world.runtime.engine, "before_cursor_execute", record)
    yield seen
    event.remove(world.runtime.engine, "before_cursor_execute", record)


@pytest.fixture
def world(sample_imported: Settings) -> Iterator[World]:
    """The sample programme, nothing rendered yet."""
    with sample_world(sample_imported) as built:
        yield built


def test_two_batches_with_changed_data_make_two_versions_and_both_stay_downloadable(
    world: World,
) -> None:
    first, second = two_batches(world, kinds=[DocumentKind.DECK])
    old_deck, new_deck = deck_of(world, "askersund", first), deck_of(world, "askersund", second)
    token = bearer(world.issue("askersund")["token"])

    listing = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/documents", headers=token
    ).json()
    versions = world.client.get(f"/api/v1/documents/{old_deck}/versions", headers=token).json()

    (latest,) = listing
    assert latest["id"] == new_deck and latest["version"] == 2
    assert [(v["version"], v["id"]) for v in versions["versions"]] == [(2, new_deck), (1, old_deck)]
    assert versions["kind"] == "deck" and versions["organisation_id"] == world.orgs["askersund"]
    old = world.client.get(versions["versions"][1]["download_url"], headers=token)
    new = world.client.get(latest["download_url"], headers=token)
    assert old.status_code == new.status_code == 200
    assert old.content != new.content
    assert hashlib.sha256(old.content).hexdigest() == versions["versions"][1]["sha256"]
    assert hashlib.sha256(new.content).hexdigest() == latest["sha256"]
    assert OLD_NAME in deck_texts(old.content) and NEW_NAME not in deck_texts(old.content)
    assert NEW_NAME in deck_texts(new.content)
    assert f"{NEW_NAME}.pptx" in latest["file_name"]


def test_another_organisations_versions_stay_hidden(world: World) -> None:
    first, second = two_batches(world, kinds=[DocumentKind.DECK])
    token = bearer(world.issue("askersund")["token"])

    for doc in (deck_of(world, "hedemora", first), deck_of(world, "hedemora", second)):
        assert (
            world.client.get(f"/api/v1/documents/{doc}/versions", headers=token).status_code == 404
        )
        assert world.client.get(f"/api/v1/documents/{doc}/file", headers=token).status_code == 404
    organiser_view = world.client.get(
        f"/api/v1/documents/{deck_of(world, 'hedemora', first)}/versions", headers=ORGANISER
    ).json()
    assert [v["version"] for v in organiser_view["versions"]] == [2, 1]


def test_a_reused_row_is_not_a_new_version_and_serves_the_file_it_kept(world: World) -> None:
    first, second = two_batches(world, kinds=[DocumentKind.DECK])
    v2 = deck_of(world, "askersund", second)
    # Nothing changed since the second batch: the worker keeps its file instead of rendering.
    third = render_batch(
        world.runtime,
        meeting_id=world.meeting_id,
        kinds=[DocumentKind.DECK],
        organisation_ids=[world.orgs["askersund"]],
    )
    kept = deck_of(world, "askersund", third)
    token = bearer(world.issue("askersund")["token"])

    listing = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/documents", headers=token
    ).json()
    versions = world.client.get(f"/api/v1/documents/{kept}/versions", headers=token).json()

    (latest,) = listing
    assert latest["id"] == kept and latest["version"] == 2 and latest["reused_from_id"] == v2
    assert [v["id"] for v in versions["versions"]] == [v2, deck_of(world, "askersund", first)]
    reused = world.client.get(f"/api/v1/documents/{kept}/file", headers=token)
    original = world.client.get(f"/api/v1/documents/{v2}/file", headers=token)
    assert reused.status_code == 200 and reused.content == original.content


def test_a_reuse_without_its_own_file_key_serves_the_file_it_reused(world: World) -> None:
    (deck,) = [
        d
        for d in render_batch(
            world.runtime,
            meeting_id=world.meeting_id,
            kinds=[DocumentKind.DECK],
            organisation_ids=[world.orgs["askersund"]],
        )
    ]
    first_reuse = reuse_of(world, deck)
    reuse_of_reuse = reuse_of(world, first_reuse)

    response = world.client.get(f"/api/v1/documents/{reuse_of_reuse}/file", headers=ORGANISER)

    assert response.status_code == 200
    original = world.client.get(f"/api/v1/documents/{deck}/file", headers=ORGANISER)
    assert response.content == original.content
    with world.runtime.sessions() as session:
        source = file_source(session, session.get_one(m.GeneratedDocument, reuse_of_reuse))
        assert source is not None and source.id == deck
        assert [n.version for n in latest_numbered(session)] == [1]


def test_a_newer_row_not_yet_done_does_not_replace_the_latest_version(world: World) -> None:
    first = render_batch(
        world.runtime,
        meeting_id=world.meeting_id,
        kinds=[DocumentKind.DECK],
        organisation_ids=[world.orgs["askersund"]],
    )
    with unit_of_work(world.runtime.sessions) as session:
        pending = create_batch(
            session,
            meeting_id=world.meeting_id,
            kinds=[DocumentKind.DECK],
            organisation_ids=[world.orgs["askersund"]],
        )
        failed = create_batch(
            session,
            meeting_id=world.meeting_id,
            kinds=[DocumentKind.DECK],
            organisation_ids=[world.orgs["askersund"]],
        )
        failed.documents[0].status = DocumentStatus.FAILED
        pending_id = pending.documents[0].id

    listing = world.client.get("/api/v1/documents", headers=ORGANISER).json()

    assert [(d["id"], d["version"]) for d in listing] == [(first[0], 1)]
    not_yet = world.client.get(f"/api/v1/documents/{pending_id}/file", headers=ORGANISER)
    assert not_yet.status_code == 404 and "has no file" in not_yet.json()["detail"]
    versions = world.client.get(f"/api/v1/documents/{pending_id}/versions", headers=ORGANISER)
    assert [v["id"] for v in versions.json()["versions"]] == first


def test_a_deck_whose_scores_changed_is_listed_as_stale_and_the_others_are_not(
    world: World,
) -> None:
    askersund, hedemora = world.orgs["askersund"], world.orgs["hedemora"]
    render_batch(
        world.runtime,
        meeting_id=world.meeting_id,
        kinds=[DocumentKind.DECK],
        organisation_ids=[askersund, hedemora],
    )
    changed_at = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    with unit_of_work(world.runtime.sessions) as session:
        # Askersund lowers Q14 in Benchmarking 2's round, as its next upload would.
        score = session.scalars(
            select(m.Score)
            .join(m.ChecklistQuestion, m.ChecklistQuestion.id == m.Score.question_id)
            .join(m.AssessmentRound, m.AssessmentRound.id == m.Score.round_id)
            .where(
                m.Score.organisation_id == askersund,
                m.ChecklistQuestion.ref == "Q14",
                m.AssessmentRound.meeting_id == world.meeting_id,
            )
        ).one()
        assert score.value == 3
        score.value = 1
        marked = mark_stale(session, organisation_id=askersund, now=changed_at).marked

    listing = world.client.get("/api/v1/documents", headers=ORGANISER).json()

    assert marked == 1
    by_organisation = {item["organisation_id"]: item for item in listing}
    assert by_organisation.keys() == {askersund, hedemora}
    stale = by_organisation[askersund]
    assert stale["stale"] is True
    assert dt.datetime.fromisoformat(stale["stale_since"]) == changed_at
    assert (by_organisation[hedemora]["stale"], by_organisation[hedemora]["stale_since"]) == (
        False,
        None,
    )
    versions = world.client.get(f"/api/v1/documents/{stale['id']}/versions", headers=ORGANISER)
    assert [v["stale"] for v in versions.json()["versions"]] == [True]


def test_the_latest_of_every_slot_is_found_in_one_query(
    world: World, statements: list[str]
) -> None:
    kinds = [DocumentKind.DECK, DocumentKind.ORGANISATION_AGENDA, DocumentKind.AGENDA]
    _, second = two_batches(world, kinds=kinds)
    statements.clear()

    with world.runtime.sessions() as session:
        latest = latest_numbered(session)
        meetings = {n.document.meeting.ref for n in latest}
        queries = len(statements)
        askersund = latest_documents(session, organisation_id=world.orgs["askersund"])
        decks = latest_documents(session, meeting_id=world.meeting_id, kind=DocumentKind.DECK)

    assert queries == 1
    assert meetings == {"bm2"}
    assert sorted(n.document.id for n in latest) == sorted(second)
    assert {n.version for n in latest} == {2}
    assert latest[0].document.kind == DocumentKind.AGENDA  # meeting-level first
    assert {d.kind for d in askersund} == {DocumentKind.DECK, DocumentKind.ORGANISATION_AGENDA}
    assert {d.organisation_id for d in decks} == {world.orgs["askersund"], world.orgs["hedemora"]}


def test_a_meeting_level_slot_has_versions_too(world: World) -> None:
    first, second = two_batches(world, kinds=[DocumentKind.AGENDA])

    with world.runtime.sessions() as session:
        versions = numbered(slot_versions(session, first[0]))

    assert [(v.version, v.document.id) for v in versions] == [(2, second[0]), (1, first[0])]
    assert all(v.document.organisation_id is None for v in versions)
