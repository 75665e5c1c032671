"""The per-organisation presentation deck template, rendered and read back."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE

from service.batches.template_library import parse_document_template
from service.engines.pptx_engine import PptxTemplate
from tests.conftest import CHILD_TIMEOUT

DECK_TEMPLATE = Path(__file__).resolve().parents[2] / "doc_templates" / "deck_benchmarking.pptx"

AREAS = [
    "Styrning och ledning",
    "Mål och uppföljning",
    "Kunskap och kompetens",
    "Könsuppdelad statistik",
    "Verksamhetsutveckling",
    "Resursfördelning",
    "Kommunikation och bemötande",
    "Samverkan",
]


def make_deck_context(**overrides: Any) -> dict[str, Any]:
    """A realistic deck context: 2 initiatives, 3 plan activities, 8 areas."""
    previous = [1.5, 2.0, 1.0, 1.25, 2.0, 0.75, 2.5, 1.5]
    current = [2.0, 2.5, 1.5, 2.0, 2.25, 1.25, 3.0, None]
    context: dict[str, Any] = {
        "organisation": {
            "name": "Umeå kommun",
            "type": "Kommun",
            "county": "Västerbottens län",
            "group_name": "Grupp Norr",
            "mentor_name": "Karin Åström",
            "programme_role": "Deltagare",
            "political_decision": "Ja, beslut i kommunstyrelsen 2024-03-12",
        },
        "network": {"name": "Jämställdhetsintegrering i praktiken 2025"},
        "meeting": {
            "title": "Träff 2",
            "number": 2,
            "theme": "Styrning och uppföljning",
            "date": "14 maj 2025",
            "time": "09.30–15.30",
            "place": "Stockholm",
            "venue": "SKR, Hornsgatan 20",
            "upload_deadline": "5 maj 2025",
        },
        "delegation": [
            {"role": "Politiker", "name": "Erik Lindqvist", "title": "Kommunalråd"},
            {"role": "Tjänsteperson", "name": "Sara Nilsson", "title": "Kommundirektör"},
            {"role": "Processledare", "name": "Amir Haddad", "title": "Utvecklingsledare"},
        ],
        "contact": {"name": "Amir Haddad", "email": "amir.haddad@umea.se"},
        "area_chart": {
            "categories": AREAS,
            "series": [
                {"name": "BM 1", "values": previous},
                {"name": "BM 2", "values": current},
            ],
            "value_axis": {"minimum": 1, "maximum": 3, "major_unit": 1},
            "number_format": "0.00",
            "description": "Stapeldiagram över självskattningen för Umeå kommun i BM 1 och BM 2: "
            "medelvärdet per område på skalan 1–3.",
        },
        "movement": {
            "previous_label": "BM 1",
            "current_label": "BM 2",
            "previous_sum": "41",
            "current_sum": "52",
            "max_sum": "72",
            "delta": "+11",
            "count_1_previous": "9",
            "count_1_current": "4",
            "count_3_previous": "2",
            "count_3_current": "6",
            "readiness": "God – redo att fördjupa arbetet",
            "changed": [
                {
                    "number": "7",
                    "text": "Mål för jämställdhet finns i verksamhetsplanen.",
                    "previous": "1",
                    "current": "3",
                    "delta": "+2",
                    "comment": "Nya mål antagna i budgeten.",
                },
                {
                    "number": "13",
                    "text": "Statistik om individer redovisas uppdelad på kön.",
                    "previous": "2",
                    "current": "3",
                    "delta": "+1",
                    "comment": None,
                },
            ],
            "areas": [
                {
                    "name": name,
                    "previous": f"{p:.2f}".replace(".", ","),
                    "current": "–" if c is None else f"{c:.2f}".replace(".", ","),
                    "delta": "–" if c is None else f"{c - p:+.2f}".replace(".", ","),
                }
                for name, p, c in zip(AREAS, previous, current, strict=True)
            ],
        },
        "initiatives": [
            {
                "title": "Jämställd biståndshandläggning",
                "level": "Verksamhet",
                "verksamhet": "Socialtjänsten",
                "status": "Pågår",
                "pdsa_phase": "Studera",
                "problem": "Män och kvinnor med liknande behov får olika insatser.",
                "action": "Gemensam checklista vid bedömning och kollegial granskning.",
                "results": "Skillnaden i beviljade timmar har minskat från 18 % till 7 %.",
                "indicator": "Beviljade timmar per person, uppdelat på kön",
                "owner": "Sara Nilsson",
            },
            {
                "title": "Könsuppdelad statistik i årsredovisningen",
                "level": "Organisation",
                "verksamhet": "Ekonomiavdelningen",
                "status": "Planerad",
                "pdsa_phase": None,
                "problem": "Årsredovisningen saknar statistik uppdelad på kön.",
                "action": "Mall för nyckeltal tas fram tillsammans med förvaltningarna.",
                "results": None,
                "indicator": "Andel nyckeltal som redovisas uppdelade på kön",
                "owner": "Erik Lindqvist",
            },
        ],
        "plan": {
            "activities": [
                {
                    "activity": "Utbildning för chefer i jämställdhetsanalys",
                    "owner": "HR-avdelningen",
                    "deadline": "30 sep 2025",
                    "follow_up": "Ledningsgruppen i oktober",
                    "status": "Planerad",
                },
                {
                    "activity": "Checklista för biståndsbedömning införs",
                    "owner": "Sara Nilsson",
                    "deadline": "1 jun 2025",
                    "follow_up": "Månadsvis",
                    "status": "Pågår",
                },
                {
                    "activity": "Nyckeltal uppdelade på kön i delårsrapporten",
                    "owner": "Ekonomiavdelningen",
                    "deadline": "31 aug 2025",
                    "follow_up": "Kommunstyrelsen",
                    "status": "Ej påbörjad",
                },
            ]
        },
        "next_meeting": {
            "title": "Träff 3",
            "date": "8 oktober 2025",
            "time": "09.30–16.00",
            "place": "Göteborg",
            "venue": "Regionens hus",
            "theme": "Resursfördelning",
            "upload_deadline": "29 september 2025",
            "checklist_tab": "BM 3",
        },
        "lessons": {"prompt": "[Fyll i vad förflyttningen lär er …]"},
        "transferable": [
            {"title": "Jämställd biståndshandläggning", "where": "hemtjänst\nLSS-handläggning"},
        ],
        "leadership": {
            "strengths": "Kommunstyrelsen efterfrågar könsuppdelade resultat.",
            "obstacles": "Arbetet bärs av få personer.",
            "culture_observations": "'Vi behandlar alla lika' gör skillnader osynliga.",
            "actions": "Chefsdag om normer och bemötande.",
        },
        "film": {
            "title": "Röster om manlighet – Dags för normreform",
            "link": "https://film.example/normreform",
            "reflection": "[Fyll i era reflektioner kring filmen …]",
        },
        "needs": {
            "lowest_area": "Resursfördelning (medelvärde 1,25)",
            "statements": [
                {
                    "number": "11",
                    "text": "Resurser fördelas utifrån analys av kön.",
                    "area": "Resursfördelning",
                },
            ],
            "prompt": "[Fyll i vilka behov ni prioriterar …]",
        },
        "questions": ["[Fyll i fråga 1 …]", "[Fyll i fråga 2 …]", "[Fyll i fråga 3 …]"],
        "highlights": {
            "note": "Förslag hämtade ur er självskattning – skriv om dem.",
            "suggestions": [
                "Summan i självskattningen gick från 41 till 52 poäng.",
                "Jämställd biståndshandläggning: skillnaden har minskat.",
                "[Fyll i en lärdom ni vill dela med de andra …]",
            ],
        },
        "governance": {
            "rows": [
                {
                    "title": "Könsuppdelad statistik i årsredovisningen",
                    "status": "Planerad",
                    "pdsa_phase": "Planera",
                }
            ]
        },
        "results": {
            "charts": [
                {
                    "heading": "Resultat – uppdelat på kvinnor och män",
                    "indicator": "Beviljade timmar per månad (timmar)",
                    "initiative": "Förbättringsarbete: Jämställd biståndshandläggning",
                    "dates": "Utgångsläge 30 april 2025 · Senaste mätningen 31 augusti 2025",
                    "chart": {
                        "categories": ["Kvinnor", "Män"],
                        "series": [
                            {"name": "Utgångsläge (30 april 2025)", "values": [7.9, 10.4]},
                            {"name": "Senaste mätningen (31 augusti 2025)", "values": [8.8, 9.9]},
                        ],
                        "value_axis": {"minimum": 0},
                        "number_format": "0.0",
                        "description": "Stapeldiagram för Umeå kommun: beviljade timmar.",
                    },
                },
                {
                    "heading": "Resultat – uppdelat på flickor och pojkar",
                    "indicator": "Andel elever med hälsosamtal (%)",
                    "initiative": "Förbättringsarbete: Jämställd elevhälsa",
                    "dates": "Utgångsläge 30 juni 2025",
                    "chart": {
                        "categories": ["Flickor", "Pojkar"],
                        "series": [{"name": "Utgångsläge (30 juni 2025)", "values": [61, 48]}],
                        "value_axis": {"minimum": 0, "maximum": 100},
                        "number_format": "0",
                        "description": "Stapeldiagram för Umeå kommun: hälsosamtal.",
                    },
                },
            ],
            "invitation": [],
        },
    }
    context["movement"]["rows"] = context["movement"]["changed"]
    context.update(overrides)
    return context


@pytest.fixture(scope="module")
def deck_template() -> PptxTemplate:
    return PptxTemplate.from_bytes(DECK_TEMPLATE.read_bytes(), name=DECK_TEMPLATE.name)


def render_deck(template: PptxTemplate, context: dict[str, Any]) -> Any:
    return Presentation(io.BytesIO(template.render(context)))


def texts_of(slide: Any) -> list[str]:
    texts: list[str] = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            texts.extend(p.text for p in shape.text_frame.paragraphs)
        elif getattr(shape, "has_table", False) and shape.has_table:
            texts.extend(cell.text for row in shape.table.rows for cell in row.cells)
    return texts


def table_rows(slide: Any, name: str) -> list[list[str]]:
    frame = next(shape for shape in slide.shapes if shape.name == name)
    return [[cell.text for cell in row.cells] for row in frame.table.rows]


def titles(deck: Any) -> list[str]:
    return [slide.shapes.title.text for slide in deck.slides]


def slide_titled(deck: Any, title: str) -> Any:
    return next(slide for slide in deck.slides if slide.shapes.title.text == title)


def test_the_deck_has_the_seeds_slides_in_order(deck_template: PptxTemplate) -> None:
    deck = render_deck(deck_template, make_deck_context())

    assert titles(deck) == [
        "Träff 2 – Styrning och uppföljning",
        "Vilka är vi?",
        "Vår organisation i korthet",
        "Det viktigaste sedan förra träffen",
        "Självskattning – resultat per område",
        "Förflyttning sedan förra gången",
        "Förflyttning per område",
        "Lärdomar av förflyttningen",
        "Förbättringar i styrning och ledning",
        "Förbättringsarbete: Jämställd biståndshandläggning",
        "Förbättringsarbete: Könsuppdelad statistik i årsredovisningen",
        "Resultat – uppdelat på kvinnor och män",
        "Resultat – uppdelat på flickor och pojkar",
        "Vad kan överföras till fler verksamheter?",
        "Ledarskap och kultur – vad stödjer och vad hindrar?",
        "Reflektion: Röster om manlighet – Dags för normreform",
        "Behov av fortsatt förbättringsarbete",
        "Plan för fortsättning och uppföljning",
        "Frågor till de andra organisationerna",
        "Inför Träff 3",
    ]


def test_title_slide_names_organisation_meeting_and_network(deck_template: PptxTemplate) -> None:
    deck = render_deck(deck_template, make_deck_context())

    texts = texts_of(deck.slides[0])
    assert "Umeå kommun" in texts
    assert "14 maj 2025 · 09.30–15.30 · SKR, Hornsgatan 20 · Stockholm" in texts
    assert "Jämställdhetsintegrering i praktiken 2025" in texts


def test_delegation_table_has_one_row_per_person(deck_template: PptxTemplate) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    slide = deck.slides[1]
    assert table_rows(slide, "Delegation") == [
        ["Roll", "Namn", "Titel"],
        *[[p["role"], p["name"], p["title"]] for p in context["delegation"]],
    ]
    assert "Kontaktperson: Amir Haddad, amir.haddad@umea.se" in texts_of(slide)


def test_area_chart_shows_the_contexts_categories_and_both_series(
    deck_template: PptxTemplate,
) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    slide = slide_titled(deck, "Självskattning – resultat per område")
    frame = next(s for s in slide.shapes if s.name == "chart:area_chart")
    plot = frame.chart.plots[0]
    expected = context["area_chart"]
    assert list(plot.categories) == expected["categories"]
    assert [s.name for s in plot.series] == ["BM 1", "BM 2"]
    for series, wanted in zip(plot.series, expected["series"], strict=True):
        assert list(series.values) == wanted["values"]
    assert (frame.chart.value_axis.minimum_scale, frame.chart.value_axis.maximum_scale) == (1, 3)
    assert frame.chart.chart_type == XL_CHART_TYPE.COLUMN_CLUSTERED  # legend reads as the bars
    assert plot.data_labels.number_format == "0.00"
    assert not plot.data_labels.number_format_is_linked
    assert frame._element.nvGraphicFramePr.cNvPr.get("descr") == expected["description"]


def test_movement_slides_list_changed_answers_and_areas(deck_template: PptxTemplate) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    summary = texts_of(slide_titled(deck, "Förflyttning sedan förra gången"))
    assert "Summa: 41 (BM 1) → 52 (BM 2) av 72 möjliga, förändring +11" in summary
    changed = table_rows(slide_titled(deck, "Förflyttning sedan förra gången"), "Förändrade svar")
    assert changed[0] == ["Nr", "Påstående", "Före", "Nu", "Förändring", "Kommentar"]
    assert changed[1] == [
        "7",
        context["movement"]["changed"][0]["text"],
        "1",
        "3",
        "+2",
        ("Nya mål antagna i budgeten."),
    ]
    assert changed[2][-1] == ""
    areas = table_rows(slide_titled(deck, "Förflyttning per område"), "Områden")
    assert [row[0] for row in areas[1:]] == AREAS


def test_one_slide_per_initiative_with_its_details(deck_template: PptxTemplate) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    for slide, initiative in zip(list(deck.slides)[9:11], context["initiatives"], strict=True):
        assert slide.shapes.title.text == f"Förbättringsarbete: {initiative['title']}"
        rows = dict(table_rows(slide, "Förbättringsarbete"))
        assert rows["Problem"] == initiative["problem"]
        assert rows["Ansvarig"] == initiative["owner"]
        assert initiative["title"] in slide.notes_slide.notes_text_frame.text
    assert dict(table_rows(deck.slides[9], "Förbättringsarbete"))["Status och PDSA-fas"] == (
        "Pågår · Studera"
    )
    assert dict(table_rows(deck.slides[10], "Förbättringsarbete"))["Status och PDSA-fas"] == (
        "Planerad"
    )


def test_plan_table_has_one_row_per_activity(deck_template: PptxTemplate) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    rows = table_rows(slide_titled(deck, "Plan för fortsättning och uppföljning"), "Plan")
    assert rows[1:] == [
        [a["activity"], a["owner"], a["deadline"], a["follow_up"], a["status"]]
        for a in context["plan"]["activities"]
    ]


def test_next_meeting_details_are_shown(deck_template: PptxTemplate) -> None:
    deck = render_deck(deck_template, make_deck_context())

    texts = texts_of(slide_titled(deck, "Inför Träff 3"))
    assert "Träff 3 – Resursfördelning" in texts
    assert "Datum: 8 oktober 2025, 09.30–16.00" in texts
    assert "Plats: Regionens hus, Göteborg" in texts
    assert "Ladda upp presentationen senast 29 september 2025" in texts
    assert "Gör självskattningen tillsammans på fliken BM 3 i checklistan" in texts
    assert "Datum och plats för nästa träff meddelas senare." not in texts


def test_without_initiatives_next_meeting_or_contact_the_deck_still_reads_well(
    deck_template: PptxTemplate,
) -> None:
    context = make_deck_context(
        initiatives=[],
        next_meeting=None,
        contact=None,
        delegation=[],
        results={"charts": [], "invitation": ["[Fyll i era resultat …]"]},
    )

    deck = render_deck(deck_template, context)

    assert len(deck.slides) == 17
    assert not any(t.startswith("Förbättringsarbete") for t in titles(deck))
    assert deck.slides[-1].shapes.title.text == "Inför nästa träff"
    assert texts_of(deck.slides[-1])[1:] == [
        "Datum och plats för nästa träff meddelas senare.",
        "Till nästa gång tar vi med oss",
        "[Fyll i vad ni ska ha gjort eller prövat till nästa träff …]",
    ]
    assert table_rows(deck.slides[1], "Delegation") == [["Roll", "Namn", "Titel"]]


def test_no_template_markers_remain_in_the_rendered_deck(deck_template: PptxTemplate) -> None:
    deck = render_deck(deck_template, make_deck_context())

    assert len(deck.slides) > 5
    for slide in deck.slides:
        texts = texts_of(slide)
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
        assert not [t for t in texts if "{{" in t or "{%" in t], slide.shapes.title.text


def test_reflections_are_left_as_prompts_for_the_participants(
    deck_template: PptxTemplate,
) -> None:
    deck = render_deck(deck_template, make_deck_context())

    assert texts_of(slide_titled(deck, "Frågor till de andra organisationerna"))[2:] == [
        "Fråga 1",
        "[Fyll i fråga 1 …]",
        "Fråga 2",
        "[Fyll i fråga 2 …]",
        "Fråga 3",
        "[Fyll i fråga 3 …]",
    ]
    assert "[Fyll i vad förflyttningen lär er …]" in texts_of(
        slide_titled(deck, "Lärdomar av förflyttningen")
    )
    film = texts_of(slide_titled(deck, "Reflektion: Röster om manlighet – Dags för normreform"))
    assert "Filmen: https://film.example/normreform" in film
    assert "[Fyll i era reflektioner kring filmen …]" in film


def test_the_new_slides_show_their_data(deck_template: PptxTemplate) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    lessons = table_rows(slide_titled(deck, "Lärdomar av förflyttningen"), "Förflyttade påståenden")
    assert lessons[1:] == [
        ["7", "Mål för jämställdhet finns i verksamhetsplanen.", "1 → 3"],
        ["13", "Statistik om individer redovisas uppdelad på kön.", "2 → 3"],
    ]
    transfer = slide_titled(deck, "Vad kan överföras till fler verksamheter?")
    assert table_rows(transfer, "Kan överföras") == [
        ["Förbättringsarbete", "Kan överföras till"],
        ["Jämställd biståndshandläggning", "hemtjänst\vLSS-handläggning"],
    ]
    leadership = texts_of(slide_titled(deck, "Ledarskap och kultur – vad stödjer och vad hindrar?"))
    for heading, text in [
        ("Det som stödjer arbetet", context["leadership"]["strengths"]),
        ("Det som hindrar", context["leadership"]["obstacles"]),
        ("Det vi ser i kulturen", context["leadership"]["culture_observations"]),
        ("Det vi gör", context["leadership"]["actions"]),
    ]:
        assert leadership[leadership.index(heading) + 1] == text
    needs = slide_titled(deck, "Behov av fortsatt förbättringsarbete")
    assert "Lägst skattade område: Resursfördelning (medelvärde 1,25)" in texts_of(needs)
    assert table_rows(needs, "Behov")[1:] == [
        ["11", "Resurser fördelas utifrån analys av kön.", "Resursfördelning"]
    ]


@pytest.mark.needs_tools("soffice", "pdftotext")
def test_libreoffice_converts_the_rendered_deck_to_pdf(
    deck_template: PptxTemplate, tmp_path: Path
) -> None:
    deck = tmp_path / "presentation.pptx"
    deck.write_bytes(deck_template.render(make_deck_context()))

    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(deck),
        ],
        check=True,
        capture_output=True,
        timeout=CHILD_TIMEOUT,
    )

    pdf = tmp_path / "presentation.pdf"
    assert pdf.exists()
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "Umeå kommun" in text


def changed_statements(count: int) -> list[dict[str, str]]:
    """``count`` changed statements with checklist-length wording, every other one commented."""
    return [
        {
            "number": str(n),
            "text": f"Påstående {n}: vi följer upp jämställdhet i ordinarie verksamhets- och "
            "budgetuppföljning och redovisar statistiken uppdelad på kön.",
            "previous": "2",
            "current": "3",
            "delta": "+1",
            "comment": "Införd i delårsrapporten." if n % 2 else "",
        }
        for n in range(1, count + 1)
    ]


def movement_context(count: int) -> dict[str, Any]:
    context = make_deck_context()
    rows = changed_statements(count)
    context["movement"] = {**context["movement"], "changed": rows, "rows": rows}
    return context


def movement_slides(deck: Any) -> list[Any]:
    return [
        slide
        for slide in deck.slides
        if slide.shapes.title.text.startswith("Förflyttning sedan förra gången")
    ]


@pytest.fixture(scope="module")
def fitted_deck_template() -> Any:
    """The deck template as benchdocs parses it: tables measured with this machine's fonts."""
    return parse_document_template(DECK_TEMPLATE.read_bytes(), name=DECK_TEMPLATE.name)


