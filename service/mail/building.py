"""Building messages: who gets which message about a meeting, each with its own link.

Each builder loads the meeting's facts, renders the kind's current text for every recipient
and adds the message to the outbox under a purpose key, so building twice adds nothing new.
A personal link is a fresh access token for the recipient's organisation, labelled with the
message and the person it went to (so it can be found and revoked on the links page); it is
issued only when the message is new.

Recipients without an e-mail address are not an error: the report lists them in Swedish for
the organiser, and building goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from service.access.tokens import issue_token
from service.database import models as m
from service.database.submission_status import load_submission_status
from service.documents import swedish
from service.documents.catalogue import CATALOGUE
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.deadlines import upload_deadline
from service.domain.kinds import DocumentKind, DocumentStatus, MessageKind, MessageState
from service.errors import ConfigurationError
from service.intake.entities import get_entity
from service.mail.message_templates import current_text
from service.mail.outbox import MessageDraft, add_message, purpose_taken
from service.mail_content.calendar import MeetingEvent, build_invitation, meeting_uid
from service.mail_content.catalogue import MESSAGE_SPECS
from service.mail_content.composing import new_message_id, sender_domain
from service.mail_content.templates import Link, MessageTemplateError, render_message
from service.settings import Settings

# Where `benchdocs serve` answers by default: links point there when no address is configured.
DEVELOPMENT_PORTAL_URL = "http://127.0.0.1:8000"
# A token's label (shown on the links page) is cut to this.
_LABEL_LENGTH = 200


@dataclass(frozen=True)
class BuildSettings:
    """What building needs from the settings and the caller."""

    base_url: str  # where participants and organisers reach the portal
    templates_dir: Path
    sender_domain: str  # for Message-IDs
    token_valid_days: int
    timezone: str
    hold: bool  # new messages wait for an organiser
    by: str  # who asked: "schema" or an organiser's name
    now: dt.datetime
    # Documents an organiser chose to attach to invitations, as (kind, format): the newest
    # done version for the recipient's organisation (or the meeting's, for a meeting kind).
    attach: tuple[tuple[DocumentKind, str], ...] = ()


def build_settings(
    settings: Settings,
    *,
    by: str,
    now: dt.datetime,
    hold: bool | None = None,
    attach: tuple[tuple[DocumentKind, str], ...] = (),
) -> BuildSettings:
    """Building's settings from benchdocs' own; links need to know where the portal is."""
    base_url = settings.participant_url
    if base_url is None:
        if settings.environment == "production":
            raise ConfigurationError(
                "invalid configuration: BENCHDOCS_PARTICIPANT_URL is not set, so e-mail "
                "cannot carry links to the portal; set it to the portal's public address"
            )
        base_url = DEVELOPMENT_PORTAL_URL
    return BuildSettings(
        base_url=base_url.rstrip("/"),
        templates_dir=settings.templates_dir,
        sender_domain=sender_domain(settings.mail_from),
        token_valid_days=settings.token_valid_days,
        timezone=settings.mail_timezone,
        hold=settings.mail_hold_new if hold is None else hold,
        by=by,
        # Stored as UTC: SQLite keeps a time's wall clock and drops its zone.
        now=now.astimezone(dt.UTC),
        attach=attach,
    )


@dataclass
class BuildReport:
    """What a build did, for the organiser."""

    added: list[int] = field(default_factory=list)
    already_there: int = 0
    # Swedish sentences: "Anna Andersson (Askersunds kommun) har ingen e-postadress."
    skipped: list[str] = field(default_factory=list)

    def merge(self, other: BuildReport) -> BuildReport:
        """Both reports in one."""
        self.added.extend(other.added)
        self.already_there += other.already_there
        self.skipped.extend(other.skipped)
        return self


@dataclass(frozen=True)
class _Recipient:
    name: str | None
    email: str
    participant_id: int | None = None
    organisation: m.Organisation | None = None


def meeting_event(meeting: m.Meeting, network: m.Network) -> MeetingEvent:
    """The calendar's view of a meeting."""
    description = f"{meeting.title} i nätverket {network.name}."
    if meeting.theme:
        description = f"{meeting.title} – {meeting.theme}, i nätverket {network.name}."
    if meeting.digital_link:
        description += f"\nDigital länk: {meeting.digital_link}"
    return MeetingEvent(
        uid=meeting_uid(meeting.id, network.ref),
        title=f"{meeting.title} – {network.name}",
        date=meeting.date,
        start=meeting.start_time,
        end=meeting.end_time,
        venue=meeting.venue or meeting.place,
        address=meeting.venue_address,
        digital_link=meeting.digital_link,
        description=description,
        organiser_name=meeting.process_leader_name,
        organiser_email=meeting.process_leader_email,
    )


