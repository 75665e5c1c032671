"""The organiser's checklist facts, loaded from the sample programme (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from pptx import Presentation
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.facts.organiser_checklist import load_organiser_checklist_facts
from service.database.session import make_engine, make_session_factory, unit_of_work
from service.documents.organiser_checklist import build_organiser_checklist_context
from service.domain.kinds import AttendanceStatus, ParticipantRole
from service.engines.pptx_engine import PptxTemplate
from service.errors import NotFoundError, RenderError
from service.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def sessions(sample_imported: Settings) -> Iterator[sessionmaker[Session]]:
    """A database holding the sample programme."""
    engine = make_engine(sample_imported.database_url)
    factory = make_session_factory(engine)
    yield factory
    engine.dispose()


def meeting_id(sessions: sessionmaker[Session], ref: str) -> int:
    with sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def test_benchmarking_2_uses_its_own_checklist_and_knows_its_host_and_round(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        facts = load_organiser_checklist_facts(
            session, meeting_id=meeting_id(sessions, "bm2"), organisation_id=None
        )

    assert facts.meeting.title == "Benchmarking 2"
    assert facts.meeting.upload_deadline == dt.date(2019, 9, 19)
    assert facts.host_name == "Södertälje kommun"
    assert facts.mentor_names == ("Hedemora kommun", "Norrtälje kommun")
    assert facts.round_label == "BM 2"
    assert [i.phase for i in facts.items].count("before") == 9
    assert facts.items[0].text == "Datum och lokal bokade (värdorganisationen bokar)"
    assert facts.items[0].done is True
    assert facts.items[-1].done is None
    assert len(facts.organisations) == 8
    assert all(o.self_assessment_submitted for o in facts.organisations)
    assert facts.next_meeting is not None and facts.next_meeting.title == "Benchmarking 3"


def test_benchmarking_2_context_shows_ticks_and_computed_deadlines(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        facts = load_organiser_checklist_facts(
            session, meeting_id=meeting_id(sessions, "bm2"), organisation_id=None
        )

    context = build_organiser_checklist_context(facts)

    invitation = context["before"][-1]
    assert invitation["text"].startswith("Inbjudan med agenda")
    assert (invitation["done"], invitation["due"]) == ("☑", "12 september 2019")
    assert context["before"][3]["done"] == "☐"  # "Möjlighet att delta digitalt": not done
    assert [r["due"] for r in context["after"]] == ["3 oktober 2019", "10 oktober 2019"]
    askersund = next(o for o in context["organisations"] if o["name"] == "Askersunds kommun")
    assert askersund["delegation"] == "komplett"
    assert askersund["self_assessment"] == "inlämnad"
    assert askersund["contact"].startswith("Sofia Lindqvist\n")


def test_a_meeting_without_checklist_or_round_gets_defaults_and_dashes(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        facts = load_organiser_checklist_facts(
            session, meeting_id=meeting_id(sessions, "bm3"), organisation_id=None
        )

    context = build_organiser_checklist_context(facts)

    assert facts.items == ()
    assert facts.host_name == "Region Värmland"
    assert facts.round_label is None
    assert context["uses_default_items"] is True
    assert context["before"][0]["responsible"] == "Region Värmland"
    assert {o["self_assessment"] for o in context["organisations"]} == {"–"}
    assert context["next_meeting"] is None


def test_status_follows_missing_scores_and_missing_roles(sessions: sessionmaker[Session]) -> None:
    bm2 = meeting_id(sessions, "bm2")
    with unit_of_work(sessions) as session:
        kalmar = session.scalars(select(m.Organisation).where(m.Organisation.ref == "kalmar")).one()
        round_id = session.scalars(
            select(m.AssessmentRound.id).where(m.AssessmentRound.meeting_id == bm2)
        ).one()
        session.execute(
            delete(m.Score).where(
                m.Score.round_id == round_id, m.Score.organisation_id == kalmar.id
            )
        )
        session.execute(
            delete(m.Participant).where(
                m.Participant.organisation_id == kalmar.id,
                m.Participant.role.in_([ParticipantRole.POLITIKER, ParticipantRole.STRATEG]),
            )
        )

    with sessions() as session:
        facts = load_organiser_checklist_facts(session, meeting_id=bm2, organisation_id=None)
    context = build_organiser_checklist_context(facts)

    row = next(o for o in context["organisations"] if o["name"] == "Kalmar kommun")
    assert row["self_assessment"] == "saknas"
    assert row["delegation"] == "saknar politiker och strateg"


def test_it_is_made_per_meeting_and_for_an_existing_meeting(
    sessions: sessionmaker[Session],
) -> None:
    bm2 = meeting_id(sessions, "bm2")
    with sessions() as session:
        some_organisation = session.scalars(select(m.Organisation.id)).first()

        with pytest.raises(RenderError, match="per meeting"):
            load_organiser_checklist_facts(
                session, meeting_id=bm2, organisation_id=some_organisation
            )
        with pytest.raises(NotFoundError, match="meeting 999999 not found"):
            load_organiser_checklist_facts(session, meeting_id=999_999, organisation_id=None)


def test_special_needs_from_registration_reach_the_status_slide(
    sessions: sessionmaker[Session],
) -> None:
    # Given Askersund's delegation registered for Benchmarking 2: one needs a hearing loop, one
    # with a diet sent apologies, one stated nothing (blank); Fagersta's said nothing at all.
    bm2 = meeting_id(sessions, "bm2")
    with unit_of_work(sessions) as session:
        askersund = session.scalars(
            select(m.Organisation).where(m.Organisation.ref == "askersund")
        ).one()
        first, second, third = sorted(askersund.participants, key=lambda p: p.name)[:3]
        for participant, status, need in (
            (first, AttendanceStatus.REGISTERED, "Hörselslinga"),
            (second, AttendanceStatus.ABSENT, "Glutenfri kost"),
            (third, AttendanceStatus.ATTENDED, "  "),
        ):
            session.add(
                m.Attendance(
                    meeting_id=bm2, participant_id=participant.id, status=status,
                    special_needs=need,
                )
            )  # fmt: skip
        names = (first.name, second.name)

    with sessions() as session:
        facts = load_organiser_checklist_facts(session, meeting_id=bm2, organisation_id=None)
    template = PptxTemplate.from_bytes(
        (PROJECT_ROOT / "doc_templates" / "organiser_checklist.pptx").read_bytes(),
        name="organiser_checklist.pptx",
    )
    deck = Presentation(io.BytesIO(template.render(build_organiser_checklist_context(facts))))

    # Then the status slide's table shows the need in Askersund's row, under its heading.
    status = next(s for s in deck.slides if s.shapes.title.text == "Status per organisation")
    table = next(shape for shape in status.shapes if shape.has_table).table
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    column = rows[0].index("Särskilda behov")
    by_name = {row[0]: row[column] for row in rows[1:]}
    assert by_name["Askersunds kommun"] == f"{names[0]}: Hörselslinga"
    assert names[1] not in by_name["Askersunds kommun"]  # absent: needs nothing there
    assert by_name["Fagersta kommun"] == "inga angivna"
