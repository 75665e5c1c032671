"""The deck's context: display-ready Swedish values built from plain facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.documents.deck import build_deck_context
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    DeckFacts,
    InitiativeFacts,
    MeasurementFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
    RoundFacts,
)
from service.domain.movement import QuestionRef, Scale

HOSTILE = 'Åbo & Söner <AB> "citat" {{ 7*7 }} {% for x in y %} 👩‍💼🚀'


def make_facts(**overrides: Any) -> DeckFacts:
    checklist = ChecklistFacts(
        scale=Scale(1, 3),
        areas=(AreaFacts("A1", "Politisk styrning"), AreaFacts("A2", "Statistik")),
        questions=(QuestionRef("Q1", "A1"), QuestionRef("Q2", "A1"), QuestionRef("Q3", "A2")),
        question_texts={"Q1": "Ett", "Q2": "Två", "Q3": "Tre"},
    )
    values: dict[str, Any] = {
        "network_name": "Nätverket",
        "organisation": OrganisationFacts(
            name=HOSTILE,
            delegation=(
                PersonFacts("Sara Strateg", "strateg"),
                PersonFacts("Pia Politiker", "politiker", title="KSO"),
                PersonFacts("Cecilia Chef", "chef"),
            ),
        ),
        "meeting": MeetingFacts(
            title="Benchmarking 2",
            number=2,
            date=dt.date(2019, 9, 26),
            upload_deadline=dt.date(2019, 9, 19),
            start_time=dt.time(9, 30),
            end_time=dt.time(16, 30),
        ),
        "checklist": checklist,
        "previous_round": RoundFacts("BM 1", {"Q1": 1, "Q2": 2, "Q3": 3}),
        "current_round": RoundFacts("BM 2", {"Q1": 2, "Q2": 2, "Q3": 2}, {"Q3": "Sänkt"}),
        "initiatives": (
            InitiativeFacts(
                "Jämställd biståndsbedömning",
                indicator_name="Timmar",
                indicator_unit="h",
                baseline=MeasurementFacts(dt.date(2019, 4, 30), women=7.9, men=10.4),
                latest=MeasurementFacts(dt.date(2019, 8, 31), women=8.8, men=9.9),
            ),
        ),
        "plan": (),
        "next_meeting": None,
    }
    values.update(overrides)
    return DeckFacts(**values)


def test_text_from_data_is_passed_on_exactly_as_typed() -> None:
    context = build_deck_context(make_facts())

    assert context["organisation"]["name"] == HOSTILE


def test_meeting_facts_are_formatted_in_swedish() -> None:
    meeting = build_deck_context(make_facts())["meeting"]

    assert meeting["date"] == "26 september 2019"
    assert meeting["weekday"] == "torsdag"
    assert meeting["time"] == "09.30–16.30"
    assert meeting["upload_deadline"] == "19 september 2019"


def test_delegation_is_ordered_by_role_with_swedish_labels() -> None:
    delegation = build_deck_context(make_facts())["delegation"]

    assert [(p["role"], p["name"]) for p in delegation] == [
        ("Politiker", "Pia Politiker"),
        ("Chef", "Cecilia Chef"),
        ("Strateg", "Sara Strateg"),
    ]


def test_chart_and_movement_show_both_rounds() -> None:
    context = build_deck_context(make_facts())

    assert context["area_chart"] == {
        "categories": ["Politisk styrning", "Statistik"],
        "series": [
            {"name": "BM 1", "values": [1.5, 3.0]},
            {"name": "BM 2", "values": [2.0, 2.0]},
        ],
    }
    movement = context["movement"]
    assert (movement["previous_sum"], movement["current_sum"], movement["delta"]) == (6, 6, "±0")
    assert [
        (c["question"], c["delta"], c["declined"], c["comment"]) for c in movement["changed"]
    ] == [
        ("Q1", "+1", False, ""),
        ("Q3", "\u22121", True, "Sänkt"),
    ]
    assert context["initiatives"][0]["indicator"] == (
        "Timmar (h); utgångsläge 30 april 2019: kvinnor 7,9, män 10,4; "
        "senast 31 augusti 2019: kvinnor 8,8, män 9,9"
    )


def test_a_first_round_without_history_has_one_series_and_no_changes() -> None:
    context = build_deck_context(make_facts(previous_round=None))

    assert [s["name"] for s in context["area_chart"]["series"]] == ["BM 2"]
    assert context["movement"]["changed"] == []
    assert context["movement"]["delta"] == ""
