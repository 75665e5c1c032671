"""The network overview of the sample's Benchmarking 2, read back from the pptx and the xlsx.

The figures are DOMAIN.md §3's worked example (Askersund 37 -> 40, Södertälje 44 -> 46,
Fagersta 32 -> 35, Norrtälje 53 -> 55 and not ready) and the network means computed by hand
from the sample's scores; named and anonymised, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from lxml import etree  # type: ignore[import-untyped]
from pptx import Presentation
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.database.facts.network_overview import load_network_overview_facts
from service.database.session import make_engine, make_session_factory, unit_of_work
from service.domain.kinds import DocumentKind
from service.errors import RenderError
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime
from service.settings import Settings

pytestmark = pytest.mark.integration

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DECK = DocumentKind.NETWORK_OVERVIEW
WORKBOOK = DocumentKind.NETWORK_OVERVIEW_WORKBOOK

# DOMAIN.md §3, BM 1 -> BM 2, with the other four sample organisations (derived_example).
TOTALS = {
    "Askersunds kommun": (37, 40, "+3"),
    "Fagersta kommun": (32, 35, "+3"),
    "Hedemora kommun": (53, 55, "+2"),
    "Kalmar kommun": (36, 39, "+3"),
    "Norrtälje kommun": (53, 55, "+2"),
    "Region Gotland": (40, 42, "+2"),
    "Region Värmland": (47, 50, "+3"),
    "Södertälje kommun": (44, 46, "+2"),
}
# Pooled means of every organisation's answers in each area (8 organisations), BM 1 and BM 2.
AREA_MEANS = {
    "Politisk styrning": (2.0, 2.04),
    "Ledning och organisation": (2.09, 2.06),
    "Kompetens": (1.62, 1.75),
    "Mål, budget och styrdokument": (1.88, 2.0),
    "Könsuppdelad statistik och analys": (1.62, 1.83),
    "Beslutsunderlag": (1.81, 2.0),
    "Uppföljning": (1.94, 2.0),
    "Verksamhetsförbättring och spridning": (1.38, 1.53),
}
# BM 2 answers 1 / 2 / 3 per area, over all eight organisations.
DISTRIBUTION = [(7, 9, 8), (6, 18, 8), (8, 14, 2), (4, 16, 4), (8, 12, 4), (2, 12, 2), (4, 8, 4),
                (18, 11, 3)]  # fmt: skip
# The five statements with the lowest BM 2 mean: (number in the checklist, mean, min, max).
WEAKEST = [(23, 1.25, 1, 2), (3, 1.38, 1, 2), (21, 1.5, 1, 3), (5, 1.62, 1, 2), (9, 1.62, 1, 3)]


@pytest.fixture
def sessions(sample_imported: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sample_imported.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def maker(sessions: sessionmaker[Session]) -> DocumentMaker:
    return DocumentMaker(sessions, TemplateLibrary(PROJECT_ROOT / "doc_templates"))


def meeting_id(sessions: sessionmaker[Session], ref: str, *, anonymised: bool = False) -> int:
    with unit_of_work(sessions) as session:
        found = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()
        session.execute(
            update(m.Meeting).where(m.Meeting.id == found).values(overview_anonymised=anonymised)
        )
    return found


def make(maker: DocumentMaker, kind: DocumentKind, meeting: int) -> bytes:
    context = maker.context(kind, meeting_id=meeting, organisation_id=None)
    return maker.render(kind, context).data


def slide_titled(deck: Any, title: str) -> Any:
    return next(s for s in deck.slides if s.shapes.title.text == title)


def table_rows(slide: Any) -> list[list[str]]:
    frame = next(shape for shape in slide.shapes if shape.has_table)
    return [[cell.text for cell in row.cells] for row in frame.table.rows]


def chart(slide: Any) -> Any:
    return next(shape for shape in slide.shapes if shape.has_chart).chart


def series_values(chart_: Any) -> dict[str, list[float | None]]:
    return {s.name: list(s.values) for s in chart_.plots[0].series}


def sheet_rows(sheet: Any, first: int = 7) -> list[list[Any]]:
    rows = []
    for row in sheet.iter_rows(min_row=first, values_only=True):
        if row[0] is None or row[2] is None:  # the end of the table, or its footnote
            break
        rows.append(list(row))
    return rows


# -- named ----------------------------------------------------------------------------------


def test_the_deck_shows_every_organisations_total_and_movement_by_name(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2")

    deck = Presentation(io.BytesIO(make(maker, DECK, bm2)))

    slide = slide_titled(deck, "Summa poäng och förflyttning per organisation")
    rows = table_rows(slide)
    assert rows[0] == [
        "Organisation",
        "Summa BM 1",
        "Summa BM 2",
        "Förändring",
        "Antal 1:or",
        "Antal 3:or",
        "Tumregeln uppfylld",
    ]
    assert {r[0]: (int(r[1]), int(r[2]), r[3]) for r in rows[1:]} == TOTALS
    assert [r[0] for r in rows[1:]] == list(TOTALS)  # in Swedish alphabetical order
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Norrtälje kommun"][4:] == ["0", "7", "Nej"]  # no 1s, but 7 of 24 threes
    assert by_name["Askersunds kommun"][4:] == ["13", "5", "Nej"]
    texts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    assert any(t.startswith("0 av 8 organisationer uppfyller tumregeln") for t in texts)


def test_the_deck_charts_carry_the_totals_the_area_means_and_the_distribution(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2")

    deck = Presentation(io.BytesIO(make(maker, DECK, bm2)))

    totals = chart(slide_titled(deck, "Summa poäng per organisation"))
    names = list(totals.plots[0].categories)
    assert sorted(names) == sorted(TOTALS)
    assert series_values(totals) == {
        "BM 1": [TOTALS[n][0] for n in names],
        "BM 2": [TOTALS[n][1] for n in names],
    }
    means = chart(slide_titled(deck, "Nätverkets medelvärde per område"))
    assert list(means.plots[0].categories) == list(AREA_MEANS)
    assert series_values(means) == {
        "BM 1": [before for before, _ in AREA_MEANS.values()],
        "BM 2": [after for _, after in AREA_MEANS.values()],
    }
    spread = chart(slide_titled(deck, "Så fördelar sig svaren per område (BM 2)"))
    assert series_values(spread) == {
        f"Antal {value}:or": [counts[value - 1] for counts in DISTRIBUTION] for value in (1, 2, 3)
    }
    alt_texts = [
        shape._element.xpath("./p:nvGraphicFramePr/p:cNvPr/@descr")[0]
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_chart
    ]
    assert alt_texts == [
        "Stapeldiagram över summan av självskattningen för nätverkets 8 organisationer i "
        "BM 1 och BM 2, av högst 72 poäng.",
        "Stapeldiagram över nätverkets medelvärde per område i BM 1 och BM 2, på skalan 1–3.",
        "Staplat diagram över hur många svar per område som är 1, 2 och 3 i BM 2.",
    ]


def test_the_deck_names_the_statements_where_the_network_is_weakest(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2")

    deck = Presentation(io.BytesIO(make(maker, DECK, bm2)))

    areas = table_rows(slide_titled(deck, "Medelvärde och fördelning per område"))
    assert areas[1] == ["Politisk styrning", "2,00", "2,04", "+0,04", "1:or 7 · 2:or 9 · 3:or 8"]
    assert areas[2][3] == "\u22120,03"  # a decrease is shown, with a true minus sign
    rows = table_rows(slide_titled(deck, "Här är nätverket som helhet svagast"))
    assert rows[0] == ["Nr", "Påstående", "Område", "Medel", "Min", "Max"]
    assert [(int(r[0]), r[3], int(r[4]), int(r[5])) for r in rows[1:]] == [
        (number, f"{mean:.2f}".replace(".", ","), low, high) for number, mean, low, high in WEAKEST
    ]
    assert rows[1][1].startswith("Vårt tillvägagångssätt för att jämställdhetsintegrera")


def test_the_workbook_holds_the_same_figures_as_numbers(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2")

    book = openpyxl.load_workbook(io.BytesIO(make(maker, WORKBOOK, bm2)))

    assert book.sheetnames == ["Organisationer", "Områden", "Svagast", "Påståenden"]
    organisations = book["Organisationer"]
    assert [c.value for c in organisations[6]] == [
        "Organisation",
        "Summa BM 1",
        "Summa BM 2",
        "Förändring",
        "Antal 1:or",
        "Antal 2:or",
        "Antal 3:or",
        "Tumregeln uppfylld",
    ]
    rows = sheet_rows(organisations)
    assert {r[0]: (r[1], r[2], f"{r[3]:+d}") for r in rows} == TOTALS
    norrtalje = next(r for r in rows if r[0] == "Norrtälje kommun")
    assert norrtalje[4:] == [0, 17, 7, "Nej"]
    areas = sheet_rows(book["Områden"])
    assert {r[0]: (r[1], r[2]) for r in areas} == AREA_MEANS
    assert [tuple(r[4:7]) for r in areas] == DISTRIBUTION
    weakest = sheet_rows(book["Svagast"])
    assert [(r[0], r[3], r[4], r[5]) for r in weakest] == WEAKEST
    assert len(sheet_rows(book["Påståenden"])) == 24


def test_the_workbook_charts_follow_the_rows_and_columns_the_loops_made(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2")

    data = make(maker, WORKBOOK, bm2)

    totals, means, spread = _chart_series(data)
    assert totals == [
        ("Organisationer!$B$7:$B$14", [float(t[0]) for t in TOTALS.values()]),
        ("Organisationer!$C$7:$C$14", [float(t[1]) for t in TOTALS.values()]),
    ]
    assert means == [
        ("Områden!$B$7:$B$14", [before for before, _ in AREA_MEANS.values()]),
        ("Områden!$C$7:$C$14", [after for _, after in AREA_MEANS.values()]),
    ]
    # The one template series in the count column became one series per scale value.
    assert spread == [
        (f"Områden!${col}$7:${col}$14", [float(c[i]) for c in DISTRIBUTION])
        for i, col in enumerate("EFG")
    ]


def _chart_series(data: bytes) -> list[list[tuple[str, list[float]]]]:
    """Each chart's series: the cells its values come from, and the values cached with it."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = [n for n in package.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        for name in sorted(names, key=lambda n: int(re.sub(r"\D", "", n))):
            root = etree.fromstring(package.read(name))
            series = []
            for ser in root.iter(f"{C}ser"):
                ref = ser.find(f"{C}val/{C}numRef")
                cells = ref.find(f"{C}f").text.replace("'", "")
                cached = [float(v.text) for v in ref.iter(f"{C}v")]
                series.append((cells, cached))
            found.append(series)
    return found


