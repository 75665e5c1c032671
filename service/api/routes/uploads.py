"""Uploads: filled checklists become scores, finished decks become submissions; status view.

Upload bodies are read with a cap by ``service.api.body.read_upload_form`` (the declared
length first, then the bytes as they come); the use cases in ``service.uploads`` do the rest.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from service.access.visible_documents import Viewer, upload_file
from service.api.body import read_upload_form
from service.api.dependencies import (
    AnswerCacheDep,
    CallerDep,
    OrganiserDep,
    RuntimeDep,
    SessionDep,
)
from service.api.downloads import file_response
from service.api.schemas import ERROR_RESPONSES
from service.clock import utcnow
from service.database import models as m
from service.database.submission_status import (
    OrganisationSubmission,
    SubmissionStatus,
    load_submission_status,
)
from service.domain.kinds import ParticipantRole, UploadKind
from service.domain.movement import Movement, RoundSummary
from service.errors import InvalidInputError, Problem
from service.file_safety.file_inspection import limits_from_settings
from service.intake.entities import get_entity
from service.messages import message
from service.uploads.checklist_upload import score_history, upload_checklist
from service.uploads.deck_upload import meeting_of_organisation, upload_deck
from service.uploads.stored_uploads import Uploader, list_uploads

router = APIRouter(tags=["uploads"], responses=ERROR_RESPONSES)

_MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "round": {
                            "type": "string",
                            "description": "Checklists only: the assessment round's ref or id.",
                        },
                    },
                }
            }
        },
    }
}


def _uploader(caller: CallerDep) -> Uploader:
    return Uploader(label=caller.label, access_token_id=caller.token_id)


# -- answers --------------------------------------------------------------------------------


class UploadOut(BaseModel):
    """A stored upload; ``download_url`` gives its bytes back."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    organisation_id: int
    kind: UploadKind
    meeting_id: int | None
    round_id: int | None
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime
    uploaded_by: str
    download_url: str = ""

    @classmethod
    def of(cls, row: m.Upload) -> UploadOut:
        """The answer for a row, with its download link."""
        out = cls.model_validate(row)
        out.download_url = f"/api/v1/uploads/{row.id}/file"
        return out


class RoundRefOut(BaseModel):
    """Which assessment round."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    ref: str
    label: str


class RoundSummaryOut(BaseModel):
    """Totals of the round's scores after the upload."""

    total: int
    max_total: int
    share_of_max: float
    assessed: int
    question_count: int
    count_by_value: dict[str, int]
    is_ready: bool

    @classmethod
    def of(cls, summary: RoundSummary) -> RoundSummaryOut:
        """From the domain's summary."""
        return cls(
            total=summary.total,
            max_total=summary.max_total,
            share_of_max=round(summary.share_of_max, 4),
            assessed=summary.assessed,
            question_count=summary.question_count,
            count_by_value={str(k): v for k, v in summary.count_by_value.items()},
            is_ready=summary.is_ready,
        )


class QuestionChangeOut(BaseModel):
    """A question whose score differs from the previous round."""

    ref: str
    area_ref: str
    previous: int | None
    current: int | None
    delta: int | None


class AreaChangeOut(BaseModel):
    """An area's mean score before and after."""

    area_ref: str
    previous_mean: float | None
    current_mean: float | None
    delta: float | None


