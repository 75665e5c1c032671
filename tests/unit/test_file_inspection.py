"""The upload gate: every hostile and benign file of the corpus, and the gate's finer rules."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
from defusedxml import EntitiesForbidden
from lxml import etree  # type: ignore[import-untyped]
from openpyxl.xml.functions import fromstring as openpyxl_fromstring
from pptx.oxml import parse_xml

from service.errors import FileRejectedError, RejectionReason
from service.file_safety import zip_guard
from service.file_safety.file_inspection import (
    FileType,
    InspectedFile,
    UploadLimits,
    display_file_name,
    inspect_upload,
    limits_from_settings,
)
from service.file_safety.xml_guard import MarkupScan, XmlPartCheck
from service.messages import Language
from service.settings import Settings
from tests.conftest import absent
from tests.hostile.compound_file import compound_file
from tests.hostile.corpus import (
    BILLION_LAUGHS,
    ENDPOINT_ACCEPTS,
    ROSTER_ROWS,
    XXE,
    HostileCase,
    checklist_template,
    deck_template,
    endpoints_for,
    generated,
    hostile_cases,
    sheet_with_doctype,
    xlsm,
)
from tests.hostile.zip_builder import (
    RawMember,
    build_zip,
    deflate,
    members_of,
    packed,
    rebuilt,
)
from tests.swedish import english_in

README = Path(__file__).resolve().parents[1] / "hostile" / "README.md"
LIMITS = limits_from_settings(Settings())
CHECKLIST = ENDPOINT_ACCEPTS["checklist"]
DECK = ENDPOINT_ACCEPTS["deck"]
ROSTER = ENDPOINT_ACCEPTS["roster"]
# Builders are lazy: listing the cases to parametrize the tests builds nothing.
RUNS = [(c.id, endpoint) for c in hostile_cases(Path()) for endpoint in endpoints_for(c)]


def refusal(
    data: bytes,
    *,
    name: str = "checklista.xlsx",
    accepted: frozenset[FileType] = CHECKLIST,
    limits: UploadLimits = LIMITS,
) -> FileRejectedError:
    with pytest.raises(FileRejectedError) as raised:
        inspect_upload(data, file_name=name, accepted=accepted, limits=limits)
    # Whatever the refusal, a participant reads it in Swedish.
    assert english_in(swedish(raised.value)) is None, swedish(raised.value)
    return raised.value


def messages(error: FileRejectedError) -> str:
    return " | ".join(p.message for p in error.problems)


def swedish(error: FileRejectedError) -> str:
    """The refusal as a participant reads it; every problem must come from the catalogue."""
    assert all(p.text is not None for p in error.problems), messages(error)
    return " | ".join(p.render(Language.SV) for p in error.problems)


# -- the corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize(("case_id", "endpoint"), RUNS, ids=[f"{c}@{e}" for c, e in RUNS])
def test_every_case_gets_its_outcome_on_every_upload_path(
    corpus: dict[str, HostileCase], case_id: str, endpoint: str
) -> None:
    case = corpus[case_id]
    if (missing := case.missing_tool()) is not None:
        absent(f"{case_id}: {missing}")
    data = case.data()

    if case.reason is None:
        inspected = inspect_upload(
            data, file_name=case.file_name, accepted=ENDPOINT_ACCEPTS[endpoint], limits=LIMITS
        )
        assert inspected.file_type == case.expected_type
        assert inspected.data is data
        assert inspected.file_name == case.file_name
    else:
        error = refusal(data, name=case.file_name, accepted=ENDPOINT_ACCEPTS[endpoint])
        assert error.reason == case.reason, messages(error)
        assert case.message_fragment in messages(error)
        assert all(p.location == "file" for p in error.problems)
        in_swedish = swedish(error)
        assert case.sv_fragment, f"{case_id} has no Swedish fragment"
        assert case.sv_fragment in in_swedish
        assert english_in(in_swedish) is None, in_swedish


def test_the_corpus_covers_every_upload_path_and_the_readme_names_every_case() -> None:
    cases = hostile_cases(Path())
    readme = README.read_text(encoding="utf-8")

    assert len({c.id for c in cases}) == len(cases)
    assert {e for c in cases for e in endpoints_for(c)} == set(ENDPOINT_ACCEPTS)
    assert [c.id for c in cases if f"`{c.id}`" not in readme] == []
    assert {c.reason for c in cases} >= {*RejectionReason, None}


def test_the_corpus_zip_writer_writes_zips_that_zipfile_reads_back() -> None:
    members = [packed("a.xml", b"<a/>" * 1000), packed("b.bin", b"\x00\x01", method=0)]

    archive = zipfile.ZipFile(io.BytesIO(build_zip(members)))

    assert archive.testzip() is None
    assert archive.read("a.xml") == b"<a/>" * 1000
    assert zipfile.ZipFile(io.BytesIO(rebuilt(checklist_template()))).testzip() is None


# -- real files pass comfortably ------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [checklist_template, deck_template, lambda: generated("checklist"), lambda: generated("deck")],
    ids=["checklist-template", "deck-template", "generated-checklist", "generated-deck"],
)
def test_real_files_stay_far_below_the_ratio_limit_and_pass(  # timed in bench/upload_gate.py
    build: Callable[[], bytes],
) -> None:
    data = build()
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    worst = max(i.file_size / max(i.compress_size, 1) for i in infos)
    overall = sum(i.file_size for i in infos) / sum(i.compress_size for i in infos)

    inspected = inspect_upload(data, file_name="x", accepted=CHECKLIST | DECK, limits=LIMITS)

    assert inspected.data is data
    assert worst < LIMITS.max_compression_ratio / 5
    assert overall < LIMITS.max_compression_ratio / 20
    assert len(infos) < LIMITS.max_members / 20


# -- sizes and limits -------------------------------------------------------------------------


def test_limits_come_from_settings() -> None:
    settings = Settings(
        max_upload_bytes=10, max_unpacked_bytes=20, max_compression_ratio=3.0, max_zip_members=4
    )

    limits = limits_from_settings(settings)

    assert (limits.max_bytes, limits.max_unpacked_bytes) == (10, 20)
    assert (limits.max_compression_ratio, limits.max_members) == (3.0, 4)


def test_a_file_over_the_limit_names_its_size_and_the_limit() -> None:
    limits = UploadLimits(
        max_bytes=5_000_000, max_unpacked_bytes=10**9, max_compression_ratio=200, max_members=99
    )

    error = refusal(bytes(7_300_000), limits=limits)

    assert error.reason == RejectionReason.TOO_LARGE
    assert "the file is 7.3 MB, more than the upload limit of 5 MB" in messages(error)


def test_member_count_and_unpacked_size_caps_follow_the_limits() -> None:
    few_members = UploadLimits(
        max_bytes=10**8, max_unpacked_bytes=10**9, max_compression_ratio=200, max_members=10
    )
    little_room = UploadLimits(
        max_bytes=10**8, max_unpacked_bytes=10_000, max_compression_ratio=200, max_members=99
    )

    template = checklist_template()
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        parts = archive.infolist()
    unpacked = zip_guard.describe_size(sum(part.file_size for part in parts))
    too_many = refusal(template, limits=few_members)
    too_big = refusal(template, limits=little_room)

    assert too_many.reason == too_big.reason == RejectionReason.ZIP_BOMB
    assert f"the file has {len(parts)} parts" in messages(too_many)
    assert "at most 10 are accepted" in messages(too_many)
    assert f"would unpack to {unpacked} (" in messages(too_big)
    assert "more than the limit of 10 kB" in messages(too_big)


def test_a_zip64_directory_is_read_and_its_count_judged() -> None:
    data = build_zip([packed(f"p{i}.bin", b"", method=0) for i in range(70_000)])
    roomy = UploadLimits(
        max_bytes=10**8, max_unpacked_bytes=10**9, max_compression_ratio=200, max_members=80_000
    )

    error = refusal(data, limits=roomy)

    assert error.reason == RejectionReason.WRONG_TYPE
    assert "ZIP archive" in messages(error)
    assert len(zip_guard.read_members(data, max_members=80_000)) == 70_000


def test_an_embedded_package_over_its_cap_is_refused() -> None:
    limits = UploadLimits(
        max_bytes=10**8,
        max_unpacked_bytes=10**9,
        max_compression_ratio=200,
        max_members=99,
        max_embedded_bytes=1_000,
    )

    error = refusal(generated("deck"), name="deck.pptx", accepted=DECK, limits=limits)

    assert error.reason == RejectionReason.TOO_LARGE
    assert "ppt/embeddings/Microsoft_Excel_Sheet1.xlsx unpacks to" in messages(error)


# -- streaming inflation ----------------------------------------------------------------------


def test_inflation_stops_one_slice_past_a_lying_header() -> None:
    liar = RawMember("big.bin", deflate(bytes(50_000_000)), 8, 0, 1_000)
    data = build_zip([liar])
    (member,) = zip_guard.read_members(data, max_members=10)
    seen = 0

    with pytest.raises(FileRejectedError) as raised:
        for piece in zip_guard.inflate(data, member):
            seen += len(piece)

    assert raised.value.reason == RejectionReason.ZIP_BOMB
    assert seen == 0  # the first slice already passes the declared size and is never handed out


def test_inflation_gives_back_every_byte_of_large_and_stored_members() -> None:
    content = bytes(range(256)) * 20_000 + bytes(3_000_000)
    data = build_zip([packed("deflated.bin", content), packed("stored.bin", content, method=0)])

    members = zip_guard.read_members(data, max_members=10)
    slices = [list(zip_guard.inflate(data, member)) for member in members]

    assert len(slices) == 2
    for pieces in slices:
        assert b"".join(pieces) == content
        assert max(len(p) for p in pieces) <= zip_guard.OUTPUT_CHUNK_BYTES


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda d: d + b"trailing", "does not match the file's length"),
        (lambda d: d.replace(b"xl/workbook.xml", b"xl/workbooc.xml", 1), "different name"),
        (lambda d: d[:-30], "zip directory"),
    ],
    ids=["trailing-bytes", "local-name-differs", "cut-directory"],
)
def test_damaged_zips_are_refused_as_corrupt(
    damage: Callable[[bytes], bytes], fragment: str
) -> None:
    error = refusal(damage(rebuilt(checklist_template())))

    assert error.reason == RejectionReason.CORRUPT
    assert fragment in messages(error)


def test_two_parts_with_one_name_are_refused() -> None:
    members = members_of(checklist_template())

    error = refusal(build_zip([*members, packed("XL/Workbook.xml", b"<x/>")]))

    assert error.reason == RejectionReason.CORRUPT
    assert "two parts are named 'XL/Workbook.xml'" in messages(error)


# -- XML --------------------------------------------------------------------------------------


def slices_of(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-le", "utf-16-be"])
def test_a_doctype_is_found_however_it_is_encoded_and_sliced(codec: str) -> None:
    document = ("<?xml version='1.0'?>" + XXE + "<worksheet>&xxe;</worksheet>").encode(codec)
    check = XmlPartCheck("xl/worksheets/sheet1.xml")

    with pytest.raises(FileRejectedError) as raised:
        for piece in slices_of(document, 3):
            check.feed(piece)
        check.close()

    assert raised.value.reason == RejectionReason.XML_ATTACK


def test_the_byte_scan_finds_a_declaration_split_between_slices() -> None:
    scan = MarkupScan("xl/drawings/vmlDrawing1.vml")
    scan.feed(b"<xml><!DOC")

    with pytest.raises(FileRejectedError, match=r"vmlDrawing1\.vml contains a document type"):
        scan.feed(b"TYPE x>")


def test_an_xml_part_in_another_encoding_is_refused() -> None:
    sheet = '<?xml version="1.0" encoding="ISO-8859-1"?><worksheet/>'.encode("latin-1")

    error = refusal(rebuilt(checklist_template(), replace={"xl/worksheets/sheet1.xml": sheet}))

    assert error.reason == RejectionReason.CORRUPT
    assert "encoded as ISO-8859-1" in messages(error)


def test_an_empty_part_passes() -> None:
    data = rebuilt(checklist_template(), add={"customXml/item1.xml": b""})

    inspected = inspect_upload(data, file_name="c.xlsx", accepted=CHECKLIST, limits=LIMITS)

    assert zipfile.ZipFile(io.BytesIO(data)).read("customXml/item1.xml") == b""
    assert inspected == InspectedFile(FileType.XLSX, data, "c.xlsx")


def test_openpyxl_refuses_entities_even_if_one_slipped_past_the_gate() -> None:
    data = sheet_with_doctype(XXE, entity="&xxe;")

    with pytest.raises(ValueError, match="invalid XML") as raised:
        openpyxl.load_workbook(io.BytesIO(data))

    assert openpyxl.DEFUSEDXML is True
    assert isinstance(raised.value.__cause__ or raised.value.__context__, EntitiesForbidden)


def test_openpyxl_and_python_pptx_parsers_expand_no_entities() -> None:
    laughs = ("<?xml version='1.0'?>" + BILLION_LAUGHS + "<workbook>&lol9;</workbook>").encode()
    passwd = ("<?xml version='1.0'?>" + XXE + "<worksheet>&xxe;</worksheet>").encode()

    try:
        workbook = openpyxl_fromstring(laughs)
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc)  # libxml2 refuses to expand
    else:
        assert "lol" not in (workbook.text or "")
    slide = parse_xml(passwd)

    assert "root:" not in etree.tostring(slide, encoding="unicode").replace("&xxe;", "")


# -- macros and embedded packages -------------------------------------------------------------


def test_a_macro_enabled_workbook_gets_the_way_out() -> None:
    error = refusal(xlsm(), name="checklista.xlsm")

    assert error.reason == RejectionReason.MACROS
    assert messages(error) == (
        "the file is a macro-enabled workbook (.xlsm, contains xl/vbaProject.bin, its content "
        "type is macro-enabled, its name ends in .xlsm): save it as an ordinary Excel workbook "
        "(.xlsx) and upload again"
    )


def test_a_clean_workbook_named_xlsm_is_refused_for_its_name() -> None:
    error = refusal(checklist_template(), name="checklista.xlsm")

    assert error.reason == RejectionReason.MACROS
    assert "its name ends in .xlsm" in messages(error)


def test_an_embedded_workbook_with_macros_is_refused() -> None:
    data = rebuilt(deck_template(), add={"ppt/embeddings/Microsoft_Excel_Sheet1.xlsm": xlsm()})

    error = refusal(data, name="deck.pptx", accepted=DECK)

    assert error.reason == RejectionReason.MACROS
    assert "embedded file with macros (ppt/embeddings/Microsoft_Excel_Sheet1.xlsm)" in messages(
        error
    )


def test_an_embedded_legacy_workbook_is_an_embedded_object() -> None:
    legacy = compound_file({"Workbook": b"\x09\x08"})
    data = rebuilt(deck_template(), add={"ppt/embeddings/Microsoft_Excel_Sheet7.xlsx": legacy})

    error = refusal(data, name="deck.pptx", accepted=DECK)

    assert error.reason == RejectionReason.MACROS
    assert "embedded object (ppt/embeddings/Microsoft_Excel_Sheet7.xlsx)" in messages(error)


# -- type and name ----------------------------------------------------------------------------


def test_text_sent_where_only_a_workbook_is_accepted_is_the_wrong_type() -> None:
    error = refusal(ROSTER_ROWS.encode(), name="deltagare.csv")

    assert error.reason == RejectionReason.WRONG_TYPE
    assert messages(error) == "this is text, not an Excel workbook (.xlsx)"


def test_a_csv_must_be_named_as_text() -> None:
    error = refusal(ROSTER_ROWS.encode(), name="deltagare.json", accepted=ROSTER)

    assert error.reason == RejectionReason.WRONG_TYPE
    assert "the name ends in .json" in messages(error)


def test_a_file_without_extension_is_judged_by_content_alone() -> None:
    inspected = inspect_upload(checklist_template(), file_name="", accepted=ROSTER, limits=LIMITS)

    assert inspected == InspectedFile(FileType.XLSX, inspected.data, "upload.xlsx")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("C:\\Users\\anna\\Checklista Åre.xlsx", "Checklista Åre.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("rapport\u202excod.exe", "rapportxcod.exe"),
        ("Zoë 👩\u200d💻 Östersund\t\n.xlsx", "Zoë 👩\u200d💻 Östersund .xlsx"),
        ("A\u0308ngelholm.pptx", "Ängelholm.pptx"),
        (
            "Lag 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f.csv",
            "Lag 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f.csv",
        ),
        ("nul\x00byte\x1f.csv", "nulbyte.csv"),
        ("..", ""),
        ("å" * 300 + ".xlsx", "å" * 145 + ".xlsx"),
    ],
)
def test_display_names_keep_letters_and_emoji_and_lose_paths_and_controls(
    given: str, shown: str
) -> None:
    assert display_file_name(given) == shown


# -- CSV ----------------------------------------------------------------------------------------


def csv_limits(*, lines: int = 100_000, line_chars: int = 65_536) -> UploadLimits:
    return UploadLimits(
        max_bytes=10**8,
        max_unpacked_bytes=10**9,
        max_compression_ratio=200,
        max_members=99,
        max_csv_lines=lines,
        max_csv_line_chars=line_chars,
    )


def test_crlf_split_between_slices_counts_as_one_line_break() -> None:
    # The text is read in 256 KiB slices; put a CR at a slice's end and its LF after it.
    first_line = b"a" * (256 * 1024 - 1) + b"\r\n"
    data = first_line + b"b\r\nc\r\n"

    passes = inspect_upload(
        data, file_name="r.csv", accepted=ROSTER, limits=csv_limits(lines=3, line_chars=300_000)
    )
    error = refusal(
        data, name="r.csv", accepted=ROSTER, limits=csv_limits(lines=2, line_chars=300_000)
    )

    assert passes.encoding == "UTF-8"
    assert error.reason == RejectionReason.CONTENT
    assert "more than 2 lines" in messages(error)


def test_a_utf8_file_with_a_mark_must_be_utf8_throughout() -> None:
    error = refusal(b"\xef\xbb\xbfNamn;\xe5\n", name="r.csv", accepted=ROSTER)

    assert error.reason == RejectionReason.CORRUPT
    assert "cannot be read as UTF-8 (it starts with a UTF-8 byte-order mark): byte 0xe5" in (
        messages(error)
    )


def test_a_control_character_is_reported_with_its_line() -> None:
    error = refusal(
        b"Namn;E-post\r\nAnna;a@x.se\r\nBo\x07;b@x.se\r\n", name="r.csv", accepted=ROSTER
    )

    assert error.reason == RejectionReason.CORRUPT
    assert "line 3 contains the control character U+0007" in messages(error)


# -- finding the main part -------------------------------------------------------------------


def test_without_root_relationships_the_content_types_still_name_the_workbook() -> None:
    data = rebuilt(checklist_template(), drop=["_rels/.rels"])

    inspected = inspect_upload(data, file_name="c.xlsx", accepted=CHECKLIST, limits=LIMITS)

    assert inspected.file_type == FileType.XLSX


@pytest.mark.parametrize(
    ("listing", "fragment"),
    [
        (None, "the Office part list [Content_Types].xml is missing"),
        (b"<Types/>", "[Content_Types].xml is not a list of content types"),
    ],
    ids=["missing", "no-namespace"],
)
def test_a_workbook_without_a_usable_part_list_is_damaged(
    listing: bytes | None, fragment: str
) -> None:
    package = checklist_template()
    if listing is None:
        data = rebuilt(package, drop=["[Content_Types].xml"])
    else:
        data = rebuilt(package, replace={"[Content_Types].xml": listing})

    error = refusal(data)

    assert error.reason == RejectionReason.CORRUPT
    assert fragment in messages(error)
