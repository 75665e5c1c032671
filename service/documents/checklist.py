"""The self-assessment checklist workbook of one organisation: facts in, template context out.

The workbook has one sheet per earlier round (prefilled, locked), one sheet for the round of
this meeting (to fill in; stored scores are prefilled), and a summary. Values are typed where a
cell shows one value (scores, means, dates), and Swedish text elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.documents import swedish
from service.documents.blocks import ROLE_LABELS, ROLE_ORDER
from service.documents.facts import ChecklistFacts, MeetingFacts, OrganisationFacts
from service.domain.movement import Scale, Scores, area_means, summarise_round

SUMMARY_TAB = "Sammanställning"
INSTRUCTIONS_TAB = "Instruktion"
# Written into a hidden cell of every round sheet, so that an uploaded file can be recognised.
LAYOUT_ID = "benchdocs-checklista/1"


@dataclass(frozen=True)
class ChecklistRoundFacts:
    """One organisation's self-assessment in one round (a tab such as "BM 1")."""

    label: str
    ref: str | None = None
    meeting_ref: str | None = None
    meeting_title: str | None = None
    meeting_date: dt.date | None = None
    assessed_on: dt.date | None = None
    scores: Scores = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChecklistDocFacts:
    """Everything the checklist workbook of one organisation for one meeting shows."""

    network_name: str
    project_platform: str | None
    organisation: OrganisationFacts
    organisation_ref: str
    meeting: MeetingFacts
    meeting_ref: str
    checklist: ChecklistFacts
    checklist_title: str
    scale_labels: Mapping[int, str]
    earlier_rounds: tuple[ChecklistRoundFacts, ...]  # oldest first, all before this meeting
    current_round: ChecklistRoundFacts  # the round of this meeting: the one to fill in
    participant_url: str | None = None  # where participants send the filled file (settings)


def build_checklist_context(facts: ChecklistDocFacts) -> dict[str, Any]:
    """The context the checklist template is rendered with; every value is display-ready."""
    checklist = facts.checklist
    scale = checklist.scale
    areas = {a.ref: a.name for a in checklist.areas}
    previous = facts.earlier_rounds[-1] if facts.earlier_rounds else None
    earlier = [_round(r, facts, previous=None) for r in facts.earlier_rounds]
    current = _round(facts.current_round, facts, previous=previous)
    current["previous_label"] = previous.label if previous else ""
    current["participants"] = _delegation(facts.organisation)
    question_count = len(checklist.questions)
    labels = [
        {"value": value, "label": facts.scale_labels.get(value, "")}
        for value in range(scale.minimum, scale.maximum + 1)
    ]
    round_labels = [r.label for r in (*facts.earlier_rounds, facts.current_round)]
    minimum_label = facts.scale_labels.get(scale.minimum, "")
    return {
        "file": {
            "title": f"{facts.checklist_title} – {facts.organisation.name} – "
            f"{facts.current_round.label}",
            "subject": f"Självskattning inför {facts.meeting.title}, {facts.network_name}",
            "language": "sv-SE",
        },
        # The file's created date (the xlsx engine's DOCUMENT_CREATED): a date of the data,
        # not the clock, so re-renders stay byte-identical.
        "document_created": f"{facts.meeting.date.isoformat()}T00:00:00Z",
        "network": {
            "name": facts.network_name,
            "platform": facts.project_platform or "SKR:s projektplats",
        },
        "organisation": {"name": facts.organisation.name, "ref": facts.organisation_ref},
        "meeting": {
            "ref": facts.meeting_ref,
            "title": facts.meeting.title,
            "date": swedish.long_date(facts.meeting.date),
            "upload_deadline": swedish.long_date(facts.meeting.upload_deadline),
        },
        "checklist": {
            "title": facts.checklist_title,
            "question_count": question_count,
            "max_total": question_count * scale.maximum,
            "scale": {
                "min": scale.minimum,
                "max": scale.maximum,
                "labels": labels,
                "text": " · ".join(f"{x['value']} = {x['label']}" for x in labels),
                "prompt": "\n".join(f"{x['value']} = {x['label']}" for x in labels),
                "prompt_title": f"Poäng {scale.minimum}–{scale.maximum}",
            },
            "readiness_rule": _readiness_rule(scale, question_count),
        },
        "earlier_rounds": earlier,
        "current": current,
        "areas": [{"ref": a.ref, "name": a.name} for a in checklist.areas],
        "needs": _needs(facts, areas),
        "tabs": _tabs(facts),
        "instructions": {
            "earlier": _earlier_instruction(facts),
            "upload": _upload_instruction(facts),
        },
        "summary": {
            "chart_description": (
                f"Stapeldiagram över självskattningen för {facts.organisation.name}: "
                f"medelvärdet per område för {_join(round_labels)}, på skalan "
                f"{scale.minimum}–{scale.maximum} där {scale.maximum} är högst."
            ),
            "minimum_text": f"poäng {scale.minimum}"
            + (f" ({minimum_label})" if minimum_label else ""),
        },
    }


