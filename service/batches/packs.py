"""Gather and build the packs: the meeting pack PDF and the archives of finished documents.

A pack's inputs are files already made: the latest done version of each document it holds
and, for a deck, the organisation's latest uploaded deck, which replaces the prefilled one.
Its fingerprint is a digest over those files' sha256s, their names and order, the builder's
revision and (when a deck must be converted) the PDF converter: equal fingerprints mean an
equal pack, so a pack whose inputs did not change keeps its file (``reused_from_id``) like
any document. ``gather`` is what both the worker and the nightly planner compare.

While a document the pack holds is still pending, queued or running, the pack is not built:
``build`` raises ``InputsNotReadyError`` and the task comes back later.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.batches.exports import MEETING_FOLDER, ZipMember, stream_zip
from service.change_detection.fingerprints import pdf_converter_identity, value_digest
from service.database import models as m
from service.documents.catalogue import CATALOGUE, PACKS, safe_file_name
from service.documents.meeting_pack import (
    PACK_BUILDER_REVISION,
    LeftOut,
    PackDeck,
    archive_file_name,
    assemble_meeting_pack,
    presentation_order,
    unique_name,
)
from service.domain.kinds import DocumentKind, DocumentStatus, UploadKind
from service.errors import InputsNotReadyError, NotFoundError, RenderError
from service.file_safety.external_links import without_external_links
from service.pdf.converter import PdfConverter, UnavailableConverter
from service.storage.file_store import FileStore

log = logging.getLogger(__name__)

_DOC = m.GeneratedDocument
_IN_FLIGHT = (DocumentStatus.PENDING, DocumentStatus.QUEUED, DocumentStatus.RUNNING)
UPLOADED_DECK_TITLE = "Presentation (inskickad)"
REASON_INPUTS = "inputs changed"
# What a pack holds of the documents rendered from templates.
_OWN_KINDS = [kind for kind, spec in CATALOGUE.items() if spec.per_organisation]
_MEETING_KINDS = [kind for kind, spec in CATALOGUE.items() if not spec.per_organisation]


@dataclass(frozen=True)
class PackFile:
    """One stored file a pack takes in."""

    name: str  # its name in a zip, or the organisation's name in the meeting pack
    file_key: str
    sha256: str
    # "document": taken as stored (a finished document, or an upload in an archive);
    # "upload" and "pptx": a deck the meeting pack converts (sent back, or prefilled).
    source: str
    made_at: dt.datetime | None = None


@dataclass(frozen=True)
class PackInputs:
    """What a pack is made of now, and whether it can be made yet."""

    kind: DocumentKind
    meeting_title: str
    files: list[PackFile]
    # The meeting pack's organisations without any deck, in agenda order.
    missing: list[str] = field(default_factory=list)
    # Descriptions of documents it holds that are still on their way.
    waiting: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """A digest over the input files, their names and order, and how the pack is built."""
        return value_digest(self.digests())

    def digests(self) -> dict[str, Any]:
        """What the fingerprint covers, as stored on the document (``inputs``)."""
        converts = any(f.source != "document" for f in self.files)
        return {
            "kind": self.kind.value,
            "builder": f"benchdocs packs r{PACK_BUILDER_REVISION}; pikepdf {version('pikepdf')}",
            "converter": pdf_converter_identity() if converts else None,
            "meeting": self.meeting_title,
            "files": [[f.name, f.source, f.sha256] for f in self.files],
            "missing": list(self.missing),
        }


def gather(
    session: Session,
    kind: DocumentKind,
    *,
    meeting_id: int,
    organisation_id: int | None,
    document_id: int | None = None,
) -> PackInputs:
    """The pack's inputs as the database has them now (``document_id``: the pack's own row)."""
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    organisations = agenda_organisations(session, meeting)
    if kind == DocumentKind.MEETING_PACK:
        return _meeting_pack_inputs(session, meeting, organisations)
    if kind == DocumentKind.ORGANISATION_ARCHIVE:
        if organisation_id is None:
            raise RenderError("an organisation's archive is made per organisation")
        names = dict(organisations)
        if organisation_id not in names:
            raise NotFoundError(f"organisation {organisation_id} is not in meeting's network")
        wanted = [(organisation_id, names[organisation_id])]
        files = _archive_files(session, meeting, wanted, folders=False)
        waiting = _waiting(session, meeting_id, _OWN_KINDS, [organisation_id], document_id)
        return PackInputs(kind=kind, meeting_title=meeting.title, files=files, waiting=waiting)
    if kind == DocumentKind.MEETING_ARCHIVE:
        files = _archive_files(session, meeting, organisations, folders=True)
        files.extend(_meeting_files(session, meeting))
        waiting = _waiting(
            session,
            meeting_id,
            [*CATALOGUE, DocumentKind.MEETING_PACK],
            None,
            document_id,
        )
        return PackInputs(kind=kind, meeting_title=meeting.title, files=files, waiting=waiting)
    raise RenderError(f"{kind.value} is not a pack")


def agenda_organisations(session: Session, meeting: m.Meeting) -> list[tuple[int, str]]:
    """The network's organisations (id, name) in the order the agenda has them present."""
    organisations = [
        (row.id, row.name)
        for row in session.execute(
            select(m.Organisation.id, m.Organisation.name)
            .where(m.Organisation.network_id == meeting.network_id)
            .order_by(m.Organisation.id)
        )
    ]
    items = [
        f"{item}\n{responsible or ''}"
        for item, responsible in session.execute(
            select(m.AgendaItem.item, m.AgendaItem.responsible)
            .where(m.AgendaItem.meeting_id == meeting.id)
            .order_by(m.AgendaItem.position, m.AgendaItem.id)
        )
    ]
    names = dict(organisations)
    return [(key, names[key]) for key in presentation_order(items, organisations)]


