"""The network overview's context from plain facts: totals, movement, areas, readiness, weakest."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pptx import Presentation

from service.documents.facts import AreaFacts, ChecklistFacts, MeetingFacts
from service.documents.network_overview import (
    NetworkOverviewFacts,
    OrganisationScoresFacts,
    build_network_overview_context,
)
from service.domain.movement import QuestionRef, Scale
from service.engines.pptx_engine import PptxTemplate, pptx_spots
from service.engines.template_check import check_spots
from service.engines.xlsx_engine import XlsxTemplate

TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"
HOSTILE = 'Åbo & Söner <AB> "citat" {{ 7*7 }} {% for x in y %} 👩‍💼🚀'

# Six statements in two areas on the 1–3 scale.
CHECKLIST = ChecklistFacts(
    scale=Scale(1, 3),
    areas=(AreaFacts("A1", "Styrning"), AreaFacts("A2", "Uppföljning")),
    questions=tuple(
        QuestionRef(ref, area)
        for ref, area in (
            ("Q1", "A1"),
            ("Q2", "A1"),
            ("Q3", "A1"),
            ("Q4", "A2"),
            ("Q5", "A2"),
            ("Q6", "A2"),
        )
    ),
    question_texts={f"Q{n}": f"Påstående {n}" for n in range(1, 7)},
)


def scores(*values: int | None) -> dict[str, int | None]:
    return {f"Q{n}": v for n, v in enumerate(values, 1)}


def make_facts(**overrides: Any) -> NetworkOverviewFacts:
    """Three organisations: one ready, one that went down, one without this round's scores."""
    values: dict[str, Any] = {
        "network_name": "Modellkommuner 2019",
        "meeting": MeetingFacts(
            title="Benchmarking 2",
            number=2,
            date=dt.date(2019, 9, 26),
            upload_deadline=dt.date(2019, 9, 19),
        ),
        "checklist": CHECKLIST,
        "previous_label": "BM 1",
        "current_label": "BM 2",
        "organisations": (
            OrganisationScoresFacts(
                "Örebro kommun", "mentor", scores(3, 3, 2, 3, 2, 2), scores(3, 3, 3, 3, 2, 3)
            ),
            OrganisationScoresFacts(
                "Askersunds kommun", None, scores(2, 2, 1, 2, 1, 1), scores(1, 2, 1, 2, 1, None)
            ),
            OrganisationScoresFacts("Kalmar kommun", None, scores(1, 1, 1, 1, 1, 1), None),
        ),
    }
    values.update(overrides)
    return NetworkOverviewFacts(**values)


def by_name(context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in context["organisations"]}


def test_each_organisation_has_its_totals_movement_counts_and_readiness() -> None:
    context = build_network_overview_context(make_facts())

    rows = by_name(context)
    assert list(rows) == ["Askersunds kommun", "Kalmar kommun", "Örebro kommun"]  # Ö after Z
    orebro = rows["Örebro kommun"]
    assert (orebro["previous_total"], orebro["current_total"], orebro["delta"]) == (15, 17, 2)
    assert (orebro["delta_text"], orebro["counts"], orebro["ready_text"]) == ("+2", [0, 1, 5], "Ja")
    assert orebro["role"] == "Mentor"
    askersund = rows["Askersunds kommun"]
    assert (askersund["current_total"], askersund["delta_text"]) == (7, "\u22122")
    assert (askersund["assessed"], askersund["count_texts"]) == (5, ["3", "2", "0"])
    assert askersund["ready"] is False
    kalmar = rows["Kalmar kommun"]
    assert (kalmar["current_total"], kalmar["current_text"], kalmar["delta_text"]) == (
        None,
        "–",
        "–",
    )
    assert (kalmar["ready"], kalmar["ready_text"], kalmar["counts"]) == (None, "–", [None] * 3)
    assert context["readiness"]["text"].startswith("1 av 2 organisationer uppfyller tumregeln")


def test_area_means_pool_every_answer_and_leave_blanks_out() -> None:
    context = build_network_overview_context(make_facts())

    steering, follow_up = context["areas"]
    # BM 1: (3+3+2 + 2+2+1 + 1+1+1) / 9; BM 2: (3+3+3 + 1+2+1) / 6, Kalmar has no BM 2.
    assert (steering["previous_mean"], steering["current_mean"]) == (1.78, 2.17)
    assert (steering["delta"], steering["delta_text"]) == (0.39, "+0,39")
    assert steering["counts"] == [2, 1, 3]
    assert steering["distribution_text"] == "1:or 2 · 2:or 1 · 3:or 3"
    # BM 2: 3, 2, 3 and 2, 1 (Askersund left Q6 blank): 11 / 5.
    assert (follow_up["current_mean"], follow_up["current_text"], follow_up["assessed"]) == (
        2.2,
        "2,20",
        5,
    )
    assert context["area_chart"] == {
        "categories": ["Styrning", "Uppföljning"],
        "series": [
            {"name": "BM 1", "values": [1.78, 1.56]},
            {"name": "BM 2", "values": [2.17, 2.2]},
        ],
        "description": "Stapeldiagram över nätverkets medelvärde per område i BM 1 och BM 2, "
        "på skalan 1–3.",
    }
    assert context["distribution_chart"]["series"] == [
        {"name": "Antal 1:or", "values": [2, 1]},
        {"name": "Antal 2:or", "values": [1, 2]},
        {"name": "Antal 3:or", "values": [3, 2]},
    ]


