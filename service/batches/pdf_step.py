"""The PDF step: a PDF is converted from its Office file once that file is stored.

A batch that wants a document as PDF holds two rows for it: the Office file, rendered on the
``render`` queue, and the PDF, converted on the ``pdf`` queue. The PDF row waits, pending,
until its *Office sibling* (same batch, meeting, organisation and kind, in the kind's Office
format) is done; then it is handed on. Its task converts the stored Office file, never renders
it again, and records inputs derived from the Office file's (``pdf_inputs``): the fingerprint
the planner computes for the PDF slot, so reuse and the nightly checks see no difference.

A PDF whose Office sibling failed fails too, saying so. A PDF without an Office sibling in its
batch (a nightly run that re-makes only the PDF, because only the converter changed) renders
the Office file itself and converts it, as every PDF did before the split.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from service.change_detection.fingerprints import (
    DocumentInputs,
    pdf_converter_identity,
    stored_fingerprint,
)
from service.database import models as m
from service.documents.catalogue import CATALOGUE, PACKS, spec_for
from service.domain.kinds import DocumentKind, DocumentStatus

# The start of a PDF's error when its Office file failed (the portal explains it in Swedish).
OFFICE_FAILED = "its Office file failed"
# The key beside an Office file's inputs that holds the stamp its PDF will carry.
PDF_STAMP = "pdf_stamp"
IN_FLIGHT = (DocumentStatus.PENDING, DocumentStatus.QUEUED, DocumentStatus.RUNNING)


class Step(StrEnum):
    """Which queue's workers make a row: rendering, or PDF conversion (LibreOffice)."""

    RENDER = "render"
    PDF = "pdf"


def step_of(file_format: str) -> Step:
    """A PDF (a converted document, or the meeting pack of converted decks) needs LibreOffice;
    Office files and zips do not."""
    return Step.PDF if file_format == "pdf" else Step.RENDER


def converts_office_file(kind: DocumentKind, file_format: str) -> bool:
    """Whether the row is a PDF made from the kind's Office file (not a pack)."""
    return file_format == "pdf" and kind not in PACKS


@dataclass(frozen=True)
class OfficeSource:
    """The stored Office file a PDF is converted from."""

    id: int
    file_key: str
    inputs: dict[str, Any]
    template_id: int | None