@pytest.mark.parametrize(("count", "at_least"), [(1, 1), (15, 2), (24, 3)])
def test_the_movement_table_continues_on_copies_of_its_slide_with_every_row(
    fitted_deck_template: Any, count: int, at_least: int
) -> None:
    deck = Presentation(io.BytesIO(fitted_deck_template.render(movement_context(count))))

    slides = movement_slides(deck)
    assert len(slides) >= at_least
    assert [s.shapes.title.text for s in slides] == [
        "Förflyttning sedan förra gången",
        *["Förflyttning sedan förra gången (forts.)"] * (len(slides) - 1),
    ]
    numbers: list[str] = []
    for slide in slides:
        rows = table_rows(slide, "Förändrade svar")
        assert rows[0] == ["Nr", "Påstående", "Före", "Nu", "Förändring", "Kommentar"]
        numbers += [row[0] for row in rows[1:]]
        frame = next(shape for shape in slide.shapes if shape.name == "Förändrade svar")
        assert frame.top + frame.height <= deck.slide_height
    assert numbers == [str(n) for n in range(1, count + 1)]
    # The summary stands on the first slide only; the slides after the table's follow on.
    assert any(t.startswith("Summa:") for t in texts_of(slides[0]))
    assert not any(t.startswith("Summa:") for s in slides[1:] for t in texts_of(s))
    after = list(deck.slides).index(slides[-1]) + 1
    assert deck.slides[after].shapes.title.text == "Förflyttning per område"


