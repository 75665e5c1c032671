"""CSV: decodable text within caps and without control characters."""

from __future__ import annotations

import codecs
import re

from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.file_inspection.accepted import UploadLimits

_TEXT_CHUNK_BYTES = 256 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SAVE_AS_CSV = 'save it from Excel as "CSV UTF-8 (kommaavgränsad)" and upload again'


def check_csv(data: bytes, limits: UploadLimits) -> str:
    """The encoding of a CSV file whose text is decodable, within caps, without control bytes."""
    if data.startswith(codecs.BOM_UTF8):
        _scan_text(
            data, "utf-8-sig", limits, shown="UTF-8 (it starts with a UTF-8 byte-order mark)"
        )
        return "UTF-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _scan_text(data, "utf-16", limits, shown="UTF-16 (it starts with a UTF-16 byte-order mark)")
        return "UTF-16"
    nul = data.find(b"\x00")
    if nul >= 0:
        if _looks_like_utf16(data[:4096]):
            raise FileRejectedError(
                RejectionReason.CORRUPT,
                [
                    Problem(
                        "file",
                        "the file looks like UTF-16 text without a byte-order mark, "
                        f"which cannot be read reliably: {_SAVE_AS_CSV}",
                    )
                ],
            )
        raise FileRejectedError(
            RejectionReason.CORRUPT,
            [
                Problem(
                    "file",
                    f"the file contains NUL bytes (the first at byte {nul:,}), so it "
                    f"is not a text file: {_SAVE_AS_CSV}",
                )
            ],
        )
    try:
        _scan_text(data, "utf-8", limits, shown="UTF-8", fallback=True)
    except UnicodeDecodeError:
        # Swedish Excel's "CSV (semikolonavgränsad)" is Windows-1252 and says so nowhere.
        _scan_text(data, "cp1252", limits, shown="UTF-8 or Windows-1252")
        return "Windows-1252"
    return "UTF-8"


def _looks_like_utf16(head: bytes) -> bool:
    half = max(len(head) // 2, 1)
    zeros_even = head[0::2].count(0)
    zeros_odd = head[1::2].count(0)
    return max(zeros_even, zeros_odd) > 0.3 * half


def _scan_text(
    data: bytes, codec: str, limits: UploadLimits, *, shown: str, fallback: bool = False
) -> None:
    """Decode in slices and check each line; UnicodeDecodeError escapes only with fallback."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = _LineCheck(limits)
    view = memoryview(data)
    for start in range(0, len(data), _TEXT_CHUNK_BYTES):
        final = start + _TEXT_CHUNK_BYTES >= len(data)
        try:
            text = decoder.decode(bytes(view[start : start + _TEXT_CHUNK_BYTES]), final)
        except UnicodeDecodeError as exc:
            if fallback:
                raise
            offset = start + exc.start
            raise FileRejectedError(
                RejectionReason.CORRUPT,
                [
                    Problem(
                        "file",
                        f"the file cannot be read as {shown}: byte "
                        f"{exc.object[exc.start]:#04x} near byte {offset:,} is not valid there; "
                        f"{_SAVE_AS_CSV}",
                    )
                ],
            ) from exc
        lines.feed(text, final=final)


class _LineCheck:
    """Counts lines and their lengths and finds control characters, slice by slice."""

    def __init__(self, limits: UploadLimits) -> None:
        self._limits = limits
        self._lines = 0
        self._length = 0
        self._pending = ""

    def feed(self, text: str, *, final: bool) -> None:
        text = self._pending + text
        self._pending = ""
        if not final and text.endswith("\r"):
            # A CR at a slice's end may be the first half of CRLF.
            self._pending, text = "\r", text[:-1]
        if (control := CONTROL.search(text)) is not None:
            line = self._lines + 1 + len(_LINE_BREAK.findall(text, 0, control.start()))
            raise FileRejectedError(
                RejectionReason.CORRUPT,
                [
                    Problem(
                        "file",
                        f"line {line:,} contains the control character "
                        f"U+{ord(control.group()):04X}, which a CSV file does not: "
                        f"{_SAVE_AS_CSV}",
                    )
                ],
            )
        pieces = _LINE_BREAK.split(text)
        for piece in pieces[:-1]:
            self._add(len(piece))
            self._end_line()
        self._add(len(pieces[-1]))
        if final and self._length:
            self._end_line()

    def _add(self, characters: int) -> None:
        self._length += characters
        if self._length > self._limits.max_csv_line_chars:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [
                    Problem(
                        "file",
                        f"line {self._lines + 1:,} is longer than "
                        f"{self._limits.max_csv_line_chars:,} characters, which no roster "
                        "line is: check that this is the right file",
                    )
                ],
            )

    def _end_line(self) -> None:
        self._lines += 1
        self._length = 0
        if self._lines > self._limits.max_csv_lines:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [
                    Problem(
                        "file",
                        f"the file has more than {self._limits.max_csv_lines:,} "
                        "lines, far more than any roster: check that this is the right file",
                    )
                ],
            )