def office_sibling(session: Session, pdf: m.GeneratedDocument) -> m.GeneratedDocument | None:
    """The Office row of the same batch that this PDF row is converted from, if any."""
    if not converts_office_file(pdf.kind, pdf.format):
        return None
    doc = m.GeneratedDocument
    return session.scalars(
        select(doc)
        .where(
            doc.batch_id == pdf.batch_id,
            doc.meeting_id == pdf.meeting_id,
            doc.organisation_id.is_not_distinct_from(pdf.organisation_id),
            doc.kind == pdf.kind,
            doc.format == spec_for(pdf.kind).office_format,
        )
        .order_by(doc.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class SiblingState:
    """What a PDF row's Office sibling is doing, as dispatch needs it."""

    status: DocumentStatus
    format: str
    error: str | None


def office_sibling_states(
    session: Session, rows: Collection[tuple[int, int, int, int | None, DocumentKind]]
) -> dict[int, SiblingState]:
    """For PDF rows ``(id, batch_id, meeting_id, organisation_id, kind)``, their Office
    siblings' states by the PDF row's id (rows without a sibling are left out); one query."""
    batches = {batch_id for _, batch_id, _, _, _ in rows}
    kinds = {kind for *_, kind in rows}
    if not batches:
        return {}
    doc = m.GeneratedDocument
    found: dict[tuple[int, int, int | None, DocumentKind], SiblingState] = {}
    for batch_id, meeting_id, organisation_id, kind, file_format, status, error in session.execute(
        select(
            doc.batch_id,
            doc.meeting_id,
            doc.organisation_id,
            doc.kind,
            doc.format,
            doc.status,
            doc.error,
        )
        .where(doc.batch_id.in_(batches), doc.kind.in_(kinds), doc.format != "pdf")
        .order_by(doc.id)
    ):
        if file_format == spec_for(kind).office_format:
            found[(batch_id, meeting_id, organisation_id, kind)] = SiblingState(
                status, file_format, error
            )
    states = {}
    for document_id, batch_id, meeting_id, organisation_id, kind in rows:
        state = found.get((batch_id, meeting_id, organisation_id, kind))
        if state is not None:
            states[document_id] = state
    return states


def waiting_pdfs(session: Session, office: m.GeneratedDocument) -> list[int]:
    """The pending PDF rows of the same batch that wait for this Office row."""
    return waiting_pdfs_of(session, [office])


def waiting_pdfs_of(session: Session, offices: Sequence[m.GeneratedDocument]) -> list[int]:
    """The pending PDF rows of the same batches that wait for these Office rows, in one
    query."""
    wanted = {
        (o.batch_id, o.meeting_id, o.organisation_id, o.kind)
        for o in offices
        if o.kind in CATALOGUE and o.format == spec_for(o.kind).office_format
    }
    if not wanted:
        return []
    doc = m.GeneratedDocument
    organisations = {organisation for _, _, organisation, _ in wanted if organisation is not None}
    rows = session.execute(
        select(doc.id, doc.batch_id, doc.meeting_id, doc.organisation_id, doc.kind)
        .where(
            doc.batch_id.in_({batch for batch, _, _, _ in wanted}),
            doc.kind.in_({kind for _, _, _, kind in wanted}),
            or_(doc.organisation_id.in_(organisations), doc.organisation_id.is_(None)),
            doc.format == "pdf",
            doc.status == DocumentStatus.PENDING,
        )
        .order_by(doc.id)
    ).all()
    return [
        row.id
        for row in rows
        if (row.batch_id, row.meeting_id, row.organisation_id, row.kind) in wanted
    ]


def office_failed_reason(file_format: str, error: str | None) -> str:
    """A PDF's error when the Office file it is converted from failed."""
    return f"{OFFICE_FAILED} ({file_format}), so it could not be converted: {error or 'failed'}"


def waits_for_office_file() -> ColumnElement[bool]:
    """Rows that are PDFs whose Office sibling in their batch is still on its way (SQL).

    Such a row is not lost: its Office sibling is, if anything, and brings it along.
    """
    doc = m.GeneratedDocument
    office = aliased(m.GeneratedDocument)
    office_format = or_(
        false(),
        *(
            and_(doc.kind == kind, office.format == spec.office_format)
            for kind, spec in CATALOGUE.items()
            if spec.offers_pdf
        ),
    )
    sibling_in_flight = (
        select(office.id)
        .where(
            office.batch_id == doc.batch_id,
            office.meeting_id == doc.meeting_id,
            office.organisation_id.is_not_distinct_from(doc.organisation_id),
            office.kind == doc.kind,
            office_format,
            office.status.in_(IN_FLIGHT),
        )
        .exists()
    )
    return and_(doc.format == "pdf", doc.kind.not_in(list(PACKS)), sibling_in_flight)


def pdf_inputs(office_inputs: Mapping[str, Any] | None) -> DocumentInputs | None:
    """The inputs of the PDF converted from an Office file with these stored inputs.

    Template, context and stamp are the Office file's (its stamp for the PDF's renderer, read
    in the same snapshot); the renderer is the one that made the Office file plus this host's
    converter. ``None`` when the Office file's inputs are incomplete (made before
    fingerprints): the PDF is then rendered afresh.
    """
    if office_inputs is None or stored_fingerprint(office_inputs) is None:
        return None
    parts = office_inputs.get("parts")
    return DocumentInputs(
        template=str(office_inputs["template"]),
        renderer=f"{office_inputs['renderer']}; {pdf_converter_identity()}",
        context=str(office_inputs["context"]),
        format="pdf",
        parts=dict(parts) if isinstance(parts, Mapping) else {},
        stamp=office_inputs.get(PDF_STAMP),
    )
