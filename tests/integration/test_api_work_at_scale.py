"""What the busiest API calls cost as the network grows, and that the cheaper paths agree.

The submission status, the pre-flight check of a batch and a one-document batch send the
same number of SQL statements for a network of 10 organisations as for one of 60 (the
networks of ``test_facts_at_scale``); the checks of a whole meeting's agendas read the network
once, not once per organisation. Each cheaper path is compared with the plain one it
replaces: the status without participant entities, the pre-flight from the meeting's agenda
loaded once, and the submission status answered right after an upload.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from service.batches.control import create_batch
from service.batches.document_maker import DocumentMaker
from service.batches.preflight import CHECKED_KINDS, Gap, preflight
from service.batches.template_library import TemplateLibrary
from service.clock import utcnow
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.submission_status import load_submission_status
from service.documents.catalogue import spec_for
from service.documents.placeholders import missing_fact, placeholders_in
from service.domain.kinds import DocumentKind
from service.file_safety.file_inspection import limits_from_settings
from service.settings import PROJECT_ROOT, Settings
from service.storage.file_store import LocalFileStore
from service.uploads.checklist_upload import upload_checklist
from service.uploads.stored_uploads import Uploader
from tests.integration.test_checklist_upload import (
    API,
    fill,
    id_of,
    make_document,
    participant,
    post_checklist,
)
from tests.integration.test_deck_upload import a_deck, post_deck
from tests.integration.test_facts_at_scale import Network

pytestmark = pytest.mark.integration

STOCKHOLM = "Europe/Stockholm"


def _counts(networks: dict[int, Network], read: object) -> dict[int, int]:
    return {
        size: network.statements(lambda session, n=network: read(session, n))  # type: ignore[operator]
        for size, network in networks.items()
    }


# -- statements: constant whatever the network's size ----------------------------------------


def test_the_submission_status_takes_as_many_statements_at_60_organisations_as_at_10(
    networks: dict[int, Network],
) -> None:
    counts = _counts(
        networks,
        lambda session, n: (
            load_submission_status(
                session, n.meeting, timezone=STOCKHOLM, participants=False
            ).summary
        ),
    )

    assert counts[10] == counts[60], counts


def test_a_one_document_preflight_takes_as_many_statements_at_60_organisations_as_at_10(
    networks: dict[int, Network],
) -> None:
    counts = _counts(
        networks,
        lambda session, n: preflight(
            session,
            meeting_id=n.meeting,
            documents=[(DocumentKind.ORGANISATION_AGENDA, n.askersund)],
        ),
    )

    assert counts[10] == counts[60], counts


def test_a_whole_meetings_preflight_takes_as_many_statements_at_60_organisations_as_at_10(
    networks: dict[int, Network],
) -> None:
    # Every organisation's agenda (no feedback letter is released in the sample): before, one
    # whole-network read per organisation (10 against 60 times the agenda's statements).
    counts = _counts(networks, lambda session, n: preflight(session, meeting_id=n.meeting))

    assert counts[10] == counts[60], counts


def test_a_one_document_batch_takes_as_many_statements_at_60_organisations_as_at_10(
    networks: dict[int, Network],
) -> None:
    def one_document(session: Session, network: Network) -> object:
        batch = create_batch(
            session,
            meeting_id=network.meeting,
            kinds=[DocumentKind.ORGANISATION_AGENDA],
            organisation_ids=[network.askersund],
        )
        session.rollback()  # the count is what matters; the networks stay as they were
        return batch

    counts = _counts(networks, one_document)

    assert counts[10] == counts[60], counts


# -- the cheaper paths give what the plain ones gave -----------------------------------------


def _gaps_one_by_one(session: Session, meeting_id: int) -> list[Gap]:
    """The pre-flight as it was: every document's facts loaded on their own."""
    meeting = session.get(m.Meeting, meeting_id)
    assert meeting is not None
    names = dict(
        session.execute(
            select(m.Organisation.id, m.Organisation.name)
            .where(m.Organisation.network_id == meeting.network_id)
            .order_by(m.Organisation.id)
        ).all()
    )
    gaps = []
    for kind in CHECKED_KINDS:
        if kind == DocumentKind.FEEDBACK_LETTER:
            continue  # none released in the sample: the pre-flight skips drafts
        for org in names if spec_for(kind).per_organisation else [None]:
            facts = LOADERS[kind](session, meeting_id=meeting_id, organisation_id=org)
            gaps += [
                Gap(kind, org, names.get(org) if org else None, p, missing_fact(p))
                for p in placeholders_in(spec_for(kind).build_context(facts))
            ]
    return gaps


def test_the_preflight_finds_the_gaps_each_document_loaded_on_its_own_shows(
    networks: dict[int, Network],
) -> None:
    network = networks[10]
    with network.sessions() as session:
        # Askersund without participants: a gap in every agenda (its delegation) and in its
        # own agenda's highlight.
        session.execute(
            update(m.Organisation)
            .where(m.Organisation.id == network.askersund)
            .values(contact_participant_id=None)
        )
        session.execute(
            m.Participant.__table__.delete().where(
                m.Participant.organisation_id == network.askersund
            )
        )
        expected = _gaps_one_by_one(session, network.meeting)
        found = preflight(session, meeting_id=network.meeting)
        session.rollback()

    assert any(gap.organisation_id == network.askersund for gap in expected), expected
    assert found == expected


