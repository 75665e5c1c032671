"""Feedback letters are released, not leaked: review, release, and who may see which file.

A letter is a draft that only organisers see until the organiser releases it. Before that the
organiser writes, per organisation, what was noted in its presentation and the ideas it takes
home. Releasing fixes the letter's date (the release date, in Swedish time) and refuses a
letter that would still print an organiser placeholder. A participant's token sees a letter
document only when the letter is released and the document was rendered after the release:
an earlier render is a draft, even if it is the slot's latest version.

Editing or releasing a letter marks its rendered documents stale at once (the nightly run
would find them too: the letter's rows are in its data stamp, ``PrivateData.LETTERS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.change_detection.staleness import mark_stale
from service.database import models as m
from service.database.facts.meeting_documents import load_feedback_letter_facts
from service.documents.catalogue import PrivateData
from service.documents.meeting_documents import build_feedback_letter_context
from service.documents.placeholders import missing_fact, placeholders_in
from service.domain.kinds import DocumentKind
from service.errors import InvalidInputError, NotFoundError, Problem
from service.intake.entities import get_entity
from service.intake.programme_format import Record
from service.intake.text_rules import LongText

LETTERS_ONLY = frozenset({PrivateData.LETTERS})


class LetterReview(Record):
    """What the organiser writes in one organisation's letter before releasing it.

    Both fields are replaced as given; ``ideas`` left empty falls back to the ideas the
    meeting's feedback lists for the organisation.
    """

    noted: LongText | None = Field(
        default=None, description="Er presentation – det vi särskilt noterade."
    )
    ideas: Annotated[list[LongText], Field(max_length=100)] = Field(
        default_factory=list, description="Idéer från de andra organisationerna att ta med hem."
    )


@dataclass(frozen=True)
class LetterState:
    """One organisation's letter for one meeting, as the organiser reviews it."""

    meeting_id: int
    organisation_id: int
    organisation_name: str
    noted: str | None
    ideas: list[str]
    released_at: dt.datetime | None
    released_by: str | None
    # Organiser placeholders the letter would print now (empty: ready to release).
    missing: list[str]


def letter_states(session: Session, meeting_id: int) -> list[LetterState]:
    """Every organisation's letter for a meeting, drafts and released, in roster order."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    organisations = session.scalars(
        select(m.Organisation)
        .where(m.Organisation.network_id == meeting.network_id)
        .order_by(m.Organisation.id)
    ).all()
    return [_state(session, meeting, org) for org in organisations]


def letter_state(session: Session, meeting_id: int, organisation_id: int) -> LetterState:
    """One organisation's letter for a meeting."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    return _state(session, meeting, _organisation(session, meeting, organisation_id))


def letter_preview(session: Session, meeting_id: int, organisation_id: int) -> dict[str, Any]:
    """The letter's context as it would be rendered now (a draft says so where the date goes)."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    org = _organisation(session, meeting, organisation_id)
    facts = load_feedback_letter_facts(session, meeting_id=meeting.id, organisation_id=org.id)
    return build_feedback_letter_context(facts)


def put_letter(
    session: Session,
    meeting_id: int,
    organisation_id: int,
    review: LetterReview,
    *,
    now: dt.datetime,
) -> LetterState:
    """Write the organiser's texts of a letter (a released letter keeps its date)."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    org = _organisation(session, meeting, organisation_id)
    letter = _letter(session, meeting.id, org.id) or m.FeedbackLetter(
        meeting_id=meeting.id, organisation_id=org.id
    )
    letter.noted = review.noted.strip() if review.noted and review.noted.strip() else None
    letter.ideas = [idea for idea in (i.strip() for i in review.ideas) if idea]
    session.add(letter)
    session.flush()
    mark_stale(session, organisation_id=org.id, now=now, changed=LETTERS_ONLY)
    return _state(session, meeting, org)


def release_letter(
    session: Session, meeting_id: int, organisation_id: int, *, by: str, now: dt.datetime
) -> LetterState:
    """Release a letter to its organisation; its date becomes today's (Swedish time).

    Refused, naming each missing fact, while the letter would print an organiser placeholder.
    Releasing again changes nothing: the first release date stays.
    """
    meeting = get_entity(session, m.Meeting, meeting_id)
    org = _organisation(session, meeting, organisation_id)
    letter = _letter(session, meeting.id, org.id)
    if letter is not None and letter.released_at is not None:
        return _state(session, meeting, org)
    missing = _missing(session, meeting.id, org.id)
    if missing:
        raise InvalidInputError(
            [
                Problem(
                    f"letter of {org.name}",
                    f"would print {placeholder}: enter {missing_fact(placeholder)} first",
                )
                for placeholder in missing
            ]
        )
    if letter is None:
        letter = m.FeedbackLetter(meeting_id=meeting.id, organisation_id=org.id, ideas=[])
        session.add(letter)
    letter.released_at = now
    letter.released_by = by[:300]
    session.flush()
    mark_stale(session, organisation_id=org.id, now=now, changed=LETTERS_ONLY)
    return _state(session, meeting, org)


def hidden_letter_documents(session: Session, documents: Iterable[m.GeneratedDocument]) -> set[int]:
    """Ids of the letter documents a participant may not see: drafts, or rendered before release.

    ``started_at`` is when the worker began reading the data; a render that began after the
    release read the released letter (a reused file was rendered from the same context).
    """
    letters = [d for d in documents if d.kind == DocumentKind.FEEDBACK_LETTER]
    if not letters:
        return set()
    keys = {(d.meeting_id, d.organisation_id) for d in letters}
    released: dict[tuple[int, int | None], dt.datetime | None] = {
        (row.meeting_id, row.organisation_id): row.released_at
        for row in session.scalars(
            select(m.FeedbackLetter).where(
                m.FeedbackLetter.meeting_id.in_({meeting for meeting, _ in keys}),
                m.FeedbackLetter.released_at.is_not(None),
            )
        )
    }
    hidden = set()
    for doc in letters:
        at = released.get((doc.meeting_id, doc.organisation_id))
        if at is None or doc.started_at is None or _utc(doc.started_at) < _utc(at):
            hidden.add(doc.id)
    return hidden


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _organisation(session: Session, meeting: m.Meeting, organisation_id: int) -> m.Organisation:
    org = get_entity(session, m.Organisation, organisation_id)
    if org.network_id != meeting.network_id:
        raise NotFoundError(
            f"organisation {organisation_id} does not take part in meeting {meeting.id}'s network"
        )
    return org


def _letter(session: Session, meeting_id: int, organisation_id: int) -> m.FeedbackLetter | None:
    return session.scalars(
        select(m.FeedbackLetter).where(
            m.FeedbackLetter.meeting_id == meeting_id,
            m.FeedbackLetter.organisation_id == organisation_id,
        )
    ).first()


def _missing(session: Session, meeting_id: int, organisation_id: int) -> list[str]:
    facts = load_feedback_letter_facts(
        session, meeting_id=meeting_id, organisation_id=organisation_id
    )
    return placeholders_in(build_feedback_letter_context(facts))


def _state(session: Session, meeting: m.Meeting, org: m.Organisation) -> LetterState:
    letter = _letter(session, meeting.id, org.id)
    return LetterState(
        meeting_id=meeting.id,
        organisation_id=org.id,
        organisation_name=org.name,
        noted=letter.noted if letter else None,
        ideas=list(letter.ideas) if letter else [],
        released_at=_utc(letter.released_at) if letter and letter.released_at else None,
        released_by=letter.released_by if letter else None,
        missing=_missing(session, meeting.id, org.id),
    )