def test_the_weakest_statements_are_the_lowest_means_with_their_spread() -> None:
    context = build_network_overview_context(make_facts())

    weakest = [(s["number"], s["mean"], s["min"], s["max"]) for s in context["weakest"]]
    # Q1 and Q3 tie at 2.0 and come in checklist order; Q6 (one answer, 3) is not among them.
    assert weakest == [
        (5, 1.5, 1, 2),
        (1, 2.0, 1, 3),
        (3, 2.0, 1, 3),
        (2, 2.5, 2, 3),
        (4, 2.5, 2, 3),
    ]
    assert context["weakest"][0]["text"] == "Påstående 5"
    assert context["statements"][5]["assessed"] == 1


def test_anonymised_organisations_get_letters_by_their_figures_not_their_names() -> None:
    facts = make_facts(anonymised=True)

    context = build_network_overview_context(facts)

    assert [(o["name"], o["current_total"]) for o in context["organisations"]] == [
        ("Organisation A", 17),
        ("Organisation B", 7),
        ("Organisation C", None),
    ]
    assert all(o["role"] == "" for o in context["organisations"])
    assert context["totals_chart"]["categories"] == [
        "Organisation A",
        "Organisation B",
        "Organisation C",
    ]
    text = json.dumps(context, ensure_ascii=False)
    for org in facts.organisations:
        assert org.name not in text
    renamed = make_facts(
        anonymised=True,
        organisations=tuple(
            OrganisationScoresFacts(f"X{n}", o.programme_role, o.previous, o.current)
            for n, o in enumerate(reversed(facts.organisations))
        ),
    )
    assert build_network_overview_context(renamed) == context


def test_equal_totals_are_ordered_by_what_the_overview_shows() -> None:
    same = scores(2, 2, 2, 2, 2, 2)
    facts = make_facts(
        anonymised=True,
        organisations=(
            OrganisationScoresFacts("B", None, scores(1, 1, 1, 1, 1, 1), same),
            OrganisationScoresFacts("A", None, scores(3, 3, 3, 1, 1, 1), same),
        ),
    )

    rows = build_network_overview_context(facts)["organisations"]

    assert [(r["name"], r["previous_total"]) for r in rows] == [
        ("Organisation A", 12),
        ("Organisation B", 6),
    ]


def test_a_first_meeting_has_no_previous_series_and_no_movement() -> None:
    facts = make_facts(
        previous_label=None,
        organisations=tuple(
            OrganisationScoresFacts(o.name, o.programme_role, None, o.current)
            for o in make_facts().organisations
        ),
    )

    context = build_network_overview_context(facts)

    assert context["rounds"] == {"previous": "", "current": "BM 2", "has_previous": False}
    assert [s["name"] for s in context["totals_chart"]["series"]] == ["BM 2"]
    assert {o["delta_text"] for o in context["organisations"]} == {"–"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"checklist": None},
        {"current_label": None},
        {"organisations": (OrganisationScoresFacts("Kalmar kommun"),)},
        {"organisations": ()},
    ],
    ids=["no checklist", "no round for the meeting", "nobody has scores", "no organisations"],
)
def test_without_scores_the_context_is_empty_but_complete(overrides: dict[str, Any]) -> None:
    context = build_network_overview_context(make_facts(**overrides))

    assert context["has_scores"] is False
    assert context["organisations"] == context["areas"] == context["weakest"] == []
    assert set(context) == set(build_network_overview_context(make_facts()))


# -- the templates --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["network_overview.pptx", "network_overview.xlsx"])
@pytest.mark.parametrize("facts", [make_facts(), make_facts(checklist=None)], ids=["full", "empty"])
def test_the_templates_check_clean_against_the_context(
    name: str, facts: NetworkOverviewFacts
) -> None:
    data = (TEMPLATES / name).read_bytes()
    spots = (
        pptx_spots(data, name=name)
        if name.endswith("pptx")
        else XlsxTemplate.spots(data, name=name)
    )

    assert check_spots(spots, build_network_overview_context(facts)) == []


def test_the_deck_renders_hostile_names_as_typed_and_its_chart_from_the_context() -> None:
    template = PptxTemplate.from_bytes(
        (TEMPLATES / "network_overview.pptx").read_bytes(), name="network_overview.pptx"
    )
    first = make_facts().organisations[0]
    facts = make_facts(
        organisations=(OrganisationScoresFacts(HOSTILE, None, first.previous, first.current),)
    )

    deck = Presentation(io.BytesIO(template.render(build_network_overview_context(facts))))

    totals = next(s for s in deck.slides if s.shapes.title.text == "Summa poäng per organisation")
    chart = next(shape for shape in totals.shapes if shape.has_chart).chart
    assert list(chart.plots[0].categories) == [HOSTILE]
    assert [list(s.values) for s in chart.plots[0].series] == [[15.0], [17.0]]
    table = next(s for s in deck.slides[1].shapes if s.has_table).table
    assert [c.text for c in table.rows[1].cells] == [HOSTILE, "15", "17", "+2", "0", "5", "Ja"]


def test_the_workbook_renders_numbers_as_numbers() -> None:
    template = XlsxTemplate.from_bytes(
        (TEMPLATES / "network_overview.xlsx").read_bytes(), name="network_overview.xlsx"
    )

    book = openpyxl.load_workbook(
        io.BytesIO(template.render(build_network_overview_context(make_facts())))
    )

    rows = [
        list(r) for r in book["Organisationer"].iter_rows(min_row=7, max_row=9, values_only=True)
    ]
    assert rows == [
        ["Askersunds kommun", 9, 7, -2, 3, 2, 0, "Nej"],
        ["Kalmar kommun", 6, None, None, None, None, None, "–"],
        ["Örebro kommun", 15, 17, 2, 0, 1, 5, "Ja"],
    ]
