"""The pre-flight check: which documents of a batch would print an organiser placeholder.

Before a batch goes out, each participant-facing document's context is built (as the worker
would) and searched for ``[Fyll i …]`` placeholders (``service.documents.placeholders``). The
organiser sees, per document, the facts to enter; a batch refuses to start while any is
missing unless the organiser explicitly allows placeholders. Organiser-only documents (the
summary to SKR, the organiser's checklist) and draft letters, which participants never see,
are not checked; the deck's reflection prompts are for the delegations and are not
placeholders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.facts.meeting_documents import MeetingAgendas
from service.documents.catalogue import spec_for
from service.documents.placeholders import missing_fact, placeholders_in
from service.domain.kinds import DocumentKind
from service.errors import InvalidInputError, NotFoundError, Problem

# The kinds participants receive whose blanks are the organiser's to fill.
CHECKED_KINDS = (
    DocumentKind.AGENDA,
    DocumentKind.ORGANISATION_AGENDA,
    DocumentKind.FEEDBACK_LETTER,
)


@dataclass(frozen=True)
class Gap:
    """A placeholder one document would print, and the fact that would replace it."""

    kind: DocumentKind
    organisation_id: int | None
    organisation_name: str | None
    placeholder: str
    fact: str

    @property
    def document(self) -> str:
        """The document in words: ``organisation_agenda of Askersunds kommun``."""
        if self.organisation_name is None:
            return self.kind.value
        return f"{self.kind.value} of {self.organisation_name}"


class PlaceholdersError(InvalidInputError):
    """A batch would print organiser placeholders into participants' documents."""

    def __init__(self, gaps: Sequence[Gap]) -> None:
        self.gaps = list(gaps)
        super().__init__(
            [
                Problem(gap.document, f"would print {gap.placeholder}: enter {gap.fact}")
                for gap in gaps
            ]
        )


def preflight(
    session: Session,
    *,
    meeting_id: int,
    documents: Iterable[tuple[DocumentKind, int | None]] | None = None,
) -> list[Gap]:
    """The gaps of the given (kind, organisation) documents; None: every checked document."""
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    organisations: dict[int, str] = {
        organisation_id: name
        for organisation_id, name in session.execute(
            select(m.Organisation.id, m.Organisation.name)
            .where(m.Organisation.network_id == meeting.network_id)
            .order_by(m.Organisation.id)
        )
    }
    if documents is None:
        documents = [
            (kind, org)
            for kind in CHECKED_KINDS
            for org in (organisations if spec_for(kind).per_organisation else [None])
        ]
    released = set(
        session.scalars(
            select(m.FeedbackLetter.organisation_id).where(
                m.FeedbackLetter.meeting_id == meeting_id,
                m.FeedbackLetter.released_at.is_not(None),
            )
        )
    )
    gaps: list[Gap] = []
    # The meeting's agenda, loaded once: every organisation's agenda is it with the
    # organisation's rows highlighted, so checking them all reads the network once.
    agendas: MeetingAgendas | None = None
    for kind, organisation_id in dict.fromkeys(documents):
        if kind not in CHECKED_KINDS:
            continue
        if kind == DocumentKind.FEEDBACK_LETTER and organisation_id not in released:
            continue  # a draft: only organisers see it, and release checks it again
        facts: object
        if kind in (DocumentKind.AGENDA, DocumentKind.ORGANISATION_AGENDA):
            agendas = agendas or MeetingAgendas(session, meeting_id=meeting_id)
            facts = (
                agendas.shared
                if organisation_id is None
                else agendas.for_organisation(organisation_id)
            )
        else:
            facts = LOADERS[kind](session, meeting_id=meeting_id, organisation_id=organisation_id)
        context = spec_for(kind).build_context(facts)
        gaps.extend(
            Gap(
                kind=kind,
                organisation_id=organisation_id,
                organisation_name=organisations.get(organisation_id)
                if organisation_id is not None
                else None,
                placeholder=placeholder,
                fact=missing_fact(placeholder),
            )
            for placeholder in placeholders_in(context)
        )
    return gaps


def meeting_fact_gaps(session: Session, *, meeting_id: int) -> list[Gap]:
    """The meeting facts still missing, checked on one document of each kind.

    For an overview (the organisers' start page): a missing meeting fact prints the same
    placeholder in every organisation's copy, so the first organisation's documents stand for
    all of them, at the cost of one document per kind instead of one per organisation.
    """
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    first = session.scalar(
        select(m.Organisation.id)
        .where(m.Organisation.network_id == meeting.network_id)
        .order_by(m.Organisation.id)
        .limit(1)
    )
    documents = [
        (kind, first if spec_for(kind).per_organisation else None) for kind in CHECKED_KINDS
    ]
    return preflight(session, meeting_id=meeting_id, documents=documents)
