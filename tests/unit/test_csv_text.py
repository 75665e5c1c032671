"""The one CSV encoding policy: what the upload gate accepts is what the roster reads."""

from __future__ import annotations

import codecs
import dataclasses

import pytest

from service.errors import FileRejectedError, RejectionReason
from service.file_safety.csv_text import CsvLimits, CsvText, decode_csv
from service.file_safety.file_inspection import FileType, UploadLimits, inspect_upload
from service.intake.roster_format import read_table

TEXT = "Organisation;Namn;Roll\r\nÖstra Göinge kommun;Åsa Öberg;kommunikatör\r\n"
GATE_LIMITS = UploadLimits(
    max_bytes=10**8, max_unpacked_bytes=10**9, max_compression_ratio=200, max_members=99
)

READABLE = [
    pytest.param(codecs.BOM_UTF8 + TEXT.encode("utf-8"), "UTF-8", id="UTF-8 with a mark"),
    pytest.param(TEXT.encode("utf-8"), "UTF-8", id="UTF-8"),
    pytest.param(TEXT.encode("utf-16"), "UTF-16", id="UTF-16 with a mark"),
    pytest.param(codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "UTF-16", id="UTF-16 BE"),
    pytest.param(TEXT.encode("cp1252"), "Windows-1252", id="Windows-1252"),
]
REFUSED = [
    pytest.param(
        codecs.BOM_UTF8 + b"Namn;\xe5\n",
        RejectionReason.CORRUPT,
        "the file cannot be read as UTF-8 (it starts with a UTF-8 byte-order mark): byte 0xe5 "
        "near byte 8 is not valid there;",
        id="a UTF-8 mark on Windows-1252 text",
    ),
    pytest.param(
        b"Organisation;Namn\n\x81\x8d;x\n",
        RejectionReason.CORRUPT,
        "the file cannot be read as UTF-8 or Windows-1252: byte 0x81 near byte 18",
        id="neither UTF-8 nor Windows-1252",
    ),
    pytest.param(
        codecs.BOM_UTF16_LE + "Namn\n".encode("utf-16-le") + b"\x00\xd8",
        RejectionReason.CORRUPT,
        "the file cannot be read as UTF-16 (it starts with a UTF-16 byte-order mark)",
        id="UTF-16 with a lone surrogate",
    ),
    pytest.param(
        b"Namn;E-post\r\nAnna;a@x.se\r\nBo\x07;b@x.se\r\n",
        RejectionReason.CORRUPT,
        "line 3 contains the control character U+0007, which a CSV file does not",
        id="a control character",
    ),
    pytest.param(
        "Namn\nÅsa\x1b\n".encode("cp1252"),
        RejectionReason.CORRUPT,
        "line 2 contains the control character U+001B",
        id="a control character in Windows-1252 text",
    ),
    pytest.param(
        b"Namn;Roll\nAnna\x00;chef\n",
        RejectionReason.CORRUPT,
        "the file contains NUL bytes (the first at byte 14), so it is not a text file",
        id="a NUL byte",
    ),
    pytest.param(
        "Namn;Roll\nAnna;chef\n".encode("utf-16-le"),
        RejectionReason.CORRUPT,
        "the file looks like UTF-16 text without a byte-order mark",
        id="UTF-16 without a mark",
    ),
]


@pytest.mark.parametrize(("data", "encoding"), READABLE)
def test_each_accepted_encoding_gives_the_text_without_its_mark(data: bytes, encoding: str) -> None:
    decoded = decode_csv(data)

    assert decoded == CsvText(TEXT, encoding)


@pytest.mark.parametrize(("data", "reason", "message"), REFUSED)
def test_a_file_outside_the_policy_is_refused_saying_why(
    data: bytes, reason: RejectionReason, message: str
) -> None:
    with pytest.raises(FileRejectedError) as caught:
        decode_csv(data)

    (problem,) = caught.value.problems
    assert caught.value.reason == reason
    assert problem.location == "file"
    assert problem.message.startswith(message)
    assert problem.message.endswith(
        'save it from Excel as "CSV UTF-8 (kommaavgränsad)" and upload again'
    )


@pytest.mark.parametrize(("data", "encoding"), READABLE)
def test_the_gate_and_the_roster_reader_accept_the_same_text(data: bytes, encoding: str) -> None:
    inspected = inspect_upload(data, file_name="r.csv", accepted={FileType.CSV}, limits=GATE_LIMITS)
    table = read_table(data, file_type="csv")

    assert inspected.csv == CsvText(TEXT, encoding)
    assert table.description.startswith(f"CSV, {encoding}, ")
    assert [cells for _, cells in table.rows] == [
        ["Organisation", "Namn", "Roll"],
        ["Östra Göinge kommun", "Åsa Öberg", "kommunikatör"],
    ]


@pytest.mark.parametrize(("data", "reason", "message"), REFUSED)
def test_the_gate_and_the_roster_reader_refuse_alike(
    data: bytes, reason: RejectionReason, message: str
) -> None:
    with pytest.raises(FileRejectedError) as at_the_gate:
        inspect_upload(data, file_name="r.csv", accepted={FileType.CSV}, limits=GATE_LIMITS)
    with pytest.raises(FileRejectedError) as in_the_reader:
        read_table(data, file_type="csv")

    assert at_the_gate.value.reason == in_the_reader.value.reason == reason
    assert at_the_gate.value.problems == in_the_reader.value.problems


def test_text_read_in_slices_is_whole_even_when_a_letter_straddles_two_slices() -> None:
    # 256 KiB slices: put a two-byte å across the first boundary, then make the file
    # Windows-1252 at the end, so the UTF-8 attempt fails late and the text is read again.
    text = "a" * (256 * 1024 - 1) + "å\r\n" + "b\r\n"
    utf8 = text.encode("utf-8")
    cp1252 = ("x" * (256 * 1024 + 5) + "\r\nÖrebro\r\n").encode("cp1252")

    assert decode_csv(utf8, limits=CsvLimits(max_line_chars=300_000)) == CsvText(text, "UTF-8")
    assert decode_csv(cp1252, limits=CsvLimits(max_line_chars=300_000)) == CsvText(
        cp1252.decode("cp1252"), "Windows-1252"
    )


def test_the_upload_caps_reach_the_csv_policy() -> None:
    data = b"Namn\r\n" + b"Anna\r\n" * 3

    limited = dataclasses.replace(GATE_LIMITS, max_csv_lines=3, max_csv_line_chars=10)

    assert limited.csv == CsvLimits(max_lines=3, max_line_chars=10)
    with pytest.raises(FileRejectedError, match="more than 3 lines"):
        inspect_upload(data, file_name="r.csv", accepted={FileType.CSV}, limits=limited)
    assert decode_csv(data).text == data.decode()


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param(b"", id="bad byte in the first slice"),
        pytest.param(b"a" * (256 * 1024 - 4) + "å".encode(), id="after a letter across slices"),
    ],
)
def test_a_bad_byte_is_placed_by_its_offset_in_the_file(prefix: bytes) -> None:
    data = codecs.BOM_UTF8 + prefix + b"Namn;\xe5\n"

    with pytest.raises(FileRejectedError) as caught:
        decode_csv(data, limits=CsvLimits(max_line_chars=300_000))

    offset = data.index(b"\xe5")
    assert f"byte 0xe5 near byte {offset:,} is not valid" in caught.value.problems[0].message
