"""The meeting pack and the archives: built by workers, read back with poppler and zipfile."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest
from pptx import Presentation
from sqlalchemy import select

from service.access.visible_documents import Viewer, latest_visible, visible_document
from service.batches import packs
from service.batches.control import create_batch, dispatch
from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus, UploadKind
from service.errors import InputsNotReadyError, NotFoundError
from service.file_safety.file_inspection import limits_from_settings
from service.intake.programme_import import ImportSummary
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import make_pdf_converter
from service.runtime import Runtime
from service.uploads.deck_upload import upload_deck
from service.uploads.stored_uploads import Uploader, store_file
from tests.integration.conftest import (
    batch_complete,
    change_askersunds_scores,
    meeting_id,
    wait_until,
)
from tests.integration.use_cases import regenerate_here, render_here

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("soffice", "pdftotext")]

# Benchmarking 2's agenda: "presentationer del 1: Askersund, Fagersta, Södertälje, Kalmar",
# "del 2: Region Värmland, Region Gotland, Hedemora, Norrtälje".
AGENDA_ORDER = [
    "Askersunds kommun",
    "Fagersta kommun",
    "Södertälje kommun",
    "Kalmar kommun",
    "Region Värmland",
    "Region Gotland",
    "Hedemora kommun",
    "Norrtälje kommun",
]
BATCH_SECONDS = 300
PACK_KINDS = [
    DocumentKind.MEETING_PACK,
    DocumentKind.ORGANISATION_ARCHIVE,
    DocumentKind.MEETING_ARCHIVE,
]


@pytest.fixture(scope="module")
def converter() -> Iterator[PdfConverter]:
    """One warm LibreOffice for the module's inline builds, as a worker keeps one."""
    made = make_pdf_converter(warm=True, timeout_seconds=120, restart_after=200)
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()


def poppler(tool: str, data: bytes, work: Path, *options: str) -> str:
    path = work / "pack.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        [tool, *options, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode()


def outline(data: bytes, work: Path) -> list[tuple[str, int]]:
    """The bookmarks poppler reads: (title, page)."""
    xml = poppler("pdftohtml", data, work, "-xml", "-stdout", "-i")
    block = xml[xml.index("<outline>") : xml.index("</outline>")]
    return [
        (title, int(page))
        for page, title in re.findall(r'<item page="(\d+)">([^<]*)</item>', block)
    ]


def latest_file(runtime: Runtime, kind: DocumentKind, organisation: str | None = None) -> bytes:
    doc = latest_row(runtime, kind, organisation)
    assert doc.status == DocumentStatus.DONE, doc.error
    return runtime.files.get(doc.file_key or "")


def latest_row(
    runtime: Runtime, kind: DocumentKind, organisation: str | None = None
) -> m.GeneratedDocument:
    with runtime.sessions() as session:
        query = select(m.GeneratedDocument).where(m.GeneratedDocument.kind == kind)
        if organisation is not None:
            query = query.join(m.Organisation).where(m.Organisation.name == organisation)
        return session.scalars(query.order_by(m.GeneratedDocument.id.desc())).first()  # type: ignore[return-value]


def organisation_id(runtime: Runtime, name: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(m.Organisation.id).where(m.Organisation.name == name)).one()


def upload(runtime: Runtime, name: str, data: bytes) -> None:
    with unit_of_work(runtime.sessions) as session:
        upload_deck(
            session,
            runtime.files,
            organisation_id=organisation_id(runtime, name),
            meeting_id=meeting_id(runtime, "bm2"),
            data=data,
            file_name="presentation.pptx",
            uploader=Uploader(label="organiser"),
            limits=limits_from_settings(runtime.settings),
            now=dt.datetime(2019, 9, 18, 12, 0, tzinfo=dt.UTC),
            timezone="Europe/Stockholm",
        )


def with_title(deck: bytes, title: str) -> bytes:
    """The deck as the organisation finished it: its first slide retitled."""
    presentation = Presentation(io.BytesIO(deck))
    presentation.slides[0].shapes.title.text = title
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def make_here(
    runtime: Runtime, kinds: list[DocumentKind], converter: PdfConverter, *, with_pdf: bool = False
) -> None:
    with unit_of_work(runtime.sessions) as session:
        batch = create_batch(
            session, meeting_id=meeting_id(runtime, "bm2"), kinds=kinds, with_pdf=with_pdf
        )
        ids = [d.id for d in batch.documents]
    render_here(runtime, ids, pdf=converter)


