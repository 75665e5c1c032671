"""Versions of generated documents: the rows of one slot, newest first, and each slot's latest.

A slot is (meeting, organisation, kind, format); every batch or regeneration that wants it
adds a row. A done row renders a new version, unless it reused an earlier row's file because
nothing it is made from had changed (``reused_from_id``): such a row shows the version it
reused. Versions are numbered 1..n per slot, oldest first, in row-id order (the order in which
they were asked for, which is the order of the data they were made from).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, joinedload

from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import NotFoundError

_DOC = m.GeneratedDocument
_SLOT = (_DOC.meeting_id, _DOC.organisation_id, _DOC.kind, _DOC.format)
# A reuse of a reuse is possible (the latest row is reused); never follow a chain forever.
_MAX_REUSE_HOPS = 50


@dataclass(frozen=True)
class NumberedDocument:
    """A done document and the version of its slot that its file is."""

    document: m.GeneratedDocument
    version: int


def latest_numbered(
    session: Session,
    *,
    organisation_id: int | None = None,
    meeting_id: int | None = None,
    kind: DocumentKind | None = None,
) -> list[NumberedDocument]:
    """The newest done row of every slot with its version number, in one query.

    Filters are slot keys, so they narrow the slots without changing any slot's rows; None
    means no filter (meeting-level documents are included unless an organisation is given).
    """
    filters: list[ColumnElement[bool]] = [_DOC.status == DocumentStatus.DONE]
    if organisation_id is not None:
        filters.append(_DOC.organisation_id == organisation_id)
    if meeting_id is not None:
        filters.append(_DOC.meeting_id == meeting_id)
    if kind is not None:
        filters.append(_DOC.kind == kind)
    ranked = (
        select(
            _DOC.id.label("id"),
            func.row_number()
            .over(partition_by=_SLOT, order_by=_DOC.id.desc())
            .label("newest_first"),
            # Running count of real renders up to this row: a reuse gets the number it reused.
            func.count(case((_DOC.reused_from_id.is_(None), 1)))
            .over(partition_by=_SLOT, order_by=_DOC.id, rows=(None, 0))
            .label("version"),
        )
        .where(*filters)
        .subquery()
    )
    rows = session.execute(
        select(_DOC, ranked.c.version)
        .join(ranked, ranked.c.id == _DOC.id)
        .where(ranked.c.newest_first == 1)
        .options(joinedload(_DOC.meeting))
    ).all()
    numbered = [NumberedDocument(document=doc, version=int(version)) for doc, version in rows]
    return sorted(numbered, key=lambda n: _slot_order(n.document))


def latest_documents(
    session: Session,
    *,
    organisation_id: int | None = None,
    meeting_id: int | None = None,
    kind: DocumentKind | None = None,
) -> list[m.GeneratedDocument]:
    """The newest done row of every slot (one query), ordered by meeting, organisation, kind."""
    return [
        n.document
        for n in latest_numbered(
            session, organisation_id=organisation_id, meeting_id=meeting_id, kind=kind
        )
    ]


def slot_versions(session: Session, document_id: int) -> list[m.GeneratedDocument]:
    """The versions of a document's slot, newest first: done rows that are not reuses.

    The row at index ``i`` is version ``len(rows) - i`` (see ``numbered``).
    """
    doc = session.get(_DOC, document_id)
    if doc is None:
        raise NotFoundError(f"document {document_id} not found")
    same_organisation = (
        _DOC.organisation_id.is_(None)
        if doc.organisation_id is None
        else _DOC.organisation_id == doc.organisation_id
    )
    return list(
        session.scalars(
            select(_DOC)
            .where(
                _DOC.meeting_id == doc.meeting_id,
                same_organisation,
                _DOC.kind == doc.kind,
                _DOC.format == doc.format,
                _DOC.status == DocumentStatus.DONE,
                _DOC.reused_from_id.is_(None),
            )
            .order_by(_DOC.id.desc())
        )
    )


def numbered(versions: list[m.GeneratedDocument]) -> list[NumberedDocument]:
    """``slot_versions`` with their numbers: the newest is n, the oldest 1."""
    return [
        NumberedDocument(document=doc, version=len(versions) - index)
        for index, doc in enumerate(versions)
    ]


def file_source(session: Session, doc: m.GeneratedDocument) -> m.GeneratedDocument | None:
    """The row whose stored file a done document serves: itself, or the row it reused."""
    current: m.GeneratedDocument | None = doc
    for _ in range(_MAX_REUSE_HOPS):
        if current is None or current.status != DocumentStatus.DONE:
            return None
        if current.file_key is not None:
            return current
        if current.reused_from_id is None:
            return None
        current = session.get(_DOC, current.reused_from_id)
    return None


def _slot_order(doc: m.GeneratedDocument) -> tuple[int, int, int, str, str]:
    # Meeting-level documents first within a meeting, then organisations by id.
    org = doc.organisation_id
    return (doc.meeting_id, 0 if org is None else 1, org or 0, doc.kind.value, doc.format)