def test_the_status_without_participant_entities_is_the_status_with_them(
    networks: dict[int, Network],
) -> None:
    network = networks[60]
    with network.sessions() as session:
        # One organisation without participants: its delegation lacks every role.
        session.execute(
            m.Participant.__table__.delete().where(
                m.Participant.organisation_id == network.askersund
            )
        )
        full = load_submission_status(session, network.meeting, timezone=STOCKHOLM)
        session.expunge_all()
        lean = load_submission_status(
            session, network.meeting, timezone=STOCKHOLM, participants=False
        )
        session.rollback()

    def plain(status: object) -> list[tuple[object, ...]]:
        rows = status.organisations  # type: ignore[attr-defined]
        return [(r.organisation_id, r.ref, r.name, r.delegation, r.checklist, r.deck) for r in rows]

    assert plain(lean) == plain(full)
    assert dataclasses.asdict(lean.summary) == dataclasses.asdict(full.summary)
    askersund = next(r for r in lean.organisations if r.organisation_id == network.askersund)
    assert not askersund.delegation.complete and askersund.delegation.missing_roles


def test_the_status_shows_an_upload_at_once(imported_client: TestClient) -> None:
    """The status is read fresh: a checklist and a deck just sent are in the next answer."""
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    delegation = participant(imported_client, "askersund")
    checklist = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )

    def row() -> dict[str, object]:
        answer = imported_client.get(f"{API}/meetings/{bm2}/submission-status")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        found: dict[str, object] = next(
            o for o in answer.json()["organisations"] if o["organisation_id"] == askersund
        )
        return found

    before = row()
    first = post_checklist(delegation, askersund, fill(checklist, scores={"Q01": 2}))
    after_first = row()
    second = post_checklist(delegation, askersund, fill(checklist, scores={"Q01": 3}))
    after_second = row()
    deck = post_deck(delegation, askersund, bm2, a_deck(imported_client), "askersund.pptx")
    after_deck = row()

    assert (first.status_code, second.status_code, deck.status_code) == (201, 201, 201)
    assert before["checklist"]["via"] == "api"  # type: ignore[index]
    assert after_first["checklist"]["upload_id"] == first.json()["upload"]["id"]  # type: ignore[index]
    assert after_second["checklist"]["upload_id"] == second.json()["upload"]["id"]  # type: ignore[index]
    assert before["deck"] is None
    assert after_deck["deck"]["upload_id"] == deck.json()["upload"]["id"]  # type: ignore[index]
    assert after_deck["deck"]["versions"] == 1  # type: ignore[index]


def test_the_status_keeps_its_documented_schema(imported_client: TestClient) -> None:
    schema = imported_client.get("/openapi.json").json()
    answer = schema["paths"]["/api/v1/meetings/{meeting_id}/submission-status"]["get"]

    assert answer["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmissionStatusOut"
    }


def test_a_checklist_upload_reads_the_checklist_and_writes_its_scores_in_few_statements(
    networks: dict[int, Network], tmp_path: Path
) -> None:
    """The questions in one query (not one per area), the scores in one INSERT (not per row)."""
    network = networks[10]
    with network.sessions() as session:
        bm2 = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        areas = session.scalar(select(func.count()).select_from(m.ChecklistArea))
    maker = DocumentMaker(network.sessions, TemplateLibrary(PROJECT_ROOT / "doc_templates"))
    data = maker.make(DocumentKind.CHECKLIST, meeting_id=bm2, organisation_id=network.askersund)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(network.engine, "before_cursor_execute", seen)
    try:
        with network.sessions() as session:
            result = upload_checklist(
                session,
                LocalFileStore(tmp_path / "files"),
                organisation_id=network.askersund,
                data=data.data,
                file_name="checklista.xlsx",
                round_choice=None,
                uploader=Uploader(label="delegationen"),
                limits=limits_from_settings(Settings(database_url="sqlite://", api_key="k" * 40)),
                now=utcnow(),
            )
            stored = dict(
                session.execute(
                    select(m.ChecklistQuestion.ref, m.Score.value)
                    .join(m.Score, m.Score.question_id == m.ChecklistQuestion.id)
                    .where(
                        m.Score.organisation_id == network.askersund,
                        m.Score.round_id == result.assessment_round.id,
                    )
                ).all()
            )
            session.rollback()
    finally:
        event.remove(network.engine, "before_cursor_execute", seen)

    question_reads = [s for s in statements if s.startswith("SELECT checklist_question.id")]
    score_inserts = [s for s in statements if s.startswith("INSERT INTO score ")]
    assert areas is not None and areas > 2
    assert len(question_reads) < areas, question_reads
    assert len(score_inserts) == 1, score_inserts
    assert stored == result.scores.scores and len(stored) == result.read
