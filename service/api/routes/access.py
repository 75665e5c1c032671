"""Access tokens for participants, and documents as each caller may see them.

Who sees what: the organiser's X-API-Key sees every document. A participant's token
(``Authorization: Bearer bdt_...``) sees only documents whose organisation is the token's:
its deck, checklist, feedback letter (once the organiser has released it, see
``service.access.letters``) and its own agenda (``organisation_agenda``). Meeting-level
documents (agenda, organiser checklist, summary to SKR) are the organiser's. Anything outside
the caller's organisation answers 404, exactly as an id that does not exist.

Links for e-mail: a participant's download link is ``download_url`` with ``?token=<token>``
appended (the issue response gives the pattern as ``link``). The query form is accepted on
``GET /documents/{id}/file`` only, never on a listing or a write; see ``require_file_reader``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.access.tokens import (
    TokenRequest,
    TokenStatus,
    aware,
    issue_token,
    list_tokens,
    revoke_token,
    token_lifetime,
    token_status,
)
from service.access.visible_documents import (
    Viewer,
    document_file,
    latest_visible,
    visible_versions,
)
from service.api.dependencies import (
    Caller,
    CallerDep,
    FileReaderDep,
    OrganiserCallerDep,
    RuntimeDep,
    SessionDep,
    not_found,
)
from service.api.downloads import file_response
from service.api.schemas import ERROR_RESPONSES, ErrorOut
from service.clock import utcnow
from service.database import models as m
from service.database.versions import NumberedDocument
from service.domain.kinds import DocumentKind
from service.intake.entities import MAX_ID

router = APIRouter(tags=["access"], responses=ERROR_RESPONSES)

_ORGANISER_ONLY: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorOut, "description": "A participant's token; only the organiser may."},
}


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else aware(moment)


class TokenOut(BaseModel):
    """A token as stored: never its clear text."""

    id: int
    organisation_id: int
    label: str | None
    status: TokenStatus
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(description="To the minute.")

    @classmethod
    def of(cls, row: m.AccessToken, *, now: dt.datetime) -> TokenOut:
        """The answer for a stored token."""
        return cls(
            id=row.id,
            organisation_id=row.organisation_id,
            label=row.label,
            status=token_status(row, now=now),
            created_at=aware(row.created_at),
            expires_at=aware(row.expires_at),
            revoked_at=_utc(row.revoked_at),
            last_used_at=_utc(row.last_used_at),
        )


class IssuedTokenOut(BaseModel):
    """A new token: ``token`` is shown in this answer only, never again."""

    id: int
    token: str = Field(description="The clear-text token. Shown once; store it now.")
    organisation_id: int
    label: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    link: str = Field(
        description="A download link pattern for e-mails: replace {document_id} with a "
        "document's id. Works for GET file downloads only."
    )


class OrganisationRef(BaseModel):
    """Which organisation a token belongs to."""

    id: int
    ref: str
    name: str


class TokenRef(BaseModel):
    """The token a participant came with."""

    id: int
    label: str | None
    expires_at: dt.datetime


class MeOut(BaseModel):
    """Who the caller is: the organiser, or one organisation through one token."""

    role: Literal["organiser", "participant"]
    label: str
    organisation: OrganisationRef | None = None
    token: TokenRef | None = None


class MeetingRef(BaseModel):
    """The meeting a document is for."""

    id: int
    ref: str
    title: str
    date: dt.date


class VisibleDocumentOut(BaseModel):
    """The latest version of one slot (meeting, organisation, kind, format)."""

    id: int
    kind: DocumentKind
    format: str
    meeting: MeetingRef
    organisation_id: int | None
    file_name: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    finished_at: dt.datetime | None
    version: int = Field(description="1 for the slot's first version; reuses keep the number.")
    reused_from_id: int | None = Field(
        description="Set when nothing had changed and the file of that row was kept."
    )
    stale: bool = Field(description="Data it was made from changed after it was made.")
    stale_since: dt.datetime | None
    download_url: str
    versions_url: str

    @classmethod
    def of(cls, item: NumberedDocument) -> VisibleDocumentOut:
        """The answer for a numbered done document."""
        doc = item.document
        return cls(
            id=doc.id,
            kind=doc.kind,
            format=doc.format,
            meeting=MeetingRef(
                id=doc.meeting.id,
                ref=doc.meeting.ref,
                title=doc.meeting.title,
                date=doc.meeting.date,
            ),
            organisation_id=doc.organisation_id,
            file_name=doc.file_name,
            content_type=doc.content_type,
            size_bytes=doc.size_bytes,
            sha256=doc.sha256,
            finished_at=_utc(doc.finished_at),
            version=item.version,
            reused_from_id=doc.reused_from_id,
            stale=doc.stale_since is not None,
            stale_since=_utc(doc.stale_since),
            download_url=_download_url(doc.id),
            versions_url=f"/api/v1/documents/{doc.id}/versions",
        )


class VersionOut(BaseModel):
    """One version of a slot, downloadable by its own id."""

    version: int
    id: int
    file_name: str | None
    size_bytes: int | None
    sha256: str | None
    finished_at: dt.datetime | None
    stale: bool
    download_url: str


class VersionsOut(BaseModel):
    """Every version of a document's slot, newest first."""

    meeting_id: int
    organisation_id: int | None
    kind: DocumentKind
    format: str
    versions: list[VersionOut]


