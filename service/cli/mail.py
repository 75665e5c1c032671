"""``benchdocs mail``: build, list, show, send, hold and cancel e-mail; the daily run; templates.

The CLI sends what it sends itself, through the configured transport (SMTP, or the outbox
folder when none is set), so it works without a worker: for the demo, and for an operator
catching up by hand. ``--queue`` hands messages to the workers instead. What the messages
say is Swedish (their subjects, the state words, why a recipient was skipped); the frame is
English like the other commands.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import redis
import typer
from rich.table import Table

from service.cli.base import EXIT_ERROR, console, err_console, fail, open_runtime, resolve_meeting
from service.clock import utcnow
from service.database.session import unit_of_work
from service.domain.kinds import MessageKind, MessageState
from service.errors import BenchdocsError, DeliveryDeferredError, InvalidInputError, Problem
from service.mail.building import BuildReport, build_settings
from service.mail.daily import DueRules, run_daily
from service.mail.manual import build_now
from service.mail.message_templates import (
    current_text,
    is_edited,
    reset_text,
    save_text,
)
from service.mail.outbox import (
    STATE_WORDS,
    cancel,
    get_message,
    hold,
    meeting_messages,
    release,
)
from service.mail.sending import MailSender, SendOutcome, outgoing_message, queue_messages
from service.mail_content.catalogue import MESSAGE_SPECS
from service.mail_content.composing import AddressError, Sender, compose
from service.mail_content.templates import MessageText, parse_template_file
from service.mail_delivery.transport import transport_for
from service.runtime import Runtime

mail_app = typer.Typer(
    help="E-mail: build, review and send messages; the daily run; message templates.",
    no_args_is_help=True,
)
template_app = typer.Typer(help="The Swedish text each kind of message is built from.")
mail_app.add_typer(template_app, name="template")

# A message template is a letter (the checker refuses more than 20 000 characters).
MAX_TEMPLATE_FILE_BYTES = 256 * 1024

MeetingOption = Annotated[str, typer.Option(help="Meeting id, or its ref such as bm2.")]
NowOption = Annotated[
    str | None,
    typer.Option(
        help="Stand-in for the current time, ISO 8601 (2019-09-12T08:00+02:00); without an "
        "offset it is read in the mail time zone. Default: now."
    ),
]
QueueOption = Annotated[
    bool, typer.Option("--queue", help="Hand the messages to the workers instead of sending here.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(mail_app, name="mail")


def _now(value: str | None, timezone: str) -> dt.datetime:
    if value is None:
        return utcnow()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(
            [Problem("--now", f"not an ISO 8601 time: {value[:60]!r} (2019-09-12T08:00+02:00)")]
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def _kinds(value: str | None) -> list[MessageKind]:
    if value is None:
        return list(MESSAGE_SPECS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = {kind.value for kind in MessageKind}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise InvalidInputError(
            [
                Problem(
                    "--kinds",
                    f"unknown kind {', '.join(repr(n[:40]) for n in unknown) or 'none given'}; "
                    f"use a comma-separated list of {', '.join(sorted(known))}",
                )
            ]
        )
    return [MessageKind(name) for name in names]


@dataclass
class InlineSending:
    """A message queue that sends at once, here, through the configured transport."""

    sender: MailSender
    outcomes: dict[int, str] = field(default_factory=dict)

    def send_message(self, message_id: int) -> None:
        """Send one message now; a deferred delivery stays queued and is reported."""
        try:
            outcome = self.sender.send(message_id, now=utcnow())
        except DeliveryDeferredError as exc:
            self.outcomes[message_id] = f"deferred, still queued: {exc}"
            return
        self.outcomes[message_id] = outcome.value


def _inline(runtime: Runtime) -> InlineSending:
    settings = runtime.settings
    return InlineSending(
        MailSender.from_settings(settings, sessions=runtime.sessions, files=runtime.files)
    )


def _hand_over(runtime: Runtime, ids: list[int], *, to_workers: bool) -> None:
    """Send the queued ones of these messages here, or hand them to the workers."""
    if not ids:
        return
    if to_workers:
        queue_messages(runtime.sessions, runtime.queue, ids)
        console.print(f"handed {len(ids)} message(s) to the workers")
        return
    inline = _inline(runtime)
    queue_messages(runtime.sessions, inline, ids)
    _print_outcomes(runtime, inline)


def _print_outcomes(runtime: Runtime, inline: InlineSending) -> None:
    if not inline.outcomes:
        return
    sent = sum(1 for outcome in inline.outcomes.values() if outcome == SendOutcome.SENT.value)
    where = transport_for(runtime.settings).description
    console.print(f"sent {sent} of {len(inline.outcomes)} message(s) to {where}")
    for message_id, outcome in inline.outcomes.items():
        if outcome != SendOutcome.SENT.value:
            with runtime.sessions() as session:
                error = get_message(session, message_id).last_error or ""
            err_console.print(
                f"  message {message_id}: {outcome} {error}".rstrip(), markup=False, highlight=False
            )


def _print_report(report: BuildReport) -> None:
    console.print(f"built {len(report.added)} new message(s); {report.already_there} already there")
    for sentence in report.skipped:
        console.print(f"  skipped: {sentence}", markup=False, highlight=False)


@mail_app.command("build")
def build(
    meeting: MeetingOption,
    kinds: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated kinds, such as invitation,upload_reminder (default: all)."
        ),
    ] = None,
    hold_new: Annotated[
        bool, typer.Option("--hold", help="New messages wait for an organiser to send them.")
    ] = False,
    now: NowOption = None,
    to_workers: QueueOption = False,
) -> None:
    """Build a meeting's messages of these kinds now (what exists is not built again), then
    send them unless --hold."""
    runtime = open_runtime()
    try:
        wanted = _kinds(kinds)
        moment = _now(now, runtime.settings.mail_timezone)
        meeting_id = resolve_meeting(runtime, meeting)
        settings = build_settings(
            runtime.settings, by="benchdocs mail build", now=moment, hold=hold_new
        )
        with unit_of_work(runtime.sessions) as session:
            report = build_now(session, meeting_id, wanted, settings)
        _print_report(report)
        if not hold_new:
            _hand_over(runtime, list(report.added), to_workers=to_workers)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()


@mail_app.command("list")
def list_command(
    meeting: MeetingOption,
    state: Annotated[MessageState | None, typer.Option(help="Only messages in this state.")] = None,
    kind: Annotated[MessageKind | None, typer.Option(help="Only messages of this kind.")] = None,
) -> None:
    """A meeting's messages, newest first."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        with runtime.sessions() as session:
            rows = [
                (
                    str(row.id),
                    row.kind.value,
                    row.recipient_email,
                    row.subject,
                    f"{row.state.value} ({STATE_WORDS[MessageState(row.state)]})",
                    str(row.attempts),
                    f"{row.sent_at:%Y-%m-%d %H:%M}" if row.sent_at else "",
                    row.last_error or "",
                )
                for row in meeting_messages(session, meeting_id, kind=kind, state=state)
            ]
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    table = Table(title="Messages")
    for column in ("id", "kind", "recipient", "subject", "state", "attempts", "sent", "error"):
        table.add_column(column)
    for values in rows:
        table.add_row(*values)
    console.print(table)


