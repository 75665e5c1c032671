"""Which generated documents and uploads a viewer may see, their versions, and their files.

A viewer is the organiser (``organisation_id=None``, sees everything) or one organisation (a
participant's token in the API, or a participant's session in the portal). An organisation
sees only its own documents, and its feedback letter only once released (see
``service.access.letters``). Anything outside its reach is not found, exactly as an id that
does not exist. The JSON API and the portal's pages both call these functions.

The packs (the meeting pack and the archives, ``catalogue.PACKS``) are organiser material:
an organisation's archive gathers its letters whatever their release, so no participant sees
any pack, not even its own organisation's archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.access.letters import hidden_letter_documents
from service.database import models as m
from service.database.versions import (
    NumberedDocument,
    file_source,
    latest_numbered,
    numbered,
    slot_versions,
)
from service.documents.catalogue import PACKS
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import NotFoundError
from service.intake.entities import MAX_ID
from service.messages import message
from service.storage.file_store import FileStore, PresignedDownloads


@dataclass(frozen=True)
class Viewer:
    """Who looks: the organiser (no organisation) or one organisation."""

    organisation_id: int | None = None

    @property
    def is_organiser(self) -> bool:
        """Whether the viewer sees every organisation."""
        return self.organisation_id is None

    def may_see(self, organisation_id: int | None) -> bool:
        """Whether something of this organisation (None: meeting-level) is within reach."""
        return self.is_organiser or organisation_id == self.organisation_id


ORGANISER = Viewer()
# Kinds only organisers see (see the module's docstring).
ORGANISER_ONLY = frozenset(PACKS)


@dataclass(frozen=True)
class FileToSend:
    """A stored file to send under its name and content type: its pieces, already opened
    (a missing file is found out before the first), or where an organiser fetches it directly.
    """

    file_name: str
    content_type: str
    chunks: Iterator[bytes] | None = None
    redirect_url: str | None = None


def document_not_found(document_id: int) -> NotFoundError:
    """The 404 of a document that does not exist or that the viewer may not see (the same)."""
    return NotFoundError(
        f"document {document_id} not found",
        text=message("access.document_not_found", id=str(document_id)),
    )


def upload_not_found(upload_id: int) -> NotFoundError:
    """The 404 of an upload that does not exist or is another organisation's (the same)."""
    return NotFoundError(
        f"upload {upload_id} not found",
        text=message("access.upload_not_found", id=str(upload_id)),
    )


def _no_file(document_id: int) -> NotFoundError:
    return NotFoundError(
        f"document {document_id} has no file (yet)",
        text=message("access.document_has_no_file", id=str(document_id)),
    )


def visible_document(session: Session, viewer: Viewer, document_id: int) -> m.GeneratedDocument:
    """A document the viewer may see; another organisation's is as absent as a wrong id."""
    in_range = 1 <= document_id <= MAX_ID
    doc = session.get(m.GeneratedDocument, document_id) if in_range else None
    if doc is None or not viewer.may_see(doc.organisation_id):
        raise document_not_found(document_id)
    if not viewer.is_organiser and doc.kind in ORGANISER_ONLY:
        raise document_not_found(document_id)
    if not viewer.is_organiser and hidden_letter_documents(session, [doc]):
        raise document_not_found(document_id)
    return doc


def for_viewer(
    session: Session, viewer: Viewer, found: Iterable[NumberedDocument]
) -> list[NumberedDocument]:
    """What a viewer may see of a listing: an organisation sees no unreleased (draft) letters."""
    found = list(found)
    if viewer.is_organiser:
        return found
    found = [item for item in found if item.document.kind not in ORGANISER_ONLY]
    hidden = hidden_letter_documents(session, (item.document for item in found))
    return [item for item in found if item.document.id not in hidden]


def latest_visible(
    session: Session,
    viewer: Viewer,
    *,
    organisation_id: int | None = None,
    meeting_id: int | None = None,
    kind: DocumentKind | None = None,
) -> list[NumberedDocument]:
    """The latest version of every slot the viewer may see (an organisation: its own only)."""
    if not viewer.is_organiser:
        if organisation_id is not None and organisation_id != viewer.organisation_id:
            return []
        organisation_id = viewer.organisation_id
    found = latest_numbered(
        session, organisation_id=organisation_id, meeting_id=meeting_id, kind=kind
    )
    return for_viewer(session, viewer, found)


def visible_versions(
    session: Session, viewer: Viewer, document_id: int
) -> tuple[m.GeneratedDocument, list[NumberedDocument]]:
    """A document and every version of its slot the viewer may see, newest first."""
    doc = visible_document(session, viewer, document_id)
    return doc, for_viewer(session, viewer, numbered(slot_versions(session, doc.id)))


def document_file(
    session: Session,
    files: FileStore,
    viewer: Viewer,
    document_id: int,
    *,
    link_seconds: int = 0,
) -> FileToSend:
    """A visible document's file (a reuse serves the file it reused); else not found.

    With ``link_seconds`` an organiser may get a presigned address of the file instead, where
    the store gives one; a participant always gets the file itself, through the access check.
    """
    doc = visible_document(session, viewer, document_id)
    source = file_source(session, doc) if doc.status == DocumentStatus.DONE else None
    if source is None or source.file_key is None:
        raise _no_file(document_id)
    return _file_to_send(
        files,
        viewer,
        source.file_key,
        file_name=doc.file_name or source.file_name or f"document-{doc.id}",
        content_type=doc.content_type or source.content_type or "application/octet-stream",
        # The store's message names its key; the viewer only needs to know there is no file.
        missing=_no_file(document_id),
        fallback_name=f"document-{doc.id}",
        link_seconds=link_seconds,
    )


def _file_to_send(
    files: FileStore,
    viewer: Viewer,
    key: str,
    *,
    file_name: str,
    content_type: str,
    missing: NotFoundError,
    fallback_name: str,
    link_seconds: int,
) -> FileToSend:
    if viewer.is_organiser and link_seconds > 0 and isinstance(files, PresignedDownloads):
        if not files.exists(key):
            raise missing
        url = files.presigned_url(
            key,
            file_name=file_name,
            content_type=content_type,
            fallback_name=fallback_name,
            seconds=link_seconds,
        )
        return FileToSend(file_name=file_name, content_type=content_type, redirect_url=url)
    try:
        chunks = files.stream(key)
    except NotFoundError as exc:
        raise missing from exc
    return FileToSend(file_name=file_name, content_type=content_type, chunks=chunks)


def visible_upload(session: Session, viewer: Viewer, upload_id: int) -> m.Upload:
    """An upload of the viewer's organisation; another's is as absent as a wrong id."""
    row = session.get(m.Upload, upload_id) if 1 <= upload_id <= MAX_ID else None
    if row is None or not viewer.may_see(row.organisation_id):
        raise upload_not_found(upload_id)
    return row


def upload_file(
    session: Session,
    files: FileStore,
    viewer: Viewer,
    upload_id: int,
    *,
    link_seconds: int = 0,
) -> FileToSend:
    """An upload as it was stored, for a viewer who may see it (see ``document_file``)."""
    row = visible_upload(session, viewer, upload_id)
    return _file_to_send(
        files,
        viewer,
        row.file_key,
        file_name=row.file_name,
        content_type=row.content_type,
        missing=upload_not_found(upload_id),
        fallback_name=f"upload-{upload_id}",
        link_seconds=link_seconds,
    )
