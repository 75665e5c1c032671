"""Keep tokens from download links out of access logs.

A link in an e-mail carries its token as ``?token=`` (downloads) or in the path (the portal's
``/lank/<token>``); uvicorn's access log writes the whole path. This filter replaces the
token before the line is written; any text shaped like a token (``bdt_`` and 43 characters)
is replaced wherever it stands, and so is the key of a reminder's opt-out link.

Query strings are parsed, not matched as text: the server decodes ``?%74oken=`` or
``?TOKEN=`` to the same parameter, so the key is compared after unquoting (as
``urllib.parse.parse_qsl`` does, repeatedly, so a doubly encoded key counts too), and a
percent-encoded word is checked for a token in its decoded form.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote_plus

_TOKEN_ANYWHERE = re.compile(r"bdt_[A-Za-z0-9_-]{20,}")
# The key of a reminder's opt-out link (``/e-post/avsluta/<key>``) is a capability too, and so
# is the portal's participant link (``/lank/<token>``), whatever the token looks like.
_CAPABILITY_PATH = re.compile(r"(/(?:e-post/avsluta|lank)/)[^/?#\s\"'\\]+")
# A query string: from ``?`` to the first character that cannot be part of a logged URL.
_QUERY = re.compile(r"\?([^\s\"'#\\<>]*)")
# A word with percent-escapes in it (a path or a value logged still encoded).
_ENCODED_WORD = re.compile(r"[^\s\"'\\<>]*%[0-9A-Fa-f]{2}[^\s\"'\\<>]*")
_TOKEN_KEYS = frozenset({"token", "access_token"})
REDACTED = "[redacted]"
# Enough rounds of unquoting for any real link; a hostile one stops here, still redacted.
_UNQUOTE_ROUNDS = 4


def _decoded(text: str) -> str:
    """``text`` unquoted until it stops changing (bounded)."""
    for _ in range(_UNQUOTE_ROUNDS):
        once = unquote_plus(text)
        if once == text:
            break
        text = once
    return text


def _is_token_key(raw_key: str) -> bool:
    pairs = parse_qsl(f"{raw_key}=", keep_blank_values=True)
    key = pairs[0][0] if pairs else raw_key
    return _decoded(key).strip().lower() in _TOKEN_KEYS


def _redact_query(match: re.Match[str]) -> str:
    """Each ``key=value`` pair whose key decodes to ``token`` loses its value."""
    pieces = []
    for piece in match.group(1).split("&"):
        key, sep, _value = piece.partition("=")
        pieces.append(f"{key}={REDACTED}" if sep and _is_token_key(key) else piece)
    return "?" + "&".join(pieces)


def _redact_encoded_word(match: re.Match[str]) -> str:
    """An encoded word that decodes to a token or a capability path is replaced whole."""
    word = match.group(0)
    decoded = _decoded(word)
    if _TOKEN_ANYWHERE.search(decoded) or _CAPABILITY_PATH.search(decoded):
        return REDACTED
    return word


def redact_tokens(text: str) -> str:
    """The text with every token query value, capability path and token-shaped word replaced."""
    text = _QUERY.sub(_redact_query, text)
    text = _ENCODED_WORD.sub(_redact_encoded_word, text)
    text = _CAPABILITY_PATH.sub(rf"\g<1>{REDACTED}", text)
    return _TOKEN_ANYWHERE.sub(REDACTED, text)


class TokenRedactingFilter(logging.Filter):
    """Rewrites a record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place and let the record through."""
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def install_token_redaction(logger_name: str = "uvicorn.access") -> None:
    """Add the filter to a logger once (uvicorn's access log by default)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
        logger.addFilter(TokenRedactingFilter())
