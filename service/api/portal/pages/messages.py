"""Organisers' e-mail: a meeting's messages (send, hold, stop, build now), one message, and
the Swedish message templates (edit, preview with example data, save, back to the standard).

Messages are listed per kind with their state in words. What an organiser sends by hand is
handed to the workers only after the transaction has committed (a background task). A
message's HTML is not shown in the page (the content security policy forbids framing it):
its text is, and the whole message downloads as an ``.eml`` file any mail program opens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.access.portal_sessions import PortalCaller
from service.api.after_commit import queue_after_commit
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.downloads import attachment
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.pages.templates import swedish_problem
from service.api.portal.rendering import NOTICES, STOCKHOLM, local_time, page
from service.clock import utcnow
from service.database import models as m
from service.documents import swedish
from service.domain.kinds import MessageKind, MessageState
from service.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from service.intake.entities import MAX_ID
from service.mail.building import BuildReport, build_settings
from service.mail.manual import build_now
from service.mail.message_templates import (
    check_text,
    current_text,
    is_edited,
    preview_text,
    reset_text,
    save_text,
)
from service.mail.outbox import (
    CAN_CANCEL,
    CAN_HOLD,
    CAN_SEND,
    STATE_WORDS,
    cancel,
    get_message,
    hold,
    meeting_messages,
    release,
)
from service.mail.sending import outgoing_message
from service.mail_content.calendar import EventDetails, describe_invitation
from service.mail_content.catalogue import MESSAGE_SPECS, example_context
from service.mail_content.composing import AddressError, Sender, compose
from service.mail_content.templates import (
    BODY_LOCATION,
    SUBJECT_LOCATION,
    MessageText,
    RenderedMessage,
)
from service.runtime import Runtime

router = APIRouter(include_in_schema=False)

NOTICES.update(
    {
        "utskick-skickas": "Utskicket skickas nu.",
        "utskick-alla-skickas": "Utskicken som väntade skickas nu.",
        "utskick-kvar": "Utskicket hålls kvar. Det skickas inte förrän du väljer ”Skicka”.",
        "utskick-stoppat": "Utskicket är stoppat och kommer inte att skickas.",
        "meddelandemall-sparad": "Texten är sparad. Nya utskick görs med den.",
        "meddelandemall-aterstalld": "Standardtexten används igen.",
    }
)

STATE_TONES = {
    MessageState.HELD: "warn",
    MessageState.QUEUED: "neutral",
    MessageState.SENDING: "neutral",
    MessageState.SENT: "ok",
    MessageState.FAILED: "bad",
    MessageState.CANCELLED: "neutral",
}
SUBJECT_LABEL = "Ämnesrad"
BODY_LABEL = "Text"
_FIELD_IDS = {SUBJECT_LOCATION: "amne", BODY_LOCATION: "text"}
# Where an action's form sends the organiser back to (a fixed word, never an address).
_BACK = {"lista", "meddelande"}
_MORE_PROBLEMS = [
    ("attributes starting with '_' cannot be read", "namn som börjar med _ går inte att läsa"),
    ("expected 'end of print statement'", "en {{ … }} stängs aldrig: det saknas }}"),
    ("Expected an expression", "en tagg saknar sitt innehåll"),
]


@dataclass(frozen=True)
class MessageRow:
    """One message as the pages show it."""

    row: m.OutboxMessage
    state_words: str
    tone: str
    can_send: bool
    can_hold: bool
    can_cancel: bool


def _message_row(row: m.OutboxMessage) -> MessageRow:
    state = MessageState(row.state)
    return MessageRow(
        row=row,
        state_words=STATE_WORDS[state],
        tone=STATE_TONES[state],
        can_send=state in CAN_SEND,
        can_hold=state in CAN_HOLD,
        can_cancel=state in CAN_CANCEL,
    )


def _meeting(session: Session, meeting_id: int) -> m.Meeting:
    meeting = session.get(m.Meeting, meeting_id) if 1 <= meeting_id <= MAX_ID else None
    if meeting is None:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    return meeting


def _message(session: Session, message_id: int) -> m.OutboxMessage:
    try:
        return get_message(session, message_id)
    except NotFoundError as exc:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND) from exc


def _by(caller: PortalCaller) -> str:
    return caller.user_name or f"arrangör {caller.user_id}"


def _base(meeting_id: int) -> str:
    return f"/arrangor/moten/{meeting_id}/utskick"


def _messages_page(
    request: Request,
    caller: PortalCaller,
    session: Session,
    meeting: m.Meeting,
    *,
    report: BuildReport | None = None,
    chosen: list[str] | None = None,
    hold_new: bool = True,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    rows = meeting_messages(session, meeting.id)
    groups = []
    for kind, spec in MESSAGE_SPECS.items():
        of_kind = [_message_row(row) for row in reversed(rows) if row.kind == kind]
        if of_kind:
            waiting = sum(1 for item in of_kind if item.row.state == MessageState.HELD)
            groups.append({"kind": kind.value, "spec": spec, "rows": of_kind, "waiting": waiting})
    counts: dict[str, int] = {}
    for row in rows:
        words = STATE_WORDS[MessageState(row.state)].lower()
        counts[words] = counts.get(words, 0) + 1
    return page(
        request,
        "organiser/messages.html",
        {
            "meeting": meeting,
            "groups": groups,
            "total": len(rows),
            "counts": counts,
            "specs": MESSAGE_SPECS,
            "report": report,
            "chosen": chosen or [],
            "hold_new": hold_new,
            "errors": errors or [],
            "base": _base(meeting.id),
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/moten/{meeting_id:int}/utskick", response_class=HTMLResponse)
def messages(
    request: Request, meeting_id: int, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """The meeting's messages per kind, with their states and what may be done with each."""
    return _messages_page(request, caller, session, _meeting(session, meeting_id))


