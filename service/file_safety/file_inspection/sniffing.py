"""Other binary and markup formats, named from their first bytes, and text named as Office."""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection

from service.errors import RejectionReason
from service.file_safety.csv_text import CONTROL
from service.file_safety.file_inspection.accepted import FileType, refuse
from service.file_safety.file_inspection.ooxml import KINDS
from service.file_safety.zip_guard import damaged

_CSV_EXTENSIONS = frozenset({"", "csv", "txt", "tsv"})


_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"{\\rtf", "an RTF document"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
)
_MARKUP = re.compile(
    r"<(?P<tag>!doctype\s+html|html|head|body|table|meta|div|script|!--|\?xml|svg)\b"
)


def binary_kind(head: bytes) -> str | None:
    for signature, label in _SIGNATURES:
        if head.startswith(signature):
            return label
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:8] == b"ftyp":
        return "a video or HEIC image"
    if head.startswith(b"MZ") and b"\x00" in head:
        return "a program (Windows executable)"
    return None


def markup_kind(head: bytes) -> tuple[str, str] | None:
    """What a file of markup is, and what to do about it."""
    text = _decode_head(head).lstrip("\ufeff \t\r\n").lower()
    found = _MARKUP.match(text)
    if found is None:
        return None
    tag = found.group("tag")
    if tag == "?xml" and "excel.sheet" in text:
        advice = ": open it in Excel and save it as an Excel workbook (.xlsx)"
        return "an Excel 2003 XML spreadsheet", advice
    if tag == "?xml":
        return "an XML file", ""
    if tag == "svg":
        return "an SVG image", ""
    return "a web page (HTML)", ""


def _decode_head(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head[: len(head) // 2 * 2].decode("utf-16", "replace")
    return head.decode("utf-8", "replace")


def refuse_text_named_as_office(
    data: bytes, *, extension: str, accepted: Collection[FileType], wanted: str
) -> None:
    """Content that is no Office file, named like one or sent where CSV is not accepted."""
    what = "text" if _looks_like_text(data[:4096]) else "unrecognised binary data"
    named = _EXTENSION_LABELS.get(extension)
    if named is not None:
        if len(data) < _SMALLEST_ZIP_BYTES:
            raise damaged(
                f"only {len(data)} byte{'s' if len(data) != 1 else ''}, too short to be {named}"
            )
        refuse(
            RejectionReason.WRONG_TYPE,
            f"the name ends in .{extension} but the content is not {named}: it is {what}",
        )
    if FileType.CSV not in accepted:
        refuse(RejectionReason.WRONG_TYPE, f"this is {what}, not {wanted}")
    if extension not in _CSV_EXTENSIONS:
        refuse(
            RejectionReason.WRONG_TYPE,
            f"the name ends in .{extension}; a CSV file's name ends in .csv (the content is "
            f"{what})",
        )


_SMALLEST_ZIP_BYTES = 22
_EXTENSION_LABELS = {
    **{kind.extension: kind.label for kind in KINDS.values()},
    "xls": "an Excel 97-2003 workbook (.xls)",
    "ppt": "a PowerPoint 97-2003 presentation (.ppt)",
    "doc": "a Word 97-2003 document (.doc)",
    "ods": "an OpenDocument spreadsheet (.ods)",
    "odp": "an OpenDocument presentation (.odp)",
    "odt": "an OpenDocument text document (.odt)",
}


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_head(head)
    elif b"\x00" in head:
        return False
    else:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(head, final=False)
    return CONTROL.search(text.replace("\ufffd", "")) is None and text.count("\ufffd") < 4