def _download_url(document_id: int) -> str:
    return f"/api/v1/documents/{document_id}/file"


def _viewer(caller: Caller) -> Viewer:
    return Viewer(organisation_id=caller.organisation_id)


def _organisation(session: Session, organisation_id: int) -> m.Organisation:
    # An id beyond the column's range is simply not there (PostgreSQL would refuse the query).
    in_range = 1 <= organisation_id <= MAX_ID
    organisation = session.get(m.Organisation, organisation_id) if in_range else None
    if organisation is None:
        raise not_found("organisation", organisation_id)
    return organisation


@router.post(
    "/organisations/{organisation_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedTokenOut,
    responses=_ORGANISER_ONLY,
)
def create_token(
    organisation_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    _organiser: OrganiserCallerDep,
    request: TokenRequest | None = None,
) -> IssuedTokenOut:
    """Issue a token for one organisation (organiser only); its clear text is shown once.

    ``valid_days`` defaults to, and may not exceed, the configured BENCHDOCS_TOKEN_VALID_DAYS.
    """
    request = request or TokenRequest()
    lifetime = token_lifetime(
        request.valid_days, max_days=runtime.settings.token_valid_days, location="$.valid_days"
    )
    issued = issue_token(
        session,
        organisation_id=organisation_id,
        valid_for=lifetime,
        label=request.label,
        now=utcnow(),
    )
    row = issued.row
    return IssuedTokenOut(
        id=row.id,
        token=issued.token,
        organisation_id=row.organisation_id,
        label=row.label,
        created_at=aware(row.created_at),
        expires_at=aware(row.expires_at),
        link=f"/api/v1/documents/{{document_id}}/file?token={issued.token}",
    )


@router.get(
    "/organisations/{organisation_id}/tokens",
    response_model=list[TokenOut],
    responses=_ORGANISER_ONLY,
)
def get_tokens(
    organisation_id: int, session: SessionDep, _organiser: OrganiserCallerDep
) -> list[TokenOut]:
    """Every token of an organisation with its status (organiser only); no clear text."""
    now = utcnow()
    return [TokenOut.of(row, now=now) for row in list_tokens(session, organisation_id)]


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut, responses=_ORGANISER_ONLY)
def revoke(token_id: int, session: SessionDep, _organiser: OrganiserCallerDep) -> TokenOut:
    """Revoke a token at once (organiser only); revoking again changes nothing."""
    now = utcnow()
    return TokenOut.of(revoke_token(session, token_id, now=now), now=now)


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ORGANISER_ONLY
)
def delete_token(token_id: int, session: SessionDep, _organiser: OrganiserCallerDep) -> Response:
    """Revoke a token (the row is kept, so uploads still say who sent them); idempotent."""
    revoke_token(session, token_id, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut)
