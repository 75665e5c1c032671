"""The deck's context: display-ready Swedish values built from plain facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.documents.deck import build_deck_context
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    DeckFacts,
    FilmFacts,
    IndicatorFacts,
    InitiativeFacts,
    LeadershipFacts,
    MeasurementFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
    PlanActivityFacts,
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
        "value_axis": {"minimum": 1, "maximum": 3, "major_unit": 1},
        "number_format": "0.00",
        "description": f"Stapeldiagram över självskattningen för {HOSTILE} i BM 1 och BM 2: "
        "medelvärdet per område på skalan 1–3.",
    }
    movement = context["movement"]
    assert (movement["previous_sum"], movement["current_sum"], movement["delta"]) == (6, 6, "±0")
    assert [
        (c["number"], c["text"], c["delta"], c["declined"], c["comment"])
        for c in movement["changed"]
    ] == [
        ("1", "Ett", "+1", False, ""),
        ("3", "Tre", "\u22121", True, "Sänkt"),
    ]
    assert movement["rows"] == movement["changed"]
    assert context["initiatives"][0]["indicator"] == (
        "Timmar (h); utgångsläge 30 april 2019: kvinnor 7,9, män 10,4; "
        "senast 31 augusti 2019: kvinnor 8,8, män 9,9"
    )


def test_a_first_round_without_history_has_one_series_and_no_changes() -> None:
    context = build_deck_context(make_facts(previous_round=None))

    assert [s["name"] for s in context["area_chart"]["series"]] == ["BM 2"]
    assert context["movement"]["changed"] == []
    assert context["movement"]["delta"] == ""


def test_without_changes_the_movement_tables_get_a_row_that_says_so() -> None:
    same = RoundFacts("BM 1", {"Q1": 2, "Q2": 2, "Q3": 2})

    movement = build_deck_context(make_facts(previous_round=same))["movement"]

    assert movement["changed"] == []
    assert [row["text"] for row in movement["rows"]] == [
        "Inga påståenden har ändrats sedan förra gången."
    ]


def test_leadership_and_film_show_the_analysis_or_prompts_where_it_is_empty() -> None:
    facts = make_facts(
        leadership=LeadershipFacts(strengths="KSO efterfrågar resultat.", obstacles="  "),
        film=FilmFacts(title="Röster om manlighet", link="https://film.example/a"),
    )

    context = build_deck_context(facts)

    leadership = context["leadership"]
    assert leadership["strengths"] == "KSO efterfrågar resultat."
    assert leadership["obstacles"].startswith("[Fyll i ")
    assert leadership["culture_observations"].startswith("[Fyll i ")
    assert leadership["actions"].startswith("[Fyll i ")
    assert context["film"]["title"] == "Röster om manlighet"
    assert context["film"]["link"] == "https://film.example/a"
    assert context["film"]["reflection"].startswith("[Fyll i era reflektioner kring filmen")


def test_without_any_analysis_every_leadership_field_is_a_prompt() -> None:
    context = build_deck_context(make_facts())

    assert all(text.startswith("[Fyll i ") for text in context["leadership"].values())
    assert context["film"] == {
        "title": "",
        "link": "",
        "reflection": context["film"]["reflection"],
    }


def test_transferable_initiatives_list_where_to_as_typed_one_per_line() -> None:
    initiatives = (
        InitiativeFacts("Analysmall", transferable=True, transfer_to=("Alla nämnder", "bolag")),
        InitiativeFacts("Pilot", transferable=False, transfer_to=("Skolan",)),
        InitiativeFacts("Checklista", transferable=True),
    )

    rows = build_deck_context(make_facts(initiatives=initiatives))["transferable"]

    assert rows[0] == {"title": "Analysmall", "where": "Alla nämnder\nbolag"}
    assert rows[1]["title"] == "Checklista"
    assert rows[1]["where"].startswith("[Fyll i ")
    assert len(rows) == 2


def test_no_transferable_initiative_gives_a_row_to_fill_in() -> None:
    rows = build_deck_context(make_facts(initiatives=()))["transferable"]

    assert len(rows) == 1
    assert rows[0]["title"].startswith("[Fyll i ")


def test_improvement_needs_are_the_statements_at_one_and_the_lowest_area() -> None:
    current = RoundFacts("BM 2", {"Q1": 1, "Q2": 3, "Q3": 1})

    needs = build_deck_context(make_facts(current_round=current))["needs"]

    assert [(n["number"], n["text"], n["area"]) for n in needs["statements"]] == [
        ("1", "Ett", "Politisk styrning"),
        ("3", "Tre", "Statistik"),
    ]
    assert needs["lowest_area"] == "Statistik (medelvärde 1,00)"
    assert needs["prompt"].startswith("[Fyll i ")


def test_without_ones_the_needs_table_invites_the_delegation_to_choose() -> None:
    needs = build_deck_context(make_facts())["needs"]

    assert len(needs["statements"]) == 1
    assert needs["statements"][0]["text"].startswith("Inga påståenden har skattats till 1.")
    assert needs["lowest_area"] == "Politisk styrning (medelvärde 2,00)"


def test_an_empty_plan_is_a_row_to_fill_in_and_dates_in_text_read_as_dates() -> None:
    empty = build_deck_context(make_facts())["plan"]["activities"]
    plan = (
        PlanActivityFacts(
            "Analysmall", deadline=dt.date(2019, 11, 15), follow_up="Ledningsgrupp 2019-11-25"
        ),
    )

    filled = build_deck_context(make_facts(plan=plan))["plan"]["activities"]

    assert [row["activity"] for row in empty] == ["[Fyll i aktivitet …]"]
    assert (filled[0]["deadline"], filled[0]["follow_up"]) == (
        "15 november 2019",
        "Ledningsgrupp 25 november 2019",
    )


def test_the_key_messages_suggest_the_biggest_movement_and_results_then_prompts() -> None:
    initiatives = (
        InitiativeFacts("Analysmall", results="Mallen används i alla nämnder."),
        InitiativeFacts("Pilot"),
    )

    highlights = build_deck_context(make_facts(initiatives=initiatives))["highlights"]

    assert highlights["note"].startswith("Förslag ")
    assert highlights["suggestions"] == [
        "Summan i självskattningen är oförändrad, 6 poäng (BM 1 → BM 2); störst förflyttning "
        "i Statistik, från 3,00 till 2,00 i medelvärde.",
        "Analysmall: Mallen används i alla nämnder.",
        "[Fyll i en lärdom ni vill dela med de andra …]",
    ]


def test_without_a_previous_round_or_results_every_key_message_is_a_prompt() -> None:
    facts = make_facts(previous_round=None, initiatives=(InitiativeFacts("Pilot"),))

    suggestions = build_deck_context(facts)["highlights"]["suggestions"]

    assert len(suggestions) == 3
    assert all(text.startswith("[Fyll i ") for text in suggestions)


def test_governance_lists_the_initiatives_at_that_level_or_invites_one() -> None:
    initiatives = (
        InitiativeFacts("Mål i budget", level="Styrning och ledning ", status="genomförd"),
        InitiativeFacts("Hemtjänst", level="verksamhet", status="pågående"),
    )

    rows = build_deck_context(make_facts(initiatives=initiatives))["governance"]["rows"]
    empty = build_deck_context(make_facts(initiatives=initiatives[1:]))["governance"]["rows"]

    assert rows == [{"title": "Mål i budget", "status": "genomförd", "pdsa_phase": ""}]
    assert len(empty) == 1
    assert empty[0]["title"].startswith("[Fyll i en förbättring ni har gjort i styrning")


def indicator(**overrides: Any) -> IndicatorFacts:
    values: dict[str, Any] = {
        "initiative_title": "Jämställd elevhälsa",
        "name": "Andel elever med hälsosamtal",
        "unit": "%",
        "population": "flickor_pojkar",
        "baseline": MeasurementFacts(dt.date(2019, 6, 30), women=61, men=48),
        "latest": MeasurementFacts(dt.date(2019, 9, 1), women=70, men=66),
    }
    values.update(overrides)
    return IndicatorFacts(**values)


def test_a_results_chart_per_indicator_labels_the_groups_by_its_population() -> None:
    context = build_deck_context(make_facts(indicators=(indicator(),)))

    (result,) = context["results"]["charts"]
    assert result["heading"] == "Resultat – uppdelat på flickor och pojkar"
    assert result["indicator"] == "Andel elever med hälsosamtal (%)"
    assert result["dates"] == "Utgångsläge 30 juni 2019 · Senaste mätningen 1 september 2019"
    assert result["chart"] == {
        "categories": ["Flickor", "Pojkar"],
        "series": [
            {"name": "Utgångsläge (30 juni 2019)", "values": [61, 48]},
            {"name": "Senaste mätningen (1 september 2019)", "values": [70, 66]},
        ],
        "value_axis": {"minimum": 0, "maximum": 100},
        "number_format": "0",
        "description": f"Stapeldiagram för {HOSTILE}: Andel elever med hälsosamtal (%) "
        "för flickor och pojkar, utgångsläge 30 juni 2019 och senaste mätningen "
        "1 september 2019.",
    }
    assert context["results"]["invitation"] == []


def test_a_total_only_indicator_shows_its_totals_under_a_neutral_heading() -> None:
    totals = indicator(
        unit="antal",
        population="kvinnor_män",
        baseline=MeasurementFacts(dt.date(2019, 1, 1), total=1.5),
        latest=None,
    )

    (result,) = build_deck_context(make_facts(indicators=(totals,)))["results"]["charts"]

    assert result["heading"] == "Resultat – totalt, inte uppdelat på kön"
    assert result["chart"]["categories"] == ["Totalt"]
    assert result["chart"]["series"] == [{"name": "Utgångsläge (1 januari 2019)", "values": [1.5]}]
    assert result["chart"]["number_format"] == "0.0"
    assert result["chart"]["value_axis"] == {"minimum": 0}


def test_the_neutral_population_and_adults_have_their_own_labels() -> None:
    adults = indicator(population="kvinnor_män", unit="timmar")
    mixed = indicator(population="neutral")

    charts = build_deck_context(make_facts(indicators=(adults, mixed)))["results"]["charts"]

    assert charts[0]["heading"] == "Resultat – uppdelat på kvinnor och män"
    assert charts[0]["chart"]["categories"] == ["Kvinnor", "Män"]
    assert charts[0]["chart"]["value_axis"] == {"minimum": 0}
    assert charts[1]["chart"]["categories"] == ["Kvinnor och flickor", "Män och pojkar"]


def test_without_measured_indicators_the_results_are_one_invitation() -> None:
    unmeasured = indicator(baseline=None, latest=None)

    results = build_deck_context(make_facts(indicators=(unmeasured,)))["results"]

    assert results["charts"] == []
    assert len(results["invitation"]) == 1
    assert "[Fyll i " in results["invitation"][0]
