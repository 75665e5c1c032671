"""Feedback letters: the organiser writes what was noted and the ideas, then releases each.

Participants see a letter only once it is released (``service.access.letters``).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, BackgroundTasks
from pydantic import BaseModel, Field

from service.access.letters import (
    LetterReview,
    LetterState,
    letter_state,
    letter_states,
    put_letter,
    release_letter,
)
from service.api.after_commit import queue_after_commit
from service.api.dependencies import CallerDep, RuntimeDep, SessionDep
from service.clock import utcnow
from service.mail.manual import announce_released_letters

router = APIRouter(tags=["letters"])


class LetterOut(BaseModel):
    """One organisation's feedback letter for a meeting: its texts and whether it is released."""

    meeting_id: int
    organisation_id: int
    organisation_name: str
    noted: str | None
    ideas: list[str]
    released: bool
    released_at: dt.datetime | None
    released_by: str | None
    missing: list[str] = Field(
        description="Organiser placeholders the letter would print now; release needs none."
    )

    @classmethod
    def of(cls, state: LetterState) -> LetterOut:
        """The answer for a letter's state."""
        return cls(
            meeting_id=state.meeting_id,
            organisation_id=state.organisation_id,
            organisation_name=state.organisation_name,
            noted=state.noted,
            ideas=state.ideas,
            released=state.released_at is not None,
            released_at=state.released_at,
            released_by=state.released_by,
            missing=state.missing,
        )


@router.get("/meetings/{meeting_id}/letters")
def list_letters(meeting_id: int, session: SessionDep) -> list[LetterOut]:
    """Every organisation's letter for the meeting: drafts and released."""
    return [LetterOut.of(state) for state in letter_states(session, meeting_id)]


@router.get("/meetings/{meeting_id}/letters/{organisation_id}")
def read_letter(meeting_id: int, organisation_id: int, session: SessionDep) -> LetterOut:
    """One organisation's letter."""
    return LetterOut.of(letter_state(session, meeting_id, organisation_id))


@router.put("/meetings/{meeting_id}/letters/{organisation_id}")
def write_letter(
    meeting_id: int, organisation_id: int, review: LetterReview, session: SessionDep
) -> LetterOut:
    """Write what was noted in the organisation's presentation and the ideas it takes home."""
    state = put_letter(session, meeting_id, organisation_id, review, now=utcnow())
    return LetterOut.of(state)


@router.post("/meetings/{meeting_id}/letters/{organisation_id}/release")
def release(
    meeting_id: int,
    organisation_id: int,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    after_commit: BackgroundTasks,
) -> LetterOut:
    """Release the letter to its organisation; it is dated today. 422 lists what is missing.

    Its participants get "your feedback letter is ready" (once, however often it is released),
    queued after the release is committed unless new messages wait for an organiser.
    """
    now = utcnow()
    state = release_letter(session, meeting_id, organisation_id, by=caller.label, now=now)
    report = announce_released_letters(
        session, meeting_id, [organisation_id], settings=runtime.settings, by=caller.label, now=now
    )
    after_commit.add_task(queue_after_commit, runtime, list(report.added))
    return LetterOut.of(state)
