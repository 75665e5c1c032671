"""PDFs through a real LibreOffice, cold and warm: text, tags, language, hangs, crashes."""

from __future__ import annotations

import concurrent.futures
import io
import os
import shutil
import struct
import subprocess
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import docx
import openpyxl
import pikepdf
import psutil
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm
from lxml import etree
from pptx import Presentation
from pptx.enum.lang import MSO_LANGUAGE_ID

from service.engines.pptx_engine import PptxTemplate
from service.errors import ConfigurationError, RenderError, TransientError
from service.pdf import libreoffice
from service.pdf.libreoffice import (
    ColdLibreOfficeConverter,
    WarmLibreOfficeConverter,
    converter_for,
    make_pdf_converter,
)
from service.pdf.previews import render_previews
from service.settings import Settings
from tests.conftest import absent
from tests.unit.test_deck_template import DECK_TEMPLATE, make_deck_context

pytestmark = pytest.mark.needs_tools("soffice", "pdftotext")

SWEDISH = "Förflyttning i jämställdhetsintegrering: Åsa och Örjan i Växjö 🎉"
GENEROUS_TIMEOUT = 90.0  # two shared cores: a conversion may take seconds under load


# Builders --------------------------------------------------------------------------------------


def make_docx(text: str = SWEDISH, *, language: str = "sv-SE", picture_alt: str = "") -> bytes:
    document = docx.Document()
    defaults = document.styles.element.find(qn("w:docDefaults"))
    run_defaults = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = run_defaults.find(qn("w:lang"))
    if lang is None:
        lang = etree.SubElement(run_defaults, qn("w:lang"))
    lang.set(qn("w:val"), language)
    document.add_heading("Återkoppling", level=1)
    document.add_paragraph(text)
    if picture_alt:
        document.add_picture(io.BytesIO(make_png()), width=Cm(3))
        picture = document.inline_shapes[0]._inline
        picture.docPr.set("descr", picture_alt)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_pptx(text: str = SWEDISH, *, slides: int = 1) -> bytes:
    presentation = Presentation()
    for number in range(1, slides + 1):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = f"Bild {number}"
        body = slide.placeholders[1].text_frame
        body.text = text
        for paragraph in [*slide.shapes.title.text_frame.paragraphs, *body.paragraphs]:
            for run in paragraph.runs:
                run.font.language_id = MSO_LANGUAGE_ID.SWEDISH
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def make_xlsx(text: str = SWEDISH) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Checklista"
    sheet["A1"] = text
    sheet["A2"] = "Område"
    sheet["B2"] = 3
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_png() -> bytes:
    """A 2x2 red PNG, enough for a picture with alt text."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


BUILDERS: dict[str, Callable[[], bytes]] = {"pptx": make_pptx, "docx": make_docx, "xlsx": make_xlsx}


# Helpers ---------------------------------------------------------------------------------------


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text-check.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def normalised(text: str) -> str:
    return " ".join(text.split())


def libreoffice_descendants() -> set[int]:
    """Process ids of the live soffice.bin processes this test process started."""
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "soffice.bin" and child.status() != psutil.STATUS_ZOMBIE:
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def wait_until_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def office_pid(converter: WarmLibreOfficeConverter) -> int:
    pid = converter.office_pid
    assert pid is not None
    return pid


# Fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def make_warm() -> Iterator[Callable[..., WarmLibreOfficeConverter]]:
    """Warm converters of the test's own, always closed afterwards."""
    made: list[WarmLibreOfficeConverter] = []

    def make(**options: Any) -> WarmLibreOfficeConverter:
        options.setdefault("timeout_seconds", GENEROUS_TIMEOUT)
        try:
            converter = WarmLibreOfficeConverter(**options)
        except ConfigurationError as error:
            absent(f"no warm converter here: {error}")
        made.append(converter)
        return converter

    yield make
    for converter in made:
        converter.close()


@pytest.fixture(scope="module")
def warm() -> Iterator[WarmLibreOfficeConverter]:
    """One warm LibreOffice shared by the tests that only convert."""
    try:
        converter = WarmLibreOfficeConverter(timeout_seconds=GENEROUS_TIMEOUT)
    except ConfigurationError as error:
        absent(f"no warm converter here: {error}")
    yield converter
    converter.close()


