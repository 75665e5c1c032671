"""Organisers' start page (networks, meetings, what needs attention) and a meeting's page.

The start page gathers, per meeting, what an organiser has to act on: organisations past the
upload deadline without their checklist or deck, failed documents, letters waiting to be
released, e-mail that failed or waits for the organiser, facts the participants' documents would
still print as ``[Fyll i …]``, and the accessibility reports nobody has handled yet. Each item
links to the page where it is fixed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access.visible_documents import Viewer, upload_file
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.downloads import file_response
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.rendering import NOTICES, STOCKHOLM, local_time, page
from service.batches.preflight import meeting_fact_gaps
from service.clock import utcnow
from service.database import models as m
from service.database.submission_status import (
    OrganisationSubmission,
    SubmissionStatus,
    load_submission_status,
)
from service.domain.deadlines import is_on_time
from service.domain.kinds import DocumentKind, DocumentStatus, MessageState
from service.errors import NotFoundError
from service.mail.building import count_messages

router = APIRouter(include_in_schema=False)

NOTICES.update({"rapport-hanterad": "Rapporten är markerad som hanterad."})

ROLE_NAMES = {
    "politiker": "politiker",
    "chef": "chef",
    "strateg": "strateg",
    "controller": "controller",
    "statistiker": "statistiker",
    "kommunikatör": "kommunikatör",
    "övrig": "övrig roll",
}
ATTENDANCE_NAMES = {"anmäld": "anmäld", "deltog": "deltog", "förhinder": "förhinder"}


@dataclass(frozen=True)
class Attention:
    """One thing an organiser should act on, with where it is fixed."""

    text: str
    href: str
    link_text: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeetingCard:
    """A meeting on the start page."""

    meeting: m.Meeting
    host: str | None
    deadline: dt.date
    attention: tuple[Attention, ...]


@dataclass(frozen=True)
class NetworkCard:
    """A network and its meetings."""

    network: m.Network
    meetings: tuple[MeetingCard, ...]


def today_in_sweden() -> dt.date:
    """Today's date where the organisations are."""
    return utcnow().astimezone(STOCKHOLM).date()


def _missing_uploads(found: SubmissionStatus) -> list[str]:
    """Names of organisations without their checklist or deck, with what they lack."""
    lacking = []
    for row in found.organisations:
        items = []
        if found.assessment_round is not None and not row.checklist.submitted:
            items.append("checklista")
        if row.deck is None:
            items.append("presentation")
        if items:
            lacking.append(f"{row.name}: {' och '.join(items)} saknas")
    return lacking


def failed_documents(session: Session, meeting_id: int) -> list[m.GeneratedDocument]:
    """Failed documents of a meeting whose slot has no newer version since."""
    rows = session.scalars(
        select(m.GeneratedDocument)
        .where(m.GeneratedDocument.meeting_id == meeting_id)
        .order_by(m.GeneratedDocument.id)
    ).all()
    latest: dict[tuple[object, ...], m.GeneratedDocument] = {}
    for row in rows:
        latest[(row.organisation_id, row.kind, row.format)] = row
    return [row for row in latest.values() if row.status == DocumentStatus.FAILED]


def _waiting_letters(session: Session, meeting_id: int) -> list[str]:
    """Organisations whose letter was written or generated but not yet released."""
    written = set(
        session.scalars(
            select(m.FeedbackLetter.organisation_id).where(
                m.FeedbackLetter.meeting_id == meeting_id
            )
        )
    )
    generated = set(
        session.scalars(
            select(m.GeneratedDocument.organisation_id).where(
                m.GeneratedDocument.meeting_id == meeting_id,
                m.GeneratedDocument.kind == DocumentKind.FEEDBACK_LETTER,
                m.GeneratedDocument.status == DocumentStatus.DONE,
            )
        )
    )
    waiting = (written | generated) - set(
        session.scalars(
            select(m.FeedbackLetter.organisation_id).where(
                m.FeedbackLetter.meeting_id == meeting_id,
                m.FeedbackLetter.released_at.is_not(None),
            )
        )
    )
    if not waiting:
        return []
    return list(
        session.scalars(
            select(m.Organisation.name)
            .where(m.Organisation.id.in_(waiting))
            .order_by(m.Organisation.id)
        )
    )