@router.post("/arrangor/moten/{meeting_id:int}/utskick", response_class=HTMLResponse)
def build_messages(
    request: Request,
    meeting_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
    slag: Annotated[list[str] | None, Form()] = None,
    vanta: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Build the chosen kinds now; the page shows what was made, what existed, who was skipped."""
    meeting = _meeting(session, meeting_id)
    wanted = (slag or [])[:20]
    kinds = [MessageKind(value) for value in wanted if value in MessageKind.__members__.values()]
    hold_new = vanta == "ja"
    if not kinds or len(kinds) != len(wanted):
        return _messages_page(
            request,
            caller,
            session,
            meeting,
            chosen=[k.value for k in kinds],
            hold_new=hold_new,
            errors=[("slag-invitation", "Välj minst ett slags utskick att skapa.")],
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    settings = build_settings(runtime.settings, by=_by(caller), now=utcnow(), hold=hold_new)
    report = build_now(session, meeting.id, kinds, settings)
    session.flush()
    if not hold_new:
        after_commit.add_task(queue_after_commit, runtime, list(report.added))
    return _messages_page(
        request,
        caller,
        session,
        meeting,
        report=report,
        chosen=[k.value for k in kinds],
        hold_new=hold_new,
    )


@router.post("/arrangor/moten/{meeting_id:int}/utskick/skicka-alla")
def send_all_waiting(
    meeting_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
    slag: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Send every message of one kind that waits for the organiser."""
    del caller
    meeting = _meeting(session, meeting_id)
    if slag not in MessageKind.__members__.values():
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    now = utcnow()
    waiting = meeting_messages(session, meeting.id, kind=MessageKind(slag), state=MessageState.HELD)
    released = [release(session, row.id, now=now).id for row in waiting]
    after_commit.add_task(queue_after_commit, runtime, released)
    return RedirectResponse(
        f"{_base(meeting.id)}?klart=utskick-alla-skickas#slag-{slag}", status.HTTP_303_SEE_OTHER
    )


def _event(row: m.OutboxMessage) -> EventDetails | None:
    return describe_invitation(row.calendar) if row.calendar else None


def event_when(event: EventDetails | None) -> str:
    """When an event is, in Swedish: ``26 september 2019 kl. 09.30–16.00`` or a whole day."""
    if event is None or event.start is None:
        return ""
    if not isinstance(event.start, dt.datetime):
        return f"{swedish.long_date(event.start)}, hela dagen"
    start = event.start.astimezone(STOCKHOLM)
    when = f"{swedish.long_date(start.date())} kl. {swedish.clock(start.time())}"
    if isinstance(event.end, dt.datetime):
        end = event.end.astimezone(STOCKHOLM)
        if end.date() == start.date():
            return f"{when}–{swedish.clock(end.time())}"
        return f"{when} till {local_time(end)}"
    return when


def _message_page(
    request: Request,
    caller: PortalCaller,
    session: Session,
    row: m.OutboxMessage,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    meeting = session.get_one(m.Meeting, row.meeting_id)
    event = _event(row)
    return page(
        request,
        "organiser/message.html",
        {
            "meeting": meeting,
            "item": _message_row(row),
            "spec": MESSAGE_SPECS[MessageKind(row.kind)],
            "event": event,
            "event_when": event_when(event),
            "errors": errors or [],
            "base": _base(meeting.id),
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/utskick/{message_id:int}", response_class=HTMLResponse)
def message(
    request: Request, message_id: int, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """One message: to whom, its state, its text, its calendar event, and the .eml."""
    return _message_page(request, caller, session, _message(session, message_id))


@router.get("/arrangor/utskick/{message_id:int}.eml")
def message_file(
    message_id: int, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The whole message as the recipient gets it (text, HTML, calendar), for a mail program."""
    del caller
    row = _message(session, message_id)
    settings = runtime.settings
    outgoing = outgoing_message(session, row, files=runtime.files)
    sender = Sender(from_address=settings.mail_from, reply_to=settings.mail_reply_to)
    try:
        data = compose(outgoing, sender, date=row.sent_at or utcnow()).as_bytes()
    except AddressError as exc:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND) from exc
    name = f"utskick-{row.id}.eml"
    response = attachment(data, name=name, content_type="message/rfc822", default=name)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _act(
    request: Request,
    caller: PortalCaller,
    session: Session,
    message_id: int,
    back: str,
    action: Callable[[m.OutboxMessage], object],
    notice: str,
) -> Response:
    row = _message(session, message_id)
    try:
        action(row)
    except ConflictError as exc:
        text = str(exc)
        return _message_page(
            request,
            caller,
            session,
            row,
            errors=[text[0].upper() + text[1:] + "."],
            status_code=status.HTTP_409_CONFLICT,
        )
    if back == "lista":
        target = f"{_base(row.meeting_id)}?klart={notice}#utskick-{row.id}"
    else:
        target = f"/arrangor/utskick/{row.id}?klart={notice}"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.post("/arrangor/utskick/{message_id:int}/skicka", response_class=HTMLResponse)
def send_message(
    request: Request,
    message_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
    tillbaka: Annotated[str, Form(max_length=20)] = "meddelande",
) -> Response:
    """Send a held message, or a failed one again."""

    def send(row: m.OutboxMessage) -> None:
        release(session, row.id, now=utcnow())
        after_commit.add_task(queue_after_commit, runtime, [row.id])

    back = tillbaka if tillbaka in _BACK else "meddelande"
    return _act(request, caller, session, message_id, back, send, "utskick-skickas")


@router.post("/arrangor/utskick/{message_id:int}/hall-kvar", response_class=HTMLResponse)
def hold_message(
    request: Request,
    message_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    tillbaka: Annotated[str, Form(max_length=20)] = "meddelande",
) -> Response:
    """Keep a queued message back until the organiser sends it."""
    back = tillbaka if tillbaka in _BACK else "meddelande"
    return _act(
        request,
        caller,
        session,
        message_id,
        back,
        lambda row: hold(session, row.id),
        "utskick-kvar",
    )


@router.post("/arrangor/utskick/{message_id:int}/stoppa", response_class=HTMLResponse)
def cancel_message(
    request: Request,
    message_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    tillbaka: Annotated[str, Form(max_length=20)] = "meddelande",
) -> Response:
    """Decide a message never goes."""
    back = tillbaka if tillbaka in _BACK else "meddelande"
    return _act(
        request,
        caller,
        session,
        message_id,
        back,
        lambda row: cancel(session, row.id, now=utcnow()),
        "utskick-stoppat",
    )


# -- message templates ------------------------------------------------------------------------


def _kind(kind: str) -> MessageKind:
    if kind not in MessageKind.__members__.values():
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    return MessageKind(kind)


def _example_value(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        if value and isinstance(value[0], Mapping):
            names = ", ".join(str(key) for key in value[0])
            return f"en lista; varje rad har {names}"
        return "en lista: " + ", ".join(str(item) for item in value)
    return str(value)


def template_names(context: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Every name a template may print, dotted (``meeting.title``), with its example value."""
    names: list[tuple[str, str]] = []
    for key, value in context.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            names.extend(template_names(value, f"{name}."))
        else:
            names.append((name, _example_value(value)))
    return names


@dataclass(frozen=True)
class TextProblem:
    """One problem of a text as the error summary shows it."""

    field: str  # the id of the form field it is in
    place: str  # "Text (rad 3): "
    words: str
    english: bool  # the checker said it in English (shown with lang="en")


def _problem_rows(problems: list[Problem]) -> list[TextProblem]:
    """Each problem of a text, in Swedish where it can be said in Swedish, with its field."""
    rows = []
    for problem in problems:
        place = problem.location
        field = next((fid for where, fid in _FIELD_IDS.items() if place.startswith(where)), "text")
        text, translated = swedish_problem(problem.message)
        for english, in_swedish in _MORE_PROBLEMS:
            if english in text:
                text, translated = in_swedish, True
        # The text checks of the e-mail core speak Swedish and begin with the part they name.
        swedish = translated or text.startswith((SUBJECT_LOCATION, BODY_LOCATION))
        label = SUBJECT_LABEL if field == "amne" else BODY_LABEL
        where = place.removeprefix(SUBJECT_LOCATION).removeprefix(BODY_LOCATION).strip(", ")
        rows.append(
            TextProblem(field, f"{label}{f' ({where})' if where else ''}: ", text, not swedish)
        )
    return rows


def _template_page(
    request: Request,
    caller: PortalCaller,
    session: Session,
    runtime: Runtime,
    kind: MessageKind,
    *,
    form: MessageText | None = None,
    preview: RenderedMessage | None = None,
    unsaved: bool = False,
    errors: list[TextProblem] | None = None,
    error_heading: str = "",
    status_code: int = 200,
) -> Response:
    saved = current_text(session, runtime.settings.templates_dir, kind)
    row = session.get(m.MessageTemplate, kind)
    if preview is None and not errors:
        preview = preview_text(kind, saved)
    return page(
        request,
        "organiser/message_template.html",
        {
            "kind": kind.value,
            "spec": MESSAGE_SPECS[kind],
            "form": form or saved,
            "edited": is_edited(session, kind),
            "row": row,
            "preview": preview,
            "unsaved": unsaved,
            "errors": errors or [],
            "error_heading": error_heading,
            "names": template_names(example_context(kind)),
            "subject_label": SUBJECT_LABEL,
            "body_label": BODY_LABEL,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/meddelandemallar", response_class=HTMLResponse)
def message_templates(request: Request, caller: OrganiserPageDep, session: SessionDep) -> Response:
    """Every kind of message: who gets it, when, and whether its text is edited."""
    kinds = [
        {"kind": kind.value, "spec": spec, "row": session.get(m.MessageTemplate, kind)}
        for kind, spec in MESSAGE_SPECS.items()
    ]
    return page(request, "organiser/message_templates.html", {"kinds": kinds}, caller=caller)


@router.get("/arrangor/meddelandemallar/{kind}", response_class=HTMLResponse)
def message_template(
    request: Request, kind: str, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A kind's text in an editor, the names it may use, and its preview with example data."""
    return _template_page(request, caller, session, runtime, _kind(kind))


@router.post("/arrangor/meddelandemallar/{kind}", response_class=HTMLResponse)
def save_message_template(
    request: Request,
    kind: str,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    amne: Annotated[str, Form(max_length=2_000)] = "",
    text: Annotated[str, Form(max_length=200_000)] = "",
    handling: Annotated[str, Form(max_length=20)] = "spara",
) -> Response:
    """Preview the form's text with example data, or save it once the checker finds nothing."""
    message_kind = _kind(kind)
    form = MessageText(subject=amne.replace("\r\n", "\n"), body=text.replace("\r\n", "\n"))
    checked = MessageText(subject=form.subject.strip(), body=form.body)
    previewing = handling == "forhandsgranska"
    problems = check_text(message_kind, checked)
    if problems:
        return _template_page(
            request,
            caller,
            session,
            runtime,
            message_kind,
            form=form,
            errors=_problem_rows(problems),
            error_heading=(
                "Texten kunde inte förhandsgranskas" if previewing else "Texten kunde inte sparas"
            ),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    if previewing:
        return _template_page(
            request,
            caller,
            session,
            runtime,
            message_kind,
            form=form,
            preview=preview_text(message_kind, checked),
            unsaved=True,
        )
    try:
        save_text(session, message_kind, checked, by=_by(caller), now=utcnow())
    except InvalidInputError as exc:  # the checker's verdict once more, as stored
        return _template_page(
            request,
            caller,
            session,
            runtime,
            message_kind,
            form=form,
            errors=_problem_rows(exc.problems),
            error_heading="Texten kunde inte sparas",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/arrangor/meddelandemallar/{message_kind.value}?klart=meddelandemall-sparad",
        status.HTTP_303_SEE_OTHER,
    )


@router.post("/arrangor/meddelandemallar/{kind}/aterstall")
def reset_message_template(kind: str, caller: OrganiserFormDep, session: SessionDep) -> Response:
    """Go back to the standard text shipped with benchdocs."""
    del caller
    message_kind = _kind(kind)
    reset_text(session, message_kind)
    return RedirectResponse(
        f"/arrangor/meddelandemallar/{message_kind.value}?klart=meddelandemall-aterstalld",
        status.HTTP_303_SEE_OTHER,
    )
