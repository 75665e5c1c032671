"""Why a document failed, in words an organiser reads (Swedish), and whether it passes.

A transient failure (broker, database, LibreOffice's start, a full or unreachable store) is
retried by its task with back-off; one that outlasts the retries is recorded ``failed`` with
``failed_transient`` set and its cause named, and the periodic resend tries it again later.
Anything else is permanent: it waits for a person (``benchdocs`` retry, or a fixed template).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from service.errors import StoreFullError, StoreUnavailableError, TransientError

# Said at the end of every transient failure's reason: what happens next.
RETRIED_LATER = "Dokumentet skickas om automatiskt när orsaken är borta."


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass by itself: worth retrying with back-off."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def transient_cause(exc: BaseException) -> str:
    """The passing cause, named for a person."""
    text = str(exc)
    if isinstance(exc, StoreFullError):
        return "fillagringen är full (ingen ledig plats på disken)"
    if isinstance(exc, StoreUnavailableError):
        return "fillagringen kan inte nås"
    if isinstance(exc, DBAPIError):
        return "databasen kan inte nås"
    if "LibreOffice" in text or "soffice" in text:
        return "LibreOffice kunde inte starta eller svara"
    if "broker" in text.lower() or "redis" in text.lower():
        return "kön (Redis) kan inte nås"
    return "ett tillfälligt fel"


def transient_reason(exc: BaseException, *, attempts: int) -> str:
    """The reason of a transient failure that outlasted its retries."""
    return (
        f"Tillfälligt fel: {transient_cause(exc)}. Försökt {attempts} gånger "
        f"({type(exc).__name__}: {str(exc)[:500]}). {RETRIED_LATER}"
    )


def unexpected_reason(exc: BaseException) -> str:
    """The reason of a failure nobody planned for; the worker's log has the whole trace."""
    return (
        f"Oväntat fel ({type(exc).__name__}: {str(exc)[:300]}); se arbetarens logg. "
        "Dokumentet väntar på att någon skickar det igen."
    )
