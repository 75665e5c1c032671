"""The network overview for one meeting ("sammanställning för nätverket"): facts in, context out.

One deck and one workbook per meeting show the network's self-assessment as a whole: every
organisation's total and its movement since the previous round, the area means across the
network, how the scores of each area spread over the scale, who meets SKR's readiness rule,
and the statements where the network as a whole is weakest (lowest mean, with min and max:
DOMAIN.md §2 "Network view").

Organisations are named, or called "Organisation A, B, …" when the meeting asks for an
anonymised overview. Anonymised letters follow the figures the overview shows anyway (the
current total, highest first, then the previous total and the rest of the row), never anything
computed from a name: a hash of a public name would let anyone with the list of members
recompute who is who.

The context carries each figure twice where the formats differ: numbers (or None) for the
workbook's typed cells and the charts, and Swedish text (``1,67``, ``+3``, ``–``) for the deck.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from service.documents import swedish
from service.documents.blocks import PROGRAMME_ROLE_LABELS, meeting_block
from service.documents.facts import ChecklistFacts, MeetingFacts
from service.documents.swedish_filters import swedish_sort_key
from service.domain.movement import Scores, is_ready, summarise_round

# How many statements the "weakest" table shows; ties at the cut are left out, not split.
WEAKEST_COUNT = 5
MEAN_DECIMALS = 2
READY = "Ja"
NOT_READY = "Nej"


@dataclass(frozen=True)
class OrganisationScoresFacts:
    """One organisation's scores in the previous round and in this meeting's round."""

    name: str
    programme_role: str | None = None
    previous: Scores | None = None  # None: no scores in the previous round
    current: Scores | None = None  # None: no scores (yet) in this meeting's round


@dataclass(frozen=True)
class NetworkOverviewFacts:
    """Everything the network overview of one meeting shows."""

    network_name: str
    meeting: MeetingFacts
    checklist: ChecklistFacts | None
    previous_label: str | None  # the latest round before this meeting
    current_label: str | None  # the round held for this meeting
    organisations: tuple[OrganisationScoresFacts, ...]
    anonymised: bool = False


# -- figures --------------------------------------------------------------------------------


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, MEAN_DECIMALS)


def _mean(values: Sequence[int]) -> float | None:
    return fmean(values) if values else None


def _values(scores: Scores | None, refs: Sequence[str]) -> list[int]:
    if scores is None:
        return []
    return [v for v in (scores.get(ref) for ref in refs) if v is not None]


def _letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: enough for any network."""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _organisation_rows(facts: NetworkOverviewFacts) -> list[dict[str, Any]]:
    checklist = facts.checklist
    assert checklist is not None
    scale = checklist.scale
    questions = checklist.questions
    rows: list[dict[str, Any]] = []
    for org in facts.organisations:
        before = summarise_round(questions, org.previous, scale) if org.previous else None
        after = summarise_round(questions, org.current, scale) if org.current else None
        delta = after.total - before.total if before and after else None
        counts = after.count_by_value if after else {}
        ready = is_ready(questions, org.current, scale) if org.current else None
        rows.append(
            {
                "name": org.name,
                "role": PROGRAMME_ROLE_LABELS.get(org.programme_role or "", ""),
                "previous_total": before.total if before else None,
                "current_total": after.total if after else None,
                "delta": delta,
                "previous_text": str(before.total) if before else swedish.NOT_ASSESSED,
                "current_text": str(after.total) if after else swedish.NOT_ASSESSED,
                "delta_text": swedish.signed(delta),
                "max_total": after.max_total if after else len(questions) * scale.maximum,
                "assessed": after.assessed if after else 0,
                "counts": [counts.get(v) if after else None for v in _scale_values(facts)],
                "count_min": counts.get(scale.minimum) if after else None,
                "count_max": counts.get(scale.maximum) if after else None,
                "count_texts": [
                    str(counts.get(v, 0)) if after else swedish.NOT_ASSESSED
                    for v in _scale_values(facts)
                ],
                "ready": ready,
                "ready_text": (
                    swedish.NOT_ASSESSED if ready is None else READY if ready else NOT_READY
                ),
            }
        )
    if not facts.anonymised:
        return sorted(rows, key=lambda r: swedish_sort_key(r["name"]))
    # Highest current total first; then by the other figures shown, so that the order (and the
    # letter) follows from what the overview shows anyway and from nothing about the name.
    rows.sort(
        key=lambda r: (
            r["current_total"] is None,
            -(r["current_total"] or 0),
            r["previous_total"] is None,
            -(r["previous_total"] or 0),
            [-(c or 0) for c in reversed(r["counts"])],
        )
    )
    for index, row in enumerate(rows):
        row["name"] = f"Organisation {_letters(index)}"
        row["role"] = ""
    return rows


