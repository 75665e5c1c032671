"""What importing a programme would create, found by importing it and rolling back.

The preview runs the real import inside a savepoint that is always rolled back, so every
problem the import would meet (a network that exists, a checklist stored with other
questions) shows before anything is stored. Its digest covers the file's bytes and the
plan; ``apply_previewed_programme`` imports only if the digest is still the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import ConflictError
from service.intake.programme_import import (
    ImportSummary,
    import_programme,
    parse_programme,
    store_programme,
)


@dataclass(frozen=True)
class MeetingPlan:
    """A meeting the import would create."""

    title: str
    date: dt.date
    place: str | None


@dataclass(frozen=True)
class ProgrammePreview:
    """What the import would store: the network, its organisations, people and meetings."""

    network_ref: str
    network_name: str
    organisations: tuple[str, ...]
    participants: int
    meetings: tuple[MeetingPlan, ...]
    assessment_rounds: int
    checklist_title: str
    checklist_is_new: bool
    digest: str


def preview_programme(session: Session, raw: bytes, *, max_bytes: int) -> ProgrammePreview:
    """Import in a savepoint and roll it back; raise what the import would raise."""
    programme = parse_programme(raw, max_bytes=max_bytes)
    checklist_is_new = (
        session.scalar(select(m.Checklist.id).where(m.Checklist.ref == programme.checklist.id))
        is None
    )
    savepoint = session.begin_nested()
    try:
        store_programme(session, programme)
    finally:
        savepoint.rollback()
    names = [o.name for o in programme.organisations]
    plan = {
        "network_ref": programme.network.id,
        "network_name": programme.network.name,
        "organisations": names,
        "participants": len(programme.participants),
        "meetings": [
            {"title": x.title, "date": x.date.isoformat(), "place": x.place}
            for x in programme.meetings
        ],
        "assessment_rounds": len(programme.self_assessments),
        "checklist_title": programme.checklist.title,
        "checklist_is_new": checklist_is_new,
    }
    digest = hashlib.sha256(
        hashlib.sha256(raw).digest() + json.dumps(plan, sort_keys=True).encode()
    ).hexdigest()
    return ProgrammePreview(
        network_ref=programme.network.id,
        network_name=programme.network.name,
        organisations=tuple(names),
        participants=len(programme.participants),
        meetings=tuple(MeetingPlan(x.title, x.date, x.place) for x in programme.meetings),
        assessment_rounds=len(programme.self_assessments),
        checklist_title=programme.checklist.title,
        checklist_is_new=checklist_is_new,
        digest=digest,
    )


def apply_previewed_programme(
    session: Session, raw: bytes, *, max_bytes: int, expected_digest: str
) -> ImportSummary:
    """Import the programme if its preview is still the one shown; else ConflictError."""
    preview = preview_programme(session, raw, max_bytes=max_bytes)
    if preview.digest != expected_digest:
        raise ConflictError(
            "the programme's preview is not the one shown: the file or the stored data "
            "changed since; preview again"
        )
    return import_programme(session, raw, max_bytes=max_bytes)


__all__ = ["MeetingPlan", "ProgrammePreview", "apply_previewed_programme", "preview_programme"]
