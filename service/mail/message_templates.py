"""Which text each kind of message is built from: the organiser's edit, or the built-in file.

An edit is checked before it is saved, by the same checker as document templates and against
the kind's example data: an unknown name, a broken tag or an empty subject is refused with the
place it is in, and the stored text stays as it was.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from service.database import models as m
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.kinds import MessageKind
from service.errors import InvalidInputError, Problem
from service.intake.text_rules import FORBIDDEN_CONTROL, normalise_line_breaks
from service.mail_content.catalogue import MESSAGE_SPECS, TEMPLATE_FOLDER, example_context
from service.mail_content.templates import (
    BODY_LOCATION,
    SUBJECT_LOCATION,
    MessageText,
    RenderedMessage,
    check_message_template,
    parse_template_file,
    render_message,
)


@lru_cache(maxsize=16)
def builtin_text(templates_dir: Path, kind: MessageKind) -> MessageText:
    """The text shipped in ``doc_templates/messages`` for a kind."""
    path = templates_dir / TEMPLATE_FOLDER / MESSAGE_SPECS[kind].template_file
    return parse_template_file(path.read_text(encoding="utf-8"))


def current_text(session: Session, templates_dir: Path, kind: MessageKind) -> MessageText:
    """The text messages of a kind are built from now."""
    edited = session.get(m.MessageTemplate, kind)
    if edited is not None:
        return MessageText(subject=edited.subject, body=edited.body)
    return builtin_text(templates_dir, kind)


def is_edited(session: Session, kind: MessageKind) -> bool:
    """Whether an organiser's text replaces the built-in one."""
    return session.get(m.MessageTemplate, kind) is not None


# A reminder must tell its reader how to stop reminders (the link, not only the header).
_OPT_OUT_NAME = re.compile(r"\{\{[^}]*\bopt_out_link\b[^}]*\}\}")


def check_text(kind: MessageKind, text: MessageText) -> list[Problem]:
    """Every problem of a text for a kind, as Problems an API or page can show."""
    # A control character would be stripped from every message without a word: refuse it.
    controls = [
        Problem(
            location,
            f"{location} innehåller ett osynligt styrtecken (U+{ord(found.group()):04X}) som "
            "inte går att skicka; ta bort det",
        )
        for location, value in ((SUBJECT_LOCATION, text.subject), (BODY_LOCATION, text.body))
        if (found := FORBIDDEN_CONTROL.search(normalise_line_breaks(value)))
    ]
    if controls:
        return controls
    problems = check_message_template(text, example_context(kind), filters=SWEDISH_FILTERS)
    listed = [Problem(problem.location, problem.message) for problem in problems]
    if MESSAGE_SPECS[kind].with_opt_out and not _OPT_OUT_NAME.search(text.body):
        listed.append(
            Problem(
                BODY_LOCATION,
                "texten måste ha med {{ opt_out_link }}, länken där mottagaren avslutar "
                "påminnelser",
            )
        )
    return listed


def save_text(
    session: Session, kind: MessageKind, text: MessageText, *, by: str, now: dt.datetime
) -> m.MessageTemplate:
    """Store an organiser's text after checking it; InvalidInputError lists what is wrong."""
    text = MessageText(
        subject=normalise_line_breaks(text.subject).strip(),
        # A browser's textarea sends CRLF line ends.
        body=normalise_line_breaks(text.body).replace("\r\n", "\n"),
    )
    problems = check_text(kind, text)
    if problems:
        raise InvalidInputError(problems)
    row = session.get(m.MessageTemplate, kind)
    if row is None:
        row = m.MessageTemplate(kind=kind, subject=text.subject, body=text.body, updated_by=by)
        session.add(row)
    row.subject = text.subject
    row.body = text.body
    row.updated_at = now
    row.updated_by = by[:300]
    session.flush()
    return row


def reset_text(session: Session, kind: MessageKind) -> None:
    """Go back to the built-in text."""
    row = session.get(m.MessageTemplate, kind)
    if row is not None:
        session.delete(row)
        session.flush()


def preview_text(kind: MessageKind, text: MessageText) -> RenderedMessage:
    """A text rendered with the kind's example data (raises MessageTemplateError)."""
    return render_message(text, example_context(kind), filters=SWEDISH_FILTERS)
