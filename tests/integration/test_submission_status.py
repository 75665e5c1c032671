"""The organiser's view of what was sent for a meeting: API, organiser checklist and CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text

from service.api.routes.uploads import SubmissionStatusOut
from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.cli.local_cluster import settings_environment
from service.database import models as m
from service.database.session import make_engine, make_session_factory, unit_of_work
from service.database.submission_status import load_submission_status
from service.domain.kinds import DocumentKind, ParticipantRole
from service.file_safety.file_inspection import limits_from_settings
from service.settings import PROJECT_ROOT, Settings
from service.uploads.deck_upload import upload_deck
from service.uploads.stored_uploads import Uploader
from tests.conftest import CHILD_TIMEOUT
from tests.integration.test_checklist_upload import (
    API,
    fill,
    id_of,
    make_document,
    participant,
    post_checklist,
    runtime_of,
    slide_shape,
    table_rows,
)

pytestmark = pytest.mark.integration

STOCKHOLM = "Europe/Stockholm"
ON_TIME = dt.datetime(2019, 9, 18, 14, 30, tzinfo=dt.UTC)
LATE = dt.datetime(2019, 9, 20, 7, 15, tzinfo=dt.UTC)


def deck_at(client: TestClient, organisation: str, moment: dt.datetime) -> None:
    """A deck sent for bm2 at a given time (the use case takes its clock as an argument)."""
    runtime = runtime_of(client)
    with unit_of_work(runtime.sessions) as session:
        upload_deck(
            session,
            runtime.files,
            organisation_id=id_of(client, m.Organisation, organisation),
            meeting_id=id_of(client, m.Meeting, "bm2"),
            data=make_document(client, DocumentKind.DECK, meeting="bm2", organisation=organisation),
            file_name=f"{organisation}.pptx",
            uploader=Uploader(label=f"delegationen i {organisation}"),
            limits=limits_from_settings(runtime.settings),
            now=moment,
            timezone=STOCKHOLM,
        )


def without(client: TestClient, organisation: str, *, roles: list[ParticipantRole]) -> None:
    with unit_of_work(runtime_of(client).sessions) as session:
        session.execute(
            delete(m.Participant).where(
                m.Participant.organisation_id == id_of(client, m.Organisation, organisation),
                m.Participant.role.in_(roles),
            )
        )


def without_scores(client: TestClient, organisation: str) -> None:
    with unit_of_work(runtime_of(client).sessions) as session:
        session.execute(
            delete(m.Score).where(
                m.Score.organisation_id == id_of(client, m.Organisation, organisation),
                m.Score.round_id == id_of(client, m.AssessmentRound, "sa_bm2"),
            )
        )


@pytest.fixture
def sent_in(imported_client: TestClient) -> TestClient:
    """bm2 after: Askersund's checklist uploaded and its deck on time, Hedemora's deck late,
    Fagersta without scores, Kalmar without politician and strategist."""
    askersund = id_of(imported_client, m.Organisation, "askersund")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    response = post_checklist(
        participant(imported_client, "askersund"), askersund, fill(generated, scores={"Q01": 2})
    )
    assert response.status_code == 201, response.text
    deck_at(imported_client, "askersund", ON_TIME)
    deck_at(imported_client, "hedemora", LATE)
    without_scores(imported_client, "fagersta")
    without(imported_client, "kalmar", roles=[ParticipantRole.POLITIKER, ParticipantRole.STRATEG])
    return imported_client


def test_the_status_lists_every_organisation_of_the_network(sent_in: TestClient) -> None:
    bm2 = id_of(sent_in, m.Meeting, "bm2")

    response = sent_in.get(f"{API}/meetings/{bm2}/submission-status")

    assert response.status_code == 200, response.text
    status = response.json()
    rows = {o["ref"]: o for o in status["organisations"]}
    assert (status["meeting_ref"], status["upload_deadline"]) == ("bm2", "2019-09-19")
    assert status["round"]["ref"] == "sa_bm2"
    assert len(rows) == 8
    askersund = rows["askersund"]
    assert askersund["delegation"] == {"complete": True, "missing_roles": []}
    assert askersund["checklist"]["via"] == "upload" and askersund["checklist"]["at"]
    assert askersund["deck"]["on_time"] is True
    assert askersund["deck"]["by"] == "delegationen i askersund"
    assert askersund["deck"]["file_name"] == "askersund.pptx"
    assert dt.datetime.fromisoformat(askersund["deck"]["at"]) == ON_TIME
    hedemora = rows["hedemora"]
    assert (hedemora["deck"]["on_time"], hedemora["deck"]["late"]) == (False, True)
    assert hedemora["checklist"] == {"submitted": True, "via": "api", "at": None, "upload_id": None}
    assert rows["fagersta"]["checklist"]["submitted"] is False
    assert rows["fagersta"]["deck"] is None
    assert rows["kalmar"]["delegation"] == {
        "complete": False,
        "missing_roles": ["politiker", "strateg"],
    }
    assert status["summary"] == {
        "organisations": 8,
        "delegations_complete": 7,
        "checklists_submitted": 7,
        "decks_submitted": 2,
        "decks_on_time": 1,
        "decks_late": 1,
    }


def test_the_status_is_kept_until_a_committed_change_then_answered_afresh(
    sent_in: TestClient,
) -> None:
    """Kept by data revision: asked again unchanged, it is not rebuilt; any committed write
    to what it shows (the app's, a use case's, raw SQL from another connection) is seen."""
    bm2 = id_of(sent_in, m.Meeting, "bm2")
    cache = sent_in.app.state.answer_cache  # type: ignore[attr-defined]

    def rows() -> dict[str, dict[str, Any]]:
        response = sent_in.get(f"{API}/meetings/{bm2}/submission-status")
        assert response.status_code == 200, response.text
        return {o["ref"]: o for o in response.json()["organisations"]}

    first = rows()
    hits = cache.hits
    assert rows() == first
    assert cache.hits == hits + 1

    assert first["hedemora"]["checklist"]["submitted"] is True
    without_scores(sent_in, "hedemora")
    assert rows()["hedemora"]["checklist"]["submitted"] is False
    deck_at(sent_in, "fagersta", ON_TIME)
    assert rows()["fagersta"]["deck"]["on_time"] is True
    engine = make_engine(runtime_of(sent_in).settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE organisation SET name = 'Kalmar län' WHERE ref = 'kalmar'")
            )
    finally:
        engine.dispose()
    assert rows()["kalmar"]["name"] == "Kalmar län"


@pytest.mark.parametrize("meeting", ["bm1", "bm2", "bm3"])
def test_the_status_json_built_from_dicts_is_the_models_byte_for_byte(
    sent_in: TestClient, meeting: str
) -> None:
    """Every variant the fixture holds (an uploaded and an API checklist, a deck on time and
    one late, no deck, missing roles, a meeting with and without a round)."""
    runtime = runtime_of(sent_in)
    with runtime.sessions() as session:
        found = load_submission_status(
            session, id_of(sent_in, m.Meeting, meeting), timezone=STOCKHOLM, participants=False
        )
        assert SubmissionStatusOut.json_of(found) == (
            SubmissionStatusOut.of(found).model_dump_json().encode()
        )


def test_the_status_is_for_the_organiser_only(sent_in: TestClient) -> None:
    bm2 = id_of(sent_in, m.Meeting, "bm2")

    as_participant = participant(sent_in, "askersund").get(
        f"{API}/meetings/{bm2}/submission-status"
    )
    unknown = sent_in.get(f"{API}/meetings/999999/submission-status")

    assert as_participant.status_code == 401
    assert unknown.status_code == 404


def test_a_meeting_without_a_round_shows_no_checklists(sent_in: TestClient) -> None:
    bm3 = id_of(sent_in, m.Meeting, "bm3")

    status = sent_in.get(f"{API}/meetings/{bm3}/submission-status").json()

    assert status["round"] is None
    assert status["summary"]["checklists_submitted"] == 0
    assert status["summary"]["decks_submitted"] == 0  # the decks were for bm2


def test_the_organiser_checklist_shows_who_uploaded_a_presentation(sent_in: TestClient) -> None:
    pptx = make_document(
        sent_in, DocumentKind.ORGANISER_CHECKLIST, meeting="bm2", organisation=None
    )

    rows = {r[0]: r for r in table_rows(slide_shape(pptx, "Status"))}

    assert rows["Askersunds kommun"][3] == "i tid (18 september 2019)"
    assert rows["Hedemora kommun"][3] == "sent (20 september 2019)"
    assert rows["Fagersta kommun"][3] == "saknas"
    assert rows["Fagersta kommun"][2] == "saknas"
    assert rows["Askersunds kommun"][2] == "inlämnad"


# -- the command line ---------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **settings_environment(settings)}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
        cwd=PROJECT_ROOT,
    )


@pytest.fixture
def sample_settings(sample_imported: Settings) -> Settings:
    return sample_imported


def generated(settings: Settings, kind: DocumentKind, organisation: str) -> bytes:
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisation_id = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == organisation)
        ).one()
    maker = DocumentMaker(sessions, TemplateLibrary(PROJECT_ROOT / "doc_templates"))
    data = maker.make(kind, meeting_id=meeting_id, organisation_id=organisation_id).data
    engine.dispose()
    return data


def uploads(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(m.Upload))
    engine.dispose()
    return int(count or 0)


def test_upload_and_status_from_the_command_line(sample_settings: Settings, tmp_path: Path) -> None:
    checklist = tmp_path / "Askersund BM2.xlsx"
    checklist.write_bytes(
        fill(generated(sample_settings, DocumentKind.CHECKLIST, "askersund"), scores={"Q05": 3})
    )
    bad = tmp_path / "fel.xlsx"
    bad.write_bytes(
        fill(
            generated(sample_settings, DocumentKind.CHECKLIST, "askersund"),
            scores={"Q04": 4, "Q06": "tre"},
        )
    )
    deck = tmp_path / "Askersund BM2.pptx"
    deck.write_bytes(generated(sample_settings, DocumentKind.DECK, "askersund"))

    refused = run_cli(
        sample_settings, "upload", "checklist", str(bad), "--organisation", "askersund"
    )
    stored_after_refusal = uploads(sample_settings)
    accepted = run_cli(
        sample_settings, "upload", "checklist", str(checklist), "--organisation", "askersund"
    )
    deck_for = ("upload", "deck", str(deck), "--meeting", "bm2", "--organisation")
    sent = run_cli(sample_settings, *deck_for, "askersund")
    status = run_cli(sample_settings, "status", "bm2")
    unknown = run_cli(sample_settings, *deck_for, "nowhere")

    assert refused.returncode == 2, refused.stderr
    assert "nothing was stored" in refused.stderr
    assert "BM 2!D12:" in refused.stderr and "BM 2!D14:" in refused.stderr
    assert stored_after_refusal == 0
    assert accepted.returncode == 0, accepted.stderr
    assert "24 scores read for BM 2 (24 assessed, 0 not assessed)" in accepted.stdout
    assert "movement since BM 1: 37 → 42 (+5)" in accepted.stdout
    assert sent.returncode == 0, sent.stderr
    assert "late (deadline 2019-09-19)" in sent.stdout
    assert status.returncode == 0, status.stderr
    assert "Askersunds kommun" in status.stdout and "LATE" in status.stdout
    assert "8 organisations: 8 complete delegations, 8 checklists, 1 decks" in status.stdout
    assert unknown.returncode == 2
    assert "--organisation: no organisation with id or ref 'nowhere'" in unknown.stderr