def _round(
    rnd: ChecklistRoundFacts, facts: ChecklistDocFacts, *, previous: ChecklistRoundFacts | None
) -> dict[str, Any]:
    checklist = facts.checklist
    scale = checklist.scale
    names = {a.ref: a.name for a in checklist.areas}
    assessed = any(rnd.scores.get(q.ref) is not None for q in checklist.questions)
    summary = summarise_round(checklist.questions, rnd.scores, scale)
    means = area_means(checklist.questions, rnd.scores)
    description = rnd.label
    if rnd.meeting_title:
        when = f" ({swedish.long_date(rnd.meeting_date)})" if rnd.meeting_date else ""
        description = f"{rnd.label} – skattning inför {rnd.meeting_title}{when}"
    return {
        "tab": rnd.label,
        "label": rnd.label,
        "ref": rnd.ref or "",
        "meeting_ref": rnd.meeting_ref or "",
        "description": description,
        "assessed_on": rnd.assessed_on,
        "participants": swedish.NOT_ASSESSED,
        "questions": [
            {
                "position": position,  # the statement's number, shown in the Nr column
                "ref": q.ref,
                "area_ref": q.area_ref,
                "area": names.get(q.area_ref, q.area_ref),
                "text": checklist.question_texts.get(q.ref, ""),
                "score": rnd.scores.get(q.ref),
                "comment": rnd.comments.get(q.ref, ""),
                "previous": previous.scores.get(q.ref) if previous else None,
            }
            for position, q in enumerate(checklist.questions, 1)
        ],
        "area_means": {
            ref: (None if mean is None else round(mean, 2)) for ref, mean in means.items()
        },
        "total": summary.total if assessed else None,
        "share": round(summary.share_of_max, 4) if assessed else None,
        "count_min": summary.count_by_value[scale.minimum] if assessed else None,
        "count_max": summary.count_by_value[scale.maximum] if assessed else None,
    }


def _delegation(organisation: OrganisationFacts) -> str:
    """The delegation as a suggestion of who scores together; editable in the workbook."""
    people = sorted(
        organisation.delegation,
        key=lambda p: ROLE_ORDER.index(p.role) if p.role in ROLE_ORDER else len(ROLE_ORDER),
    )
    return ", ".join(f"{p.name} ({ROLE_LABELS.get(p.role, p.role).lower()})" for p in people)


def _readiness_rule(scale: Scale, question_count: int) -> str:
    needed = question_count // 2 + 1
    return (
        f"En organisation kan vara redo att bli modellorganisation när den inte har några "
        f"{scale.minimum}:or och har {scale.maximum}:or på mer än hälften av påståendena "
        f"(minst {needed} av {question_count}). Det finns ingen certifiering – bedömningen "
        f"gör ni själva."
    )