def me(caller: CallerDep, session: SessionDep) -> MeOut:
    """Who the caller is: the organiser, or an organisation with its token's label and expiry."""
    if caller.is_organiser or caller.organisation_id is None or caller.token_id is None:
        return MeOut(role="organiser", label=caller.label)
    organisation = _organisation(session, caller.organisation_id)
    token = session.get_one(m.AccessToken, caller.token_id)
    return MeOut(
        role="participant",
        label=caller.label,
        organisation=OrganisationRef(
            id=organisation.id, ref=organisation.ref, name=organisation.name
        ),
        token=TokenRef(id=token.id, label=token.label, expires_at=aware(token.expires_at)),
    )


@router.get("/organisations/{organisation_id}/documents", response_model=list[VisibleDocumentOut])
def organisation_documents(
    organisation_id: int,
    caller: CallerDep,
    session: SessionDep,
    meeting_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: DocumentKind | None = None,
) -> list[VisibleDocumentOut]:
    """The latest version of each of an organisation's documents (its own, for a token)."""
    caller.require_organisation(organisation_id, "organisation", organisation_id)
    _organisation(session, organisation_id)
    found = latest_visible(
        session,
        _viewer(caller),
        organisation_id=organisation_id,
        meeting_id=meeting_id,
        kind=kind,
    )
    return [VisibleDocumentOut.of(item) for item in found]


@router.get("/documents", response_model=list[VisibleDocumentOut])
def documents(
    caller: CallerDep,
    session: SessionDep,
    meeting_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: DocumentKind | None = None,
) -> list[VisibleDocumentOut]:
    """The latest version of every slot the caller may see (a token: its organisation's only)."""
    if not caller.is_organiser and organisation_id is not None:
        caller.require_organisation(organisation_id, "organisation", organisation_id)
    found = latest_visible(
        session,
        _viewer(caller),
        organisation_id=organisation_id,
        meeting_id=meeting_id,
        kind=kind,
    )
    return [VisibleDocumentOut.of(item) for item in found]


@router.get("/documents/{document_id}/versions", response_model=VersionsOut)
def document_versions(document_id: int, caller: CallerDep, session: SessionDep) -> VersionsOut:
    """Every version of the document's slot, newest first; each downloads by its own id."""
    doc, versions = visible_versions(session, _viewer(caller), document_id)
    return VersionsOut(
        meeting_id=doc.meeting_id,
        organisation_id=doc.organisation_id,
        kind=doc.kind,
        format=doc.format,
        versions=[
            VersionOut(
                version=item.version,
                id=item.document.id,
                file_name=item.document.file_name,
                size_bytes=item.document.size_bytes,
                sha256=item.document.sha256,
                finished_at=_utc(item.document.finished_at),
                stale=item.document.stale_since is not None,
                download_url=_download_url(item.document.id),
            )
            for item in versions
        ],
    )


@router.get(
    "/documents/{document_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_document(
    document_id: int, caller: FileReaderDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The generated file, with its content type and a safe file name.

    Every version has its own id: an earlier version downloads by the id that
    ``/documents/{id}/versions`` lists. A row that reused an earlier file serves that file.
    Besides the headers, this route alone also takes ``?token=`` so that links in e-mails work.
    """
    found = document_file(
        session,
        runtime.files,
        _viewer(caller),
        document_id,
        link_seconds=runtime.settings.s3_presigned_downloads,
    )
    return file_response(found, fallback_name=f"document-{document_id}")
