"""The presentation deck for one organisation and meeting: facts in, template context out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.documents import swedish
from service.documents.blocks import (
    POPULATION_LABELS,
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
    ChecklistFacts,
    DeckFacts,
    IndicatorFacts,
    InitiativeFacts,
    LeadershipFacts,
    MeasurementFacts,
)
from service.domain.movement import Movement, compute_movement

# Area means, in the chart's labels as in the tables: two decimals (1,67), chosen once.
MEAN_DECIMALS = 2
MEAN_FORMAT = "0.00"

# What the delegation is asked to fill in where the data has nothing yet.
LEADERSHIP_PROMPTS = {
    "strengths": "[Fyll i vad i ledarskap och kultur som stödjer arbetet …]",
    "obstacles": "[Fyll i vad som hindrar eller bromsar arbetet …]",
    "culture_observations": "[Fyll i vad ni ser i organisationskulturen …]",
    "actions": "[Fyll i vad ni gör för att stärka ledarskap och kultur …]",
}
FILM_PROMPT = (
    "[Fyll i era reflektioner kring filmen: vad väckte den hos er, och vad betyder den "
    "för ledarskapet och kulturen i er organisation? …]"
)
LESSONS_PROMPT = (
    "[Fyll i vad förflyttningen lär er: vad ledde till att svaren ändrades, "
    "och vad tar ni med er? …]"
)
NEEDS_PROMPT = "[Fyll i vilka behov ni prioriterar i det fortsatta arbetet …]"
QUESTION_PROMPTS = (
    "[Fyll i en fråga om något ni vill lära av de andra …]",
    "[Fyll i en fråga om hur de andra har löst något ni brottas med …]",
    "[Fyll i en fråga om något ni vill ha synpunkter på …]",
)


# Slide 4: suggestions the delegation rewrites; prompts where the data has nothing to suggest.
HIGHLIGHTS_NOTE = (
    "Förslag hämtade ur er självskattning och era förbättringsarbeten – "
    "skriv om, stryk eller ersätt dem med det ni själva vill lyfta."
)
HIGHLIGHT_PROMPTS = (
    "[Fyll i det viktigaste ni har gjort sedan förra träffen …]",
    "[Fyll i ett resultat ni vill lyfta fram …]",
    "[Fyll i en lärdom ni vill dela med de andra …]",
)
HIGHLIGHT_COUNT = 3

GOVERNANCE_LEVEL = "styrning och ledning"
GOVERNANCE_INVITATION = {
    "title": "[Fyll i en förbättring ni har gjort i styrning och ledning, till exempel i mål, "
    "budget, uppföljning eller beslutsunderlag …]",
    "status": "[Fyll i status]",
    "pdsa_phase": "[Fyll i fas]",
}

# Slide 11: the heading says how the values are split; a total-only indicator says so.
RESULT_HEADINGS = {
    "kvinnor_män": "Resultat – uppdelat på kvinnor och män",
    "flickor_pojkar": "Resultat – uppdelat på flickor och pojkar",
    "neutral": "Resultat – uppdelat på kön",
}
RESULT_TOTAL_HEADING = "Resultat – totalt, inte uppdelat på kön"
RESULTS_INVITATION = (
    "Här visar ni resultatet av era förbättringsarbeten uppdelat på kvinnor och män: "
    "en indikator, utgångsläget och den senaste mätningen. "
    "[Fyll i indikator, enhet, datum och värden för kvinnor och män …]"
)
TOTAL_LABEL = "Totalt"


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
                "number": statement_number(checklist, q.ref),
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
    series: list[dict[str, Any]] = []
    rounds: list[str] = []
    for label, rnd_means in (
        (previous.label if previous else None, [a.previous_mean for a in result.areas]),
        (current.label if current else None, [a.current_mean for a in result.areas]),
    ):
        if label is not None:
            rounds.append(label)
            series.append(
                {
                    "name": label,
                    "values": [None if v is None else round(v, MEAN_DECIMALS) for v in rnd_means],
                }
            )
    chart = {
        "categories": [names.get(a.area_ref, a.area_ref) for a in result.areas],
        "series": series,
        "value_axis": {"minimum": scale.minimum, "maximum": scale.maximum, "major_unit": 1},
        "number_format": MEAN_FORMAT,
        "description": _chart_description(facts, rounds),
    }
    return movement, chart


def _chart_description(facts: DeckFacts, rounds: list[str]) -> str:
    """The chart's alt text: whose self-assessment, which rounds, on which scale."""
    scale = facts.checklist.scale if facts.checklist else None
    on_scale = f" på skalan {scale.minimum}–{scale.maximum}" if scale else ""
    when = f" i {swedish.enumeration(rounds)}" if rounds else ""
    return (
        f"Stapeldiagram över självskattningen för {facts.organisation.name}{when}: "
        f"medelvärdet per område{on_scale}."
    )


