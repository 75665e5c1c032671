"""Participants' pages: their organisation's documents, deadlines and what they have sent.

Everything here is one organisation's, through the session its personal link opened. Another
organisation's document, upload or receipt, an unreleased letter and an id that does not exist
all answer the same Swedish 404 page. Uploads call the same use cases as the JSON API; a
refused file stores nothing and the form comes back (422) with what to fix, cell by cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.access.participant_overview import (
    meeting_overview,
    network_meeting,
    participant_overview,
)
from service.access.portal_sessions import PortalCaller
from service.access.visible_documents import Viewer, document_file, upload_file, visible_upload
from service.api.body import read_upload_form
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.downloads import file_response
from service.api.portal.auth import ParticipantPageDep
from service.api.portal.names import KIND_NAMES
from service.api.portal.rendering import page
from service.api.portal.security import verify_csrf
from service.clock import utcnow
from service.database import models as m
from service.database.submission_status import meeting_round
from service.domain.deadlines import is_on_time, upload_deadline
from service.domain.kinds import UploadKind
from service.errors import FileRejectedError, InvalidInputError, Problem
from service.file_safety.file_inspection import limits_from_settings
from service.messages import Language, message, place
from service.observability.metrics import count_refused_upload
from service.runtime import Runtime
from service.uploads.checklist_upload import standing_after_upload, upload_checklist
from service.uploads.deck_upload import upload_deck
from service.uploads.stored_uploads import Uploader

router = APIRouter(include_in_schema=False)

FORMAT_NAMES = {
    "pdf": "PDF",
    "docx": "Word-fil",
    "pptx": "PowerPoint-fil",
    "xlsx": "Excel-fil",
}
UPLOAD_NAMES = {UploadKind.CHECKLIST: "Ifylld checklista", UploadKind.DECK: "Färdig presentation"}
_CELL = re.compile(r"^(?P<sheet>.+)!(?P<cell>\$?[A-Z]{1,3}\$?[0-9]{1,7})$")
# Which form a refusal belongs to, and the id of its file field.
_FORMS = {UploadKind.CHECKLIST: "fil-checklista", UploadKind.DECK: "fil-presentation"}


@dataclass(frozen=True)
class ProblemRow:
    """One refusal as the error table shows it: sheet, cell and what is wrong, in Swedish."""

    sheet: str
    cell: str
    where: str
    text: str


@dataclass(frozen=True)
class UploadError:
    """Why a file was not received: one line, and the problems cell by cell."""

    kind: UploadKind
    field_id: str
    reason: str
    problems: list[ProblemRow]


def _rows(problems: list[Problem]) -> list[ProblemRow]:
    rows = []
    for problem in problems:
        found = _CELL.match(problem.location)
        rows.append(
            ProblemRow(
                sheet=found["sheet"] if found else "–",
                cell=found["cell"] if found else "–",
                where=place(problem.location, Language.SV),
                text=problem.render(Language.SV),
            )
        )
    return rows


def _upload_error(kind: UploadKind, exc: InvalidInputError) -> UploadError:
    count_refused_upload(exc)
    if isinstance(exc, FileRejectedError):
        reason = (
            message("upload.refused", reason=message(f"upload.reason.{exc.reason.value}")).render(
                Language.SV
            )
            + "."
        )
    else:
        reason = "Filen togs inte emot."
    return UploadError(kind, _FORMS[kind], reason, _rows(exc.problems))


def _uploader(session: Session, caller: PortalCaller) -> Uploader:
    token = session.get(m.AccessToken, caller.access_token_id) if caller.access_token_id else None
    label = token.label if token is not None and token.label else "Personlig länk"
    return Uploader(label=label, access_token_id=caller.access_token_id)


def _organisation_id(caller: PortalCaller) -> int:
    assert caller.organisation_id is not None  # a participant's page dependency made sure
    return caller.organisation_id


def _organisation_name(session: Session, caller: PortalCaller) -> str:
    organisation = session.get(m.Organisation, _organisation_id(caller))
    return organisation.name if organisation else ""


def _common(session: Session, caller: PortalCaller) -> dict[str, Any]:
    return {
        "organisation_name": _organisation_name(session, caller),
        "kind_names": KIND_NAMES,
        "format_names": FORMAT_NAMES,
        "upload_names": UPLOAD_NAMES,
    }


@router.get("/mina-dokument", response_class=HTMLResponse)
def documents(request: Request, caller: ParticipantPageDep, session: SessionDep) -> Response:
    """Era dokument: per meeting, the documents, deadlines and what has been sent."""
    _organisation, meetings = participant_overview(session, _organisation_id(caller))
    context = {**_common(session, caller), "meetings": meetings}
    return page(request, "participant/documents.html", context, caller=caller)


@router.get("/mina-dokument/dokument/{document_id}/fil")
def download_document(
    document_id: int, caller: ParticipantPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """One of the organisation's documents (any version), streamed from the file store."""
    viewer = Viewer(organisation_id=_organisation_id(caller))
    found = document_file(session, runtime.files, viewer, document_id)
    return file_response(found, fallback_name=f"dokument-{document_id}")


