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
from service.messages import Message, Size, message

_CSV_EXTENSIONS = frozenset({"", "csv", "txt", "tsv"})


_SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"{\\rtf", "rtf"),
    (b"PK\x05\x06", "empty_zip"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x7fELF", "elf"),
)
_MARKUP = re.compile(
    r"<(?P<tag>!doctype\s+html|html|head|body|table|meta|div|script|!--|\?xml|svg)\b"
)


def binary_kind(head: bytes) -> Message | None:
    """What a binary file is from its first bytes ("a PDF document"), if it is known."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return message(f"filetype.{kind}")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return message("filetype.webp")
    if head[4:8] == b"ftyp":
        return message("filetype.heic")
    if head.startswith(b"MZ") and b"\x00" in head:
        return message("filetype.exe")
    return None


def markup_kind(head: bytes) -> tuple[Message, str] | None:
    """What a file of markup is, and the catalogue code of its refusal (with what to do)."""
    text = _decode_head(head).lstrip("\ufeff \t\r\n").lower()
    found = _MARKUP.match(text)
    if found is None:
        return None
    tag = found.group("tag")
    if tag == "?xml" and "excel.sheet" in text:
        return message("filetype.excel_2003_xml"), "gate.excel_2003_xml"
    if tag == "?xml":
        return message("filetype.xml"), "gate.not_expected"
    if tag == "svg":
        return message("filetype.svg"), "gate.not_expected"
    return message("filetype.html"), "gate.not_expected"


def _decode_head(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head[: len(head) // 2 * 2].decode("utf-16", "replace")
    return head.decode("utf-8", "replace")


def refuse_text_named_as_office(
    data: bytes, *, extension: str, accepted: Collection[FileType], wanted: Message
) -> None:
    """Content that is no Office file, named like one or sent where CSV is not accepted."""
    what = message("filetype.text" if _looks_like_text(data[:4096]) else "filetype.binary")
    if extension in _OFFICE_EXTENSIONS:
        named = message(f"filetype.{extension}")
        if len(data) < _SMALLEST_ZIP_BYTES:
            raise damaged("too_short", size=Size(len(data)), named=named)
        text = message("gate.name_not_content", extension=extension, named=named, what=what)
        refuse(RejectionReason.WRONG_TYPE, text)
    if FileType.CSV not in accepted:
        refuse(RejectionReason.WRONG_TYPE, message("gate.not_expected", found=what, wanted=wanted))
    if extension not in _CSV_EXTENSIONS:
        refuse(RejectionReason.WRONG_TYPE, message("gate.csv_name", extension=extension, what=what))


_SMALLEST_ZIP_BYTES = 22
_OFFICE_EXTENSIONS = frozenset(
    {*(kind.extension for kind in KINDS.values()), "xls", "ppt", "doc", "ods", "odp", "odt"}
)


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_head(head)
    elif b"\x00" in head:
        return False
    else:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(head, final=False)
    return CONTROL.search(text.replace("\ufffd", "")) is None and text.count("\ufffd") < 4
