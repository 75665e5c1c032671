"""Make arbitrary text storable in XML 1.0 without changing what a reader sees."""

from __future__ import annotations

import re

# XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Everything else (C0 controls, lone surrogates, U+FFFE, U+FFFF) makes lxml raise, so we drop it.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 forbids; all other text is kept as is."""
    return _NOT_XML_CHAR.sub("", text)