# -- through real workers ----------------------------------------------------------------------


@pytest.mark.parametrize("database_backend", ["postgresql"])
@pytest.mark.timeout(BATCH_SECONDS + 60)
def test_workers_build_the_pack_and_archives_after_the_documents_they_gather(
    runtime: Runtime,
    sample: ImportSummary,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    start_worker()
    kinds = [
        DocumentKind.DECK,
        DocumentKind.ORGANISATION_AGENDA,
        DocumentKind.AGENDA,
        *PACK_KINDS,
    ]

    with unit_of_work(runtime.sessions) as session:
        batch = create_batch(
            session, meeting_id=meeting_id(runtime, "bm2"), kinds=kinds, with_pdf=True
        )
        batch_id = batch.id
        rows = [(d.id, d.kind) for d in batch.documents]
    # The packs reach the workers first (a resend could do that): they wait for the rest.
    dispatch(
        runtime.sessions,
        runtime.queue,
        [i for i, kind in rows if kind in PACK_KINDS]
        + [i for i, kind in rows if kind not in PACK_KINDS],
    )
    wait_until(batch_complete(runtime, batch_id), timeout=BATCH_SECONDS, what="the packs")

    with runtime.sessions() as session:
        documents = session.scalars(
            select(m.GeneratedDocument).where(m.GeneratedDocument.batch_id == batch_id)
        ).all()
        stored = {
            (d.organisation.name if d.organisation else None, d.kind, d.format): d.sha256
            for d in documents
        }
    assert [(d.kind, d.error) for d in documents if d.status != DocumentStatus.DONE] == []
    pack = latest_file(runtime, DocumentKind.MEETING_PACK)
    info = poppler("pdfinfo", pack, tmp_path)
    assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE)
    assert "Title:           Mötespaket – Benchmarking 2" in info
    bookmarks = outline(pack, tmp_path)
    assert [title for title, _ in bookmarks] == AGENDA_ORDER
    assert bookmarks[0][1] == 2  # after the cover
    with pikepdf.open(io.BytesIO(pack)) as pdf:
        assert str(pdf.Root.Lang) == "sv-SE"
        assert bool(pdf.Root.MarkInfo.Marked) is True
        labels = [page.label for page in pdf.pages]
    assert labels[0] == "Innehåll"
    assert labels[1] == "Askersunds kommun 1"
    ends = [page - 1 for _, page in bookmarks[1:]] + [len(labels)]
    for (name, start), end in zip(bookmarks, ends, strict=True):
        title_slide = poppler("pdftotext", pack, tmp_path, "-f", str(start), "-l", str(start))
        # Each organisation's pages are its own deck: its name, and no other, on the title slide.
        named = [other for other in AGENDA_ORDER if other in " ".join(title_slide.split())]
        assert named == [name]
        assert end > start
        assert labels[start - 1] == f"{name} 1"
    cover = poppler("pdftotext", pack, tmp_path, "-l", "1")
    assert "Alla organisationers presentationer finns med." in cover

    askersund = "Askersunds kommun"
    with zipfile.ZipFile(
        io.BytesIO(latest_file(runtime, DocumentKind.ORGANISATION_ARCHIVE, askersund))
    ) as archive:
        names = sorted(archive.namelist())
        contents = {name: hashlib.sha256(archive.read(name)).hexdigest() for name in names}
    assert names == [
        "Benchmarking 2 - Askersunds kommun - Agenda.docx",
        "Benchmarking 2 - Askersunds kommun - Agenda.pdf",
        "Benchmarking 2 - Askersunds kommun - Presentation.pdf",
        "Benchmarking 2 - Askersunds kommun - Presentation.pptx",
    ]
    assert (
        contents["Benchmarking 2 - Askersunds kommun - Presentation.pptx"]
        == (stored[(askersund, DocumentKind.DECK, "pptx")])
    )
    assert (
        contents["Benchmarking 2 - Askersunds kommun - Agenda.pdf"]
        == (stored[(askersund, DocumentKind.ORGANISATION_AGENDA, "pdf")])
    )
    with zipfile.ZipFile(io.BytesIO(latest_file(runtime, DocumentKind.MEETING_ARCHIVE))) as archive:
        names = archive.namelist()
        pack_in_zip = archive.read("Benchmarking 2 - Mötespaket.pdf")
        agenda = archive.read("Gemensamt för träffen/Benchmarking 2 - Agenda.docx")
    assert pack_in_zip == pack
    assert hashlib.sha256(agenda).hexdigest() == stored[(None, DocumentKind.AGENDA, "docx")]
    assert "Region Värmland/Benchmarking 2 - Region Värmland - Presentation.pptx" in names
    assert len(names) == 8 * 4 + 2 + 1

    # Organiser material only: not even Askersund's own archive is within its reach.
    archive_row = latest_row(runtime, DocumentKind.ORGANISATION_ARCHIVE, askersund)
    viewer = Viewer(organisation_id=archive_row.organisation_id)
    with runtime.sessions() as session:
        with pytest.raises(NotFoundError):
            visible_document(session, viewer, archive_row.id)
        seen = {item.document.kind for item in latest_visible(session, viewer)}
    assert DocumentKind.DECK in seen
    assert not seen & set(PACK_KINDS)


