"""Keep tokens from download links out of access logs.

A link in an e-mail carries its token as ``?token=`` (downloads) or in the path (the portal's
``/lank/<token>``); uvicorn's access log writes the whole path. This filter replaces the
token before the line is written; any text shaped like a token (``bdt_`` and 43 characters)
is replaced wherever it stands, and so is the key of a reminder's opt-out link.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&#\s]*", re.IGNORECASE)
_TOKEN_ANYWHERE = re.compile(r"bdt_[A-Za-z0-9_-]{20,}")
# The key of a reminder's opt-out link (``/e-post/avsluta/<key>``) is a capability too.
_OPT_OUT_KEY = re.compile(r"(/e-post/avsluta/)[A-Za-z0-9_-]+")
REDACTED = "[redacted]"


def redact_tokens(text: str) -> str:
    """The text with every ``token=`` query value and every token-shaped word replaced."""
    text = _OPT_OUT_KEY.sub(rf"\g<1>{REDACTED}", text)
    return _TOKEN_ANYWHERE.sub(REDACTED, _TOKEN_IN_QUERY.sub(rf"\g<1>{REDACTED}", text))


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