@pytest.fixture(scope="module")
def cold() -> ColdLibreOfficeConverter:
    return ColdLibreOfficeConverter(timeout_seconds=GENEROUS_TIMEOUT)


# Conversion ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["warm", "cold"])
@pytest.mark.parametrize("source_format", ["pptx", "docx", "xlsx"])
def test_each_format_becomes_a_pdf_with_its_swedish_text(
    engine: str, source_format: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    converter = request.getfixturevalue(engine)

    pdf = converter.convert(BUILDERS[source_format](), source_format=source_format)

    assert pdf.startswith(b"%PDF-")
    assert SWEDISH in normalised(pdf_text(pdf, tmp_path))


@pytest.mark.parametrize("engine", ["warm", "cold"])
@pytest.mark.parametrize("source_format", ["pptx", "docx", "xlsx"])
def test_the_pdf_is_tagged_and_in_swedish(
    engine: str, source_format: str, request: pytest.FixtureRequest
) -> None:
    converter = request.getfixturevalue(engine)

    pdf = converter.convert(BUILDERS[source_format](), source_format=source_format)

    assert b"/MarkInfo" in pdf
    assert b"/Lang(sv-SE)" in pdf


def test_a_writer_pdf_takes_its_language_from_the_document(warm: WarmLibreOfficeConverter) -> None:
    pdf = warm.convert(make_docx(language="en-GB"), source_format="docx")

    assert b"/Lang(en-GB)" in pdf
    assert b"/StructTreeRoot" in pdf


def test_alt_text_reaches_the_pdf(warm: WarmLibreOfficeConverter) -> None:
    pdf = warm.convert(make_docx(picture_alt="Stapeldiagram per område"), source_format="docx")

    alt = "Stapeldiagram per område".encode("utf-16-be").hex().upper()
    assert b"/Figure" in pdf
    assert f"/Alt<FEFF{alt}>".encode() in pdf


def figure_alt_texts_by_page(pdf: bytes) -> dict[int, list[str]]:
    """The /Alt of every Figure in the PDF's structure tree, by page number (from 1)."""
    document = pikepdf.open(io.BytesIO(pdf))
    pages = {page.obj.objgen: number for number, page in enumerate(document.pages, 1)}
    found: dict[int, list[str]] = {}

    def walk(kids: Any) -> None:
        if isinstance(kids, pikepdf.Array):
            for kid in kids:
                walk(kid)
        elif isinstance(kids, pikepdf.Dictionary) and "/S" in kids:
            if kids.get("/S") == pikepdf.Name.Figure:
                number = pages[kids.get("/Pg").objgen]
                found.setdefault(number, []).append(str(kids.get("/Alt", "")))
            walk(kids.get("/K"))

    walk(document.Root.StructTreeRoot.get("/K"))
    return found


@pytest.mark.parametrize("engine", ["warm", "cold"])
def test_the_decks_charts_keep_their_alt_text_in_the_pdf(
    engine: str, request: pytest.FixtureRequest
) -> None:
    converter = request.getfixturevalue(engine)
    context = make_deck_context()
    deck = PptxTemplate.from_bytes(DECK_TEMPLATE.read_bytes(), name=DECK_TEMPLATE.name)
    titles = [s.shapes.title.text for s in Presentation(io.BytesIO(deck.render(context))).slides]

    pdf = converter.convert(deck.render(context), source_format="pptx")

    figures = figure_alt_texts_by_page(pdf)
    area_page = titles.index("Självskattning – resultat per område") + 1
    assert figures[area_page] == [context["area_chart"]["description"]]
    results = [n for n, title in enumerate(titles, 1) if title.startswith("Resultat – ")]
    assert [figures[n] for n in results] == [
        [chart["chart"]["description"]] for chart in context["results"]["charts"]
    ]


def test_random_bytes_are_a_render_error_and_leave_libreoffice_warm(
    warm: WarmLibreOfficeConverter,
) -> None:
    warm.convert(make_docx(), source_format="docx")
    pid = office_pid(warm)

    with pytest.raises(RenderError, match="not a docx file"):
        warm.convert(os.urandom(4096), source_format="docx")
    with pytest.raises(RenderError, match="not a xlsx file"):
        warm.convert(make_docx(), source_format="xlsx")
    with pytest.raises(RenderError, match="only docx, pptx, xlsx"):
        warm.convert(make_docx(), source_format="odt")

    warm.convert(make_docx(), source_format="docx")
    assert office_pid(warm) == pid


def test_a_document_libreoffice_cannot_read_is_a_render_error(
    warm: WarmLibreOfficeConverter,
) -> None:
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as package:
        package.writestr("word/document.xml", b"<<not xml")
    warm.convert(make_docx(), source_format="docx")
    pid = office_pid(warm)

    with pytest.raises(RenderError, match="could not read the file as MS Word 2007 XML"):
        warm.convert(broken.getvalue(), source_format="docx")

    assert office_pid(warm) == pid


def test_cold_converter_refuses_random_bytes(cold: ColdLibreOfficeConverter) -> None:
    with pytest.raises(RenderError, match="not a pptx file"):
        cold.convert(os.urandom(4096), source_format="pptx")


# The warm process ------------------------------------------------------------------------------


def test_nothing_starts_before_the_first_conversion(
    make_warm: Callable[..., WarmLibreOfficeConverter],
) -> None:
    before = libreoffice_descendants()

    converter = make_warm()

    assert converter.office_pid is None
    assert libreoffice_descendants() == before


def test_five_files_go_through_one_libreoffice(
    make_warm: Callable[..., WarmLibreOfficeConverter],
) -> None:
    converter = make_warm()
    before = libreoffice_descendants()
    pids = []

    for source_format in ["docx", "pptx", "xlsx", "docx", "pptx"]:
        converter.convert(BUILDERS[source_format](), source_format=source_format)
        pids.append(office_pid(converter))

    assert len(set(pids)) == 1
    assert libreoffice_descendants() - before == {pids[0]}


def test_libreoffice_restarts_after_the_configured_number_of_conversions(
    make_warm: Callable[..., WarmLibreOfficeConverter],
) -> None:
    converter = make_warm(restart_after=2)
    pids = []

    for _ in range(3):
        converter.convert(make_docx(), source_format="docx")
        pids.append(office_pid(converter))

    assert pids[0] == pids[1]
    assert pids[2] != pids[0]
    assert wait_until_gone(pids[0])


def test_a_hung_libreoffice_is_killed_and_the_next_call_starts_afresh(
    make_warm: Callable[..., WarmLibreOfficeConverter],
) -> None:
    converter = make_warm(timeout_seconds=10)
    converter.convert(make_docx(), source_format="docx")
    hung = office_pid(converter)
    psutil.Process(hung).suspend()  # SIGSTOP: LibreOffice stops answering, like a real hang

    started = time.monotonic()
    with pytest.raises(TransientError, match="hung"):
        converter.convert(make_docx(), source_format="docx")

    assert time.monotonic() - started < 10 + 5
    assert wait_until_gone(hung)
    assert converter.office_pid is None
    pdf = converter.convert(make_pptx(), source_format="pptx")
    assert pdf.startswith(b"%PDF-")
    assert office_pid(converter) != hung


def test_a_tiny_timeout_counts_as_a_hang_and_leaves_no_libreoffice(
    make_warm: Callable[..., WarmLibreOfficeConverter],
) -> None:
    converter = make_warm(timeout_seconds=0.001)
    before = libreoffice_descendants()

    with pytest.raises(TransientError, match="hung"):
        converter.convert(make_pptx(slides=5), source_format="pptx")

    assert converter.office_pid is None
    deadline = time.monotonic() + 15
    while libreoffice_descendants() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert libreoffice_descendants() - before == set()


def test_a_crash_between_conversions_is_survived(
    make_warm: Callable[..., WarmLibreOfficeConverter], tmp_path: Path
) -> None:
    converter = make_warm()
    converter.convert(make_docx(), source_format="docx")
    crashed = office_pid(converter)

    psutil.Process(crashed).kill()
    assert wait_until_gone(crashed)
    pdf = converter.convert(make_xlsx(), source_format="xlsx")

    assert SWEDISH in normalised(pdf_text(pdf, tmp_path))
    assert office_pid(converter) != crashed


def test_close_leaves_no_libreoffice_behind(
    make_warm: Callable[..., WarmLibreOfficeConverter],
) -> None:
    before = libreoffice_descendants()
    converter = make_warm()
    converter.convert(make_pptx(), source_format="pptx")
    pid = office_pid(converter)

    converter.close()

    assert converter.office_pid is None
    assert wait_until_gone(pid, timeout=1)
    assert libreoffice_descendants() == before - {pid}


def test_conversions_from_several_threads_share_one_libreoffice(
    make_warm: Callable[..., WarmLibreOfficeConverter], tmp_path: Path
) -> None:
    converter = make_warm()
    documents = [make_docx(f"Dokument {n} åäö") for n in range(4)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda data: converter.convert(data, source_format="docx"), documents))

    for n, pdf in enumerate(pdfs):
        assert f"Dokument {n} åäö" in pdf_text(pdf, tmp_path)


