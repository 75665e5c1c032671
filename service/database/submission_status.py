"""What each organisation has sent in for a meeting: delegation, checklist, deck, on time or not.

``build_submission_status`` works on rows already loaded (no queries), so the API, the CLI
and the organiser's checklist document share one rule; ``load_submission_status`` loads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service.database import models as m
from service.domain.deadlines import is_on_time, local_date, upload_deadline
from service.domain.delegation import DelegationStatus, delegation_status
from service.domain.kinds import ParticipantRole, UploadKind
from service.errors import NotFoundError


@dataclass(frozen=True)
class ChecklistStatus:
    """The self-assessment for the meeting's round: by upload, through the API, or not yet."""

    via: Literal["upload", "api"] | None
    at: dt.datetime | None = None  # known for uploads only
    upload_id: int | None = None

    @property
    def submitted(self) -> bool:
        """Scores exist for the round, however they came."""
        return self.via is not None


@dataclass(frozen=True)
class DeckStatus:
    """The latest deck uploaded for the meeting (earlier versions stay listed as uploads)."""

    upload_id: int
    at: dt.datetime
    local_date: dt.date
    by: str
    file_name: str
    sha256: str
    size_bytes: int
    on_time: bool
    versions: int


@dataclass(frozen=True)
class OrganisationSubmission:
    """One organisation's status for the meeting."""

    organisation: m.Organisation
    organisation_id: int
    ref: str
    name: str
    delegation: DelegationStatus
    checklist: ChecklistStatus
    deck: DeckStatus | None


@dataclass(frozen=True)
class SubmissionSummary:
    """Counts over the organisations of the meeting's network."""

    organisations: int
    delegations_complete: int
    checklists_submitted: int
    decks_submitted: int
    decks_on_time: int
    decks_late: int


@dataclass(frozen=True)
class SubmissionStatus:
    """Who has sent what for one meeting, against its upload deadline."""

    meeting: m.Meeting
    deadline: dt.date
    assessment_round: m.AssessmentRound | None
    organisations: tuple[OrganisationSubmission, ...]
    summary: SubmissionSummary


def _latest(uploads: Iterable[m.Upload]) -> dict[int, tuple[m.Upload, int]]:
    """Per organisation: its newest upload of those given, and how many there are."""
    latest: dict[int, tuple[m.Upload, int]] = {}
    for upload in uploads:
        seen = latest.get(upload.organisation_id)
        if seen is None:
            latest[upload.organisation_id] = (upload, 1)
            continue
        newest = max(seen[0], upload, key=lambda u: (_utc(u.uploaded_at), u.id))
        latest[upload.organisation_id] = (newest, seen[1] + 1)
    return latest


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def build_submission_status(
    *,
    meeting: m.Meeting,
    assessment_round: m.AssessmentRound | None,
    organisations: Sequence[m.Organisation],
    uploads: Iterable[m.Upload],
    scored_organisation_ids: Collection[int],
    timezone: str,
    roles: Mapping[int, Sequence[ParticipantRole]] | None = None,
) -> SubmissionStatus:
    """The status of every given organisation from loaded rows (uploads of any kind).

    ``roles`` (per organisation id) stands in for each organisation's ``participants`` when
    they were not loaded as entities (the API's status reads roles only).
    """
    deadline = upload_deadline(meeting.date, meeting.upload_deadline_override)
    uploads = list(uploads)
    decks = _latest(u for u in uploads if u.kind == UploadKind.DECK and u.meeting_id == meeting.id)
    checklists = _latest(
        u
        for u in uploads
        if assessment_round is not None
        and u.kind == UploadKind.CHECKLIST
        and u.round_id == assessment_round.id
    )
    rows = []
    for org in organisations:
        checklist = ChecklistStatus(via=None)
        if org.id in checklists:
            upload = checklists[org.id][0]
            checklist = ChecklistStatus(
                via="upload", at=_utc(upload.uploaded_at), upload_id=upload.id
            )
        elif assessment_round is not None and org.id in scored_organisation_ids:
            checklist = ChecklistStatus(via="api")
        deck = None
        if org.id in decks:
            upload, versions = decks[org.id]
            deck = DeckStatus(
                upload_id=upload.id,
                at=_utc(upload.uploaded_at),
                local_date=local_date(upload.uploaded_at, timezone),
                by=upload.uploaded_by,
                file_name=upload.file_name,
                sha256=upload.sha256,
                size_bytes=upload.size_bytes,
                on_time=is_on_time(upload.uploaded_at, deadline, timezone),
                versions=versions,
            )
        rows.append(
            OrganisationSubmission(
                organisation=org,
                organisation_id=org.id,
                ref=org.ref,
                name=org.name,
                delegation=delegation_status(
                    (p.role for p in org.participants) if roles is None else roles.get(org.id, ())
                ),
                checklist=checklist,
                deck=deck,
            )
        )
    return SubmissionStatus(
        meeting=meeting,
        deadline=deadline,
        assessment_round=assessment_round,
        organisations=tuple(rows),
        summary=SubmissionSummary(
            organisations=len(rows),
            delegations_complete=sum(r.delegation.complete for r in rows),
            checklists_submitted=sum(r.checklist.submitted for r in rows),
            decks_submitted=sum(r.deck is not None for r in rows),
            decks_on_time=sum(r.deck is not None and r.deck.on_time for r in rows),
            decks_late=sum(r.deck is not None and not r.deck.on_time for r in rows),
        ),
    )


