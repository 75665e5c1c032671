"""Organisers see the regeneration runs, check for changes and regenerate now.

Each run says when it ran, whether the night or a person started it, whether it only
checked (a dry run), and per document what changed and why, in Swedish. "Kontrollera nu"
and "Uppdatera nu" start the same use case as ``POST /api/v1/regenerations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.dependencies import RuntimeDep, SessionDep
from service.api.ids import fits_id
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.rendering import NOTICES, page
from service.change_detection.fingerprints import (
    REASON_DATA,
    REASON_NEW,
    REASON_RENDERER,
    REASON_TEMPLATE,
    REASON_UNKNOWN,
)
from service.database import models as m
from service.errors import ConflictError, TransientError
from service.intake.entities import MAX_ID
from service.regeneration.runs import refresh_run
from service.regeneration.schedule import run_manual

router = APIRouter(include_in_schema=False)

NOTICES.update(
    {
        "kontrollerad": "Kontrollen är klar. Inget har skapats på nytt.",
        "uppdatering-startad": "Uppdateringen är startad. Dokumenten skapas nu på nytt.",
    }
)

MAX_RUNS_LISTED = 50
TRIGGERS = {"nightly": "Nattlig körning", "manual": "Startad för hand", "upload": "Efter inskick"}
STATES = {
    "running": ("Kontrollerar", "neutral"),
    "rendering": ("Skapar dokument", "neutral"),
    "finished": ("Klar", "ok"),
    "failed": ("Misslyckades", "bad"),
}
KINDS = {
    "deck": "Presentation",
    "checklist": "Checklista",
    "agenda": "Agenda",
    "organisation_agenda": "Agenda med organisationens pass",
    "organiser_checklist": "Arrangörens checklista",
    "feedback_letter": "Återkopplingsbrev",
    "feedback_summary": "Återkoppling till SKR",
    "network_overview": "Sammanställning för nätverket",
    "network_overview_workbook": "Sammanställning för nätverket (Excel)",
}
# What a part of a document's data is, in words (the context's top-level keys).
DATA_PARTS = {
    "scores": "poängen i självskattningen",
    "statements": "påståendena",
    "areas": "områdena",
    "area_chart": "diagrammet per område",
    "totals_chart": "diagrammet över summorna",
    "distribution_chart": "diagrammet över poängfördelningen",
    "movement": "förflyttningen i självskattningen",
    "readiness": "beredskapen",
    "self_assessment": "självskattningen",
    "weakest": "de svagaste områdena",
    "changed": "ändrade påståenden",
    "rounds": "skattningsomgångarna",
    "organisation": "organisationens uppgifter",
    "organisations": "organisationerna",
    "network": "nätverkets uppgifter",
    "meeting": "träffens uppgifter",
    "next_meeting": "nästa träff",
    "delegation": "delegationen",
    "participants": "deltagarna",
    "initiatives": "förbättringsarbetena",
    "plan": "planen för fortsättningen",
    "noted": "brevets text om presentationen",
    "ideas": "idéerna att ta med hem",
    "letter": "brevets uppgifter",
    "own_transferable": "organisationens överförbara förbättringar",
    "others_transferable": "andras överförbara förbättringar",
    "agenda": "agendan",
    "items": "agendans punkter",
    "host": "värden",
    "mentors": "mentorerna",
    "practical": "praktisk information",
    "goals": "träffens mål",
    "preparations": "förberedelserna",
    "film": "filmen",
    "summary": "sammanfattningen",
    "analyses": "analyserna",
    "uploads": "inskickade filer",
}
REASONS = {
    REASON_NEW: "Nytt dokument",
    REASON_TEMPLATE: "Mallen har ändrats",
    REASON_RENDERER: "Programmet som skapar dokumenten har uppdaterats",
    REASON_DATA: "Uppgifterna har ändrats",
    REASON_UNKNOWN: "Skapat innan ändringar började följas",
}


def reason_in_swedish(reason: str) -> str:
    """``data changed: movement, scores`` as ``Ändrat: förflyttningen …, poängen …``."""
    if reason in REASONS:
        return REASONS[reason]
    prefix = REASON_DATA + ": "
    if reason.startswith(prefix):
        parts = [p.strip() for p in reason.removeprefix(prefix).split(",") if p.strip()]
        words = [DATA_PARTS.get(p, f"”{p}”") for p in parts]
        return "Ändrade uppgifter: " + ", ".join(words)
    return reason


@dataclass(frozen=True)
class ChangeRow:
    """A document a run found changed, in words."""

    meeting: str
    organisation: str
    kind: str
    file_format: str
    reasons: list[str]


@dataclass(frozen=True)
class FailureRow:
    """A document a run could not check or make."""

    what: str
    stage: str
    error: str


def _names(session: Session, run: m.RegenerationRun) -> tuple[dict[int, str], dict[int, str]]:
    meeting_ids = {int(c["meeting_id"]) for c in run.changes} | set(run.meeting_ids or [])
    org_ids = {int(c["organisation_id"]) for c in run.changes if c.get("organisation_id")}
    meetings = dict(
        session.execute(
            select(m.Meeting.id, m.Meeting.title).where(m.Meeting.id.in_(meeting_ids))
        ).all()
    )
    organisations = dict(
        session.execute(
            select(m.Organisation.id, m.Organisation.name).where(m.Organisation.id.in_(org_ids))
        ).all()
    )
    return meetings, organisations


def _details(session: Session, run: m.RegenerationRun) -> dict[str, Any]:
    meetings, organisations = _names(session, run)
    changes = [
        ChangeRow(
            meeting=meetings.get(int(c["meeting_id"]), ""),
            organisation=(
                organisations.get(int(c["organisation_id"]), "")
                if c.get("organisation_id")
                else "Hela träffen"
            ),
            kind=KINDS.get(str(c.get("kind")), str(c.get("kind"))),
            file_format=str(c.get("format", "")).upper(),
            reasons=[reason_in_swedish(str(r)) for r in c.get("reasons", [])],
        )
        for c in run.changes
    ]
    failures = [
        FailureRow(
            what=(
                f"{f['more']} fler dokument"
                if f.get("more")
                else str(f.get("description") or "Okänt dokument")
            ),
            stage="när dokumentet skapades" if f.get("stage") == "render" else "vid kontrollen",
            error=str(f.get("error") or ""),
        )
        for f in run.failures
    ]
    return {
        "changes": changes,
        "failures": failures,
        "meetings": [meetings.get(mid, str(mid)) for mid in run.meeting_ids or []],
    }


def _run_view(run: m.RegenerationRun) -> dict[str, Any]:
    words, css = STATES.get(run.status, (run.status, "neutral"))
    return {
        "run": run,
        "trigger": TRIGGERS.get(run.trigger, run.trigger),
        "state": words,
        "state_class": css,
        "changed": len(run.changes),
    }


def _runs_page(
    request: Request,
    caller: Any,
    session: Session,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    runs = list(
        session.scalars(
            select(m.RegenerationRun)
            .order_by(m.RegenerationRun.started_at.desc(), m.RegenerationRun.id.desc())
            .limit(MAX_RUNS_LISTED)
        )
    )
    meetings = session.execute(
        select(m.Meeting.id, m.Meeting.title, m.Meeting.date, m.Network.name)
        .join(m.Network, m.Network.id == m.Meeting.network_id)
        .order_by(m.Meeting.date.desc(), m.Meeting.id)
    ).all()
    return page(
        request,
        "organiser/regeneration.html",
        {"runs": [_run_view(run) for run in runs], "error": error, "meetings": meetings},
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/regenerering", response_class=HTMLResponse)
def runs(request: Request, caller: OrganiserPageDep, session: SessionDep) -> Response:
    """The latest runs, newest first, and the buttons to check or update now."""
    return _runs_page(request, caller, session)


@router.get("/arrangor/regenerering/{run_id}", response_class=HTMLResponse)
def run_detail(
    request: Request, run_id: int, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """One run: what changed and why, what failed, where its documents stand."""
    found = session.get(m.RegenerationRun, run_id) if 1 <= run_id <= MAX_ID else None
    if found is None:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    run = refresh_run(session, found.id)
    return page(
        request,
        "organiser/regeneration_run.html",
        {**_run_view(run), **_details(session, run)},
        caller=caller,
    )


@router.post("/arrangor/regenerering", response_class=HTMLResponse)
def start(
    request: Request,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    atgard: Annotated[str, Form(max_length=50)] = "",
    mote: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Check now (a dry run) or update now, as ``POST /api/v1/regenerations`` does."""
    if atgard not in ("kontrollera", "uppdatera"):
        return _runs_page(
            request,
            caller,
            session,
            error="Välj om du vill kontrollera eller uppdatera dokumenten.",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    meeting_ids: list[int] | None = None
    if mote:
        meeting = session.get(m.Meeting, int(mote)) if mote.isdigit() and fits_id(mote) else None
        if meeting is None:
            return _runs_page(
                request,
                caller,
                session,
                error="Träffen du valde finns inte. Välj en träff i listan.",
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            )
        meeting_ids = [meeting.id]
    dry_run = atgard == "kontrollera"
    client = None if dry_run else redis.Redis.from_url(runtime.settings.redis_url)
    try:
        run = run_manual(
            sessions=runtime.sessions,
            queue=runtime.queue,
            files=runtime.files,
            templates=runtime.templates,
            settings=runtime.settings,
            redis_client=client,
            dry_run=dry_run,
            meeting_ids=meeting_ids,
            now=runtime.clock.now(),
        )
    except (ConflictError, TransientError) as exc:
        busy = isinstance(exc, ConflictError)
        message = (
            "En annan uppdatering pågår redan. Vänta tills den är klar och försök igen."
            if busy
            else "Uppdateringen kunde inte startas just nu. Försök igen om en stund."
        )
        return _runs_page(
            request, caller, session, error=message, status_code=status.HTTP_409_CONFLICT
        )
    finally:
        if client is not None:
            client.close()
    notice = "kontrollerad" if dry_run else "uppdatering-startad"
    return RedirectResponse(
        f"/arrangor/regenerering/{run.id}?klart={notice}", status.HTTP_303_SEE_OTHER
    )
