"""The ids a log line carries when known: request, batch, document, message (context variables).

Entry points set them (a request's middleware, a task's start); a use case adds what it learns
(the batch it started). Each asyncio task or thread has its own copy, so requests never mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

LOG_IDS = ("request_id", "batch_id", "document_id", "message_id", "task_id")

_vars: dict[str, ContextVar[str | int | None]] = {
    name: ContextVar(f"benchdocs_{name}", default=None) for name in LOG_IDS
}


def current_ids() -> dict[str, str | int]:
    """The ids known in this context (those not set are left out)."""
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


def set_ids(**ids: str | int | None) -> dict[str, Token[str | int | None]]:
    """Set some ids for the rest of this context; the tokens undo it (``reset_ids``)."""
    unknown = set(ids) - set(_vars)
    if unknown:
        raise ValueError(f"unknown log ids: {sorted(unknown)}")
    return {name: _vars[name].set(value) for name, value in ids.items()}


def reset_ids(tokens: dict[str, Token[str | int | None]]) -> None:
    """Put back what ``set_ids`` replaced."""
    for name, token in tokens.items():
        _vars[name].reset(token)


def clear_ids() -> None:
    """Forget every id (a worker process between two tasks)."""
    for var in _vars.values():
        var.set(None)


@contextmanager
def log_ids(**ids: str | int | None) -> Iterator[None]:
    """The ids for the duration of a block."""
    tokens = set_ids(**ids)
    try:
        yield
    finally:
        reset_ids(tokens)