@mail_app.command("show")
def show(
    message_id: Annotated[int, typer.Argument(help="The message's id.")],
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part instead.")] = False,
    eml: Annotated[
        Path | None, typer.Option(help="Also write the whole message to this .eml file.")
    ] = None,
) -> None:
    """One message: its headers and its text (or HTML); --eml writes it for a mail program."""
    runtime = open_runtime()
    try:
        with runtime.sessions() as session:
            row = get_message(session, message_id)
            settings = runtime.settings
            sender = Sender(from_address=settings.mail_from, reply_to=settings.mail_reply_to)
            state = f"{row.state.value} ({STATE_WORDS[MessageState(row.state)]})"
            lines = [
                f"message {row.id}: {row.kind.value}, {state}",
                f"To: {row.recipient_name} <{row.recipient_email}>"
                if row.recipient_name
                else f"To: {row.recipient_email}",
                *([f"Cc: {', '.join(row.cc)}"] if row.cc else []),
                f"Subject: {row.subject}",
                f"Message-ID: {row.message_id}",
                *(["Calendar: yes"] if row.calendar else []),
                *([f"Last error: {row.last_error}"] if row.last_error else []),
                "",
                row.body_html if html else row.body_text,
            ]
            data = None
            if eml is not None:
                outgoing = outgoing_message(session, row, files=runtime.files)
                try:
                    mime = compose(outgoing, sender, date=row.sent_at or utcnow())
                except AddressError as exc:
                    raise InvalidInputError([Problem("--eml", str(exc))]) from exc
                data = mime.as_bytes()
        if eml is not None and data is not None:
            try:
                eml.write_bytes(data)
            except OSError as exc:
                raise InvalidInputError(
                    [Problem("--eml", f"cannot write {eml}: {exc.strerror or exc}")]
                ) from exc
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    for line in lines:
        console.print(line, markup=False, highlight=False)
    if eml is not None:
        console.print(f"wrote {eml}", markup=False, highlight=False)


@mail_app.command("send")
def send(
    message_id: Annotated[int, typer.Argument(help="The message's id.")],
    to_workers: QueueOption = False,
) -> None:
    """Send a held message, a failed one again, or a queued one now."""
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            row = get_message(session, message_id)
            if row.state is not MessageState.QUEUED:
                release(session, message_id, now=utcnow())
        _hand_over(runtime, [message_id], to_workers=to_workers)
        with runtime.sessions() as session:
            row = get_message(session, message_id)
            final = f"{row.state.value} ({STATE_WORDS[MessageState(row.state)]})"
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(f"message {message_id}: {final}", markup=False, highlight=False)
    if row.state is MessageState.FAILED:
        raise typer.Exit(EXIT_ERROR)


