"""The one encoding policy for CSV text, used by the upload gate and by the roster reader.

Text without NUL bytes, in UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order
mark, or Windows-1252. Windows-1252 is accepted because Swedish Excel's "CSV
(semikolonavgränsad)" saves in it without a BOM; it is tried only when the bytes are not valid
UTF-8, which text with å, ä or ö in Windows-1252 never is, so the two are told apart reliably.
Control characters are refused naming their line; line count and line length are capped. Each
refusal is a FileRejectedError with one actionable problem at location ``file``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from service.errors import FileRejectedError, Problem, RejectionReason
from service.messages import Message, Param, message

_TEXT_CHUNK_BYTES = 256 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _unreadable(code: str, **params: Param) -> FileRejectedError:
    """The refusal of bytes that are not CSV text, with the way to save them as such."""
    text = message(f"gate.csv.{code}", **params)
    return FileRejectedError(RejectionReason.CORRUPT, [Problem.of("file", text)])


def _implausible(code: str, **params: Param) -> FileRejectedError:
    """The refusal of text that no roster comes near: most likely the wrong file."""
    text = message(f"gate.csv.{code}", **params)
    return FileRejectedError(RejectionReason.CONTENT, [Problem.of("file", text)])


@dataclass(frozen=True)
class CsvLimits:
    """Caps on a CSV text: a roster has hundreds of lines of well under a thousand characters."""

    max_lines: int = 100_000
    max_line_chars: int = 65_536


@dataclass(frozen=True)
class CsvText:
    """A CSV file's text and the encoding it was found in."""

    text: str
    encoding: str  # "UTF-8", "UTF-16" or "Windows-1252"


def decode_csv(data: bytes, *, limits: CsvLimits | None = None) -> CsvText:
    """The text of a CSV file that is decodable, within caps and without control characters."""
    limits = limits or CsvLimits()
    if data.startswith(codecs.BOM_UTF8):
        shown = message("gate.csv.utf8_bom")
        return CsvText(_scan_text(data, "utf-8-sig", limits, shown=shown), "UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        shown = message("gate.csv.utf16_bom")
        return CsvText(_scan_text(data, "utf-16", limits, shown=shown), "UTF-16")
    nul = data.find(b"\x00")
    if nul >= 0:
        if _looks_like_utf16(data[:4096]):
            raise _unreadable("utf16_without_bom")
        raise _unreadable("nul", offset=nul)
    try:
        return CsvText(_scan_text(data, "utf-8", limits, shown="UTF-8", fallback=True), "UTF-8")
    except UnicodeDecodeError:
        # Swedish Excel's "CSV (semikolonavgränsad)" is Windows-1252 and says so nowhere.
        text = _scan_text(data, "cp1252", limits, shown=message("gate.csv.utf8_or_1252"))
        return CsvText(text, "Windows-1252")


def _looks_like_utf16(head: bytes) -> bool:
    half = max(len(head) // 2, 1)
    zeros_even = head[0::2].count(0)
    zeros_odd = head[1::2].count(0)
    return max(zeros_even, zeros_odd) > 0.3 * half


def _scan_text(
    data: bytes, codec: str, limits: CsvLimits, *, shown: str | Message, fallback: bool = False
) -> str:
    """Decode in slices and check each line; UnicodeDecodeError escapes only with fallback."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = _LineCheck(limits)
    pieces = []
    view = memoryview(data)
    for start in range(0, len(data), _TEXT_CHUNK_BYTES):
        final = start + _TEXT_CHUNK_BYTES >= len(data)
        chunk = bytes(view[start : start + _TEXT_CHUNK_BYTES])
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            if fallback:
                raise
            # The decoder saw the chunk less a byte-order mark, or with a previous chunk's
            # unfinished character before it: its object ends where the chunk ends.
            offset = start + len(chunk) - len(exc.object) + exc.start
            raise _unreadable(
                "undecodable", encoding=shown, byte=f"{exc.object[exc.start]:#04x}", offset=offset
            ) from exc
        lines.feed(text, final=final)
        pieces.append(text)
    return "".join(pieces)


class _LineCheck:
    """Counts lines and their lengths and finds control characters, slice by slice."""

    def __init__(self, limits: CsvLimits) -> None:
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
            raise _unreadable("control", line=line, char=f"U+{ord(control.group()):04X}")
        pieces = _LINE_BREAK.split(text)
        for piece in pieces[:-1]:
            self._add(len(piece))
            self._end_line()
        self._add(len(pieces[-1]))
        if final and self._length:
            self._end_line()

    def _add(self, characters: int) -> None:
        self._length += characters
        if self._length > self._limits.max_line_chars:
            raise _implausible(
                "line_too_long", line=self._lines + 1, max=self._limits.max_line_chars
            )

    def _end_line(self) -> None:
        self._lines += 1
        self._length = 0
        if self._lines > self._limits.max_lines:
            raise _implausible("too_many_lines", max=self._limits.max_lines)
