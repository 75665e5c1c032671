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


def charts_of(slide: Any) -> list[Any]:
    return [shape.chart for shape in slide.shapes if shape.has_chart]


def test_askersunds_new_slides_show_its_key_messages_governance_and_results(
    session: Session, template: Any
) -> None:
    deck = deck_of(session, template, "askersund")

    key = texts(slide_titled(deck, "Det viktigaste sedan förra träffen"))
    assert key[1].startswith("Förslag hämtade ur er självskattning")
    assert key[2].startswith("Summan i självskattningen gick från 37 till 40 poäng")
    assert key[3] == (
        "Könsuppdelad statistik i nämndernas delårsrapporter: Alla nämnder redovisar "
        "könsuppdelat i delårsrapport T2; analysen är ännu tunn."
    )
    governance = rows(
        slide_titled(deck, "Förbättringar i styrning och ledning"), "Styrning och ledning"
    )
    assert governance[1:] == [
        ["Könsuppdelad statistik i nämndernas delårsrapporter", "genomförd", "Agera"]
    ]
    (totals,) = charts_of(slide_titled(deck, "Resultat – totalt, inte uppdelat på kön"))
    assert list(totals.plots[0].categories) == ["Totalt"]
    assert [list(s.values) for s in totals.plots[0].series] == [[38.0], [92.0]]
    split_slide = slide_titled(deck, "Resultat – uppdelat på kvinnor och män")
    (split,) = charts_of(split_slide)
    assert list(split.plots[0].categories) == ["Kvinnor", "Män"]
    assert [s.name for s in split.plots[0].series] == [
        "Utgångsläge (30 april 2019)",
        "Senaste mätningen (31 augusti 2019)",
    ]
    assert [list(s.values) for s in split.plots[0].series] == [[7.9, 10.4], [8.8, 9.9]]
    assert "Beviljade servicetimmar/månad, ensamboende 80+ (timmar)" in texts(split_slide)
    frame = next(shape for shape in split_slide.shapes if shape.has_chart)
    descr = frame._element.nvGraphicFramePr.cNvPr.get("descr")
    assert "Askersunds kommun" in descr
    assert "30 april 2019" in descr and "31 augusti 2019" in descr


def test_a_pupils_indicator_is_split_by_girls_and_boys(session: Session, template: Any) -> None:
    deck = deck_of(session, template, "sodertalje")

    (chart,) = charts_of(slide_titled(deck, "Resultat – uppdelat på flickor och pojkar"))
    assert list(chart.plots[0].categories) == ["Flickor", "Pojkar"]
    assert [list(s.values) for s in chart.plots[0].series] == [[61.0, 48.0]]


def test_without_initiatives_governance_and_results_invite_the_delegation(
    session: Session, template: Any
) -> None:
    session.execute(m.ImprovementInitiative.__table__.delete())

    deck = deck_of(session, template, "askersund")

    governance = rows(
        slide_titled(deck, "Förbättringar i styrning och ledning"), "Styrning och ledning"
    )
    assert len(governance) == 2
    assert governance[1][0].startswith("[Fyll i en förbättring")
    results = [s for s in deck.slides if s.shapes.title.text.startswith("Resultat")]
    assert len(results) == 1
    assert not charts_of(results[0])
    assert any(t.startswith("Här visar ni resultatet") for t in texts(results[0]))