def _latest_done(
    session: Session, meeting_id: int, kinds: Sequence[DocumentKind], organisation_ids: Any
) -> dict[tuple[int | None, DocumentKind, str], m.GeneratedDocument]:
    """The newest done row with a file of each slot of these kinds in the meeting."""
    query = select(_DOC).where(
        _DOC.meeting_id == meeting_id,
        _DOC.kind.in_(kinds),
        _DOC.status == DocumentStatus.DONE,
        _DOC.file_key.is_not(None),
    )
    if organisation_ids is not None:
        query = query.where(_DOC.organisation_id.in_(organisation_ids))
    latest: dict[tuple[int | None, DocumentKind, str], m.GeneratedDocument] = {}
    for doc in session.scalars(query.order_by(_DOC.id.desc())):
        latest.setdefault((doc.organisation_id, doc.kind, doc.format), doc)
    return latest


def _latest_uploads(session: Session, meeting_id: int) -> dict[int, m.Upload]:
    """Each organisation's latest deck sent back for the meeting (the gate kept only good ones)."""
    latest: dict[int, m.Upload] = {}
    for upload in session.scalars(
        select(m.Upload)
        .where(m.Upload.meeting_id == meeting_id, m.Upload.kind == UploadKind.DECK)
        .order_by(m.Upload.id.desc())
    ):
        latest.setdefault(upload.organisation_id, upload)
    return latest


def _meeting_pack_inputs(
    session: Session, meeting: m.Meeting, organisations: list[tuple[int, str]]
) -> PackInputs:
    """Each organisation's deck: its uploaded one, else its prefilled one (as PDF if made)."""
    uploads = _latest_uploads(session, meeting.id)
    decks = _latest_done(session, meeting.id, [DocumentKind.DECK], None)
    files: list[PackFile] = []
    missing: list[str] = []
    for organisation_id, name in organisations:
        upload = uploads.get(organisation_id)
        pptx = decks.get((organisation_id, DocumentKind.DECK, "pptx"))
        pdf = decks.get((organisation_id, DocumentKind.DECK, "pdf"))
        if upload is not None:
            files.append(PackFile(name, upload.file_key, upload.sha256, "upload", None))
        elif pdf is not None and (pptx is None or _same_content(pdf, pptx)):
            assert pdf.file_key is not None and pdf.sha256 is not None
            files.append(PackFile(name, pdf.file_key, pdf.sha256, "document", pdf.finished_at))
        elif pptx is not None:
            assert pptx.file_key is not None and pptx.sha256 is not None
            files.append(PackFile(name, pptx.file_key, pptx.sha256, "pptx", pptx.finished_at))
        else:
            missing.append(name)
    waiting = _waiting(session, meeting.id, [DocumentKind.DECK], None, None)
    return PackInputs(
        kind=DocumentKind.MEETING_PACK,
        meeting_title=meeting.title,
        files=files,
        missing=missing,
        waiting=waiting,
    )


def _same_content(pdf: m.GeneratedDocument, pptx: m.GeneratedDocument) -> bool:
    """Whether a deck's PDF was made from the same template and context as its pptx."""
    a, b = pdf.inputs or {}, pptx.inputs or {}
    return bool(a.get("context")) and all(a.get(k) == b.get(k) for k in ("template", "context"))


