"""The error tree of benchdocs, translated to HTTP status or exit code only at the edges.

BenchdocsError
├── ConfigurationError          bad settings at start-up
├── NotFoundError               an id that does not exist (404)
├── ConflictError               a unique key already taken (409)
├── InvalidInputError           input that breaks a rule (422); carries per-field problems
│   ├── ImportRejectedError     a programme import with one or more bad records
│   └── FileRejectedError       an uploaded file refused before or while reading it (413/415/422)
├── GenerationError             a document could not be produced
│   ├── TemplateError           the template itself is broken (fail once, do not retry)
│   ├── RenderError             data and template do not fit (fail once, do not retry)
│   │   ├── InvalidImageError   an image value that is not usable image data (docx)
│   │   └── InvalidSubdocumentError a sub-document value that cannot be merged (docx)
│   └── TransientError          worth retrying: broker hiccup, converter crash
│       ├── InputsNotReadyError a pack's documents are still being made: try again later
│       └── StoreUnavailableError the file store cannot be reached or written (503)
│           └── StoreFullError    no space left (ENOSPC, EDQUOT): uploads 507, documents retry
└── DeliveryError               an e-mail not handed over; ``swedish`` says why, for organisers
    ├── DeliveryDeferredError   no connection, a 4xx answer: try again later
    └── DeliveryRefusedError    a 5xx answer: fail with the server's words, never retry
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from service.messages import Language, Message


class BenchdocsError(Exception):
    """Base of every error benchdocs raises on purpose."""


class ConfigurationError(BenchdocsError):
    """A setting is missing or malformed."""


class NotFoundError(BenchdocsError):
    """The requested entity does not exist (or is not visible to the caller).

    ``text``, when given, is what a participant reads instead (in their language).
    """

    def __init__(self, message: str, *, text: Message | None = None) -> None:
        self.text = text
        super().__init__(message)


class ConflictError(BenchdocsError):
    """The request clashes with stored data, such as a duplicate reference."""


@dataclass(frozen=True)
class Problem:
    """One problem with one input location, e.g. ``organisations[3].group_id``.

    ``message`` is English; ``text``, when given, renders it in any language (participants'
    problems carry one: see ``service.messages``).
    """

    location: str
    message: str
    text: Message | None = field(default=None, compare=False)

    @classmethod
    def of(cls, location: str, text: Message) -> Problem:
        """A problem whose message comes from the catalogue."""
        return cls(location, text.render(Language.EN), text)

    def render(self, language: Language) -> str:
        """The message in ``language`` (English when it has no catalogue text)."""
        return self.text.render(language) if self.text is not None else self.message


class InvalidInputError(BenchdocsError):
    """Input that is well-formed but breaks a rule; lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        summary = "; ".join(f"{p.location}: {p.message}" for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(summary + more)


class ImportRejectedError(InvalidInputError):
    """A programme import was refused as a whole; nothing was stored."""


class RejectionReason(StrEnum):
    """Why an uploaded file was refused; the API maps each to its HTTP status."""

    EMPTY = "empty"  # 422
    TOO_LARGE = "too_large"  # 413: over the upload size limit
    WRONG_TYPE = "wrong_type"  # 415: content is not what the name or endpoint says
    MACROS = "macros"  # 415: macro-enabled (vbaProject, .xlsm/.pptm)
    ENCRYPTED = "encrypted"  # 415: password-protected OOXML (an OLE container)
    ZIP_BOMB = "zip_bomb"  # 413: too many members, too big or too compressed when unpacked
    XML_ATTACK = "xml_attack"  # 422: DTD, entity declarations, external references
    CORRUPT = "corrupt"  # 422: truncated or broken zip/XML, undecodable text
    CONTENT = "content"  # 422: a readable file whose content breaks the rules (cells, rows)


class FileRejectedError(InvalidInputError):
    """An uploaded file was refused; nothing from it was stored."""

    def __init__(self, reason: RejectionReason, problems: list[Problem]) -> None:
        self.reason = reason
        super().__init__(problems)


class GenerationError(BenchdocsError):
    """A document could not be generated."""


class TemplateError(GenerationError):
    """The template is broken: bad tag syntax, unknown variable, unreadable file."""


class RenderError(GenerationError):
    """Rendering failed for this data; retrying will not help."""


class InvalidImageError(RenderError):
    """An image in the context is not usable: unknown format, cut short or too large."""


class InvalidSubdocumentError(RenderError):
    """A sub-document in the context cannot be merged (not a docx, unsupported parts)."""


class TransientError(GenerationError):
    """A passing failure (broker, converter); the task may be retried."""


class InputsNotReadyError(TransientError):
    """A pack gathers documents that are still pending, queued or running.

    Not a failure: the task comes back later (a countdown), rather than holding a worker
    while the documents it waits for need that worker.
    """


class StoreUnavailableError(TransientError):
    """The file store cannot be reached or written: workers retry, the API answers 503."""


class StoreFullError(StoreUnavailableError):
    """The file store has no space left (ENOSPC, EDQUOT): nothing was stored.

    Transient: a document retries (and is re-sent once space returns); an upload answers 507.
    """


class DeliveryError(BenchdocsError):
    """An e-mail could not be handed to the mail server.

    ``swedish`` is what the outbox shows the organiser (the server's own answer included);
    the English message is for the log.
    """

    def __init__(self, message: str, *, swedish: str | None = None) -> None:
        super().__init__(message)
        self.swedish = swedish or message


class DeliveryDeferredError(DeliveryError):
    """The server could not take the message now (no connection, a 4xx answer): try later."""


class DeliveryRefusedError(DeliveryError):
    """The server refused the message for good (a 5xx answer, a bad address): do not retry."""