# -- built here, as a worker would ---------------------------------------------------------------


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_an_upload_replaces_the_prefilled_deck_and_makes_the_nightly_run_rebuild_the_pack(
    runtime: Runtime, sample: ImportSummary, converter: PdfConverter, tmp_path: Path
) -> None:
    make_here(runtime, [DocumentKind.DECK, DocumentKind.MEETING_PACK], converter)
    first = latest_row(runtime, DocumentKind.MEETING_PACK)
    deck = latest_file(runtime, DocumentKind.DECK, "Kalmar kommun")

    unchanged = regenerate_here(
        runtime,
        trigger="manual",
        run_key=None,
        dry_run=False,
        meeting_ids=None,
        today=dt.date(2019, 9, 20),
        inline=True,
        pdf=converter,
    )
    finished = with_title(deck, "Kalmars slutversion")
    upload(runtime, "Kalmar kommun", finished)
    assert latest_row(runtime, DocumentKind.MEETING_PACK).stale_since is not None
    changed = regenerate_here(
        runtime,
        trigger="manual",
        run_key=None,
        dry_run=False,
        meeting_ids=None,
        today=dt.date(2019, 9, 20),
        inline=True,
        pdf=converter,
    )

    assert [c["kind"] for c in unchanged.changes] == []
    assert [(c["kind"], c["reasons"]) for c in changed.changes] == [
        ("meeting_pack", ["inputs changed"])
    ]
    second = latest_row(runtime, DocumentKind.MEETING_PACK)
    assert second.id != first.id and second.status == DocumentStatus.DONE
    assert second.stale_since is None
    assert second.fingerprint != first.fingerprint
    before = runtime.files.get(first.file_key or "")
    after = runtime.files.get(second.file_key or "")
    assert [t for t, _ in outline(after, tmp_path)] == AGENDA_ORDER
    assert "Kalmars slutversion" not in poppler("pdftotext", before, tmp_path)
    kalmar = dict(outline(after, tmp_path))
    text = poppler(
        "pdftotext",
        after,
        tmp_path,
        "-f",
        str(kalmar["Kalmar kommun"]),
        "-l",
        str(kalmar["Region Värmland"] - 1),
    )
    assert "Kalmars slutversion" in text

    # The archive keeps both: the prefilled deck and the one sent back, as it came.
    make_here(runtime, [DocumentKind.ORGANISATION_ARCHIVE], converter)
    archive = latest_file(runtime, DocumentKind.ORGANISATION_ARCHIVE, "Kalmar kommun")
    with zipfile.ZipFile(io.BytesIO(archive)) as package:
        assert package.read("Benchmarking 2 - Kalmar kommun - Presentation (inskickad).pptx") == (
            finished
        )
        assert package.read("Benchmarking 2 - Kalmar kommun - Presentation.pptx") == deck


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_an_unchanged_pack_keeps_its_file(
    runtime: Runtime, sample: ImportSummary, converter: PdfConverter
) -> None:
    make_here(runtime, [DocumentKind.DECK], converter)
    make_here(runtime, [DocumentKind.ORGANISATION_ARCHIVE], converter)
    first = latest_row(runtime, DocumentKind.ORGANISATION_ARCHIVE, "Fagersta kommun")

    make_here(runtime, [DocumentKind.ORGANISATION_ARCHIVE], converter)

    again = latest_row(runtime, DocumentKind.ORGANISATION_ARCHIVE, "Fagersta kommun")
    assert again.id != first.id
    assert again.reused_from_id == first.id
    assert again.sha256 == first.sha256


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_deck_libreoffice_cannot_convert_is_left_out_with_a_note(
    runtime: Runtime, sample: ImportSummary, converter: PdfConverter, tmp_path: Path
) -> None:
    make_here(runtime, [DocumentKind.DECK], converter)
    broken = _unconvertible_deck()
    # Stored as if it had passed the gate: the pack must not trust that LibreOffice copes.
    with unit_of_work(runtime.sessions) as session:
        row = m.Upload(
            organisation_id=organisation_id(runtime, "Region Gotland"),
            kind=UploadKind.DECK,
            meeting_id=meeting_id(runtime, "bm2"),
            file_key="pending",
            file_name="presentation.pptx",
            content_type="application/octet-stream",
            size_bytes=len(broken),
            sha256=hashlib.sha256(broken).hexdigest(),
            uploaded_by="test",
        )
        session.add(row)
        session.flush()
        store_file(runtime.files, row, broken)

    make_here(runtime, [DocumentKind.MEETING_PACK], converter)
    pack = latest_file(runtime, DocumentKind.MEETING_PACK)
    make_here(runtime, [DocumentKind.DECK], converter, with_pdf=True)

    titles = [t for t, _ in outline(pack, tmp_path)]
    assert titles == [name for name in AGENDA_ORDER if name != "Region Gotland"]
    cover = " ".join(poppler("pdftotext", pack, tmp_path, "-l", "1").split())
    note = "den inskickade presentationen kunde inte omvandlas till PDF och är inte med."
    assert f"Region Gotland: {note}" in cover
    # The converter lives on: the decks' PDFs come out after it.
    assert latest_row(runtime, DocumentKind.DECK, "Hedemora kommun").status == DocumentStatus.DONE
    with runtime.sessions() as session:
        pdfs = session.scalars(
            select(m.GeneratedDocument).where(
                m.GeneratedDocument.kind == DocumentKind.DECK, m.GeneratedDocument.format == "pdf"
            )
        ).all()
    assert len(pdfs) == 8 and all(d.status == DocumentStatus.DONE for d in pdfs)


