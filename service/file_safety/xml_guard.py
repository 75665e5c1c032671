"""Refuse XML parts that carry a DTD, and XML parts that are not well-formed, as they stream in.

Office never writes a document type declaration, and every XML attack on a parser (billion
laughs, quadratic blowup, external entities, an external DTD) needs one, so any DOCTYPE is
refused outright instead of being configured away parser by parser. Each part is parsed in
full by expat as its slices arrive, with no handler other than the ones that refuse: memory
stays flat, the part is known to be well-formed, and a DOCTYPE is caught wherever it stands
and in whatever encoding expat reads (it reads UTF-8 and UTF-16 with or without a byte-order
mark). A byte scan in front of the parser names a DOCTYPE as an attack even in a part the
parser would give up on first (an encoding it does not know, say), and it is the only check
for VML drawings, which Excel does not always write as well-formed XML.
"""

from __future__ import annotations

from typing import NoReturn
from xml.parsers import expat

from service.errors import FileRejectedError, Problem, RejectionReason
from service.messages import message

# ECMA-376 Part 2, 8.1.4: the XML of a package is UTF-8 or UTF-16, nothing else.
_ENCODINGS = frozenset({"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii"})
_MARKERS = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!doctype", "<!ENTITY", "<!entity")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)
_OVERLAP = max(len(marker) for marker in _MARKERS) - 1


def xml_attack(part: str) -> FileRejectedError:
    """The refusal of a part with a document type declaration."""
    text = message("gate.xml_attack", part=part)
    return FileRejectedError(RejectionReason.XML_ATTACK, [Problem.of("file", text)])


class MarkupScan:
    """Finds a DOCTYPE or ENTITY declaration in raw bytes, across slice boundaries."""

    def __init__(self, part: str) -> None:
        self._part = part
        self._tail = b""

    def feed(self, piece: bytes) -> None:
        """Scan the next slice; raises FileRejectedError on a declaration."""
        window = self._tail + piece
        if any(marker in window for marker in _MARKERS):
            raise xml_attack(self._part)
        self._tail = window[-_OVERLAP:]


class XmlPartCheck:
    """A streaming well-formedness and no-DTD check of one XML part."""

    def __init__(self, part: str) -> None:
        self._part = part
        self._scan = MarkupScan(part)
        self._seen = False
        self._parser = expat.ParserCreate()
        # Each of these can only fire inside a DTD; any of them firing is refused.
        self._parser.StartDoctypeDeclHandler = self._refuse_dtd
        self._parser.EntityDeclHandler = self._refuse_dtd
        self._parser.ExternalEntityRefHandler = self._refuse_dtd
        self._parser.XmlDeclHandler = self._check_declaration

    def feed(self, piece: bytes) -> None:
        """Parse the next slice of the part."""
        self._scan.feed(piece)
        self._seen = self._seen or bool(piece)
        self._parse(piece, final=False)

    def close(self) -> None:
        """Finish the part; an empty part is let through (there is nothing in it to attack)."""
        if self._seen:
            self._parse(b"", final=True)

    def _parse(self, piece: bytes, *, final: bool) -> None:
        try:
            self._parser.Parse(piece, final)
        except expat.ExpatError as exc:
            text = message("gate.xml_malformed", part=self._part, error=str(exc))
            raise FileRejectedError(RejectionReason.CORRUPT, [Problem.of("file", text)]) from exc

    def _refuse_dtd(self, *_: object) -> NoReturn:
        raise xml_attack(self._part)

    def _check_declaration(self, _version: str, encoding: str | None, _standalone: int) -> None:
        if encoding is not None and encoding.lower() not in _ENCODINGS:
            text = message("gate.xml_encoding", part=self._part, encoding=encoding)
            raise FileRejectedError(RejectionReason.CORRUPT, [Problem.of("file", text)])
