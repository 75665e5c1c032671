"""Load the facts of a meeting's agenda, feedback letters and feedback summary from the database."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, selectinload

from service.database import models as m
from service.database.facts.own_rows import (
    any_organisation,
    network_organisation,
    organisation_facts,
    own_facts,
    read_letters,
)
from service.database.facts.records import (
    meeting_facts,
    network_checklist_facts,
    own_initiatives,
    plan_facts,
    rounds_for,
)
from service.database.facts.shared import SharedFacts, shared_or_built
from service.documents.facts import OrganisationFacts
from service.documents.meeting_documents import (
    AgendaFacts,
    AgendaItemFacts,
    FeedbackLetterFacts,
    FeedbackSummaryFacts,
    MeetingOutlineFacts,
    NetworkFacts,
    TransferableFacts,
)
from service.domain.deadlines import SWEDISH_TIME, local_date
from service.domain.kinds import AttendanceStatus
from service.errors import NotFoundError, RenderError

# Who counts as taking part when attendance is recorded: registered or came, not förhinder.
TAKING_PART = (AttendanceStatus.REGISTERED, AttendanceStatus.ATTENDED)


def load_agenda_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> AgendaFacts:
    """The meeting's agenda; with an organisation, the same agenda with its rows highlighted.

    The agenda without highlight is the same for every organisation of the network: with
    ``shared``, it is read once per data revision, and each organisation's agenda adds only
    its own row.
    """
    meeting = _meeting(session, meeting_id)
    highlight = (
        network_organisation(
            session, shared, network_id=meeting.network_id, organisation_id=organisation_id
        )
        if organisation_id
        else None
    )
    agenda = shared_or_built(
        shared,
        session,
        ("agenda", meeting.id),
        lambda: _agenda(session, meeting, _organisations(session, meeting)),
    )
    if highlight is None:
        return agenda
    return dataclasses.replace(agenda, highlight=highlight.facts)


def _agenda(session: Session, meeting: m.Meeting, network: list[m.Organisation]) -> AgendaFacts:
    """The meeting's agenda with no organisation highlighted (each adds its own)."""
    organisations, from_attendance = _delegations(session, meeting, network)
    return AgendaFacts(
        network=_network(meeting.network),
        outline=_outline(session, meeting),
        items=tuple(
            AgendaItemFacts(
                item=a.item,
                start_time=a.start_time,
                end_time=a.end_time,
                responsible=a.responsible,
                format=a.format,
            )
            for a in meeting.agenda_items
        ),
        organisations=organisations,
        highlight=None,
        from_attendance=from_attendance,
    )


class MeetingAgendas:
    """A meeting's agenda for any organisation of its network, the network read once.

    Gives what ``load_agenda_facts`` gives for each organisation: for checking a whole
    meeting's agendas, which otherwise read the whole network once per organisation. The
    organisations are kept (with their participants and groups) so each highlight reads none.
    """

    def __init__(self, session: Session, *, meeting_id: int) -> None:
        meeting = _meeting(session, meeting_id)
        network = _organisations(session, meeting)
        self._organisations = {o.id: o for o in network}
        self.shared = _agenda(session, meeting, network)

    def for_organisation(self, organisation_id: int) -> AgendaFacts:
        """The agenda with the organisation's rows highlighted."""
        org = self._organisations.get(organisation_id)
        if org is None:
            raise NotFoundError(
                f"organisation {organisation_id} not found in the meeting's network"
            )
        return dataclasses.replace(self.shared, highlight=organisation_facts(org))


