"""Logging for every process (API, ``benchdocs serve``, worker, beat), set up in one place.

``text`` (the default) writes the familiar one-line format; ``json`` one object per line with
``time``, ``level``, ``logger``, ``message`` and the request, batch, document, message and task
ids known when the line was written (``service.observability.log_context``). Either way every
line, exception traces included, passes ``redact_tokens`` last, so a participant's token never
reaches the log, whichever logger wrote it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any, Literal

from service.observability.log_context import current_ids
from service.observability.log_redaction import install_token_redaction, redact_tokens

_HANDLER_NAME = "benchdocs"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(ids)s"
# Loggers that configure themselves (uvicorn) are sent to the root handler instead.
_PROPAGATED = ("uvicorn", "uvicorn.error", "uvicorn.access", "celery")


class ContextIdsFilter(logging.Filter):
    """Puts the context's ids on each record (``record.log_ids``) as it is made."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the ids; never drops a record."""
        if not hasattr(record, "log_ids"):
            record.log_ids = current_ids()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, tokens redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        event: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(getattr(record, "log_ids", None) or {})
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return redact_tokens(json.dumps(event, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """The classic line, the known ids appended as ``key=value``, tokens redacted."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as text."""
        ids = getattr(record, "log_ids", None) or {}
        record.ids = "".join(f" {key}={value}" for key, value in ids.items())
        return redact_tokens(super().format(record))


def configure_logging(
    *,
    log_format: Literal["text", "json"],
    level: str = "INFO",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every logger's records to one handler on the root logger; safe to call again.

    Returns the handler (tests read what it wrote through ``stream``).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextIdsFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in _PROPAGATED:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The access log's own filter stays: it also rewrites the record for any other handler.
    install_token_redaction()
    return handler