def _archive_files(
    session: Session,
    meeting: m.Meeting,
    organisations: Sequence[tuple[int, str]],
    *,
    folders: bool,
) -> list[PackFile]:
    """Every organisation's own documents (both formats) and uploaded deck, named for people."""
    ids = [organisation_id for organisation_id, _ in organisations]
    latest = _latest_done(session, meeting.id, _OWN_KINDS, ids)
    uploads = _latest_uploads(session, meeting.id)
    files: list[PackFile] = []
    taken_folders: set[str] = set()
    for organisation_id, name in organisations:
        folder = unique_name(safe_file_name(name), taken_folders) + "/" if folders else ""
        taken: set[str] = set()
        for kind in _OWN_KINDS:
            for file_format in ("docx", "pptx", "xlsx", "pdf"):
                doc = latest.get((organisation_id, kind, file_format))
                if doc is None or doc.file_key is None or doc.sha256 is None:
                    continue
                member = archive_file_name(
                    meeting_title=meeting.title,
                    organisation_name=name,
                    title=CATALOGUE[kind].title,
                    file_format=file_format,
                )
                files.append(
                    PackFile(
                        folder + unique_name(member, taken),
                        doc.file_key,
                        doc.sha256,
                        "document",
                        doc.finished_at,
                    )
                )
        upload = uploads.get(organisation_id)
        if upload is not None:
            member = archive_file_name(
                meeting_title=meeting.title,
                organisation_name=name,
                title=UPLOADED_DECK_TITLE,
                file_format="pptx",
            )
            files.append(
                PackFile(
                    folder + unique_name(member, taken),
                    upload.file_key,
                    upload.sha256,
                    "document",
                    upload.uploaded_at,
                )
            )
    return files


def _meeting_files(session: Session, meeting: m.Meeting) -> list[PackFile]:
    """The meeting's shared documents in their folder, and the meeting pack beside them."""
    latest = _latest_done(session, meeting.id, [*_MEETING_KINDS, DocumentKind.MEETING_PACK], None)
    files: list[PackFile] = []
    taken: set[str] = set()
    for kind in [*_MEETING_KINDS, DocumentKind.MEETING_PACK]:
        title = PACKS[kind].title if kind in PACKS else CATALOGUE[kind].title
        for file_format in ("docx", "pptx", "xlsx", "pdf"):
            doc = latest.get((None, kind, file_format))
            if doc is None or doc.file_key is None or doc.sha256 is None:
                continue
            name = archive_file_name(
                meeting_title=meeting.title,
                organisation_name=None,
                title=title,
                file_format=file_format,
            )
            folder = "" if kind in PACKS else f"{MEETING_FOLDER}/"
            files.append(
                PackFile(
                    folder + unique_name(name, taken),
                    doc.file_key,
                    doc.sha256,
                    "document",
                    doc.finished_at,
                )
            )
    return files


def _waiting(
    session: Session,
    meeting_id: int,
    kinds: Sequence[DocumentKind],
    organisation_ids: Sequence[int] | None,
    document_id: int | None,
) -> list[str]:
    """Documents of these kinds in the meeting that are still pending, queued or running."""
    query = select(_DOC.id, _DOC.kind, _DOC.format).where(
        _DOC.meeting_id == meeting_id, _DOC.kind.in_(kinds), _DOC.status.in_(_IN_FLIGHT)
    )
    if organisation_ids is not None:
        query = query.where(_DOC.organisation_id.in_(organisation_ids))
    if document_id is not None:
        query = query.where(_DOC.id != document_id)
    return [
        f"{kind.value} ({file_format}) #{doc_id}"
        for doc_id, kind, file_format in session.execute(query.order_by(_DOC.id))
    ]


def takes_in(
    pack: DocumentKind,
    pack_organisation: int | None,
    kind: DocumentKind,
    organisation_id: int | None,
) -> bool:
    """Whether a pack of the same meeting gathers documents of this kind and organisation."""
    if pack == DocumentKind.MEETING_PACK:
        return kind == DocumentKind.DECK
    if pack == DocumentKind.ORGANISATION_ARCHIVE:
        return kind in _OWN_KINDS and organisation_id == pack_organisation
    if pack == DocumentKind.MEETING_ARCHIVE:
        return kind in CATALOGUE or kind == DocumentKind.MEETING_PACK
    return False


# -- building ---------------------------------------------------------------------------------


def wait_if_needed(inputs: PackInputs) -> None:
    """InputsNotReadyError while documents the pack holds are on their way."""
    if inputs.waiting:
        shown = ", ".join(inputs.waiting[:5])
        more = f" and {len(inputs.waiting) - 5} more" if len(inputs.waiting) > 5 else ""
        raise InputsNotReadyError(
            f"{inputs.kind.value} waits for {len(inputs.waiting)} document(s): {shown}{more}"
        )


