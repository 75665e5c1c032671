"""Movement (förflyttning) between two self-assessment rounds, and the readiness rule.

Blank scores mean "not assessed": they count in no sum or mean and are shown as "–".
A decrease is legitimate ("we overrated ourselves last time") and is reported, never hidden.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean


@dataclass(frozen=True)
class Scale:
    """The checklist's score range, e.g. 1–3 (SKR 2017/2019) or 1–4 (SKR 2024)."""

    minimum: int
    maximum: int

    def __post_init__(self) -> None:
        if self.minimum >= self.maximum:
            raise ValueError(f"scale minimum {self.minimum} must be below maximum {self.maximum}")

    def contains(self, value: int) -> bool:
        """Whether a score lies on this scale."""
        return self.minimum <= value <= self.maximum


@dataclass(frozen=True)
class QuestionRef:
    """A question's identity and the area it belongs to, in checklist order."""

    ref: str
    area_ref: str


Scores = Mapping[str, int | None]


@dataclass(frozen=True)
class RoundSummary:
    """Totals of one organisation's scores in one round."""

    total: int
    max_total: int
    assessed: int
    question_count: int
    count_by_value: Mapping[int, int]
    is_ready: bool

    @property
    def share_of_max(self) -> float:
        """The sum as a share of the highest possible sum (0–1)."""
        return self.total / self.max_total if self.max_total else 0.0


@dataclass(frozen=True)
class QuestionMovement:
    """How one question's score changed; delta is None when either round is blank."""

    ref: str
    area_ref: str
    previous: int | None
    current: int | None

    @property
    def delta(self) -> int | None:
        """Current minus previous, or None if either is not assessed."""
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def changed(self) -> bool:
        """Whether the score differs between rounds (blank to scored counts as a change)."""
        return self.previous != self.current


@dataclass(frozen=True)
class AreaMovement:
    """Mean score of one area before and after; None where nothing was assessed."""

    area_ref: str
    previous_mean: float | None
    current_mean: float | None

    @property
    def delta(self) -> float | None:
        """Change of the mean, or None if either round has no scores in the area."""
        if self.previous_mean is None or self.current_mean is None:
            return None
        return self.current_mean - self.previous_mean


@dataclass(frozen=True)
class Movement:
    """Movement of one organisation from a previous round to the current one."""

    previous: RoundSummary
    current: RoundSummary
    questions: Sequence[QuestionMovement]
    areas: Sequence[AreaMovement]

    @property
    def total_delta(self) -> int:
        """Change of the summed score."""
        return self.current.total - self.previous.total

    @property
    def changed(self) -> list[QuestionMovement]:
        """Questions whose score changed, in checklist order."""
        return [q for q in self.questions if q.changed]

    @property
    def improved(self) -> list[QuestionMovement]:
        """Questions that went up."""
        return [q for q in self.questions if (q.delta or 0) > 0]

    @property
    def declined(self) -> list[QuestionMovement]:
        """Questions that went down."""
        return [q for q in self.questions if (q.delta or 0) < 0]


def summarise_round(questions: Sequence[QuestionRef], scores: Scores, scale: Scale) -> RoundSummary:
    """Sum, counts and readiness of one round's scores."""
    values = [v for v in (scores.get(q.ref) for q in questions) if v is not None]
    counts = Counter(values)
    return RoundSummary(
        total=sum(values),
        max_total=len(questions) * scale.maximum,
        assessed=len(values),
        question_count=len(questions),
        count_by_value={v: counts.get(v, 0) for v in range(scale.minimum, scale.maximum + 1)},
        is_ready=is_ready(questions, scores, scale),
    )


def is_ready(questions: Sequence[QuestionRef], scores: Scores, scale: Scale) -> bool:
    """SKR's rule of thumb for a model organisation.

    No score at the bottom of the scale, and the top score on more than half of all
    questions (an unassessed question is not a top score).
    """
    values = [scores.get(q.ref) for q in questions]
    if any(v == scale.minimum for v in values):
        return False
    top = sum(1 for v in values if v == scale.maximum)
    return top * 2 > len(questions)


def area_means(questions: Sequence[QuestionRef], scores: Scores) -> dict[str, float | None]:
    """Mean score per area in checklist order, None where the area has no scores."""
    by_area: dict[str, list[int]] = {}
    for question in questions:
        bucket = by_area.setdefault(question.area_ref, [])
        value = scores.get(question.ref)
        if value is not None:
            bucket.append(value)
    return {area: (fmean(vals) if vals else None) for area, vals in by_area.items()}


def compute_movement(
    questions: Sequence[QuestionRef], *, previous: Scores, current: Scores, scale: Scale
) -> Movement:
    """Compare two rounds of the same checklist, question by question and area by area."""
    before = area_means(questions, previous)
    after = area_means(questions, current)
    return Movement(
        previous=summarise_round(questions, previous, scale),
        current=summarise_round(questions, current, scale),
        questions=[
            QuestionMovement(q.ref, q.area_ref, previous.get(q.ref), current.get(q.ref))
            for q in questions
        ],
        areas=[AreaMovement(area, before[area], after[area]) for area in before],
    )