def meeting_round(session: Session, meeting_id: int) -> m.AssessmentRound | None:
    """The self-assessment round held for a meeting (the first, if several name it)."""
    return session.scalars(
        select(m.AssessmentRound)
        .where(m.AssessmentRound.meeting_id == meeting_id)
        .order_by(m.AssessmentRound.id)
        .limit(1)
    ).first()


def load_submission_status(
    session: Session, meeting_id: int, *, timezone: str, participants: bool = True
) -> SubmissionStatus:
    """Load a meeting's organisations, uploads and scores, and build their status.

    ``participants=False`` reads only the participants' roles (plain rows, not entities): the
    organisations' ``participants`` stay unloaded. The API's status page needs no more, and
    hundreds of participant entities were most of its time.
    """
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    assessment_round = meeting_round(session, meeting.id)
    # Whole-network queries joined on the network, not ``IN`` lists of every organisation's
    # id: at 300 organisations the driver spent longer splitting 300 placeholders than the
    # database answering (a constant number of statements whatever the network's size).
    in_network = m.Organisation.network_id == meeting.network_id
    organisations = session.scalars(
        select(m.Organisation).where(in_network).order_by(m.Organisation.id)
    ).all()
    # The network's participants, as entities or as (organisation id, role) rows.
    of_network = (
        select(m.Participant)
        .join(m.Organisation, m.Participant.organisation_id == m.Organisation.id)
        .where(in_network)
        .order_by(m.Participant.id)
    )
    roles: dict[int, list[ParticipantRole]] | None = None
    if participants:
        loaded: dict[int, list[m.Participant]] = {o.id: [] for o in organisations}
        for participant in session.scalars(of_network):
            loaded.setdefault(participant.organisation_id, []).append(participant)
        for organisation in organisations:
            # Loaded, as selectinload would: reading ``participants`` later issues no query.
            set_committed_value(organisation, "participants", loaded[organisation.id])
    else:
        roles = {}
        query = of_network.with_only_columns(m.Participant.organisation_id, m.Participant.role)
        for organisation_id, role in session.execute(query):
            roles.setdefault(organisation_id, []).append(role)
    wanted = m.Upload.meeting_id == meeting.id
    if assessment_round is not None:
        wanted = wanted | (m.Upload.round_id == assessment_round.id)
    uploads = session.scalars(
        select(m.Upload)
        .join(m.Organisation, m.Upload.organisation_id == m.Organisation.id)
        .where(in_network, wanted)
    ).all()
    scored: set[int] = set()
    if assessment_round is not None:
        scored = set(
            session.scalars(
                select(m.Score.organisation_id)
                .where(m.Score.round_id == assessment_round.id)
                .distinct()
            )
        )
    return build_submission_status(
        meeting=meeting,
        assessment_round=assessment_round,
        organisations=organisations,
        uploads=uploads,
        scored_organisation_ids=scored,
        timezone=timezone,
        roles=roles,
    )