# -- anonymised -----------------------------------------------------------------------------


def test_anonymised_the_deck_and_the_workbook_name_no_organisation(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2", anonymised=True)

    deck_data = make(maker, DECK, bm2)
    book_data = make(maker, WORKBOOK, bm2)

    deck = Presentation(io.BytesIO(deck_data))
    rows = table_rows(slide_titled(deck, "Summa poäng och förflyttning per organisation"))
    letters = [f"Organisation {x}" for x in "ABCDEFGH"]
    assert [r[0] for r in rows[1:]] == letters
    # Highest BM 2 total first; the figures stay those of the worked example.
    assert sorted((int(r[2]), int(r[1])) for r in rows[1:]) == sorted(
        (after, before) for before, after, _ in TOTALS.values()
    )
    assert [int(r[2]) for r in rows[1:]] == sorted((t[1] for t in TOTALS.values()), reverse=True)
    assert list(chart(slide_titled(deck, "Summa poäng per organisation")).plots[0].categories) == (
        letters
    )
    book = openpyxl.load_workbook(io.BytesIO(book_data))
    assert [r[0] for r in sheet_rows(book["Organisationer"])] == letters
    everything = _all_text(deck_data, book_data)
    for name in TOTALS:
        assert name not in everything, name


def test_anonymised_letters_do_not_depend_on_the_names(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm2 = meeting_id(sessions, "bm2", anonymised=True)
    before = maker.context(DECK, meeting_id=bm2, organisation_id=None)["organisations"]

    with unit_of_work(sessions) as session:
        for org in session.scalars(select(m.Organisation)):
            org.name = f"Z {org.name[::-1]}"
    after = maker.context(DECK, meeting_id=bm2, organisation_id=None)["organisations"]

    assert after == before


def _all_text(deck_data: bytes, book_data: bytes) -> str:
    parts = []
    for data in (deck_data, book_data):
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            for name in package.namelist():
                if name.endswith(".xml") or name.endswith(".rels"):
                    parts.append(package.read(name).decode("utf-8"))
                elif name.endswith(".xlsx"):  # a chart's embedded workbook
                    parts.append(_all_text_xlsx(package.read(name)))
    return "\n".join(parts)


def _all_text_xlsx(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return json.dumps(
        [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row],
        ensure_ascii=False,
        default=str,
    )


# -- other meetings and wrong calls ---------------------------------------------------------


def test_the_first_meeting_has_no_movement_and_the_third_no_scores_yet(
    sessions: sessionmaker[Session], maker: DocumentMaker
) -> None:
    bm1 = meeting_id(sessions, "bm1")
    bm3 = meeting_id(sessions, "bm3")

    first = Presentation(io.BytesIO(make(maker, DECK, bm1)))
    third = Presentation(io.BytesIO(make(maker, DECK, bm3)))

    rows = table_rows(slide_titled(first, "Summa poäng och förflyttning per organisation"))
    assert rows[0][1:4] == ["Föregående", "Summa BM 1", "Förändring"]
    askersund = next(r for r in rows if r[0] == "Askersunds kommun")
    assert askersund[1:4] == ["–", "37", "–"]
    assert list(series_values(chart(slide_titled(first, "Summa poäng per organisation")))) == [
        "BM 1"
    ]
    slide = slide_titled(third, "Summa poäng och förflyttning per organisation")
    assert len(table_rows(slide)) == 1
    texts = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
    assert "Ingen självskattning är registrerad för Benchmarking 3 ännu." in texts


def test_the_overview_is_made_per_meeting_only(sessions: sessionmaker[Session]) -> None:
    bm2 = meeting_id(sessions, "bm2")
    with sessions() as session:
        organisation = session.scalars(select(m.Organisation.id)).first()

        with pytest.raises(RenderError, match="per meeting, not per organisation"):
            load_network_overview_facts(session, meeting_id=bm2, organisation_id=organisation)


def test_the_organiser_anonymises_the_overview_through_the_api(
    runtime: Runtime, sample: ImportSummary, client: TestClient
) -> None:
    with runtime.sessions() as session:
        bm2 = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
    maker = DocumentMaker(runtime.sessions, runtime.templates)
    read = client.get(f"/api/v1/meetings/{bm2}")

    changed = client.patch(f"/api/v1/meetings/{bm2}", json={"overview_anonymised": True})
    refused = client.patch(f"/api/v1/meetings/{bm2}", json={"overview_anonymised": None})

    assert read.json()["overview_anonymised"] is False
    assert changed.status_code == 200 and changed.json()["overview_anonymised"] is True
    assert refused.status_code == 422
    assert "$.overview_anonymised" in refused.text
    context = maker.context(DECK, meeting_id=bm2, organisation_id=None)
    assert context["organisations"][0]["name"] == "Organisation A"