def meeting_attention(
    session: Session, meeting: m.Meeting, *, timezone: str, today: dt.date
) -> tuple[dt.date, list[Attention]]:
    """The upload deadline of a meeting and what needs attention there."""
    found = load_submission_status(session, meeting.id, timezone=timezone)
    base = f"/arrangor/moten/{meeting.id}"
    items: list[Attention] = []
    if found.deadline < today:
        lacking = _missing_uploads(found)
        if lacking:
            items.append(
                Attention(
                    f"{len(lacking)} organisationer har inte skickat in allt, och sista dag "
                    "för uppladdning har passerat.",
                    base,
                    "Se vad som saknas",
                    tuple(lacking),
                )
            )
    failed = failed_documents(session, meeting.id)
    if failed:
        items.append(
            Attention(
                f"{len(failed)} dokument kunde inte skapas.",
                f"{base}/generera",
                "Till dokumenten",
            )
        )
    waiting = _waiting_letters(session, meeting.id)
    if waiting:
        items.append(
            Attention(
                f"{len(waiting)} återkopplingsbrev väntar på att släppas till deltagarna.",
                f"{base}/brev",
                "Till breven",
                tuple(waiting),
            )
        )
    messages = count_messages(session, meeting.id)
    if messages.get(MessageState.FAILED):
        items.append(
            Attention(
                f"{messages[MessageState.FAILED]} utskick kunde inte skickas.",
                f"{base}/utskick",
                "Till utskicken",
            )
        )
    if messages.get(MessageState.HELD):
        items.append(
            Attention(
                f"{messages[MessageState.HELD]} utskick väntar på att du skickar dem.",
                f"{base}/utskick",
                "Granska och skicka",
            )
        )
    gaps = meeting_fact_gaps(session, meeting_id=meeting.id)
    if gaps:
        placeholders = tuple(dict.fromkeys(gap.placeholder for gap in gaps))
        items.append(
            Attention(
                f"{len(placeholders)} uppgifter om mötet saknas; dokumenten skulle visa "
                "en markering i stället.",
                f"{base}/generera",
                "Se vilka dokument det gäller",
                placeholders,
            )
        )
    return found.deadline, items


def overview(session: Session, *, timezone: str, today: dt.date) -> list[NetworkCard]:
    """Every network with its meetings (by date) and their attention items."""
    cards = []
    for network in session.scalars(select(m.Network).order_by(m.Network.id)):
        meetings = session.scalars(
            select(m.Meeting)
            .where(m.Meeting.network_id == network.id)
            .order_by(m.Meeting.date, m.Meeting.number)
        ).all()
        meeting_cards = []
        for meeting in meetings:
            deadline, items = meeting_attention(session, meeting, timezone=timezone, today=today)
            meeting_cards.append(
                MeetingCard(
                    meeting=meeting,
                    host=meeting.host.name if meeting.host else None,
                    deadline=deadline,
                    attention=tuple(items),
                )
            )
        cards.append(NetworkCard(network=network, meetings=tuple(meeting_cards)))
    return cards


def unhandled_reports(session: Session) -> list[m.AccessibilityReport]:
    """Accessibility reports not yet handled, oldest first."""
    return list(
        session.scalars(
            select(m.AccessibilityReport)
            .where(m.AccessibilityReport.handled_at.is_(None))
            .order_by(m.AccessibilityReport.reported_at, m.AccessibilityReport.id)
        )
    )