def statement_number(checklist: ChecklistFacts, ref: str) -> str:
    """A statement's number as the checklist shows it: its place in the list (``14``)."""
    refs = [q.ref for q in checklist.questions]
    return str(refs.index(ref) + 1) if ref in refs else ref


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
    # The tables of changed statements: a row that says so when none changed.
    movement["rows"] = movement["changed"] or [
        {
            "number": "",
            "text": "Inga påståenden har ändrats sedan förra gången.",
            "previous": "",
            "current": "",
            "delta": "",
            "declined": False,
            "comment": "",
        }
    ]
    film = facts.film
    leadership = facts.leadership or LeadershipFacts()
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
        "plan": {"activities": _plan_activities(facts)},
        "next_meeting": meeting_block(facts.next_meeting) if facts.next_meeting else None,
        "lessons": {"prompt": LESSONS_PROMPT},
        "transferable": _transferable(facts.initiatives),
        "leadership": {
            name: _text_or_prompt(getattr(leadership, name), prompt)
            for name, prompt in LEADERSHIP_PROMPTS.items()
        },
        "film": {
            "title": (film.title or "") if film else "",
            "link": (film.link or "") if film else "",
            "reflection": _text_or_prompt(leadership.film_reflection, FILM_PROMPT),
        },
        "needs": _improvement_needs(facts),
        "questions": list(QUESTION_PROMPTS),
        "highlights": _highlights(facts),
        "governance": {"rows": _governance(facts.initiatives)},
        "results": _results(facts),
    }


def _text_or_prompt(text: str | None, prompt: str) -> str:
    return text.strip() if text and text.strip() else prompt


def _plan_activities(facts: DeckFacts) -> list[dict[str, str]]:
    """The plan as table rows, dates written one way; one row to fill in when there is none."""
    rows = plan_rows(facts.plan)
    for row in rows:
        row["follow_up"] = swedish.dates_in_text(row["follow_up"])
    return rows or [
        {
            "activity": "[Fyll i aktivitet …]",
            "owner": "[Fyll i ansvarig]",
            "deadline": "[Fyll i datum]",
            "follow_up": "[Fyll i forum och datum]",
            "status": "[Fyll i status]",
        }
    ]


def _transferable(initiatives: tuple[InitiativeFacts, ...]) -> list[dict[str, str]]:
    """Initiatives marked transferable, with where to as a list; a row to fill in if none."""
    rows = [
        {
            "title": i.title,
            # One place per line, each as typed: a list, never capitals mid-sentence.
            "where": "\n".join(t.strip() for t in i.transfer_to if t.strip())
            or "[Fyll i verksamheter dit arbetet kan överföras …]",
        }
        for i in initiatives
        if i.transferable
    ]
    return rows or [
        {
            "title": "[Fyll i ett förbättringsarbete som kan överföras till fler verksamheter …]",
            "where": "[Fyll i verksamheter dit arbetet kan överföras …]",
        }
    ]