@pytest.mark.needs_tools("soffice", "pdftotext")
def test_a_continued_table_loses_no_row_in_the_pdf(
    fitted_deck_template: Any, tmp_path: Path
) -> None:
    deck = tmp_path / "presentation.pptx"
    deck.write_bytes(fitted_deck_template.render(movement_context(15)))

    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(deck),
        ],
        check=True,
        capture_output=True,
        timeout=CHILD_TIMEOUT,
    )

    pages = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "presentation.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split("\f")
    movement_pages = [p for p in pages if "Förflyttning sedan förra gången" in p]
    assert len(movement_pages) >= 2
    text = " ".join(" ".join(page.split()) for page in movement_pages)
    for n in range(1, 16):
        assert f"Påstående {n}: vi följer upp" in text


def test_the_key_messages_are_three_bullets_marked_as_suggestions(
    deck_template: PptxTemplate,
) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    texts = texts_of(slide_titled(deck, "Det viktigaste sedan förra träffen"))
    assert texts[1] == context["highlights"]["note"]
    assert texts[2:] == context["highlights"]["suggestions"]


def test_governance_initiatives_are_a_table_of_title_status_and_phase(
    deck_template: PptxTemplate,
) -> None:
    deck = render_deck(deck_template, make_deck_context())

    rows = table_rows(
        slide_titled(deck, "Förbättringar i styrning och ledning"), "Styrning och ledning"
    )
    assert rows == [
        ["Förbättringsarbete", "Status", "PDSA-fas"],
        ["Könsuppdelad statistik i årsredovisningen", "Planerad", "Planera"],
    ]