@router.get("/mina-dokument/inskickat/{upload_id}/fil")
def download_upload(
    upload_id: int, caller: ParticipantPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A file the organisation sent, as it was stored."""
    viewer = Viewer(organisation_id=_organisation_id(caller))
    found = upload_file(session, runtime.files, viewer, upload_id)
    return file_response(found, fallback_name=f"inskickat-{upload_id}")


def _send_page(
    request: Request,
    session: Session,
    caller: PortalCaller,
    meeting_id: int,
    *,
    error: UploadError | None = None,
) -> Response:
    meeting = network_meeting(session, _organisation_id(caller), meeting_id)
    overview = meeting_overview(session, _organisation_id(caller), meeting)
    context = {**_common(session, caller), "overview": overview, "error": error}
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return page(request, "participant/send.html", context, caller=caller, status_code=code)


@router.get("/mina-dokument/moten/{meeting_id}/skicka", response_class=HTMLResponse)
def send_form(
    meeting_id: int, request: Request, caller: ParticipantPageDep, session: SessionDep
) -> Response:
    """The forms to send the filled checklist and the finished presentation for a meeting."""
    return _send_page(request, session, caller, meeting_id)


async def _receive(
    request: Request,
    caller: PortalCaller,
    session: Session,
    runtime: Runtime,
    meeting_id: int,
    kind: UploadKind,
) -> Response:
    """Read the form within the size limit, check its CSRF token, then call the use case."""
    organisation_id = _organisation_id(caller)
    # Another network's meeting is refused before a large body is read.
    meeting = await run_in_threadpool(network_meeting, session, organisation_id, meeting_id)
    missing = Problem.of("file", message("upload.missing_file"))
    try:
        form = await read_upload_form(
            request,
            max_bytes=runtime.settings.max_upload_bytes,
            fields=["csrf_token"],
            missing_file=missing,
        )
    except InvalidInputError as exc:
        # The body was not read (too large, not a form, no file), so its token is not known
        # either; nothing is stored, the form only comes back with the reason.
        return await run_in_threadpool(
            _send_page, request, session, caller, meeting_id, error=_upload_error(kind, exc)
        )
    verify_csrf(request, caller, form.fields.get("csrf_token"))
    if not form.data:
        empty = _upload_error(kind, InvalidInputError([missing]))
        return await run_in_threadpool(
            _send_page, request, session, caller, meeting_id, error=empty
        )

    def store() -> int:
        uploader = _uploader(session, caller)
        limits = limits_from_settings(runtime.settings)
        # A savepoint: a refusal after the first write (a score the database refuses) leaves
        # nothing behind, though the page itself answers normally.
        with session.begin_nested():
            if kind is UploadKind.CHECKLIST:
                assessment_round = meeting_round(session, meeting.id)
                result = upload_checklist(
                    session,
                    runtime.files,
                    organisation_id=organisation_id,
                    data=form.data,
                    file_name=form.file_name,
                    round_choice=assessment_round.ref if assessment_round else None,
                    uploader=uploader,
                    limits=limits,
                    now=utcnow(),
                )
                return result.upload.id
            deck = upload_deck(
                session,
                runtime.files,
                organisation_id=organisation_id,
                meeting_id=meeting.id,
                data=form.data,
                file_name=form.file_name,
                uploader=uploader,
                limits=limits,
                now=utcnow(),
                timezone=runtime.settings.regeneration_timezone,
            )
            return deck.upload.id

    try:
        upload_id = await run_in_threadpool(store)
    except InvalidInputError as exc:
        return await run_in_threadpool(
            _send_page, request, session, caller, meeting_id, error=_upload_error(kind, exc)
        )
    return RedirectResponse(f"/mina-dokument/kvitton/{upload_id}", status.HTTP_303_SEE_OTHER)


@router.post("/mina-dokument/moten/{meeting_id}/checklista", response_class=HTMLResponse)
async def send_checklist(
    meeting_id: int,
    request: Request,
    caller: ParticipantPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Receive the filled checklist: its scores replace the round's, or nothing is stored."""
    return await _receive(request, caller, session, runtime, meeting_id, UploadKind.CHECKLIST)


@router.post("/mina-dokument/moten/{meeting_id}/presentation", response_class=HTMLResponse)
async def send_deck(
    meeting_id: int,
    request: Request,
    caller: ParticipantPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Receive the finished presentation for the meeting (the latest one counts)."""
    return await _receive(request, caller, session, runtime, meeting_id, UploadKind.DECK)


@router.get("/mina-dokument/kvitton/{upload_id}", response_class=HTMLResponse)
def receipt(
    upload_id: int,
    request: Request,
    caller: ParticipantPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """What was received: the file, when and by whom, and for a checklist the new sums."""
    viewer = Viewer(organisation_id=_organisation_id(caller))
    upload = visible_upload(session, viewer, upload_id)
    meeting = session.get(m.Meeting, upload.meeting_id) if upload.meeting_id else None
    deadline = upload_deadline(meeting.date, meeting.upload_deadline_override) if meeting else None
    on_time = (
        is_on_time(upload.uploaded_at, deadline, runtime.settings.regeneration_timezone)
        if deadline is not None
        else None
    )
    context = {
        **_common(session, caller),
        "upload": upload,
        "meeting": meeting,
        "deadline": deadline,
        "on_time": on_time,
        "standing": standing_after_upload(session, upload),
    }
    return page(request, "participant/receipt.html", context, caller=caller)