def load_feedback_letter_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> FeedbackLetterFacts:
    """Everything the feedback letter to one organisation after one meeting shows."""
    meeting = _meeting(session, meeting_id)
    if organisation_id is None:
        raise RenderError("the feedback letter is made per organisation")
    network_id = meeting.network_id
    org = network_organisation(
        session, shared, network_id=network_id, organisation_id=organisation_id
    )
    network = meeting.network
    about = shared_or_built(
        shared, session, ("letter meeting", meeting.id), lambda: _letter_meeting(session, meeting)
    )
    previous, current = rounds_for(session, meeting, organisation_id, shared)
    initiatives = own_initiatives(
        session, shared, network_id=network_id, organisation_id=organisation_id
    )
    transferable = shared_or_built(
        shared,
        session,
        ("transferable", network_id),
        lambda: _network_transferable(session, network_id),
    )
    letter = own_facts(
        session,
        shared,
        ("letters", meeting.id),
        read_letters(meeting.id),
        network_id=network_id,
        organisation_id=organisation_id,
    )
    ideas = tuple(str(idea) for idea in letter.ideas) if letter and letter.ideas else ()
    released = letter.released_at if letter else None
    return FeedbackLetterFacts(
        network=_network(network),
        outline=about.outline,
        organisation=org.facts,
        # The release date, fixed once released, so a re-render is byte-identical.
        letter_date=local_date(released, SWEDISH_TIME) if released else None,
        mentor=(
            any_organisation(session, shared, org.mentor_id, network_id=network_id)
            if org.mentor_id is not None
            else None
        ),
        noted=letter.noted if letter else None,
        checklist=network_checklist_facts(session, network, shared),
        previous_round=previous,
        current_round=current,
        initiatives=initiatives.initiatives,
        ideas=ideas or about.feedback_ideas.get(org.ref, ()),
        own_transferable=tuple(t for owner, t in transferable if owner == organisation_id),
        others_transferable=tuple(t for owner, t in transferable if owner != organisation_id),
        plan=plan_facts(
            session,
            shared,
            network_id=network_id,
            organisation_id=organisation_id,
            meeting_id=meeting_id,
        ),
        next_meeting=about.next_meeting,
    )


@dataclass(frozen=True)
class _LetterMeeting:
    """What every letter of a meeting says alike (kept between them)."""

    outline: MeetingOutlineFacts
    # The meeting feedback's ideas for each organisation (by ref), for a letter without its own.
    feedback_ideas: Mapping[str, tuple[str, ...]]
    next_meeting: MeetingOutlineFacts | None


def _letter_meeting(session: Session, meeting: m.Meeting) -> _LetterMeeting:
    feedback = _feedback(session, meeting)
    next_meeting = _next_meeting(session, meeting, feedback)
    ideas = feedback.ideas_per_organisation if feedback else {}
    return _LetterMeeting(
        outline=_outline(session, meeting),
        feedback_ideas=MappingProxyType(
            {ref: tuple(str(idea) for idea in value) for ref, value in ideas.items()}
        ),
        next_meeting=_outline(session, next_meeting) if next_meeting else None,
    )


def load_feedback_summary_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> FeedbackSummaryFacts:
    """The organiser's Plus – Minus – Intressant feedback on one meeting."""
    meeting = _meeting(session, meeting_id)
    if organisation_id is not None:
        raise RenderError("the feedback summary is made per meeting, not per organisation")
    feedback = _feedback(session, meeting)
    organisations = _organisations(session, meeting)
    delegations, from_attendance = _delegations(session, meeting, organisations)
    by_ref = {o.ref: o for o in organisations}
    ideas = feedback.ideas_per_organisation if feedback else {}
    author = session.get(m.Organisation, feedback.author_organisation_id) if feedback else None
    next_meeting = _next_meeting(session, meeting, feedback)
    return FeedbackSummaryFacts(
        network=_network(meeting.network),
        outline=_outline(session, meeting, shared),
        organisations=delegations,
        from_attendance=from_attendance,
        author=organisation_facts(author) if author else None,
        sent_to=feedback.sent_to if feedback else None,
        plus=tuple(feedback.plus) if feedback else (),
        minus=tuple(feedback.minus) if feedback else (),
        interesting=tuple(feedback.interesting) if feedback else (),
        # In the order of the organisations, whatever order the import file had.
        ideas_per_organisation=tuple(
            (by_ref[ref].name if ref in by_ref else ref, tuple(str(i) for i in ideas[ref]))
            for ref in sorted(ideas, key=lambda r: by_ref[r].id if r in by_ref else 1 << 62)
        ),
        next_meeting=_outline(session, next_meeting, shared) if next_meeting else None,
    )


# -- pieces -----------------------------------------------------------------------------------


def _meeting(session: Session, meeting_id: int) -> m.Meeting:
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    return meeting