def _scale_values(facts: NetworkOverviewFacts) -> list[int]:
    assert facts.checklist is not None
    scale = facts.checklist.scale
    return list(range(scale.minimum, scale.maximum + 1))


def _area_rows(facts: NetworkOverviewFacts) -> list[dict[str, Any]]:
    """Per area: the network's mean before and now (all assessed scores pooled), and the
    distribution of this round's scores over the scale."""
    checklist = facts.checklist
    assert checklist is not None
    refs_by_area: dict[str, list[str]] = {a.ref: [] for a in checklist.areas}
    for q in checklist.questions:
        refs_by_area.setdefault(q.area_ref, []).append(q.ref)
    names = {a.ref: a.name for a in checklist.areas}
    rows: list[dict[str, Any]] = []
    for area_ref, refs in refs_by_area.items():
        before = [v for o in facts.organisations for v in _values(o.previous, refs)]
        after = [v for o in facts.organisations for v in _values(o.current, refs)]
        previous_mean, current_mean = _round(_mean(before)), _round(_mean(after))
        delta = (
            None
            if previous_mean is None or current_mean is None
            else round(current_mean - previous_mean, MEAN_DECIMALS)
        )
        counts = Counter(after)
        rows.append(
            {
                "ref": area_ref,
                "name": names.get(area_ref, area_ref),
                "previous_mean": previous_mean,
                "current_mean": current_mean,
                "delta": delta,
                "previous_text": swedish.number(previous_mean, decimals=MEAN_DECIMALS),
                "current_text": swedish.number(current_mean, decimals=MEAN_DECIMALS),
                "delta_text": swedish.signed(delta, decimals=MEAN_DECIMALS),
                "counts": [counts.get(v, 0) for v in _scale_values(facts)],
                "count_texts": [str(counts.get(v, 0)) for v in _scale_values(facts)],
                "distribution_text": " · ".join(
                    f"{v}:or {counts.get(v, 0)}" for v in _scale_values(facts)
                ),
                "assessed": len(after),
            }
        )
    return rows


def _statement_rows(facts: NetworkOverviewFacts) -> list[dict[str, Any]]:
    """Every statement with this round's mean, min and max across the network, by number."""
    checklist = facts.checklist
    assert checklist is not None
    names = {a.ref: a.name for a in checklist.areas}
    rows: list[dict[str, Any]] = []
    for number, q in enumerate(checklist.questions, 1):
        values = [v for o in facts.organisations for v in _values(o.current, [q.ref])]
        mean = _round(_mean(values))
        rows.append(
            {
                "number": number,
                "text": checklist.question_texts.get(q.ref, ""),
                "area": names.get(q.area_ref, q.area_ref),
                "mean": mean,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "assessed": len(values),
                "mean_text": swedish.number(mean, decimals=MEAN_DECIMALS),
                "min_text": str(min(values)) if values else swedish.NOT_ASSESSED,
                "max_text": str(max(values)) if values else swedish.NOT_ASSESSED,
            }
        )
    return rows