def _needs(facts: ChecklistDocFacts, areas: Mapping[str, str]) -> dict[str, Any]:
    """Questions still at the bottom of the scale in the latest round that has scores."""
    checklist = facts.checklist
    minimum = checklist.scale.minimum
    rounds = [facts.current_round, *reversed(facts.earlier_rounds)]
    latest = next(
        (r for r in rounds if any(r.scores.get(q.ref) is not None for q in checklist.questions)),
        None,
    )
    if latest is None:
        return {
            "intro": "Det finns ännu ingen skattning. Listan fylls i när ni har skattat.",
            "questions": [],
        }
    items = [
        {
            "ref": q.ref,
            "number": position,  # as the Nr column shows it; the ref is internal
            "area": areas.get(q.area_ref, q.area_ref),
            "text": checklist.question_texts.get(q.ref, ""),
        }
        for position, q in enumerate(checklist.questions, 1)
        if latest.scores.get(q.ref) == minimum
    ]
    label = facts.scale_labels.get(minimum, "")
    named = f" ({label})" if label else ""
    if not items:
        intro = f"Inga påståenden har poäng {minimum}{named} i {latest.label}."
    else:
        intro = (
            f"{len(items)} påståenden har fortfarande poäng {minimum}{named} i {latest.label}. "
            "De är förslag på var ni kan fortsätta förbättringsarbetet."
        )
    return {"intro": intro, "questions": items}


def _tabs(facts: ChecklistDocFacts) -> list[dict[str, str]]:
    current = facts.current_round
    tabs = [{"name": INSTRUCTIONS_TAB, "description": "Den här instruktionen."}]
    for rnd in facts.earlier_rounds:
        before = f" inför {rnd.meeting_title}" if rnd.meeting_title else ""
        tabs.append(
            {"name": rnd.label, "description": f"Er tidigare skattning{before}. Låst för ändring."}
        )
    before = f", inför {current.meeting_title}" if current.meeting_title else ""
    tabs.append(
        {
            "name": current.label,
            "description": f"Skattningen ni fyller i nu{before}. Här sätter ni poäng och "
            "kommentarer.",
        }
    )
    tabs.append(
        {
            "name": SUMMARY_TAB,
            "description": "Medelvärde per område och omgång, diagram och påståenden som "
            "behöver fortsatt arbete.",
        }
    )
    return tabs


def _upload_instruction(facts: ChecklistDocFacts) -> str:
    """Step 5: send the filled file back to benchdocs, where its scores are read."""
    meeting = facts.meeting
    deadline = swedish.long_date(meeting.upload_deadline)
    where = (
        f"på {facts.participant_url} (logga in med länken ni har fått från processledaren)"
        if facts.participant_url
        else "via länken ni har fått från processledaren"
    )
    when = f" senast {deadline}" if deadline else ""
    return (
        f"Ladda upp den ifyllda checklistan till benchdocs {where}{when}, tillsammans med er "
        f"presentation inför {meeting.title} den {swedish.long_date(meeting.date)}. Spara den "
        "som Excel-fil (.xlsx) och ändra inte flikarnas namn: poängen läses in direkt ur filen."
    )


def _earlier_instruction(facts: ChecklistDocFacts) -> str:
    if not facts.earlier_rounds:
        return (
            "Det här är er första skattning i nätverket. Den blir utgångsläget som "
            "kommande skattningar jämförs med."
        )
    labels = _join([r.label for r in facts.earlier_rounds])
    return (
        f"Tidigare skattningar ({labels}) finns på egna flikar och är låsta. Kolumnen "
        "Förflyttning visar skillnaden mot förra skattningen: grön när poängen har höjts, röd "
        "när den har sänkts. En sänkt poäng är helt i sin ordning – den visar ofta att ni ser "
        "tydligare nu än förra gången."
    )


def _join(items: Sequence[str]) -> str:
    """``a``, ``a och b``, ``a, b och c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} och {items[-1]}"