class MovementOut(BaseModel):
    """Movement (förflyttning) since the previous round, as the next deck will show it."""

    previous_round: RoundRefOut
    previous_total: int
    current_total: int
    total_delta: int
    improved: int
    declined: int
    changed: list[QuestionChangeOut]
    areas: list[AreaChangeOut]

    @classmethod
    def of(cls, movement: Movement, previous_round: m.AssessmentRound) -> MovementOut:
        """From the domain's movement."""
        return cls(
            previous_round=RoundRefOut.model_validate(previous_round),
            previous_total=movement.previous.total,
            current_total=movement.current.total,
            total_delta=movement.total_delta,
            improved=len(movement.improved),
            declined=len(movement.declined),
            changed=[
                QuestionChangeOut(
                    ref=q.ref,
                    area_ref=q.area_ref,
                    previous=q.previous,
                    current=q.current,
                    delta=q.delta,
                )
                for q in movement.changed
            ],
            areas=[
                AreaChangeOut(
                    area_ref=a.area_ref,
                    previous_mean=_rounded(a.previous_mean),
                    current_mean=_rounded(a.current_mean),
                    delta=_rounded(a.delta),
                )
                for a in movement.areas
            ],
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class ChecklistUploadOut(BaseModel):
    """What an accepted checklist changed, and where the organisation now stands."""

    upload: UploadOut
    round: RoundRefOut
    sheet: str
    scores_read: int
    assessed: int
    not_assessed: int
    scores: dict[str, int | None]
    comments: dict[str, str]
    summary: RoundSummaryOut
    ready: bool
    movement: MovementOut | None
    previous_snapshot_id: int | None
    documents_marked_stale: int
    documents_no_longer_stale: int = Field(
        description="Documents that were stale and match their inputs again (scores put back)."
    )


class DeckUploadOut(BaseModel):
    """The stored deck and how it stands against the meeting's upload deadline."""

    upload: UploadOut
    meeting_id: int
    upload_deadline: dt.date
    on_time: bool


class SnapshotScoreOut(BaseModel):
    """One question's score and comment as they were."""

    question_ref: str
    value: int | None
    comment: str | None


class SnapshotOut(BaseModel):
    """An earlier version of an organisation's scores in a round."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    round_id: int
    organisation_id: int
    replaced_at: dt.datetime
    replaced_by_upload_id: int | None
    scores: list[SnapshotScoreOut]


class DelegationOut(BaseModel):
    """Whether the delegation has a politician, a manager and a strategist."""

    complete: bool
    missing_roles: list[ParticipantRole]


class ChecklistStatusOut(BaseModel):
    """The self-assessment for the meeting's round."""

    submitted: bool
    via: Literal["upload", "api"] | None
    at: dt.datetime | None
    upload_id: int | None


class DeckStatusOut(BaseModel):
    """The latest deck for the meeting."""

    upload_id: int
    at: dt.datetime
    by: str
    file_name: str
    sha256: str
    size_bytes: int
    on_time: bool
    late: bool
    versions: int


class OrganisationStatusOut(BaseModel):
    """One organisation's status for the meeting."""

    organisation_id: int
    ref: str
    name: str
    delegation: DelegationOut
    checklist: ChecklistStatusOut
    deck: DeckStatusOut | None


class SubmissionSummaryOut(BaseModel):
    """Counts over the network's organisations."""

    organisations: int
    delegations_complete: int
    checklists_submitted: int
    decks_submitted: int
    decks_on_time: int
    decks_late: int


class SubmissionStatusOut(BaseModel):
    """Who has sent what for one meeting."""

    meeting_id: int
    meeting_ref: str
    meeting_title: str
    meeting_date: dt.date
    upload_deadline: dt.date
    round: RoundRefOut | None
    organisations: list[OrganisationStatusOut]
    summary: SubmissionSummaryOut

    @classmethod
    def of(cls, found: SubmissionStatus) -> SubmissionStatusOut:
        """From the use case's status (the models, checked: what the schema promises)."""
        return cls.model_validate(_status_fields(found))

    @classmethod
    def json_of(cls, found: SubmissionStatus) -> bytes:
        """``of(found).model_dump_json()``, byte for byte, without building the models.

        A 300-organisation status built 1,200 models, validated in pydantic-core one by one,
        for a page asked for again after every upload; the same fields as plain dicts,
        serialised by the same pydantic-core, make the same bytes in a fraction of the time
        (a test compares the two).
        """
        return pydantic_core.to_json(_status_fields(found))


def _status_fields(found: SubmissionStatus) -> dict[str, Any]:
    """``SubmissionStatusOut``'s fields as plain values, in the models' field order."""
    summary = found.summary
    assessment_round = found.assessment_round
    return {
        "meeting_id": found.meeting.id,
        "meeting_ref": found.meeting.ref,
        "meeting_title": found.meeting.title,
        "meeting_date": found.meeting.date,
        "upload_deadline": found.deadline,
        "round": None
        if assessment_round is None
        else {
            "id": assessment_round.id,
            "ref": assessment_round.ref,
            "label": assessment_round.label,
        },
        "organisations": [_organisation_status(o) for o in found.organisations],
        "summary": {
            "organisations": summary.organisations,
            "delegations_complete": summary.delegations_complete,
            "checklists_submitted": summary.checklists_submitted,
            "decks_submitted": summary.decks_submitted,
            "decks_on_time": summary.decks_on_time,
            "decks_late": summary.decks_late,
        },
    }


def _organisation_status(row: OrganisationSubmission) -> dict[str, Any]:
    """One organisation's ``OrganisationStatusOut`` fields as plain values, in order."""
    deck = row.deck
    return {
        "organisation_id": row.organisation_id,
        "ref": row.ref,
        "name": row.name,
        "delegation": {
            "complete": row.delegation.complete,
            "missing_roles": [role.value for role in row.delegation.missing_roles],
        },
        "checklist": {
            "submitted": row.checklist.submitted,
            "via": row.checklist.via,
            "at": row.checklist.at,
            "upload_id": row.checklist.upload_id,
        },
        "deck": None
        if deck is None
        else {
            "upload_id": deck.upload_id,
            "at": deck.at,
            "by": deck.by,
            "file_name": deck.file_name,
            "sha256": deck.sha256,
            "size_bytes": deck.size_bytes,
            "on_time": deck.on_time,
            "late": not deck.on_time,
            "versions": deck.versions,
        },
    }


# -- routes ---------------------------------------------------------------------------------


@router.post(
    "/organisations/{organisation_id}/checklist-uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=ChecklistUploadOut,
    openapi_extra=_MULTIPART_BODY,
    responses={413: {"description": "Over the upload size limit."}, 415: {}},
)
async def create_checklist_upload(
    organisation_id: int,
    request: Request,
    caller: CallerDep,
    runtime: RuntimeDep,
    session: SessionDep,
    round_query: Annotated[
        str | None,
        Query(
            alias="round", max_length=100, description="The round's ref or id (or a form field)."
        ),
    ] = None,
) -> ChecklistUploadOut:
    """Replace the organisation's scores for a round from its filled checklist; all or nothing."""
    caller.require_organisation(organisation_id, "organisation", organisation_id)
    # Refuse an unknown organisation before reading a large body.
    await run_in_threadpool(get_entity, session, m.Organisation, organisation_id)
    form = await read_upload_form(
        request, max_bytes=runtime.settings.max_upload_bytes, fields=("round",)
    )
    round_choice = _one_round(round_query, form.fields.get("round"))
    result = await run_in_threadpool(
        lambda: upload_checklist(
            session,
            runtime.files,
            organisation_id=organisation_id,
            data=form.data,
            file_name=form.file_name,
            round_choice=round_choice,
            uploader=_uploader(caller),
            limits=limits_from_settings(runtime.settings),
            now=utcnow(),
        )
    )
    return ChecklistUploadOut(
        upload=UploadOut.of(result.upload),
        round=RoundRefOut.model_validate(result.assessment_round),
        sheet=result.sheet,
        scores_read=result.read,
        assessed=result.assessed,
        not_assessed=result.not_assessed,
        scores=result.scores.scores,
        comments=result.scores.comments,
        summary=RoundSummaryOut.of(result.summary),
        ready=result.summary.is_ready,
        movement=MovementOut.of(result.movement, result.previous_round)
        if result.movement is not None and result.previous_round is not None
        else None,
        previous_snapshot_id=result.previous_snapshot_id,
        documents_marked_stale=result.documents_marked_stale,
        documents_no_longer_stale=result.documents_no_longer_stale,
    )


def _one_round(from_query: str | None, from_form: str | None) -> str | None:
    values = {v.strip() for v in (from_query, from_form) if v is not None and v.strip()}
    if len(values) > 1:
        raise InvalidInputError([Problem.of("round", message("upload.round_twice"))])
    return values.pop() if values else None


@router.post(
    "/organisations/{organisation_id}/meetings/{meeting_id}/deck",
    status_code=status.HTTP_201_CREATED,
    response_model=DeckUploadOut,
    openapi_extra=_MULTIPART_BODY,
    responses={413: {"description": "Over the upload size limit."}, 415: {}},
)
async def create_deck_upload(
    organisation_id: int,
    meeting_id: int,
    request: Request,
    caller: CallerDep,
    runtime: RuntimeDep,
    session: SessionDep,
) -> DeckUploadOut:
    """Store the organisation's finished presentation for a meeting (the latest one counts)."""
    caller.require_organisation(organisation_id, "organisation", organisation_id)
    # Refuse an unknown organisation or meeting before reading a large body.
    await run_in_threadpool(meeting_of_organisation, session, organisation_id, meeting_id)
    form = await read_upload_form(request, max_bytes=runtime.settings.max_upload_bytes)
    result = await run_in_threadpool(
        lambda: upload_deck(
            session,
            runtime.files,
            organisation_id=organisation_id,
            meeting_id=meeting_id,
            data=form.data,
            file_name=form.file_name,
            uploader=_uploader(caller),
            limits=limits_from_settings(runtime.settings),
            now=utcnow(),
            timezone=runtime.settings.regeneration_timezone,
        )
    )
    return DeckUploadOut(
        upload=UploadOut.of(result.upload),
        meeting_id=result.meeting.id,
        upload_deadline=result.deadline,
        on_time=result.on_time,
    )


@router.get("/organisations/{organisation_id}/uploads", response_model=list[UploadOut])
def list_organisation_uploads(
    organisation_id: int,
    caller: CallerDep,
    session: SessionDep,
    kind: UploadKind | None = None,
) -> list[UploadOut]:
    """The organisation's uploads, newest first; earlier versions stay listed."""
    caller.require_organisation(organisation_id, "organisation", organisation_id)
    return [UploadOut.of(row) for row in list_uploads(session, organisation_id, kind=kind)]


@router.get(
    "/uploads/{upload_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_upload(
    upload_id: int, caller: CallerDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The uploaded file as it was stored, with a safe file name."""
    viewer = Viewer(organisation_id=caller.organisation_id)
    found = upload_file(
        session,
        runtime.files,
        viewer,
        upload_id,
        link_seconds=runtime.settings.s3_presigned_downloads,
    )
    return file_response(found, fallback_name=f"upload-{upload_id}")


@router.get(
    "/assessment-rounds/{round_id}/scores/{organisation_id}/history",
    response_model=list[SnapshotOut],
)
def read_score_history(
    round_id: int, organisation_id: int, caller: CallerDep, session: SessionDep
) -> list[SnapshotOut]:
    """Earlier versions of the organisation's scores in the round, newest first."""
    caller.require_organisation(organisation_id, "organisation", organisation_id)
    return [
        SnapshotOut.model_validate(s) for s in score_history(session, round_id, organisation_id)
    ]


@router.get(
    "/meetings/{meeting_id}/submission-status",
    response_model=SubmissionStatusOut,
    dependencies=[OrganiserDep],
)
def read_submission_status(
    meeting_id: int, session: SessionDep, runtime: RuntimeDep, answers: AnswerCacheDep
) -> Response:
    """Per organisation of the meeting's network: delegation, checklist, deck, on time or late."""

    def build() -> bytes:
        found = load_submission_status(
            session,
            meeting_id,
            timezone=runtime.settings.regeneration_timezone,
            participants=False,
        )
        # Serialised here, not validated again against ``response_model`` by FastAPI.
        return SubmissionStatusOut.json_of(found)

    # Built from stamped tables only: kept until a committed write moves the data revision.
    key = ("submission-status", meeting_id, runtime.settings.regeneration_timezone)
    answer = answers.get(session, key, build)
    return Response(answer, media_type="application/json")
