"""The presentation deck for one organisation and meeting: facts in, template context out."""

from __future__ import annotations

from typing import Any

from service.documents import swedish
from service.documents.blocks import (
    PROGRAMME_ROLE_LABELS,
    ROLE_LABELS,
    ROLE_ORDER,
    area_rows,
    indicator_line,
    meeting_block,
    person_label,
    plan_rows,
)
from service.documents.facts import (
    DeckFacts,
)
from service.domain.movement import compute_movement


def _movement(facts: DeckFacts) -> tuple[dict[str, Any], dict[str, Any]]:
    """The movement block and the chart data; empty but well-formed without scores."""
    checklist = facts.checklist
    previous = facts.previous_round
    current = facts.current_round
    if checklist is None:
        blank = swedish.NOT_ASSESSED
        no_movement = {
            "previous_label": "",
            "current_label": "",
            "previous_sum": blank,
            "current_sum": blank,
            "max_sum": blank,
            "delta": "",
            "count_1_previous": blank,
            "count_1_current": blank,
            "count_3_previous": blank,
            "count_3_current": blank,
            "readiness": "",
            "changed": [],
            "areas": [],
        }
        return no_movement, {"categories": [], "series": []}
    result = compute_movement(
        checklist.questions,
        previous=previous.scores if previous else {},
        current=current.scores if current else {},
        scale=checklist.scale,
    )
    names = {a.ref: a.name for a in checklist.areas}
    comments = current.comments if current else {}
    before = result.previous
    after = result.current
    scale = checklist.scale
    movement = {
        "previous_label": previous.label if previous else "",
        "current_label": current.label if current else "",
        "previous_sum": before.total if previous else swedish.NOT_ASSESSED,
        "current_sum": after.total if current else swedish.NOT_ASSESSED,
        "max_sum": after.max_total,
        "delta": swedish.signed(result.total_delta) if previous and current else "",
        "count_1_previous": before.count_by_value[scale.minimum],
        "count_1_current": after.count_by_value[scale.minimum],
        "count_3_previous": before.count_by_value[scale.maximum],
        "count_3_current": after.count_by_value[scale.maximum],
        "readiness": (
            "Uppfyller tumregeln för modellorganisation (inga 1:or och fler än hälften 3:or)"
            if after.is_ready
            else "Uppfyller ännu inte tumregeln för modellorganisation "
            "(inga 1:or och fler än hälften 3:or)"
        ),
        "changed": [
            {
                "question": q.ref,
                "text": checklist.question_texts.get(q.ref, ""),
                "previous": swedish.NOT_ASSESSED if q.previous is None else str(q.previous),
                "current": swedish.NOT_ASSESSED if q.current is None else str(q.current),
                "delta": swedish.signed(q.delta),
                "declined": (q.delta or 0) < 0,
                "comment": comments.get(q.ref, ""),
            }
            for q in (result.changed if previous and current else [])
        ],
        "areas": area_rows(result, names),
    }
    series = []
    for label, rnd_means in (
        (previous.label if previous else None, [a.previous_mean for a in result.areas]),
        (current.label if current else None, [a.current_mean for a in result.areas]),
    ):
        if label is not None:
            series.append(
                {"name": label, "values": [None if v is None else round(v, 2) for v in rnd_means]}
            )
    chart = {
        "categories": [names.get(a.area_ref, a.area_ref) for a in result.areas],
        "series": series,
    }
    return movement, chart


def build_deck_context(facts: DeckFacts) -> dict[str, Any]:
    """The context the deck template is rendered with; every value is display-ready."""
    org = facts.organisation
    decision = ""
    if org.political_decision_kind:
        year = f" ({org.political_decision_year})" if org.political_decision_year else ""
        decision = f"{org.political_decision_kind}{year}"
    delegation = sorted(
        org.delegation,
        key=lambda p: ROLE_ORDER.index(p.role) if p.role in ROLE_ORDER else len(ROLE_ORDER),
    )
    movement, chart = _movement(facts)
    return {
        "network": {"name": facts.network_name},
        "organisation": {
            "name": org.name,
            "type": org.type or "",
            "county": org.county or "",
            "group_name": org.group_name or "",
            "mentor_name": org.mentor_name or "",
            "programme_role": PROGRAMME_ROLE_LABELS.get(org.programme_role or "", ""),
            "political_decision": decision,
        },
        "meeting": meeting_block(facts.meeting),
        "delegation": [
            {"role": ROLE_LABELS.get(p.role, p.role), "name": p.name, "title": p.title or ""}
            for p in delegation
        ],
        "contact": (
            {"name": org.contact.name, "email": org.contact.email or ""} if org.contact else None
        ),
        "area_chart": chart,
        "movement": movement,
        "initiatives": [
            {
                "title": i.title,
                "level": i.level or "",
                "verksamhet": i.verksamhet or "",
                "status": i.status or "",
                "pdsa_phase": i.pdsa_phase or "",
                "problem": i.problem or "",
                "action": i.action or "",
                "results": i.results or "",
                "indicator": indicator_line(i),
                "owner": person_label(i.owner),
            }
            for i in facts.initiatives
        ],
        "plan": {"activities": plan_rows(facts.plan)},
        "next_meeting": meeting_block(facts.next_meeting) if facts.next_meeting else None,
    }
