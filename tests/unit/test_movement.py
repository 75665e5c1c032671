"""Movement between rounds, checked against DOMAIN.md §3's worked example and the sample."""

from __future__ import annotations

import json

import pytest

from service.domain.movement import (
    Movement,
    QuestionRef,
    Scale,
    compute_movement,
    is_ready,
    summarise_round,
)
from tests.conftest import SAMPLE_PROGRAMME

SAMPLE = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
SCALE = Scale(1, 3)
QUESTIONS = [
    QuestionRef(q["id"], area["id"])
    for area in SAMPLE["checklist"]["areas"]
    for q in area["questions"]
]


def scores(org: str, round_index: int) -> dict[str, int | None]:
    assessment = SAMPLE["self_assessments"][round_index]
    return dict(zip(assessment["question_order"], assessment["scores"][org], strict=True))


def movement_of(org: str) -> Movement:
    return compute_movement(QUESTIONS, previous=scores(org, 0), current=scores(org, 1), scale=SCALE)


@pytest.mark.parametrize(
    ("org", "before", "after", "changed"),
    [
        ("askersund", 37, 40, ["Q14", "Q19", "Q20"]),
        ("sodertalje", 44, 46, ["Q07", "Q09", "Q10", "Q22"]),
        ("fagersta", 32, 35, ["Q02", "Q17", "Q18"]),
        ("norrtalje", 53, 55, ["Q16", "Q21"]),
    ],
)
def test_sums_and_changed_items_match_the_worked_example(
    org: str, before: int, after: int, changed: list[str]
) -> None:
    movement = movement_of(org)

    assert (movement.previous.total, movement.current.total) == (before, after)
    assert movement.current.max_total == 72
    assert movement.total_delta == after - before
    assert [q.ref for q in movement.changed] == changed


def test_a_lowered_score_is_reported_as_a_decline() -> None:
    movement = movement_of("sodertalje")

    assert [(q.ref, q.previous, q.current, q.delta) for q in movement.declined] == [
        ("Q07", 2, 1, -1)
    ]


@pytest.mark.parametrize(
    ("org", "improved", "declined"),
    [
        ("askersund", ["Q14", "Q19", "Q20"], []),
        ("sodertalje", ["Q09", "Q10", "Q22"], ["Q07"]),  # Q07 lowered after review
        ("fagersta", ["Q02", "Q17", "Q18"], []),
        ("norrtalje", ["Q16", "Q21"], []),
        ("region_gotland", ["Q08", "Q11", "Q15"], ["Q19"]),
    ],
)
def test_improved_and_declined_are_exactly_the_questions_that_went_up_or_down(
    org: str, improved: list[str], declined: list[str]
) -> None:
    movement = movement_of(org)

    assert [q.ref for q in movement.improved] == improved
    assert [q.ref for q in movement.declined] == declined
    assert len(movement.questions) == 24  # the other questions are unchanged: in neither list


def test_a_question_scored_for_the_first_time_has_neither_improved_nor_declined() -> None:
    questions = [QuestionRef("a", "X"), QuestionRef("b", "X"), QuestionRef("c", "X")]

    movement = compute_movement(
        questions,
        previous={"a": None, "b": 2, "c": 2},
        current={"a": 3, "b": None, "c": 2},
        scale=SCALE,
    )

    assert [q.ref for q in movement.changed] == ["a", "b"]
    assert movement.improved == [] and movement.declined == []


@pytest.mark.parametrize(
    ("org", "area", "before", "after"),
    [
        ("askersund", "A5", 1.33, 1.67),
        ("askersund", "A7", 2.00, 3.00),
        ("sodertalje", "A2", 2.25, 2.00),
        ("sodertalje", "A3", 2.00, 2.67),
        ("sodertalje", "A8", 1.25, 1.50),
    ],
)
def test_area_means_match_the_worked_example(
    org: str, area: str, before: float, after: float
) -> None:
    movement = movement_of(org)

    found = next(a for a in movement.areas if a.area_ref == area)
    assert found.previous_mean == pytest.approx(before, abs=0.005)
    assert found.current_mean == pytest.approx(after, abs=0.005)