def result_chart(slide: Any) -> Any:
    return next(s for s in slide.shapes if s.name == "chart:result.chart")


def test_each_indicator_gets_a_results_slide_with_its_own_chart(
    deck_template: PptxTemplate,
) -> None:
    context = make_deck_context()

    deck = render_deck(deck_template, context)

    slides = [s for s in deck.slides if s.shapes.title.text.startswith("Resultat – ")]
    assert len(slides) == 2
    for slide, wanted in zip(slides, context["results"]["charts"], strict=True):
        assert slide.shapes.title.text == wanted["heading"]
        texts = texts_of(slide)
        assert wanted["indicator"] in texts
        assert wanted["dates"] in texts
        frame = result_chart(slide)
        plot = frame.chart.plots[0]
        assert list(plot.categories) == wanted["chart"]["categories"]
        assert [s.name for s in plot.series] == [s["name"] for s in wanted["chart"]["series"]]
        assert [list(s.values) for s in plot.series] == [
            s["values"] for s in wanted["chart"]["series"]
        ]
        assert plot.data_labels.number_format == wanted["chart"]["number_format"]
        assert frame.chart.value_axis.minimum_scale == 0
        assert (
            frame._element.nvGraphicFramePr.cNvPr.get("descr") == (wanted["chart"]["description"])
        )
    assert result_chart(slides[1]).chart.value_axis.maximum_scale == 100


