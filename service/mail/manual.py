"""What an organiser does by hand: build a meeting's messages of chosen kinds now.

The same builders as the daily run, so a message built by hand and one built by the schedule
share their purpose key: whichever comes first is the only one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import MessageKind
from service.errors import ConfigurationError
from service.intake.entities import get_entity
from service.mail.building import (
    BuildReport,
    BuildSettings,
    build_invitations,
    build_late_notice,
    build_letter_ready,
    build_meeting_changes,
    build_settings,
    build_upload_reminders,
)
from service.settings import Settings

log = logging.getLogger(__name__)


def build_released_letters(
    session: Session, meeting_id: int, settings: BuildSettings
) -> BuildReport:
    """ "Your letter is ready" for every organisation whose letter for the meeting is released."""
    report = BuildReport()
    released = session.scalars(
        select(m.FeedbackLetter.organisation_id)
        .where(
            m.FeedbackLetter.meeting_id == meeting_id,
            m.FeedbackLetter.released_at.is_not(None),
        )
        .order_by(m.FeedbackLetter.organisation_id)
    ).all()
    for organisation_id in released:
        report.merge(build_letter_ready(session, meeting_id, organisation_id, settings))
    return report


def announce_released_letters(
    session: Session,
    meeting_id: int,
    organisation_ids: Iterable[int],
    *,
    settings: Settings,
    by: str,
    now: dt.datetime,
) -> BuildReport:
    """ "Your letter is ready" for letters just released, in the release's transaction.

    Without the portal's address in production no link can be made: the release stands,
    the messages are not built, and the log says why.
    """
    try:
        build = build_settings(settings, by=by, now=now)
    except ConfigurationError:
        log.warning("letters released without e-mail: no portal address", exc_info=True)
        return BuildReport()
    report = BuildReport()
    for organisation_id in organisation_ids:
        report.merge(build_letter_ready(session, meeting_id, organisation_id, build))
    return report


BUILDERS: dict[MessageKind, Callable[[Session, int, BuildSettings], BuildReport]] = {
    MessageKind.INVITATION: build_invitations,
    MessageKind.MEETING_CHANGED: build_meeting_changes,
    MessageKind.UPLOAD_REMINDER: build_upload_reminders,
    MessageKind.LATE_UPLOADS: build_late_notice,
    MessageKind.LETTER_READY: build_released_letters,
}


def build_now(
    session: Session, meeting_id: int, kinds: Iterable[MessageKind], settings: BuildSettings
) -> BuildReport:
    """Build the meeting's messages of these kinds (each once, in the catalogue's order)."""
    get_entity(session, m.Meeting, meeting_id)
    wanted = set(kinds)
    report = BuildReport()
    for kind, build in BUILDERS.items():
        if kind in wanted:
            report.merge(build(session, meeting_id, settings))
    return report
