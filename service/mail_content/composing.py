"""One outbox message as a MIME message any mail program reads (RFC 5322, 2045–2049, 5546).

The structure Outlook, Gmail and Thunderbird all understand for an invitation::

    multipart/mixed
      multipart/alternative
        text/plain                      the message as written
        text/html                       the same, with paragraphs, lists and links
        text/calendar; method=REQUEST   the event, for "accept" buttons
      application/ics  invite.ics       the event again, for calendars that want a file
      (documents an organiser chose to attach)

Headers say what the message is: Message-ID (fixed when the message was built, so a resend is
recognisably the same message), ``Auto-Submitted: auto-generated`` (no out-of-office replies
to a robot), ``Content-Language: sv``, and for reminders RFC 8058's one-click opt-out.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage

# CRLF line ends and header folding as SMTP wants them.
POLICY = email.policy.SMTP


class AddressError(ValueError):
    """An e-mail address that no server could deliver to."""


@dataclass(frozen=True)
class Attachment:
    """A file sent along: only when an organiser chose it (documents go by link)."""

    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a message says, as the outbox holds it."""

    message_id: str
    recipient_name: str | None
    recipient_email: str
    subject: str
    text: str
    html: str
    cc: tuple[str, ...] = ()
    calendar: bytes | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # The "no more reminders" address: shown in List-Unsubscribe for one-click opt-out.
    opt_out_url: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who the messages come from (settings)."""

    from_address: str
    reply_to: str | None = None


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID, made once when the message is built."""
    return email.utils.make_msgid(idstring="benchdocs", domain=domain)


def sender_domain(from_address: str) -> str:
    """The domain of the sender's address, for Message-IDs (``localhost`` if it has none)."""
    _name, address = email.utils.parseaddr(from_address)
    domain = address.rpartition("@")[2]
    return domain or "localhost"


def mailbox(name: str | None, address: str) -> Address:
    """A recipient as a header value; a malformed address is an AddressError."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address.strip()):
        raise AddressError(f"not an e-mail address: {address!r}")
    try:
        return Address(display_name=_one_line(name or ""), username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise AddressError(f"not an e-mail address: {address!r} ({exc})") from exc


def parse_mailbox(text: str) -> Address:
    """``Name <address>`` or a bare address, from settings."""
    name, address = email.utils.parseaddr(text)
    return mailbox(name or None, address)


def compose(message: OutgoingMessage, sender: Sender, *, date: dt.datetime) -> EmailMessage:
    """The MIME message for the outbox record; raises AddressError for a bad address."""
    mime = EmailMessage(policy=POLICY)
    mime["From"] = parse_mailbox(sender.from_address)
    mime["To"] = mailbox(message.recipient_name, message.recipient_email)
    if message.cc:
        mime["Cc"] = [mailbox(None, address) for address in message.cc]
    if sender.reply_to:
        mime["Reply-To"] = parse_mailbox(sender.reply_to)
    mime["Subject"] = _one_line(message.subject)
    mime["Date"] = email.utils.format_datetime(date.astimezone(dt.UTC))
    mime["Message-ID"] = message.message_id
    mime["Auto-Submitted"] = "auto-generated"
    mime["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    if message.opt_out_url:
        mime["List-Unsubscribe"] = f"<{message.opt_out_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    if message.calendar is not None:
        mime.add_alternative(
            message.calendar.decode("utf-8"),
            subtype="calendar",
            charset="utf-8",
            params={"method": "REQUEST"},
        )
        mime.add_attachment(
            message.calendar,
            maintype="application",
            subtype="ics",
            filename="inbjudan.ics",
        )
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.file_name,
        )
    # After the content: setting content clears every Content-* header.
    mime["Content-Language"] = "sv"
    return mime


def _one_line(text: str) -> str:
    return " ".join(text.split())
