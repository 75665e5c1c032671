"""Checklist facts loaded from a real database holding the sample programme, then rendered."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.database.facts.checklist import load_checklist_facts
from service.database.session import make_engine, make_session_factory
from service.documents.checklist import build_checklist_context
from service.engines.xlsx_engine import XlsxTemplate
from service.errors import NotFoundError, RenderError
from service.settings import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "doc_templates" / "checklist.xlsx"


@pytest.fixture
def session(sample_imported: Settings) -> Iterator[Session]:
    """A session on a database that holds the sample programme."""
    engine = make_engine(sample_imported.database_url)
    factory = make_session_factory(engine)
    with factory() as reader:
        yield reader
    engine.dispose()


def meeting_id(session: Session, ref: str) -> int:
    return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def organisation_id(session: Session, ref: str) -> int:
    return session.scalars(select(m.Organisation.id).where(m.Organisation.ref == ref)).one()


def test_benchmarking_2_has_bm1_prefilled_and_bm2_to_fill_in(session: Session) -> None:
    facts = load_checklist_facts(
        session,
        meeting_id=meeting_id(session, "bm2"),
        organisation_id=organisation_id(session, "askersund"),
    )

    assert facts.organisation.name == "Askersunds kommun"
    assert (facts.organisation_ref, facts.meeting_ref) == ("askersund", "bm2")
    (bm1,) = facts.earlier_rounds
    assert (bm1.label, bm1.ref, bm1.meeting_ref) == ("BM 1", "sa_bm1", "bm1")
    assert sum(v for v in bm1.scores.values() if v is not None) == 37
    assert bm1.comments["Q14"].startswith("Könsuppdelat i socialtjänsten")
    current = facts.current_round
    assert (current.label, current.ref, current.meeting_title) == (
        "BM 2",
        "sa_bm2",
        "Benchmarking 2",
    )
    assert sum(v for v in current.scores.values() if v is not None) == 40
    assert facts.scale_labels == {
        1: "Inte påbörjat, finns inte",
        2: "Behöver utvecklas",
        3: "Det finns/vi gör",
    }
    assert len(facts.checklist.questions) == 24
    assert {p.role for p in facts.organisation.delegation} >= {"politiker", "chef", "strateg"}


def test_benchmarking_1_has_no_earlier_round(session: Session) -> None:
    facts = load_checklist_facts(
        session,
        meeting_id=meeting_id(session, "bm1"),
        organisation_id=organisation_id(session, "askersund"),
    )

    assert facts.earlier_rounds == ()
    assert facts.current_round.label == "BM 1"


def test_a_meeting_without_a_round_yet_gets_an_empty_one_named_by_its_tab(
    session: Session,
) -> None:
    facts = load_checklist_facts(
        session,
        meeting_id=meeting_id(session, "bm3"),
        organisation_id=organisation_id(session, "askersund"),
    )

    assert [r.label for r in facts.earlier_rounds] == ["BM 1", "BM 2"]
    assert facts.current_round.label == "BM 3"
    assert facts.current_round.ref is None
    assert facts.current_round.scores == {}


def test_the_loaded_facts_render_into_the_checklist(session: Session) -> None:
    facts = load_checklist_facts(
        session,
        meeting_id=meeting_id(session, "bm3"),
        organisation_id=organisation_id(session, "sodertalje"),
    )
    template = XlsxTemplate.from_bytes(TEMPLATE.read_bytes(), name="checklist.xlsx")

    wb = load_workbook(io.BytesIO(template.render(build_checklist_context(facts))))

    assert wb.sheetnames == ["Instruktion", "BM 1", "BM 2", "BM 3", "Sammanställning"]
    current = wb["BM 3"]
    assert current["C2"].value == "Södertälje kommun"
    rows = range(9, 33)
    assert [current[f"A{r}"].value for r in rows][:2] == [1, 2]  # statements by number
    assert all(current[f"D{r}"].value is None for r in rows)  # nothing scored for BM 3 yet
    q07 = 9 + 6
    assert (wb["BM 1"][f"D{q07}"].value, wb["BM 2"][f"D{q07}"].value) == (2, 1)
    assert current[f"F{q07}"].value == 1  # the previous round is BM 2
    summary = wb["Sammanställning"]
    assert [c.value for c in summary[4]][:4] == ["Område", "BM 1", "BM 2", "BM 3"]


def test_the_checklist_is_made_per_organisation(session: Session) -> None:
    with pytest.raises(RenderError, match="per organisation"):
        load_checklist_facts(session, meeting_id=meeting_id(session, "bm2"), organisation_id=None)


def test_an_unknown_meeting_is_not_found(session: Session) -> None:
    with pytest.raises(NotFoundError, match="meeting 999999"):
        load_checklist_facts(session, meeting_id=999_999, organisation_id=1)