def _improvement_needs(facts: DeckFacts) -> dict[str, Any]:
    """The statements still at the scale's lowest value, and the lowest area, as suggestions."""
    checklist = facts.checklist
    current = facts.current_round
    if checklist is None or current is None:
        return {
            "lowest_area": "",
            "statements": [
                {
                    "number": "",
                    "text": "[Självskattningen för den här träffen saknas – fyll i de påståenden "
                    "ni vill arbeta vidare med …]",
                    "area": "",
                }
            ],
            "prompt": NEEDS_PROMPT,
        }
    names = {a.ref: a.name for a in checklist.areas}
    lowest = checklist.scale.minimum
    statements = [
        {
            "number": statement_number(checklist, q.ref),
            "text": checklist.question_texts.get(q.ref, ""),
            "area": names.get(q.area_ref, q.area_ref),
        }
        for q in checklist.questions
        if current.scores.get(q.ref) == lowest
    ]
    result = compute_movement(
        checklist.questions, previous={}, current=current.scores, scale=checklist.scale
    )
    return {
        "lowest_area": _lowest_area(result, names),
        "statements": statements
        or [
            {
                "number": "",
                "text": f"Inga påståenden har skattats till {lowest}. "
                "[Fyll i de påståenden ni vill arbeta vidare med …]",
                "area": "",
            }
        ],
        "prompt": NEEDS_PROMPT,
    }


def _lowest_area(result: Movement, names: dict[str, str]) -> str:
    """``Kompetens (medelvärde 1,33)``: the area with the lowest mean now; empty if none."""
    scored = [a for a in result.areas if a.current_mean is not None]
    if not scored:
        return ""
    low = min(scored, key=lambda a: a.current_mean or 0.0)
    mean = swedish.number(low.current_mean, decimals=MEAN_DECIMALS)
    return f"{names.get(low.area_ref, low.area_ref)} (medelvärde {mean})"


def _highlights(facts: DeckFacts) -> dict[str, Any]:
    """Three suggested key messages: the biggest movement, then the initiatives' results.

    They are suggestions (the slide says so) for the delegation to rewrite; a prompt fills
    each place the data has nothing for.
    """
    items: list[str] = []
    movement = _movement_highlight(facts)
    if movement:
        items.append(movement)
    # Initiatives that report results first; then those whose indicator has a new measurement.
    with_results = [i for i in facts.initiatives if i.results and i.results.strip()]
    measured = [
        i
        for i in facts.initiatives
        if i not in with_results and i.baseline is not None and i.latest is not None
    ]
    for initiative in with_results:
        items.append(f"{initiative.title}: {(initiative.results or '').strip()}")
    for initiative in measured:
        items.append(f"{initiative.title}: {indicator_line(initiative)}")
    items = items[:HIGHLIGHT_COUNT]
    items += list(HIGHLIGHT_PROMPTS[len(items) :])
    return {"note": HIGHLIGHTS_NOTE, "suggestions": items}


def _movement_highlight(facts: DeckFacts) -> str:
    """``Summan i självskattningen gick från 35 till 38 poäng; störst förflyttning i …``."""
    checklist, previous, current = facts.checklist, facts.previous_round, facts.current_round
    if checklist is None or previous is None or current is None:
        return ""
    result = compute_movement(
        checklist.questions,
        previous=previous.scores,
        current=current.scores,
        scale=checklist.scale,
    )
    before, after = result.previous.total, result.current.total
    text = (
        f"Summan i självskattningen gick från {before} till {after} poäng "
        f"({previous.label} → {current.label})"
        if before != after
        else f"Summan i självskattningen är oförändrad, {after} poäng "
        f"({previous.label} → {current.label})"
    )
    moved = [a for a in result.areas if a.delta is not None and round(a.delta, MEAN_DECIMALS)]
    if moved:
        names = {a.ref: a.name for a in checklist.areas}
        area = max(moved, key=lambda a: abs(a.delta or 0.0))
        text += (
            f"; störst förflyttning i {names.get(area.area_ref, area.area_ref)}, "
            f"från {swedish.number(area.previous_mean, decimals=MEAN_DECIMALS)} till "
            f"{swedish.number(area.current_mean, decimals=MEAN_DECIMALS)} i medelvärde"
        )
    return text + "."