def _unconvertible_deck() -> bytes:
    """A pptx package whose presentation part is not XML: LibreOffice makes nothing of it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/ppt/presentation.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>',
        )
        package.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="ppt/presentation.xml"/></Relationships>',
        )
        package.writestr("ppt/presentation.xml", b"\x00\x01 not xml at all")
    return out.getvalue()


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_pack_out_of_time_goes_on_where_it_stopped(
    runtime: Runtime, sample: ImportSummary, converter: PdfConverter
) -> None:
    make_here(runtime, [DocumentKind.DECK], converter)  # pptx only: the pack converts each
    with runtime.sessions() as session:
        inputs = packs.gather(
            session, DocumentKind.MEETING_PACK, meeting_id=meeting_id(runtime, "bm2"),
            organisation_id=None,
        )  # fmt: skip
    past = time.monotonic() - 1

    with pytest.raises(InputsNotReadyError, match="0 of 8 decks ready"):
        packs.build(inputs, files=runtime.files, pdf=converter, until=past)
    first = packs.build(inputs, files=runtime.files, pdf=converter)
    again = packs.build(inputs, files=runtime.files, pdf=converter, until=past)

    assert first.left_out == [] and again.data == first.data
    assert all(runtime.files.exists(packs.converted_key(f.sha256)) for f in inputs.files)


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_deck_made_again_by_the_nightly_run_is_followed_by_the_pack(
    runtime: Runtime, sample: ImportSummary, converter: PdfConverter
) -> None:
    make_here(runtime, [DocumentKind.DECK, DocumentKind.MEETING_PACK], converter)
    first = latest_row(runtime, DocumentKind.MEETING_PACK)
    change_askersunds_scores(runtime)

    run = regenerate_here(
        runtime, trigger="manual", run_key=None, dry_run=False, meeting_ids=None,
        today=dt.date(2019, 9, 20), inline=True, pdf=converter,
    )  # fmt: skip

    # At planning time the pack's files were still the old deck's: it follows the deck.
    assert [(c["kind"], c["organisation_id"] is None) for c in run.changes] == [
        ("deck", False),
        ("meeting_pack", True),
    ]
    second = latest_row(runtime, DocumentKind.MEETING_PACK)
    assert second.status == DocumentStatus.DONE and second.reused_from_id is None
    assert second.fingerprint != first.fingerprint
    askersund = latest_row(runtime, DocumentKind.DECK, "Askersunds kommun")
    files = (second.inputs or {})["pack"]["files"]
    assert ["Askersunds kommun", "pptx", askersund.sha256] in files