# Configuration ---------------------------------------------------------------------------------


def test_a_missing_libreoffice_names_what_to_install() -> None:
    with pytest.raises(ConfigurationError, match="apt-get install libreoffice-core"):
        ColdLibreOfficeConverter(soffice="no-such-soffice")


def test_a_python_without_uno_names_python3_uno() -> None:
    with pytest.raises(ConfigurationError, match="python3-uno"):
        WarmLibreOfficeConverter(uno_python=shutil.which("false"))


def test_the_factory_falls_back_to_cold_without_uno(caplog: pytest.LogCaptureFixture) -> None:
    with mock.patch.object(libreoffice, "find_uno_python", autospec=True, return_value=None):
        converter = make_pdf_converter(warm=True, timeout_seconds=30, restart_after=5)

    assert isinstance(converter, ColdLibreOfficeConverter)
    assert "python3-uno" in caplog.text


def test_the_factory_makes_a_warm_converter_when_it_can() -> None:
    converter = make_pdf_converter(warm=True, timeout_seconds=30, restart_after=5)

    if isinstance(converter, WarmLibreOfficeConverter):
        converter.close()
    elif os.environ.get("CI"):
        pytest.fail("CI should have python3-uno for the warm converter")
    assert isinstance(
        make_pdf_converter(warm=False, timeout_seconds=30, restart_after=5),
        ColdLibreOfficeConverter,
    )