def _change(message_id: int, action: str) -> None:
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            if action == "hold":
                row = hold(session, message_id)
            else:
                row = cancel(session, message_id, now=utcnow())
            final = f"{row.state.value} ({STATE_WORDS[MessageState(row.state)]})"
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(f"message {message_id}: {final}", markup=False, highlight=False)


@mail_app.command("hold")
def hold_command(message_id: Annotated[int, typer.Argument(help="The message's id.")]) -> None:
    """Keep a queued message back until it is sent by hand."""
    _change(message_id, "hold")


@mail_app.command("cancel")
def cancel_command(message_id: Annotated[int, typer.Argument(help="The message's id.")]) -> None:
    """Decide a message never goes (held, queued or failed)."""
    _change(message_id, "cancel")


@mail_app.command("daily")
def daily(now: NowOption = None) -> None:
    """Run the daily schedule here: build what is due today and send it, without a worker."""
    runtime = open_runtime()
    client = None
    try:
        settings = runtime.settings
        moment = _now(now, settings.mail_timezone)
        inline = _inline(runtime)
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            outcome = run_daily(
                sessions=runtime.sessions,
                queue=inline,
                redis_client=client,
                rules=DueRules(
                    invitation_days_before=settings.invitation_days_before,
                    reminder_days_before_deadline=settings.reminder_days_before_deadline,
                ),
                settings=build_settings(settings, by="benchdocs mail daily", now=moment),
            )
        except redis.RedisError as exc:
            raise BenchdocsError(
                f"the daily run takes its lock in Redis at {settings.redis_url}, which did not "
                f"answer: {exc}"
            ) from exc
        if not outcome.ran:
            console.print("another daily run holds the lock; nothing done")
            return
        console.print(f"daily run for {outcome.today}:")
        _print_report(outcome.report)
        _print_outcomes(runtime, inline)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        if client is not None:
            client.close()
        runtime.close()


KindArgument = Annotated[MessageKind, typer.Argument(help="The kind of message.")]


@template_app.command("show")
def template_show(kind: KindArgument) -> None:
    """Print a kind's text as a file ``set --file`` takes (``Ämne: …``, a blank line, the body)."""
    runtime = open_runtime()
    try:
        with runtime.sessions() as session:
            text = current_text(session, runtime.settings.templates_dir, kind)
            edited = is_edited(session, kind)
    finally:
        runtime.close()
    which = "edited by an organiser" if edited else "the built-in text"
    err_console.print(f"{MESSAGE_SPECS[kind].name} ({kind.value}): {which}", markup=False)
    console.print(f"Ämne: {text.subject}\n\n{text.body}", markup=False, highlight=False)


def _read_template(file: Path | None) -> MessageText:
    where = "--file" if file is not None else "standard input"
    if file is not None:
        if not file.is_file():
            raise InvalidInputError([Problem("--file", f"no such file {file}")])
        with file.open("rb") as handle:
            data = handle.read(MAX_TEMPLATE_FILE_BYTES + 1)
    else:
        data = sys.stdin.buffer.read(MAX_TEMPLATE_FILE_BYTES + 1)
    if len(data) > MAX_TEMPLATE_FILE_BYTES:
        raise InvalidInputError(
            [Problem(where, f"larger than {MAX_TEMPLATE_FILE_BYTES // 1024} KiB")]
        )
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError([Problem(where, f"not UTF-8 text (byte {exc.start})")]) from exc
    try:
        return parse_template_file(source.replace("\r\n", "\n"))
    except ValueError as exc:
        raise InvalidInputError(
            [Problem(where, "the first line must be 'Ämne: ' and the subject")]
        ) from exc


@template_app.command("set")
def template_set(
    kind: KindArgument,
    file: Annotated[
        Path | None,
        typer.Option(help="A UTF-8 file: 'Ämne: …', a blank line, the body (default: stdin)."),
    ] = None,
) -> None:
    """Replace a kind's text after checking it; every problem is named by its place."""
    runtime = open_runtime()
    try:
        text = _read_template(file)
        with unit_of_work(runtime.sessions) as session:
            save_text(session, kind, text, by="benchdocs mail template set", now=utcnow())
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(f"saved the text of {kind.value}; new messages are built with it")


@template_app.command("reset")
def template_reset(kind: KindArgument) -> None:
    """Go back to the built-in text."""
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            reset_text(session, kind)
    finally:
        runtime.close()
    console.print(f"{kind.value} uses the built-in text again")
