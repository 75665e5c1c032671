"""Organisers edit, preview and release the feedback letters.

A meeting's letters are listed with what each still lacks; each organisation's letter has a
form for the organiser's texts (what was noted in its presentation, the ideas it takes home),
a preview of the letter as the organisation will read it, links to its latest generated
files, and a release button. "Släpp alla som är klara" releases every letter that lacks
nothing. Texts are stored as written (markup and template syntax included) and always shown
escaped; a character no document can hold is refused with a Swedish message.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.access.letters import (
    LetterReview,
    LetterState,
    letter_preview,
    letter_state,
    letter_states,
    put_letter,
    release_letter,
)
from service.access.portal_sessions import PortalCaller
from service.access.visible_documents import Viewer, document_file
from service.api.after_commit import queue_after_commit
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.downloads import file_response
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.rendering import NOTICES, page
from service.batches.control import start_batch
from service.clock import utcnow
from service.database import models as m
from service.database.versions import latest_numbered
from service.documents import placeholders as ph
from service.domain import limits
from service.domain.kinds import DocumentKind
from service.errors import BenchdocsError, NotFoundError
from service.intake.entities import MAX_ID
from service.intake.text_rules import FORBIDDEN_CONTROL, normalise_line_breaks
from service.mail.manual import announce_released_letters

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

NOTICES.update(
    {
        "brev-sparat": "Brevet är sparat.",
        "brev-slappt": (
            "Brevet är släppt och skapas nu på nytt. Organisationen ser det så snart det är klart."
        ),
        "brev-alla-slappta": (
            "Alla brev som var klara har släppts och skapas nu på nytt. Organisationerna ser "
            "dem så snart de är klara."
        ),
        "brev-inga-klara": "Inga fler brev var klara att släppa.",
    }
)

NOTED_LABEL = "Er presentation – det vi särskilt noterade"
IDEAS_LABEL = "Idéer att ta med hem"
MAX_IDEAS = 100
# What a letter still lacks, in words an organiser acts on; the field to fill in, if any.
MISSING: dict[str, tuple[str, str | None]] = {
    ph.NOTED: (f"Fyll i ”{NOTED_LABEL}” innan brevet släpps.", "noted"),
    ph.IDEAS: (
        f"Fyll i ”{IDEAS_LABEL}”, eller registrera idéer för organisationen i träffens "
        "återkoppling.",
        "ideas",
    ),
    ph.SENDER: (
        "Brevet saknar avsändare: ange träffens värd, gruppens mentor eller processledaren.",
        None,
    ),
    ph.SIGNATURE: (
        "Brevet saknar namn under hälsningen: ange en kontaktperson för avsändaren.",
        None,
    ),
}
_FORMAT_NAMES = {"docx": "Word", "pdf": "PDF"}


@dataclass(frozen=True)
class LetterFile:
    """A generated letter document the organiser can open."""

    id: int
    format_name: str
    version: int
    finished_at: Any
    stale: bool
    url: str


def _missing_texts(state: LetterState) -> list[tuple[str | None, str]]:
    """What the letter lacks: (field id or None, Swedish sentence)."""
    found = []
    for placeholder in state.missing:
        text, field = MISSING.get(
            placeholder, (f"Brevet skulle skriva ut ”{placeholder}”: fyll i uppgiften först.", None)
        )
        found.append((field, text))
    return found


def _meeting(session: Session, meeting_id: int) -> m.Meeting:
    meeting = session.get(m.Meeting, meeting_id) if 1 <= meeting_id <= MAX_ID else None
    if meeting is None:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    return meeting


def _state(session: Session, meeting: m.Meeting, organisation_id: int) -> LetterState:
    if not 1 <= organisation_id <= MAX_ID:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    try:
        return letter_state(session, meeting.id, organisation_id)
    except NotFoundError as exc:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND) from exc


def _released_by(caller: PortalCaller) -> str:
    """Who released a letter, as its record says (the organiser's name)."""
    return caller.user_name or f"arrangör {caller.user_id}"


def _base(meeting_id: int) -> str:
    return f"/arrangor/moten/{meeting_id}/brev"


def _files(session: Session, meeting_id: int, organisation_id: int) -> list[LetterFile]:
    found = latest_numbered(
        session,
        organisation_id=organisation_id,
        meeting_id=meeting_id,
        kind=DocumentKind.FEEDBACK_LETTER,
    )
    return [
        LetterFile(
            id=item.document.id,
            format_name=_FORMAT_NAMES.get(item.document.format, item.document.format.upper()),
            version=item.version,
            finished_at=item.document.finished_at,
            stale=item.document.stale_since is not None,
            url=f"{_base(meeting_id)}/{organisation_id}/dokument/{item.document.id}",
        )
        for item in found
    ]


@router.get("/arrangor/moten/{meeting_id}/brev", response_class=HTMLResponse)
def letters(
    request: Request, meeting_id: int, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """Every organisation's letter for the meeting: draft or released, and what it lacks."""
    meeting = _meeting(session, meeting_id)
    states = letter_states(session, meeting.id)
    rows = [{"state": state, "missing": _missing_texts(state)} for state in states]
    ready = [s for s in states if s.released_at is None and not s.missing]
    return page(
        request,
        "organiser/letters.html",
        {"meeting": meeting, "rows": rows, "ready_count": len(ready), "base": _base(meeting.id)},
        caller=caller,
    )


@router.post("/arrangor/moten/{meeting_id}/brev/slapp-alla")
def release_all(
    meeting_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
) -> Response:
    """Release every letter that lacks nothing (and make them anew); the others stay drafts."""
    meeting = _meeting(session, meeting_id)
    now = utcnow()
    released = []
    for state in letter_states(session, meeting.id):
        if state.released_at is None and not state.missing:
            release_letter(
                session, meeting.id, state.organisation_id, by=_released_by(caller), now=now
            )
            released.append(state.organisation_id)
    if released:
        _make_released_letters(session, runtime, after_commit, meeting.id, released)
        _announce(session, runtime, after_commit, meeting.id, released, caller=caller, now=now)
    notice = "brev-alla-slappta" if released else "brev-inga-klara"
    return RedirectResponse(f"{_base(meeting.id)}?klart={notice}", status.HTTP_303_SEE_OTHER)


def _make_released_letters(
    session: Session,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
    meeting_id: int,
    organisation_ids: list[int],
) -> None:
    """Queue the released letters' documents once the release is committed.

    A letter rendered before its release stays hidden from its organisation (it may say
    "Utkast"); without a new render the participant would wait for the nightly run. PDFs are
    made when the meeting's letters had them before. Background tasks run after the request's
    transaction has committed, so the worker reads the released letter.
    """
    with_pdf = (
        session.scalar(
            select(m.GeneratedDocument.id)
            .where(
                m.GeneratedDocument.meeting_id == meeting_id,
                m.GeneratedDocument.kind == DocumentKind.FEEDBACK_LETTER,
                m.GeneratedDocument.format == "pdf",
            )
            .limit(1)
        )
        is not None
    )
    after_commit.add_task(
        _start_letter_batch, runtime, meeting_id, sorted(organisation_ids), with_pdf
    )


def _announce(
    session: Session,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
    meeting_id: int,
    organisation_ids: list[int],
    *,
    caller: PortalCaller,
    now: dt.datetime,
) -> None:
    """Tell the released letters' participants (in this transaction), sent after the commit."""
    report = announce_released_letters(
        session,
        meeting_id,
        organisation_ids,
        settings=runtime.settings,
        by=_released_by(caller),
        now=now,
    )
    after_commit.add_task(queue_after_commit, runtime, list(report.added))


def _start_letter_batch(
    runtime: RuntimeDep, meeting_id: int, organisation_ids: list[int], with_pdf: bool
) -> None:
    try:
        start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting_id,
            kinds=[DocumentKind.FEEDBACK_LETTER],
            organisation_ids=organisation_ids,
            with_pdf=with_pdf,
        )
    except BenchdocsError:
        # The release stands; the nightly run or "Skapa dokument" makes the letter instead.
        log.exception("could not queue released letters of meeting %s", meeting_id)


def _letter_page(
    request: Request,
    caller: PortalCaller,
    session: Session,
    meeting: m.Meeting,
    state: LetterState,
    *,
    form: dict[str, str] | None = None,
    errors: list[tuple[str | None, str]] | None = None,
    error_heading: str = "",
    status_code: int = 200,
) -> Response:
    organisation = session.get_one(m.Organisation, state.organisation_id)
    return page(
        request,
        "organiser/letter.html",
        {
            "meeting": meeting,
            "organisation": organisation,
            "state": state,
            "missing": _missing_texts(state),
            "form": form or {"noted": state.noted or "", "ideas": "\n".join(state.ideas)},
            "errors": errors or [],
            "error_heading": error_heading,
            "preview": letter_preview(session, meeting.id, state.organisation_id),
            "files": _files(session, meeting.id, state.organisation_id),
            "base": _base(meeting.id),
            "noted_label": NOTED_LABEL,
            "ideas_label": IDEAS_LABEL,
            "placeholder_mark": ph.MARK,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/moten/{meeting_id}/brev/{organisation_id}", response_class=HTMLResponse)
def letter(
    request: Request,
    meeting_id: int,
    organisation_id: int,
    caller: OrganiserPageDep,
    session: SessionDep,
) -> Response:
    """One organisation's letter: its texts, a preview, its files and the release button."""
    meeting = _meeting(session, meeting_id)
    state = _state(session, meeting, organisation_id)
    return _letter_page(request, caller, session, meeting, state)


def _text_problems(field: str, label: str, value: str) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    if FORBIDDEN_CONTROL.search(value):
        problems.append(
            (
                field,
                f"”{label}” innehåller ett osynligt styrtecken som inte går att spara. "
                "Ta bort det (skriv gärna om texten) och försök igen.",
            )
        )
    if len(value) > limits.LONG_TEXT:
        problems.append(
            (field, f"”{label}” får vara högst {limits.LONG_TEXT:_} tecken.".replace("_", " "))
        )
    return problems


@router.post("/arrangor/moten/{meeting_id}/brev/{organisation_id}", response_class=HTMLResponse)
def save_letter(
    request: Request,
    meeting_id: int,
    organisation_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    noted: Annotated[str, Form(max_length=200_000)] = "",
    ideas: Annotated[str, Form(max_length=2_000_000)] = "",
) -> Response:
    """Store the organiser's texts as written; nothing is stored when one is refused."""
    meeting = _meeting(session, meeting_id)
    state = _state(session, meeting, organisation_id)
    noted_text = normalise_line_breaks(noted.replace("\r\n", "\n").replace("\r", "\n"))
    ideas_text = normalise_line_breaks(ideas.replace("\r\n", "\n").replace("\r", "\n"))
    idea_list = [line.strip() for line in ideas_text.split("\n") if line.strip()]
    errors = _text_problems("noted", NOTED_LABEL, noted_text)
    errors += _text_problems("ideas", IDEAS_LABEL, ideas_text)
    if len(idea_list) > MAX_IDEAS:
        errors.append(("ideas", f"”{IDEAS_LABEL}” får ha högst {MAX_IDEAS} rader."))
    if errors:
        return _letter_page(
            request,
            caller,
            session,
            meeting,
            state,
            form={"noted": noted, "ideas": ideas},
            errors=errors,
            error_heading="Brevet kunde inte sparas",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    put_letter(
        session,
        meeting.id,
        state.organisation_id,
        LetterReview(noted=noted_text, ideas=idea_list),
        now=utcnow(),
    )
    return RedirectResponse(
        f"{_base(meeting.id)}/{state.organisation_id}?klart=brev-sparat", status.HTTP_303_SEE_OTHER
    )


@router.post(
    "/arrangor/moten/{meeting_id}/brev/{organisation_id}/slapp", response_class=HTMLResponse
)
def release(
    request: Request,
    meeting_id: int,
    organisation_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
) -> Response:
    """Release one letter and make it anew; refused, naming what to fill in, while it lacks
    something."""
    meeting = _meeting(session, meeting_id)
    state = _state(session, meeting, organisation_id)
    if state.released_at is None and state.missing:
        return _letter_page(
            request,
            caller,
            session,
            meeting,
            state,
            errors=_missing_texts(state),
            error_heading="Brevet kan inte släppas ännu",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    if state.released_at is None:
        now = utcnow()
        release_letter(session, meeting.id, state.organisation_id, by=_released_by(caller), now=now)
        _make_released_letters(session, runtime, after_commit, meeting.id, [state.organisation_id])
        _announce(
            session,
            runtime,
            after_commit,
            meeting.id,
            [state.organisation_id],
            caller=caller,
            now=now,
        )
    return RedirectResponse(
        f"{_base(meeting.id)}/{state.organisation_id}?klart=brev-slappt", status.HTTP_303_SEE_OTHER
    )


@router.get("/arrangor/moten/{meeting_id}/brev/{organisation_id}/dokument/{document_id}")
def letter_file(
    meeting_id: int,
    organisation_id: int,
    document_id: int,
    _caller: OrganiserPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A generated letter file of this organisation and meeting (drafts too: organisers only)."""
    doc = session.get(m.GeneratedDocument, document_id) if 1 <= document_id <= MAX_ID else None
    if (
        doc is None
        or doc.kind != DocumentKind.FEEDBACK_LETTER
        or doc.meeting_id != meeting_id
        or doc.organisation_id != organisation_id
    ):
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    found = document_file(
        session,
        runtime.files,
        Viewer(),
        document_id,
        link_seconds=runtime.settings.s3_presigned_downloads,
    )
    return file_response(found, fallback_name=f"brev-{document_id}.{doc.format}")