def _weakest(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements with the lowest means, lowest first (checklist order among equals)."""
    assessed = [s for s in statements if s["mean"] is not None]
    ranked = sorted(assessed, key=lambda s: (s["mean"], s["number"]))
    return ranked[:WEAKEST_COUNT]


# -- the context ----------------------------------------------------------------------------


def _chart(
    categories: list[str], series: list[tuple[str, list[Any]]], description: str = ""
) -> dict[str, Any]:
    chart: dict[str, Any] = {
        "categories": categories,
        "series": [{"name": name, "values": values} for name, values in series],
    }
    if description:  # the chart's alt text (the pptx engine writes it to the frame's descr)
        chart["description"] = description
    return chart


def _scale_block(checklist: ChecklistFacts | None) -> dict[str, Any]:
    """The scale, its levels (one count column or series each) and the readiness threshold."""
    if checklist is None:
        return {"min": "", "max": "", "levels": [], "max_total": "", "question_count": 0}
    scale = checklist.scale
    count = len(checklist.questions)
    return {
        "min": scale.minimum,
        "max": scale.maximum,
        "levels": [
            {"index": i, "value": v, "label": f"Antal {v}:or"}
            for i, v in enumerate(range(scale.minimum, scale.maximum + 1))
        ],
        "max_total": count * scale.maximum,
        "question_count": count,
    }


def _empty_context(facts: NetworkOverviewFacts, base: dict[str, Any]) -> dict[str, Any]:
    return {
        **base,
        "has_scores": False,
        "scale": _scale_block(facts.checklist),
        "organisations": [],
        "areas": [],
        "statements": [],
        "weakest": [],
        "readiness": {"ready": 0, "count": 0, "text": ""},
        "totals_chart": _chart([], []),
        "area_chart": _chart([], []),
        "distribution_chart": _chart([], []),
    }


def build_network_overview_context(facts: NetworkOverviewFacts) -> dict[str, Any]:
    """The context of the network overview (deck and workbook); display-ready."""
    previous_label = facts.previous_label or ""
    current_label = facts.current_label or ""
    base = {
        "network": {"name": facts.network_name},
        "meeting": meeting_block(facts.meeting),
        "anonymised": facts.anonymised,
        "naming": (
            "Organisationerna visas anonymiserade (Organisation A, B, …), ordnade efter "
            "summan i den här omgången."
            if facts.anonymised
            else "Organisationerna visas med namn, i bokstavsordning."
        ),
        "rounds": {
            "previous": previous_label,
            "current": current_label,
            "has_previous": facts.previous_label is not None,
        },
        "organisation_count": len(facts.organisations),
    }
    checklist = facts.checklist
    has_scores = any(o.current for o in facts.organisations)
    if checklist is None or facts.current_label is None or not has_scores:
        return _empty_context(facts, base)
    scale = checklist.scale
    scale_values = _scale_values(facts)
    organisations = _organisation_rows(facts)
    areas = _area_rows(facts)
    statements = _statement_rows(facts)
    assessed = [o for o in organisations if o["ready"] is not None]
    ready = sum(1 for o in assessed if o["ready"])
    whose = f"nätverkets {len(organisations)} organisationer" + (
        " (anonymiserade)" if facts.anonymised else ""
    )
    when = swedish.enumeration([label for label in (facts.previous_label, current_label) if label])
    round_series = [(previous_label, "previous"), (current_label, "current")]
    if facts.previous_label is None:
        round_series = round_series[1:]
    return {
        **base,
        "has_scores": True,
        "scale": _scale_block(checklist),
        "organisations": organisations,
        "areas": areas,
        "statements": statements,
        "weakest": _weakest(statements),
        "readiness": {
            "ready": ready,
            "count": len(assessed),
            "text": (
                f"{ready} av {len(assessed)} organisationer uppfyller tumregeln för "
                f"modellorganisation: inga {scale.minimum}:or, och {scale.maximum}:or på fler "
                f"än hälften av påståendena (minst {len(checklist.questions) // 2 + 1} av "
                f"{len(checklist.questions)})."
            ),
        },
        "totals_chart": _chart(
            [o["name"] for o in organisations],
            [(label, [o[f"{key}_total"] for o in organisations]) for label, key in round_series],
            f"Stapeldiagram över summan av självskattningen för {whose} i {when}, "
            f"av högst {len(checklist.questions) * scale.maximum} poäng.",
        ),
        "area_chart": _chart(
            [a["name"] for a in areas],
            [(label, [a[f"{key}_mean"] for a in areas]) for label, key in round_series],
            f"Stapeldiagram över nätverkets medelvärde per område i {when}, "
            f"på skalan {scale.minimum}–{scale.maximum}.",
        ),
        "distribution_chart": _chart(
            [a["name"] for a in areas],
            [
                (f"Antal {value}:or", [a["counts"][i] for a in areas])
                for i, value in enumerate(scale_values)
            ],
            f"Staplat diagram över hur många svar per område som är "
            f"{swedish.enumeration([str(v) for v in scale_values])} i {current_label}.",
        ),
    }
