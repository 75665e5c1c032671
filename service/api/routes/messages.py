"""E-mail for organisers: the outbox of each meeting, one message, send/hold/cancel by hand,
build now, and the Swedish message templates (read, check and save, go back to the built-in).

A message that becomes queued here is handed to the workers only after the transaction that
queued it has committed (a background task), so a worker never reads it before it is there.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.api.after_commit import queue_after_commit
from service.api.dependencies import OrganiserCallerDep, OrganiserDep, RuntimeDep, SessionDep
from service.api.schemas import ERROR_RESPONSES, Page, PageQuery
from service.clock import utcnow
from service.database import models as m
from service.domain.kinds import MessageKind, MessageState
from service.errors import InvalidInputError
from service.intake.entities import get_entity
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
from service.mail_content.catalogue import MESSAGE_SPECS, example_context
from service.mail_content.templates import MessageText
from service.runtime import Runtime

router = APIRouter(tags=["messages"], dependencies=[OrganiserDep], responses=ERROR_RESPONSES)

# Larger texts are refused by the checker (20 000 characters); this only stops absurd bodies
# before they are checked.
MAX_FIELD_LENGTH = 200_000


class MessageSummaryOut(BaseModel):
    """One message of the outbox, as a list shows it."""

    id: int
    kind: MessageKind
    meeting_id: int
    organisation_id: int | None
    participant_id: int | None
    recipient_name: str | None
    recipient_email: str
    subject: str
    state: MessageState
    state_words: str = Field(description="The state as organisers read it (Swedish).")
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    created_by: str
    queued_at: dt.datetime | None
    sent_at: dt.datetime | None

    @classmethod
    def of(cls, row: m.OutboxMessage) -> MessageSummaryOut:
        """The answer for a stored message."""
        return cls.model_validate(_summary(row))


class MessageOut(MessageSummaryOut):
    """One message with its text, its HTML, and what may be done with it now."""

    cc: list[str]
    message_id: str = Field(description="The Message-ID header, the same on every resend.")
    body_text: str
    body_html: str
    has_calendar: bool
    calendar_sequence: int | None
    can_send: bool
    can_hold: bool
    can_cancel: bool

    @classmethod
    def of(cls, row: m.OutboxMessage) -> MessageOut:
        """The answer for a stored message."""
        state = MessageState(row.state)
        return cls.model_validate(
            {
                **_summary(row),
                "cc": list(row.cc),
                "message_id": row.message_id,
                "body_text": row.body_text,
                "body_html": row.body_html,
                "has_calendar": row.calendar is not None,
                "calendar_sequence": row.calendar_sequence,
                "can_send": state in CAN_SEND,
                "can_hold": state in CAN_HOLD,
                "can_cancel": state in CAN_CANCEL,
            }
        )


def _summary(row: m.OutboxMessage) -> dict[str, Any]:
    state = MessageState(row.state)
    return {
        "id": row.id,
        "kind": row.kind,
        "meeting_id": row.meeting_id,
        "organisation_id": row.organisation_id,
        "participant_id": row.participant_id,
        "recipient_name": row.recipient_name,
        "recipient_email": row.recipient_email,
        "subject": row.subject,
        "state": state,
        "state_words": STATE_WORDS[state],
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "queued_at": row.queued_at,
        "sent_at": row.sent_at,
    }


class MessageQuery(PageQuery):
    """List parameters for a meeting's messages."""

    kind: MessageKind | None = None
    state: MessageState | None = None


class BuildRequest(BaseModel):
    """Build a meeting's messages of these kinds now."""

    model_config = ConfigDict(extra="forbid")
    kinds: list[MessageKind] = Field(min_length=1, max_length=20)
    hold: bool = Field(
        default=True,
        description="New messages wait for an organiser to send them (default); false: they "
        "are queued for sending at once.",
    )


class BuildReportOut(BaseModel):
    """What a build did: the new messages, how many were there already, who was skipped why."""

    added: list[int]
    already_there: int
    skipped: list[str] = Field(description="Swedish sentences, one per recipient skipped.")

    @classmethod
    def of(cls, report: BuildReport) -> BuildReportOut:
        """The answer for a build's report."""
        return cls(
            added=list(report.added),
            already_there=report.already_there,
            skipped=list(report.skipped),
        )


class TemplateIn(BaseModel):
    """An organiser's text for a kind of message: a subject line and a body with {{ names }}."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(max_length=MAX_FIELD_LENGTH)
    body: str = Field(max_length=MAX_FIELD_LENGTH)


class PreviewOut(BaseModel):
    """A text rendered with the kind's example data."""

    subject: str
    text: str
    html: str


class TemplateOut(BaseModel):
    """The text messages of a kind are built from now, with its example data rendered."""

    kind: MessageKind
    name: str
    recipients: str
    when: str
    edited: bool = Field(description="An organiser's text replaces the built-in one.")
    updated_at: dt.datetime | None
    updated_by: str | None
    subject: str
    body: str
    variables: dict[str, Any] = Field(description="The names the text may use, with examples.")
    preview: PreviewOut