def test_without_indicators_one_slide_invites_the_delegation_to_show_results(
    deck_template: PptxTemplate,
) -> None:
    context = make_deck_context(
        results={"charts": [], "invitation": ["[Fyll i era resultat …]"]},
        governance={"rows": [{"title": "[Fyll i …]", "status": "", "pdsa_phase": ""}]},
    )

    deck = render_deck(deck_template, context)

    results = [s for s in deck.slides if s.shapes.title.text.startswith("Resultat")]
    assert [s.shapes.title.text for s in results] == ["Resultat – uppdelat på kvinnor och män"]
    assert "[Fyll i era resultat …]" in texts_of(results[0])
    assert not [s for s in results[0].shapes if s.has_chart]
    governance = slide_titled(deck, "Förbättringar i styrning och ledning")
    assert table_rows(governance, "Styrning och ledning")[1][0] == "[Fyll i …]"


def test_a_continued_lessons_table_keeps_its_prompt_card_on_the_first_slide_only(
    fitted_deck_template: Any,
) -> None:
    deck = Presentation(io.BytesIO(fitted_deck_template.render(movement_context(24))))

    slides = [
        s for s in deck.slides if s.shapes.title.text.startswith("Lärdomar av förflyttningen")
    ]
    assert len(slides) >= 2
    numbers = [row[0] for s in slides for row in table_rows(s, "Förflyttade påståenden")[1:]]
    assert numbers == [str(n) for n in range(1, 25)]
    assert "[Fyll i vad förflyttningen lär er …]" in texts_of(slides[0])
    for slide in slides[1:]:
        assert "[Fyll i vad förflyttningen lär er …]" not in texts_of(slide)