@router.get("/arrangor", response_class=HTMLResponse)
def start(
    request: Request, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Start: networks and meetings, with what needs attention."""
    today = today_in_sweden()
    context = {
        "networks": overview(session, timezone=runtime.settings.regeneration_timezone, today=today),
        "reports": unhandled_reports(session),
        "today": today,
    }
    return page(request, "organiser/start.html", context, caller=caller)


@router.post("/arrangor/tillganglighetsrapporter/{report_id:int}/hanterad")
def mark_report_handled(
    report_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
) -> Response:
    """Mark an accessibility report handled; it leaves the start page."""
    del caller
    report = session.get(m.AccessibilityReport, report_id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    if report.handled_at is None:
        report.handled_at = utcnow()
    return RedirectResponse("/arrangor?klart=rapport-hanterad", status.HTTP_303_SEE_OTHER)


# -- a meeting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One cell of the grid organisation × item: a status in words, a class, maybe a link."""

    words: str
    tone: str  # ok, warn, bad, neutral
    href: str | None = None
    link_text: str | None = None


def checklist_cell(
    found: SubmissionStatus, row: OrganisationSubmission, *, timezone: str, today: dt.date
) -> Cell:
    """The checklist's status for one organisation."""
    if found.assessment_round is None:
        return Cell("Ingen självskattning till detta möte", "neutral")
    checklist = row.checklist
    if checklist.via == "api":
        return Cell("Inkommen (registrerad av arrangör)", "ok")
    if checklist.via == "upload" and checklist.at is not None:
        on_time = is_on_time(checklist.at, found.deadline, timezone)
        words = "Inkommen" if on_time else "Inkommen för sent"
        return Cell(
            f"{words} {local_time(checklist.at)}",
            "ok" if on_time else "warn",
            f"/arrangor/inskickat/{checklist.upload_id}/fil",
            f"Ladda ner checklistan från {row.name}",
        )
    if found.deadline < today:
        return Cell("Saknas – sista dagen har passerat", "bad")
    return Cell("Saknas", "neutral")


def deck_cell(found: SubmissionStatus, row: OrganisationSubmission, *, today: dt.date) -> Cell:
    """The deck's status for one organisation."""
    deck = row.deck
    if deck is not None:
        words = "Inkommen" if deck.on_time else "Inkommen för sent"
        return Cell(
            f"{words} {local_time(deck.at)}",
            "ok" if deck.on_time else "warn",
            f"/arrangor/inskickat/{deck.upload_id}/fil",
            f"Ladda ner presentationen från {row.name} ({deck.file_name})",
        )
    if found.deadline < today:
        return Cell("Saknas – sista dagen har passerat", "bad")
    return Cell("Saknas", "neutral")


@router.get("/arrangor/moten/{meeting_id:int}", response_class=HTMLResponse)
def meeting_page(
    meeting_id: int,
    request: Request,
    caller: OrganiserPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A meeting: its facts, organisations with delegations, and who has sent what."""
    timezone = runtime.settings.regeneration_timezone
    try:
        found = load_submission_status(session, meeting_id, timezone=timezone)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND) from exc
    today = today_in_sweden()
    meeting = found.meeting
    attendance = {
        row.participant_id: row.status.value
        for row in session.scalars(
            select(m.Attendance).where(m.Attendance.meeting_id == meeting.id)
        )
    }
    rows = [
        {
            "org": row,
            "checklist": checklist_cell(found, row, timezone=timezone, today=today),
            "deck": deck_cell(found, row, today=today),
        }
        for row in found.organisations
    ]
    context = {
        "meeting": meeting,
        "network": meeting.network,
        "found": found,
        "rows": rows,
        "attendance": attendance,
        "attendance_names": ATTENDANCE_NAMES,
        "role_names": ROLE_NAMES,
        "today": today,
    }
    return page(request, "organiser/meeting.html", context, caller=caller)


@router.get("/arrangor/inskickat/{upload_id:int}/fil")
def download_sent_file(
    upload_id: int, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A file an organisation sent, as it was stored."""
    del caller
    try:
        found = upload_file(
            session,
            runtime.files,
            Viewer(),
            upload_id,
            link_seconds=runtime.settings.s3_presigned_downloads,
        )
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND) from exc
    return file_response(found, fallback_name=f"inskickat-{upload_id}")
