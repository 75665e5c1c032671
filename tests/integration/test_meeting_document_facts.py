"""The agenda, feedback letter and feedback summary of the sample programme, from the database.

Facts are loaded from a real database (SQLite and PostgreSQL), turned into contexts, rendered
with the committed templates and read back with python-docx.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from docxtpl import DocxTemplate as DocxtplTemplate
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.facts.meeting_documents import (
    load_agenda_facts,
    load_feedback_letter_facts,
    load_feedback_summary_facts,
)
from service.database.session import make_engine, make_session_factory
from service.documents.meeting_documents import (
    build_agenda_context,
    build_feedback_letter_context,
    build_feedback_summary_context,
)
from service.engines.docx_engine import DocxTemplate
from service.errors import NotFoundError, RenderError
from service.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"

KINDS: dict[str, tuple[Callable[..., Any], Callable[[Any], dict[str, Any]]]] = {
    "agenda.docx": (load_agenda_facts, build_agenda_context),
    "feedback_letter.docx": (load_feedback_letter_facts, build_feedback_letter_context),
    "feedback_summary.docx": (load_feedback_summary_facts, build_feedback_summary_context),
}


@dataclass(frozen=True)
class Sample:
    sessions: sessionmaker[Session]
    programme: dict[str, Any]
    meetings: dict[str, int]
    organisations: dict[str, int]

    def context(self, file_name: str, *, meeting: str = "bm2", org: str | None = None) -> Any:
        load, build = KINDS[file_name]
        with self.sessions() as session:
            facts = load(
                session,
                meeting_id=self.meetings[meeting],
                organisation_id=self.organisations[org] if org else None,
            )
        return build(facts)

    def render(self, file_name: str, *, meeting: str = "bm2", org: str | None = None) -> Any:
        context = self.context(file_name, meeting=meeting, org=org)
        template = DocxTemplate.from_bytes((TEMPLATES / file_name).read_bytes(), name=file_name)
        return docx.Document(io.BytesIO(template.render(context)))

    def agenda_items(self, meeting: str = "bm2") -> list[dict[str, Any]]:
        found = next(x for x in self.programme["meetings"] if x["id"] == meeting)
        items: list[dict[str, Any]] = found["agenda"]
        return items


@pytest.fixture
def sample(sample_imported: Settings, sample_programme_bytes: bytes) -> Iterator[Sample]:
    engine = make_engine(sample_imported.database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        meetings = {ref: id_ for ref, id_ in session.execute(select(m.Meeting.ref, m.Meeting.id))}
        organisations = {
            ref: id_ for ref, id_ in session.execute(select(m.Organisation.ref, m.Organisation.id))
        }
    yield Sample(sessions, json.loads(sample_programme_bytes), meetings, organisations)
    engine.dispose()


def all_texts(doc: Any) -> list[str]:
    texts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            texts.extend(cell.text for cell in row.cells)
    for section in doc.sections:
        texts.extend(p.text for p in section.header.paragraphs)
        texts.extend(p.text for p in section.footer.paragraphs)
    return texts


def table_after(doc: Any, heading: str) -> Any:
    """The first table after the paragraph with this text."""
    start = next(p._p for p in doc.paragraphs if p.text == heading)
    for element in start.itersiblings():
        if element.tag == qn("w:tbl"):
            return next(t for t in doc.tables if t._tbl is element)
    raise AssertionError(f"no table after {heading!r}")


def rows_of(table: Any) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def clock(value: str) -> str:
    return value.replace(":", ".")


def is_highlighted(row: Any) -> bool:
    shd = row.cells[0]._tc.tcPr.find(qn("w:shd"))
    return shd is not None and shd.get(qn("w:fill")) not in (None, "auto")


# -- the agenda -------------------------------------------------------------------------------


def test_the_agenda_lists_every_programme_item_with_time_and_responsible(sample: Sample) -> None:
    doc = sample.render("agenda.docx")

    rows = rows_of(table_after(doc, "Program"))
    expected = [
        [f"{clock(i['start'])}–{clock(i['end'])}", i["item"], i["responsible"], i["format"]]
        for i in sample.agenda_items()
    ]
    assert len(expected) == 13
    assert rows == [["Tid", "Punkt", "Ansvarig", "Form"], *expected]
    assert rows[1][0] == "09.30–10.00"
    texts = all_texts(doc)
    assert "Agenda – Benchmarking 2: Systematiskt förbättringsarbete" in texts
    assert any("26 september 2019" in t and "torsdag" in t.lower() for t in texts)
    goals = next(x for x in sample.programme["meetings"] if x["id"] == "bm2")["goals"]
    assert [p.text for p in doc.paragraphs if p.style.name == "List Bullet"][: len(goals)] == goals
    assert not [t for t in texts if "{{" in t or "{%" in t]


@pytest.mark.parametrize(
    ("org", "name"), [("askersund", "Askersund"), ("region_varmland", "Värmland")]
)
def test_an_organisations_agenda_highlights_exactly_the_rows_naming_it(
    sample: Sample, org: str, name: str
) -> None:
    doc = sample.render("agenda.docx", org=org)

    rows = table_after(doc, "Program").rows[1:]
    expected = [name in f"{i['item']} {i['responsible']}" for i in sample.agenda_items()]
    assert any(expected)
    assert [is_highlighted(row) for row in rows] == expected
    assert [bool(row.cells[1].paragraphs[0].runs[0].bold) for row in rows] == expected


def test_the_meeting_agenda_highlights_nothing(sample: Sample) -> None:
    doc = sample.render("agenda.docx")

    assert not any(is_highlighted(row) for row in table_after(doc, "Program").rows[1:])


# -- the feedback letter ----------------------------------------------------------------------


def test_the_feedback_letter_shows_askersunds_movement_ideas_and_plan(sample: Sample) -> None:
    doc = sample.render("feedback_letter.docx", org="askersund")

    texts = all_texts(doc)
    assert any("37 → 40 av 72 (+3)" in t for t in texts)
    areas = rows_of(table_after(doc, "Er förflyttning i självskattningen"))
    assert areas[0] == ["Område (medelvärde)", "BM 1", "BM 2", "Förändring"]
    assert len(areas) == 9
    assert ["Könsuppdelad statistik och analys", "1,33", "1,67", "+0,33"] in areas
    assert ["Uppföljning", "2,00", "3,00", "+1,00"] in areas
    assert "Ta efter Hedemoras analysmall (Vad? Varför? Konsekvens? Åtgärd?)" in texts
    plan = rows_of(table_after(doc, "Er plan för fortsättningen"))
    assert [row[0] for row in plan[1:]] == [
        "Analysmall för könsskillnader i delårsrapport",
        "Utvärdera test av ny checklista i biståndsbedömning",
    ]
    assert plan[1][2] == "15 november 2019"
    assert any("Benchmarking 3: Följa upp och analysera resultaten" in t for t in texts)
    assert "Askersunds kommun" in doc.sections[0].header.paragraphs[0].text


def test_a_letter_for_the_first_meeting_has_nothing_to_compare_with(sample: Sample) -> None:
    context = sample.context("feedback_letter.docx", meeting="bm1", org="askersund")

    assert context["movement"]["previous_sum"] == "–"
    assert context["movement"]["current_sum"] == "37"
    assert context["ideas"] == ["[Fyll i idéer som ni tar med hem]"]


# -- the feedback summary ---------------------------------------------------------------------


def test_the_feedback_summary_lists_plus_minus_and_interesting(sample: Sample) -> None:
    doc = sample.render("feedback_summary.docx")

    texts = all_texts(doc)
    feedback = sample.programme["meeting_feedback"][0]
    for item in feedback["plus"] + feedback["minus"] + feedback["interesting"]:
        assert item in texts
    attendance = rows_of(table_after(doc, "Deltagande organisationer och roller"))
    assert len(attendance) == 1 + len(sample.programme["organisations"])
    assert ["Askersunds kommun", "✓", "✓", "✓", "Controller (Ahmed Karimi)"] in attendance
    ideas = rows_of(table_after(doc, "Identifierade förbättringsidéer per organisation"))
    assert [row[0] for row in ideas[1:]] == [
        "Askersunds kommun",
        "Fagersta kommun",
        "Kalmar kommun",
        "Region Gotland",
    ]
    assert any("Benchmarking 3" in t and "Karlstad" in t for t in texts)


def test_a_meeting_without_feedback_gets_placeholders(sample: Sample) -> None:
    context = sample.context("feedback_summary.docx", meeting="bm1")

    assert context["plus"] == ["[Fyll i vad som fungerade bra]"]
    assert context["ideas"] == []
    assert context["next_meeting"]["title"] == "Benchmarking 2"


# -- contract and refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "org"),
    [
        ("agenda.docx", None),
        ("agenda.docx", "askersund"),
        ("feedback_letter.docx", "askersund"),
        ("feedback_summary.docx", None),
    ],
)
def test_every_template_variable_is_provided_for_the_sample(
    sample: Sample, file_name: str, org: str | None
) -> None:
    context = sample.context(file_name, org=org)
    path = TEMPLATES / file_name

    assert (
        DocxtplTemplate(path).get_undeclared_template_variables(jinja_env=SandboxedEnvironment())
        <= context.keys()
    )
    assert DocxTemplate.from_bytes(path.read_bytes(), name=file_name).variables <= context.keys()


def test_a_letter_needs_an_organisation_and_a_summary_refuses_one(sample: Sample) -> None:
    with sample.sessions() as session:
        bm2 = sample.meetings["bm2"]
        with pytest.raises(RenderError, match="per organisation"):
            load_feedback_letter_facts(session, meeting_id=bm2, organisation_id=None)
        with pytest.raises(RenderError, match="per meeting"):
            load_feedback_summary_facts(
                session, meeting_id=bm2, organisation_id=sample.organisations["askersund"]
            )


def test_unknown_meetings_and_organisations_are_not_found(sample: Sample) -> None:
    with sample.sessions() as session:
        with pytest.raises(NotFoundError, match="meeting 999999"):
            load_agenda_facts(session, meeting_id=999_999, organisation_id=None)
        with pytest.raises(NotFoundError, match="organisation 999999"):
            load_agenda_facts(session, meeting_id=sample.meetings["bm2"], organisation_id=999_999)