def build(
    inputs: PackInputs,
    *,
    files: FileStore,
    pdf: PdfConverter | None,
    until: float | None = None,
) -> BuiltPack:
    """The pack's bytes from its stored inputs.

    An uploaded deck LibreOffice cannot convert leaves its organisation out of the meeting
    pack with a note on the cover (the meeting goes on); a converter that crashed is a
    TransientError and the whole pack is tried again. Converted decks are kept
    (``converted_key``): past ``until`` (``time.monotonic()``) no more are converted in this
    run, and InputsNotReadyError lets the next attempt go on from there.
    """
    if inputs.kind == DocumentKind.MEETING_PACK:
        return _build_meeting_pack(inputs, files=files, pdf=pdf, until=until)
    members = [ZipMember(name=f.name, file_key=f.file_key, made_at=f.made_at) for f in inputs.files]
    missing = [f.name for f in inputs.files if not files.exists(f.file_key)]
    if missing:
        raise RenderError(f"stored files are missing: {', '.join(missing[:5])}")
    return BuiltPack(data=b"".join(stream_zip(members, files)), left_out=[])


@dataclass(frozen=True)
class BuiltPack:
    """A pack's bytes and the organisations whose deck could not be taken in."""

    data: bytes
    left_out: list[LeftOut]


def _build_meeting_pack(
    inputs: PackInputs, *, files: FileStore, pdf: PdfConverter | None, until: float | None
) -> BuiltPack:
    converts = any(item.source != "document" for item in inputs.files)
    if converts and (pdf is None or isinstance(pdf, UnavailableConverter)):
        # Not one deck's fault: the whole pack fails, saying why, rather than leave all out.
        reason = pdf.reason if isinstance(pdf, UnavailableConverter) else "no converter here"
        raise RenderError(f"the meeting pack needs PDF conversion: {reason}")
    decks: list[PackDeck] = []
    left_out = [LeftOut(name, "") for name in inputs.missing]
    for item in inputs.files:
        if item.source == "document":
            decks.append(PackDeck(item.name, files.get(item.file_key)))
            continue
        uploaded = item.source == "upload"
        key = converted_key(item.sha256)
        if until is not None and time.monotonic() > until and not files.exists(key):
            raise InputsNotReadyError(
                f"meeting pack: {len(decks)} of {len(inputs.files)} decks ready; "
                "converting the rest in the next attempt"
            )
        try:
            decks.append(PackDeck(item.name, _converted(item, files=files, pdf=pdf)))
        except (RenderError, ValueError) as exc:
            log.warning("deck of %s left out of the meeting pack: %s", item.name, exc)
            what = "den inskickade presentationen" if uploaded else "presentationen"
            left_out.append(
                LeftOut(item.name, f"{what} kunde inte omvandlas till PDF och är inte med.")
            )
    data = assemble_meeting_pack(
        meeting_title=inputs.meeting_title, decks=decks, left_out=_in_order(left_out, inputs)
    )
    return BuiltPack(data=data, left_out=left_out)


def converted_key(sha256: str) -> str:
    """Where a deck's PDF is kept, by the deck's digest and the converter that made it.

    A pack built again (a new upload the night before the meeting) converts only the decks
    it has not converted before, and a pack stopped by its time limit keeps what it did.
    """
    converter = value_digest(pdf_converter_identity())[:16]
    return f"packs/converted/{sha256}-{converter}.pdf"


def _converted(item: PackFile, *, files: FileStore, pdf: PdfConverter | None) -> bytes:
    """A pptx deck as PDF: kept from an earlier pack, else converted now (and kept)."""
    key = converted_key(item.sha256)
    if files.exists(key):
        return files.get(key)
    assert pdf is not None  # checked for the whole pack first
    data = files.get(item.file_key)
    # LibreOffice must not follow an uploaded deck's links to URLs or local files.
    source = without_external_links(data) if item.source == "upload" else data
    converted = pdf.convert(source, source_format="pptx")
    files.put(key, converted)
    return converted


def _in_order(left_out: list[LeftOut], inputs: PackInputs) -> list[LeftOut]:
    """Left-out organisations in agenda order (the missing and the failed are listed apart)."""
    order = {name: index for index, name in enumerate(inputs.missing)}
    order.update({f.name: len(order) + index for index, f in enumerate(inputs.files)})
    return sorted(left_out, key=lambda item: order.get(item.organisation, len(order)))