def test_the_configured_restart_after_reaches_the_converter_a_process_builds() -> None:
    settings = Settings(
        pdf_warm_converter=True, pdf_restart_after=2, pdf_timeout_seconds=GENEROUS_TIMEOUT
    )
    converter = converter_for(settings)
    if not isinstance(converter, WarmLibreOfficeConverter):
        if os.environ.get("CI"):
            pytest.fail(f"CI should have python3-uno for the warm converter, got {converter!r}")
        pytest.skip("no python3-uno here: converter_for falls back to the cold converter")
    pids = []

    try:
        for _ in range(3):
            converter.convert(make_docx(), source_format="docx")
            pids.append(office_pid(converter))
    finally:
        converter.close()

    assert pids[0] == pids[1]
    assert pids[2] != pids[0]  # restarted after 2 conversions, not the default 200


def test_a_process_configured_for_cold_conversion_gets_the_cold_converter() -> None:
    converter = converter_for(Settings(pdf_warm_converter=False))

    assert isinstance(converter, ColdLibreOfficeConverter)


# Previews --------------------------------------------------------------------------------------


def test_previews_have_one_png_per_page(warm: WarmLibreOfficeConverter, tmp_path: Path) -> None:
    sources = tmp_path / "out"
    sources.mkdir()
    (sources / "deck.pptx").write_bytes(make_pptx(slides=3))
    (sources / "letter.docx").write_bytes(make_docx())
    previews = tmp_path / "previews"
    previews.mkdir()
    (previews / "deck.pptx-4.png").write_bytes(b"a page the deck no longer has")

    pages = render_previews(
        [sources / "deck.pptx", sources / "letter.docx"], previews, converter=warm
    )

    assert [page.name for page in pages] == [
        "deck.pptx-1.png",
        "deck.pptx-2.png",
        "deck.pptx-3.png",
        "letter.docx-1.png",
    ]
    assert all(page.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for page in pages)
    assert sorted(previews.iterdir()) == sorted(pages)