def _organisations(session: Session, meeting: m.Meeting) -> list[m.Organisation]:
    """The network's organisations in the order they were entered (groups stay together).

    With their participants, groups and mentors in a fixed number of queries, whatever the
    network's size: ``organisation_facts`` of every one then reads no more rows (a contact
    and a mentor are found among the rows already loaded).
    """
    return list(
        session.scalars(
            select(m.Organisation)
            .where(m.Organisation.network_id == meeting.network_id)
            .order_by(m.Organisation.id)
            .options(
                selectinload(m.Organisation.participants),
                selectinload(m.Organisation.group),
            )
        ).all()
    )


def _delegations(
    session: Session, meeting: m.Meeting, organisations: list[m.Organisation]
) -> tuple[tuple[OrganisationFacts, ...], bool]:
    """The network's organisations with who takes part: attendance when any is recorded.

    With attendance recorded for the meeting, a delegation is the participants registered
    or present (not those with förhinder); without, it is the organisation's roster.
    """
    statuses = dict(
        session.execute(
            select(m.Attendance.participant_id, m.Attendance.status).where(
                m.Attendance.meeting_id == meeting.id
            )
        ).all()
    )
    if not statuses:
        return tuple(organisation_facts(o) for o in organisations), False
    result = []
    for org in organisations:
        facts = organisation_facts(org)
        # organisation_facts lists the delegation in the order of org.participants.
        present = tuple(
            person
            for person, participant in zip(facts.delegation, org.participants, strict=True)
            if statuses.get(participant.id) in TAKING_PART
        )
        result.append(dataclasses.replace(facts, delegation=present))
    return tuple(result), True


def _feedback(session: Session, meeting: m.Meeting) -> m.MeetingFeedback | None:
    return session.scalars(
        select(m.MeetingFeedback)
        .where(m.MeetingFeedback.meeting_id == meeting.id)
        .order_by(m.MeetingFeedback.id)
        .limit(1)
    ).first()


def _next_meeting(
    session: Session, meeting: m.Meeting, feedback: m.MeetingFeedback | None
) -> m.Meeting | None:
    """The next meeting the feedback names, or else the network's next meeting by date."""
    if feedback is not None and feedback.next_meeting_id is not None:
        named = session.get(m.Meeting, feedback.next_meeting_id)
        if named is not None:
            return named
    return session.scalars(
        select(m.Meeting)
        .where(m.Meeting.network_id == meeting.network_id, m.Meeting.date > meeting.date)
        .order_by(m.Meeting.date)
        .limit(1)
    ).first()


def _network(network: m.Network) -> NetworkFacts:
    return NetworkFacts(
        name=network.name,
        organiser=network.organiser,
        project_platform=network.project_platform,
    )


def _outline(
    session: Session, meeting: m.Meeting, shared: SharedFacts | None = None
) -> MeetingOutlineFacts:
    host = meeting.host_organisation_id
    return MeetingOutlineFacts(
        meeting=meeting_facts(meeting),
        host=(
            any_organisation(session, shared, host, network_id=meeting.network_id)
            if host is not None
            else None
        ),
        goals=tuple(meeting.goals or ()),
        preparations=tuple(meeting.preparations or ()),
    )


def _network_transferable(
    session: Session, network_id: int
) -> tuple[tuple[int, TransferableFacts], ...]:
    """Every organisation's transferable initiatives, with the organisation's id, in order.

    Read as plain rows, not entities: a letter of a network of hundreds reads hundreds, and
    ORM identity bookkeeping would be most of it. The same for every letter of the network
    (kept by ``shared`` between them).
    """
    rows = session.execute(
        select(
            m.Organisation.id,
            m.Organisation.name,
            m.ImprovementInitiative.title,
            m.ImprovementInitiative.transfer_to,
        )
        .join(m.Organisation, m.ImprovementInitiative.organisation_id == m.Organisation.id)
        .where(
            m.Organisation.network_id == network_id,
            m.ImprovementInitiative.transferable.is_(True),
        )
        .order_by(m.Organisation.id, m.ImprovementInitiative.id)
    ).all()
    return tuple((row.id, _transferable(row)) for row in rows)


def _transferable(row: Row[int, str, str, list[str]]) -> TransferableFacts:
    return TransferableFacts(
        organisation_name=row.name,
        title=row.title,
        transfer_to=tuple(row.transfer_to or ()),
    )