def _template_out(session: Session, runtime: Runtime, kind: MessageKind) -> TemplateOut:
    spec = MESSAGE_SPECS[kind]
    text = current_text(session, runtime.settings.templates_dir, kind)
    row = session.get(m.MessageTemplate, kind)
    rendered = preview_text(kind, text)
    return TemplateOut(
        kind=kind,
        name=spec.name,
        recipients=spec.recipients,
        when=spec.when,
        edited=is_edited(session, kind),
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
        subject=text.subject,
        body=text.body,
        variables=example_context(kind),
        preview=PreviewOut(subject=rendered.subject, text=rendered.text, html=rendered.html),
    )


@router.get("/meetings/{meeting_id}/messages")
def list_messages(
    meeting_id: int, session: SessionDep, query: Annotated[MessageQuery, Query()]
) -> Page[MessageSummaryOut]:
    """A meeting's messages, newest first, optionally of one kind or in one state."""
    get_entity(session, m.Meeting, meeting_id)
    rows = meeting_messages(session, meeting_id, kind=query.kind, state=query.state)
    shown = rows[query.offset : query.offset + query.limit]
    return Page(
        items=[MessageSummaryOut.of(row) for row in shown],
        total=len(rows),
        limit=query.limit,
        offset=query.offset,
    )


@router.post("/meetings/{meeting_id}/messages")
def build_messages(
    meeting_id: int,
    request: BuildRequest,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: OrganiserCallerDep,
    after_commit: BackgroundTasks,
) -> BuildReportOut:
    """Build the meeting's messages of these kinds now; what exists already is not built again.

    Recipients without an e-mail address are skipped and named in ``skipped``.
    """
    settings = build_settings(runtime.settings, by=caller.label, now=utcnow(), hold=request.hold)
    report = build_now(session, meeting_id, request.kinds, settings)
    if not request.hold:
        after_commit.add_task(queue_after_commit, runtime, list(report.added))
    return BuildReportOut.of(report)


@router.get("/messages/{message_id}")
def read_message(message_id: int, session: SessionDep) -> MessageOut:
    """One message: its text and HTML as the recipient gets them, and what may be done now."""
    return MessageOut.of(get_message(session, message_id))


@router.post("/messages/{message_id}/send")
def send_message(
    message_id: int, session: SessionDep, runtime: RuntimeDep, after_commit: BackgroundTasks
) -> MessageOut:
    """Send a held message, or a failed one again (same Message-ID); 409 in any other state."""
    row = release(session, message_id, now=utcnow())
    after_commit.add_task(queue_after_commit, runtime, [row.id])
    return MessageOut.of(row)


@router.post("/messages/{message_id}/hold")
def hold_message(message_id: int, session: SessionDep) -> MessageOut:
    """Stop a queued message before a worker takes it; 409 in any other state."""
    return MessageOut.of(hold(session, message_id))


@router.post("/messages/{message_id}/cancel")
def cancel_message(message_id: int, session: SessionDep) -> MessageOut:
    """Decide a message never goes (held, queued or failed); 409 once sending or sent."""
    return MessageOut.of(cancel(session, message_id, now=utcnow()))


@router.get("/message-templates")
def list_templates(session: SessionDep, runtime: RuntimeDep) -> list[TemplateOut]:
    """Every kind of message with the text it is built from now."""
    return [_template_out(session, runtime, kind) for kind in MESSAGE_SPECS]


@router.get("/message-templates/{kind}")
def read_template(kind: MessageKind, session: SessionDep, runtime: RuntimeDep) -> TemplateOut:
    """A kind's text now (the organiser's, or the built-in one) and its preview."""
    return _template_out(session, runtime, kind)


@router.put("/message-templates/{kind}")
def write_template(
    kind: MessageKind,
    text: TemplateIn,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: OrganiserCallerDep,
) -> TemplateOut:
    """Replace a kind's text; 422 names each problem's place (ämnesraden, texten)."""
    save_text(
        session,
        kind,
        MessageText(subject=text.subject, body=text.body),
        by=caller.label,
        now=utcnow(),
    )
    return _template_out(session, runtime, kind)


@router.post("/message-templates/{kind}/preview")
def preview_template(kind: MessageKind, text: TemplateIn) -> PreviewOut:
    """A text rendered with the kind's example data, without saving it; 422 as for saving."""
    message_text = MessageText(subject=text.subject.strip(), body=text.body)
    problems = check_text(kind, message_text)
    if problems:
        raise InvalidInputError(problems)
    rendered = preview_text(kind, message_text)
    return PreviewOut(subject=rendered.subject, text=rendered.text, html=rendered.html)


@router.delete("/message-templates/{kind}")
def reset_template(kind: MessageKind, session: SessionDep, runtime: RuntimeDep) -> TemplateOut:
    """Go back to the built-in text."""
    reset_text(session, kind)
    return _template_out(session, runtime, kind)
