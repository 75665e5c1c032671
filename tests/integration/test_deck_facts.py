"""The deck of the sample programme, loaded from a real database, rendered and read back."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pptx import Presentation
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.batches.template_library import parse_document_template
from service.database import models as m
from service.database.facts.records import load_deck_facts
from service.database.session import make_engine, make_session_factory
from service.documents.deck import build_deck_context
from service.settings import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "doc_templates" / "deck_benchmarking.pptx"


@pytest.fixture
def session(sample_imported: Settings) -> Iterator[Session]:
    """A session on a database that holds the sample programme."""
    engine = make_engine(sample_imported.database_url)
    factory = make_session_factory(engine)
    with factory() as reader:
        yield reader
    engine.dispose()


@pytest.fixture(scope="module")
def template() -> Any:
    return parse_document_template(TEMPLATE.read_bytes(), name=TEMPLATE.name)


def deck_of(session: Session, template: Any, org: str, meeting: str = "bm2") -> Any:
    facts = load_deck_facts(
        session,
        meeting_id=session.scalars(select(m.Meeting.id).where(m.Meeting.ref == meeting)).one(),
        organisation_id=session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == org)
        ).one(),
    )
    return Presentation(io.BytesIO(template.render(build_deck_context(facts))))


def slide_titled(deck: Any, title: str) -> Any:
    return next(slide for slide in deck.slides if slide.shapes.title.text == title)


def texts(slide: Any) -> list[str]:
    found: list[str] = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            found += [p.text for p in shape.text_frame.paragraphs]
        elif getattr(shape, "has_table", False) and shape.has_table:
            found += [cell.text for row in shape.table.rows for cell in row.cells]
    return found


def rows(slide: Any, name: str) -> list[list[str]]:
    frame = next(shape for shape in slide.shapes if shape.name == name)
    return [[cell.text for cell in row.cells] for row in frame.table.rows]


def test_askersunds_deck_shows_its_analysis_movement_and_next_meeting(
    session: Session, template: Any
) -> None:
    deck = deck_of(session, template, "askersund")

    leadership = texts(slide_titled(deck, "Ledarskap och kultur – vad stödjer och vad hindrar?"))
    assert "Arbetet bärs av få personer; hög chefsomsättning i socialtjänsten." in leadership
    assert "Chefsdag om normer och bemötande; jämställdhet i chefsintroduktionen." in leadership
    changed = rows(slide_titled(deck, "Förflyttning sedan förra gången"), "Förändrade svar")
    assert [(row[0], row[2], row[3]) for row in changed[1:]] == [
        ("14", "2", "3"),
        ("19", "2", "3"),
        ("20", "2", "3"),
    ]
    lessons = rows(slide_titled(deck, "Lärdomar av förflyttningen"), "Förflyttade påståenden")
    assert [row[0] for row in lessons[1:]] == ["14", "19", "20"]
    transfer = rows(
        slide_titled(deck, "Vad kan överföras till fler verksamheter?"), "Kan överföras"
    )
    assert [
        "Könsuppdelad statistik i nämndernas delårsrapporter",
        "Årsredovisning 2019\vKommunala bolag",
    ] in transfer
    nxt = texts(slide_titled(deck, "Inför Benchmarking 3"))
    assert "Gör självskattningen tillsammans på fliken BM 3 i checklistan" in nxt
    plan = rows(slide_titled(deck, "Plan för fortsättning och uppföljning"), "Plan")
    assert plan[1][3] == "Ledningsgrupp 25 november 2019"


def test_askersunds_improvement_needs_are_its_ones_continued_over_slides(
    session: Session, template: Any
) -> None:
    deck = deck_of(session, template, "askersund")

    slides = [s for s in deck.slides if s.shapes.title.text.startswith("Behov av fortsatt")]
    numbers = [row[0] for s in slides for row in rows(s, "Behov")[1:]]
    assert len(numbers) == 13  # Askersund has 13 statements at 1 in BM 2
    assert len(numbers) == len(set(numbers))
    assert "Lägst skattade område: Verksamhetsförbättring och spridning (medelvärde 1,25)" in (
        texts(slides[0])
    )


def test_an_organisation_without_an_analysis_gets_prompts_not_empty_cards(
    session: Session, template: Any
) -> None:
    session.execute(m.LeadershipCultureAnalysis.__table__.delete())

    deck = deck_of(session, template, "askersund")

    cards = texts(slide_titled(deck, "Ledarskap och kultur – vad stödjer och vad hindrar?"))
    assert sum(text.startswith("[Fyll i ") for text in cards) == 4