def _meeting_facts(meeting: m.Meeting) -> dict[str, Any]:
    return {
        "title": meeting.title,
        "number": meeting.number,
        "theme": meeting.theme,
        "date": meeting.date,
        "start": swedish.clock(meeting.start_time) or None,
        "end": swedish.clock(meeting.end_time) or None,
        "place": meeting.place,
        "venue": meeting.venue,
        "venue_address": meeting.venue_address,
        "digital_link": Link(meeting.digital_link) if meeting.digital_link else None,
        "upload_deadline": upload_deadline(meeting.date, meeting.upload_deadline_override),
    }


def _base_context(meeting: m.Meeting, network: m.Network) -> dict[str, Any]:
    return {
        "meeting": _meeting_facts(meeting),
        "network": {"name": network.name, "organiser": network.organiser},
        "sender": {
            "name": meeting.process_leader_name or network.organiser or "benchdocs",
            "email": meeting.process_leader_email,
        },
        "organisation": None,
        "link": None,
    }


class _Builder:
    """Renders and records the messages of one meeting."""

    def __init__(self, session: Session, meeting_id: int, settings: BuildSettings) -> None:
        self.session = session
        self.settings = settings
        self.meeting = get_entity(session, m.Meeting, meeting_id)
        self.network = session.get_one(m.Network, self.meeting.network_id)
        self.report = BuildReport()

    def organisations(self) -> list[m.Organisation]:
        return list(
            self.session.scalars(
                select(m.Organisation)
                .where(m.Organisation.network_id == self.network.id)
                .order_by(m.Organisation.name, m.Organisation.id)
                .options(selectinload(m.Organisation.participants))
            )
        )

    def participants_of(self, organisation: m.Organisation) -> list[_Recipient]:
        recipients = []
        for participant in sorted(organisation.participants, key=lambda p: (p.name, p.id)):
            if not participant.email:
                self.report.skipped.append(
                    f"{participant.name} ({organisation.name}) har ingen e-postadress."
                )
                continue
            recipients.append(
                _Recipient(participant.name, participant.email, participant.id, organisation)
            )
        return recipients

    def personal_link(self, organisation: m.Organisation, label: str) -> tuple[Link, int]:
        issued = issue_token(
            self.session,
            organisation_id=organisation.id,
            valid_for=dt.timedelta(days=self.settings.token_valid_days),
            label=label[:_LABEL_LENGTH],
            now=self.settings.now,
        )
        return Link(f"{self.settings.base_url}/lank/{issued.token}"), issued.row.id

    def add(
        self,
        kind: MessageKind,
        purpose: str,
        recipient: _Recipient,
        context: Mapping[str, Any],
        *,
        link_label: str | None = None,
        extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        calendar: tuple[MeetingEvent, int] | None = None,
        cc: tuple[str, ...] = (),
        attachments: tuple[dict[str, Any], ...] = (),
    ) -> None:
        """Render and record one message, unless its purpose is taken."""
        if purpose_taken(self.session, purpose):
            self.report.already_there += 1
            return
        values: dict[str, Any] = {
            **context,
            "recipient": {"name": recipient.name or recipient.email, "email": recipient.email},
        }
        token_id = None
        if link_label is not None and recipient.organisation is not None:
            values["organisation"] = {"name": recipient.organisation.name}
            values["link"], token_id = self.personal_link(recipient.organisation, link_label)
        opt_out: tuple[str, str] | None = None
        if kind is MessageKind.UPLOAD_REMINDER:
            key = secrets.token_urlsafe(24)
            opt_out = (
                f"{self.settings.base_url}/e-post/avsluta/{key}",
                hashlib.sha256(key.encode()).hexdigest(),
            )
            values["opt_out_link"] = Link(opt_out[0])
        if extra is not None:
            values = extra(values)
        text = current_text(self.session, self.settings.templates_dir, kind)
        try:
            rendered = render_message(text, values, filters=SWEDISH_FILTERS)
        except MessageTemplateError as exc:
            # An edited text that passed the check with the example data can still fail on
            # real data (a name that is empty for this recipient): skip this one message,
            # say why, and build everyone else's.
            if token_id is not None:
                self.session.execute(delete(m.AccessToken).where(m.AccessToken.id == token_id))
            who = recipient.name or recipient.email
            self.report.skipped.append(
                f"{MESSAGE_SPECS[kind].name} till {who} kunde inte skapas: {exc}"
            )
            return
        ics = None
        if calendar is not None:
            event, sequence = calendar
            ics = build_invitation(
                event,
                sequence=sequence,
                attendee_name=recipient.name,
                attendee_email=recipient.email,
                stamped_at=self.settings.now,
            ).decode()
        row = add_message(
            self.session,
            MessageDraft(
                kind=kind,
                purpose=purpose,
                meeting_id=self.meeting.id,
                organisation_id=recipient.organisation.id if recipient.organisation else None,
                participant_id=recipient.participant_id,
                recipient_name=recipient.name,
                recipient_email=recipient.email,
                cc=cc,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                message_id=new_message_id(self.settings.sender_domain),
                calendar=ics,
                calendar_sequence=calendar[1] if calendar else None,
                calendar_digest=calendar[0].digest() if calendar else None,
                token_id=token_id,
                opt_out_url=opt_out[0] if opt_out else None,
                opt_out_sha256=opt_out[1] if opt_out else None,
                attachments=attachments,
            ),
            hold=self.settings.hold,
            by=self.settings.by,
            now=self.settings.now,
        )
        if row is None:
            # Another run recorded this purpose a moment ago: its link went out, not this one.
            if token_id is not None:
                self.session.execute(delete(m.AccessToken).where(m.AccessToken.id == token_id))
            self.report.already_there += 1
        else:
            self.report.added.append(row.id)

    def calendar_sequence(self) -> tuple[int, str | None]:
        """The newest sequence sent for this meeting and the digest it carried."""
        latest = self.session.execute(
            select(m.OutboxMessage.calendar_sequence, m.OutboxMessage.calendar_digest)
            .where(
                m.OutboxMessage.meeting_id == self.meeting.id,
                m.OutboxMessage.calendar_sequence.is_not(None),
                m.OutboxMessage.state != MessageState.CANCELLED,
            )
            .order_by(m.OutboxMessage.calendar_sequence.desc(), m.OutboxMessage.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            return 0, None
        return int(latest[0] or 0), latest[1]


def _document_titles(session: Session, meeting_id: int, organisation_id: int) -> list[str]:
    """Titles of the documents the organisation can fetch for the meeting now."""
    kinds = session.scalars(
        select(m.GeneratedDocument.kind)
        .where(
            m.GeneratedDocument.meeting_id == meeting_id,
            m.GeneratedDocument.status == DocumentStatus.DONE,
            (m.GeneratedDocument.organisation_id == organisation_id)
            | m.GeneratedDocument.organisation_id.is_(None),
        )
        .distinct()
    ).all()
    shown = [CATALOGUE[kind] for kind in kinds if kind in CATALOGUE]
    # Participants see their own documents and the meeting's shared ones; letters are released
    # separately and never announced here.
    return sorted(
        {
            spec.title
            for spec in shown
            if spec.per_organisation and spec.kind is not DocumentKind.FEEDBACK_LETTER
        }
    )


def _chosen_documents(
    session: Session,
    meeting_id: int,
    organisation_id: int,
    attach: tuple[tuple[DocumentKind, str], ...],
) -> tuple[dict[str, Any], ...]:
    """The newest done document of each chosen (kind, format) the organisation may see."""
    chosen = []
    for kind, file_format in attach:
        spec = CATALOGUE.get(kind)
        if spec is None or kind is DocumentKind.FEEDBACK_LETTER:
            continue  # letters go out when released, never with an invitation
        owner = organisation_id if spec.per_organisation else None
        document_id = session.scalar(
            select(m.GeneratedDocument.id)
            .where(
                m.GeneratedDocument.meeting_id == meeting_id,
                m.GeneratedDocument.kind == kind,
                m.GeneratedDocument.format == file_format,
                m.GeneratedDocument.status == DocumentStatus.DONE,
                m.GeneratedDocument.organisation_id.is_(None)
                if owner is None
                else m.GeneratedDocument.organisation_id == owner,
            )
            .order_by(m.GeneratedDocument.id.desc())
            .limit(1)
        )
        if document_id is not None:
            chosen.append({"document_id": int(document_id)})
    return tuple(chosen)


def build_invitations(session: Session, meeting_id: int, settings: BuildSettings) -> BuildReport:
    """An invitation with a calendar event to every participant, and a copy to SKR's contact."""
    builder = _Builder(session, meeting_id, settings)
    meeting, network = builder.meeting, builder.network
    event = meeting_event(meeting, network)
    sequence, digest = builder.calendar_sequence()
    if digest is not None and digest != event.digest():
        # The meeting moved since the last event went out: new invitations carry the next
        # sequence, and build_meeting_changes tells those already invited.
        sequence += 1
    context = {**_base_context(meeting, network), "copy": None, "documents": []}
    participants = 0
    organisations = 0
    for organisation in builder.organisations():
        recipients = builder.participants_of(organisation)
        if not recipients:
            continue
        organisations += 1
        titles = _document_titles(session, meeting.id, organisation.id)
        chosen = _chosen_documents(session, meeting.id, organisation.id, settings.attach)
        for recipient in recipients:
            participants += 1
            builder.add(
                MessageKind.INVITATION,
                f"invitation:m{meeting.id}:p{recipient.participant_id}",
                recipient,
                {**context, "documents": titles},
                link_label=f"E-post: inbjudan till {meeting.title} – {recipient.name}",
                calendar=(event, sequence),
                attachments=chosen,
            )
    if meeting.skr_contact_email and participants:
        builder.add(
            MessageKind.INVITATION,
            f"invitation:m{meeting.id}:skr-copy",
            _Recipient(meeting.skr_contact_name, meeting.skr_contact_email),
            {**context, "copy": {"participants": participants, "organisations": organisations}},
            calendar=(event, sequence),
        )
    return builder.report


def build_meeting_changes(
    session: Session, meeting_id: int, settings: BuildSettings
) -> BuildReport:
    """A calendar update to everyone invited, when the meeting's time or place has changed."""
    builder = _Builder(session, meeting_id, settings)
    event = meeting_event(builder.meeting, builder.network)
    sequence, digest = builder.calendar_sequence()
    if digest is None or digest == event.digest():
        return builder.report
    invited = session.scalars(
        select(m.OutboxMessage)
        .where(
            m.OutboxMessage.meeting_id == meeting_id,
            m.OutboxMessage.kind.in_([MessageKind.INVITATION, MessageKind.MEETING_CHANGED]),
            # Also those not sent yet (held, failed, waiting to be retried): they carry the old
            # time, and released later they would say nothing else. The update's higher
            # sequence wins in the calendar whichever of the two arrives first.
            m.OutboxMessage.state != MessageState.CANCELLED,
        )
        .order_by(m.OutboxMessage.id)
    ).all()
    context = _base_context(builder.meeting, builder.network)
    seen: set[str] = set()
    for message in invited:
        address = message.recipient_email.lower()
        if address in seen:
            continue
        seen.add(address)
        organisation = (
            session.get(m.Organisation, message.organisation_id)
            if message.organisation_id
            else None
        )
        named = {"name": organisation.name} if organisation is not None else None
        builder.add(
            MessageKind.MEETING_CHANGED,
            f"meeting_changed:m{meeting_id}:s{sequence + 1}:{_address_key(address)}",
            _Recipient(message.recipient_name, message.recipient_email, message.participant_id),
            {**context, "organisation": named},
            calendar=(event, sequence + 1),
        )
    return builder.report


def build_upload_reminders(
    session: Session, meeting_id: int, settings: BuildSettings
) -> BuildReport:
    """A reminder to each organisation that has not sent its deck or its checklist."""
    builder = _Builder(session, meeting_id, settings)
    meeting = builder.meeting
    deadline = upload_deadline(meeting.date, meeting.upload_deadline_override)
    status = load_submission_status(session, meeting_id, timezone=settings.timezone)
    opted_out = set(session.scalars(select(m.ReminderOptOut.participant_id)))
    context = _base_context(meeting, builder.network)
    for row in status.organisations:
        missing = _missing_uploads(deck=row.deck is not None, checklist=row.checklist.submitted)
        if not missing:
            continue
        organisation = row.organisation
        recipients = builder.participants_of(organisation)
        contact = [r for r in recipients if r.participant_id == organisation.contact_participant_id]
        for recipient in contact or recipients:
            if recipient.participant_id in opted_out:
                builder.report.skipped.append(
                    f"{recipient.name} ({organisation.name}) har avslutat påminnelser."
                )
                continue
            builder.add(
                MessageKind.UPLOAD_REMINDER,
                f"upload_reminder:m{meeting_id}:p{recipient.participant_id}:{deadline}",
                recipient,
                {**context, "missing": missing},
                link_label=f"E-post: påminnelse inför {meeting.title} – {recipient.name}",
            )
    return builder.report


def build_late_notice(session: Session, meeting_id: int, settings: BuildSettings) -> BuildReport:
    """One message to the process leader listing who had not sent what by the deadline."""
    builder = _Builder(session, meeting_id, settings)
    meeting = builder.meeting
    deadline = upload_deadline(meeting.date, meeting.upload_deadline_override)
    status = load_submission_status(session, meeting_id, timezone=settings.timezone)
    late = []
    for row in status.organisations:
        missing = _missing_uploads(
            deck=row.deck is not None and row.deck.on_time, checklist=row.checklist.submitted
        )
        if missing:
            late.append({"name": row.name, "missing": swedish.enumeration(missing)})
    if not late:
        return builder.report
    if not meeting.process_leader_email:
        builder.report.skipped.append(
            f"{meeting.title} har ingen processledare med e-postadress: "
            "ingen fick listan över sena inlämningar."
        )
        return builder.report
    builder.add(
        MessageKind.LATE_UPLOADS,
        f"late_uploads:m{meeting_id}:{deadline}",
        _Recipient(meeting.process_leader_name, meeting.process_leader_email),
        {
            **_base_context(meeting, builder.network),
            "late": late,
            "link": Link(f"{settings.base_url}/arrangor/moten/{meeting_id}"),
        },
    )
    return builder.report


def build_letter_ready(
    session: Session, meeting_id: int, organisation_id: int, settings: BuildSettings
) -> BuildReport:
    """ "Your feedback letter is ready" to the organisation's participants (once per letter)."""
    builder = _Builder(session, meeting_id, settings)
    organisation = get_entity(session, m.Organisation, organisation_id)
    context = _base_context(builder.meeting, builder.network)
    session.refresh(organisation, attribute_names=["participants"])
    for recipient in builder.participants_of(organisation):
        builder.add(
            MessageKind.LETTER_READY,
            f"letter_ready:m{meeting_id}:o{organisation_id}:p{recipient.participant_id}",
            recipient,
            context,
            link_label=f"E-post: återkoppling efter {builder.meeting.title} – {recipient.name}",
        )
    return builder.report


def _missing_uploads(*, deck: bool, checklist: bool) -> list[str]:
    missing = []
    if not deck:
        missing.append("presentationen")
    if not checklist:
        missing.append("den ifyllda självskattningen")
    return missing


def _address_key(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def count_messages(session: Session, meeting_id: int) -> dict[MessageState, int]:
    """How many of a meeting's messages are in each state."""
    rows = session.execute(
        select(m.OutboxMessage.state, func.count())
        .where(m.OutboxMessage.meeting_id == meeting_id)
        .group_by(m.OutboxMessage.state)
    ).all()
    return {MessageState(state): int(count) for state, count in rows}


__all__ = [
    "BuildReport",
    "BuildSettings",
    "build_invitations",
    "build_late_notice",
    "build_letter_ready",
    "build_meeting_changes",
    "build_upload_reminders",
    "count_messages",
    "meeting_event",
]
