"""Attendance: who is registered for, came to, or could not come to a meeting.

One participant at a time, or a whole attendance list as a spreadsheet (xlsx or CSV in the
multipart field ``file``), read as safely as a roster; see ``service.intake.attendance_import``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service.api.body import read_upload_form
from service.api.dependencies import RuntimeDep, SessionDep
from service.database import models as m
from service.domain.kinds import AttendanceStatus
from service.errors import Problem
from service.file_safety.file_inspection import limits_from_settings
from service.intake.attendance_import import import_attendance
from service.intake.entities import (
    AttendanceEntry,
    delete_attendance,
    list_attendance,
    put_attendance,
)

router = APIRouter(tags=["attendance"])


class AttendanceOut(BaseModel):
    """One participant's attendance at a meeting."""

    meeting_id: int
    participant_id: int
    participant_name: str
    organisation_id: int
    status: AttendanceStatus
    special_needs: str | None

    @classmethod
    def of(cls, row: m.Attendance) -> AttendanceOut:
        """The answer for a stored row."""
        return cls(
            meeting_id=row.meeting_id,
            participant_id=row.participant_id,
            participant_name=row.participant.name,
            organisation_id=row.participant.organisation_id,
            status=row.status,
            special_needs=row.special_needs,
        )


class AttendanceImportOut(BaseModel):
    """What an attendance list recorded: its rows and participants per status."""

    meeting_id: int
    source: str
    rows: int
    counts: dict[str, int]


_FILE_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The attendance list: xlsx or CSV with Namn, "
                            "E-post, Organisation, Status, Särskilda behov.",
                        }
                    },
                }
            }
        },
    }
}


@router.get("/meetings/{meeting_id}/attendance")
def read_attendance(meeting_id: int, session: SessionDep) -> list[AttendanceOut]:
    """The meeting's recorded attendance (empty: the documents use the roster)."""
    return [AttendanceOut.of(row) for row in list_attendance(session, meeting_id)]


@router.put("/meetings/{meeting_id}/attendance/{participant_id}")
def write_attendance(
    meeting_id: int, participant_id: int, entry: AttendanceEntry, session: SessionDep
) -> AttendanceOut:
    """Record whether a participant is registered (anmäld), came (deltog) or not (förhinder)."""
    return AttendanceOut.of(put_attendance(session, meeting_id, participant_id, entry))


@router.delete(
    "/meetings/{meeting_id}/attendance/{participant_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_attendance(meeting_id: int, participant_id: int, session: SessionDep) -> Response:
    """Forget a participant's attendance at the meeting."""
    delete_attendance(session, meeting_id, participant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/meetings/{meeting_id}/attendance/import", openapi_extra=_FILE_FORM)
async def import_list(
    meeting_id: int, request: Request, runtime: RuntimeDep, session: SessionDep
) -> AttendanceImportOut:
    """Record a whole attendance list; 422 names every bad cell or row, and stores nothing."""
    settings = runtime.settings
    form = await read_upload_form(
        request,
        max_bytes=settings.max_upload_bytes,
        missing_file=Problem("$.file", "is required: the attendance list"),
    )
    result = await run_in_threadpool(
        import_attendance,
        session,
        meeting_id,
        form.data,
        file_name=form.file_name or "attendance",
        limits=limits_from_settings(settings),
    )
    return AttendanceImportOut(
        meeting_id=result.meeting_id, source=result.source, rows=result.rows, counts=result.counts
    )