def test_norrtalje_has_no_ones_but_too_few_threes_to_be_ready() -> None:
    movement = movement_of("norrtalje")

    assert movement.current.count_by_value[1] == 0
    assert movement.current.count_by_value[3] == 7
    assert movement.current.is_ready is False


@pytest.mark.parametrize("round_index", [0, 1])
@pytest.mark.parametrize("org", [o["id"] for o in SAMPLE["organisations"]])
def test_every_round_summary_matches_the_samples_derived_figures(
    org: str, round_index: int
) -> None:
    expected = SAMPLE["derived_example"][("bm1", "bm2")[round_index]][org]

    summary = movement_of(org).previous if round_index == 0 else movement_of(org).current

    assert summary.total == expected["sum"]
    assert summary.max_total == expected["max"]
    assert summary.share_of_max == expected["sum"] / expected["max"]
    # Every question of the sample is scored: what is neither 1 nor 3 is 2.
    assert summary.count_by_value == {
        1: expected["count_1"],
        2: 24 - expected["count_1"] - expected["count_3"],
        3: expected["count_3"],
    }


@pytest.mark.parametrize(
    ("org", "before", "after"),
    [
        ("askersund", 37 / 72, 40 / 72),
        ("sodertalje", 44 / 72, 46 / 72),
        ("fagersta", 32 / 72, 35 / 72),
    ],
)
def test_the_share_of_the_highest_possible_sum_follows_the_worked_example(
    org: str, before: float, after: float
) -> None:
    movement = movement_of(org)

    assert movement.previous.share_of_max == pytest.approx(before)
    assert movement.current.share_of_max == pytest.approx(after)


def test_blank_scores_count_under_no_value_and_an_empty_checklist_has_no_share() -> None:
    questions = [QuestionRef("a", "X"), QuestionRef("b", "X"), QuestionRef("c", "X")]

    summary = summarise_round(questions, {"a": 3, "b": None, "c": 3}, SCALE)
    empty = summarise_round([], {}, SCALE)

    assert summary.count_by_value == {1: 0, 2: 0, 3: 2}
    assert (summary.total, summary.max_total, summary.assessed) == (6, 9, 2)
    assert summary.share_of_max == pytest.approx(6 / 9)
    assert (empty.share_of_max, empty.count_by_value) == (0.0, {1: 0, 2: 0, 3: 0})


def test_blank_scores_are_left_out_of_sums_and_means() -> None:
    questions = [QuestionRef("a", "X"), QuestionRef("b", "X"), QuestionRef("c", "Y")]

    movement = compute_movement(
        questions, previous={"a": 2, "b": None, "c": None}, current={"a": 3, "b": 1}, scale=SCALE
    )

    assert movement.previous.total == 2 and movement.previous.assessed == 1
    assert [(a.area_ref, a.previous_mean, a.current_mean) for a in movement.areas] == [
        ("X", 2.0, 2.0),
        ("Y", None, None),
    ]
    assert movement.questions[1].delta is None and movement.questions[1].changed


def test_readiness_needs_no_bottom_score_and_top_score_on_more_than_half() -> None:
    questions = [QuestionRef(str(i), "A") for i in range(4)]

    assert is_ready(questions, {"0": 3, "1": 3, "2": 3, "3": 2}, SCALE)
    assert not is_ready(questions, {"0": 3, "1": 3, "2": 2, "3": 2}, SCALE)  # exactly half
    assert not is_ready(questions, {"0": 3, "1": 3, "2": 3, "3": 1}, SCALE)  # a bottom score
    assert not is_ready(questions, {"0": 3, "1": 3, "2": None, "3": None}, SCALE)


def test_a_scale_must_have_room_between_its_ends() -> None:
    with pytest.raises(ValueError, match="must be below"):
        Scale(3, 3)