def _governance(initiatives: tuple[InitiativeFacts, ...]) -> list[dict[str, str]]:
    """Initiatives at the level of governance and management; a row to fill in if none."""
    rows = [
        {"title": i.title, "status": i.status or "", "pdsa_phase": i.pdsa_phase or ""}
        for i in initiatives
        if (i.level or "").strip().casefold() == GOVERNANCE_LEVEL
    ]
    return rows or [dict(GOVERNANCE_INVITATION)]


def _results(facts: DeckFacts) -> dict[str, Any]:
    """A results chart per measured indicator; an invitation (one item) when there is none."""
    charts = [
        chart
        for indicator in facts.indicators
        if (chart := _result_chart(facts.organisation.name, indicator)) is not None
    ]
    return {"charts": charts, "invitation": [] if charts else [RESULTS_INVITATION]}


def _result_chart(organisation: str, indicator: IndicatorFacts) -> dict[str, Any] | None:
    """Baseline and latest measurement of one indicator as bars per group; None if unmeasured."""
    measured = [
        (label, m)
        for label, m in (
            ("Utgångsläge", indicator.baseline),
            ("Senaste mätningen", indicator.latest),
        )
        if m is not None and (m.total is not None or m.women is not None or m.men is not None)
    ]
    if not measured:
        return None
    split = any(m.women is not None or m.men is not None for _, m in measured)
    with_total = any(m.total is not None for _, m in measured)
    first, second = POPULATION_LABELS.get(indicator.population, POPULATION_LABELS["kvinnor_män"])
    groups: list[tuple[str, Callable[[MeasurementFacts], float | None]]] = []
    if split:
        groups += [
            (first[0].upper() + first[1:], lambda m: m.women),
            (second[0].upper() + second[1:], lambda m: m.men),
        ]
    if with_total:
        groups.append((TOTAL_LABEL, lambda m: m.total))
    values = [[value(m) for _, value in groups] for _, m in measured]
    numbers = [v for row in values for v in row if v is not None]
    decimals = 0 if all(float(v).is_integer() for v in numbers) else 1
    unit = indicator.unit or ""
    value_axis: dict[str, float] = {"minimum": 0}
    if unit == "%" and max(numbers, default=0) <= 100:
        value_axis["maximum"] = 100
    dated = [f"{label.lower()} {swedish.long_date(m.date)}" for label, m in measured]
    named = f"{indicator.name} ({unit})" if unit else indicator.name
    who = f" för {first} och {second}" if split else " totalt"
    return {
        "heading": RESULT_HEADINGS.get(indicator.population, RESULT_HEADINGS["neutral"])
        if split
        else RESULT_TOTAL_HEADING,
        "indicator": named,
        "initiative": f"Förbättringsarbete: {indicator.initiative_title}",
        "dates": " · ".join(f"{label} {swedish.long_date(m.date)}" for label, m in measured),
        "chart": {
            "categories": [name for name, _ in groups],
            "series": [
                {
                    "name": f"{label} ({swedish.long_date(m.date)})",
                    "values": [None if v is None else round(float(v), decimals) for v in row],
                }
                for (label, m), row in zip(measured, values, strict=True)
            ],
            "value_axis": value_axis,
            "number_format": "0" if decimals == 0 else "0.0",
            "description": f"Stapeldiagram för {organisation}: {named}{who}, "
            f"{swedish.enumeration(dated)}.",
        },
    }
