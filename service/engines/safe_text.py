"""Make arbitrary text storable in XML 1.0 without changing what a reader sees."""

from __future__ import annotations

import re

# XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Everything else (C0 controls, lone surrogates, U+FFFE, U+FFFF) makes lxml raise, so we drop it.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 forbids; all other text is kept as is.

    U+000B, Word's manual line break, is a newline here, so every engine prints it as the line
    break it turns newlines into; intake stores it as a newline already, and this catches text
    that came another way (an older row, a direct context).
    """
    return _NOT_XML_CHAR.sub("", text.replace("\x0b", "\n"))
