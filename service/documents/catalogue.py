"""The catalogue: every document kind, its template file, output name and content type."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.database.models import DocumentKind
from service.documents.deck import build_deck_context

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


@dataclass(frozen=True)
class DocumentSpec:
    """How one kind of document is made."""

    kind: DocumentKind
    title: str
    template_file: str
    extension: str
    content_type: str
    per_organisation: bool
    build_context: Callable[[Any], dict[str, Any]]

    def file_name(self, *, meeting_title: str, organisation_name: str | None) -> str:
        """A readable, safe download name such as ``Benchmarking 2 - Askersunds kommun.pptx``."""
        parts = [self.title, meeting_title]
        if organisation_name:
            parts.append(organisation_name)
        return safe_file_name(" - ".join(parts)) + self.extension


CATALOGUE: dict[DocumentKind, DocumentSpec] = {
    DocumentKind.DECK: DocumentSpec(
        kind=DocumentKind.DECK,
        title="Presentation",
        template_file="deck_benchmarking.pptx",
        extension=".pptx",
        content_type=PPTX,
        per_organisation=True,
        build_context=build_deck_context,
    ),
}

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_file_name(name: str, *, max_length: int = 150) -> str:
    """Strip what file systems and browsers choke on; keep åäö (NFC) and spaces."""
    cleaned = _UNSAFE.sub("", unicodedata.normalize("NFC", name)).strip(" .")
    cleaned = re.sub(r"\s+", " ", cleaned)[:max_length].rstrip(" .")
    return cleaned or "dokument"


def spec_for(kind: DocumentKind) -> DocumentSpec:
    """The spec of a kind benchdocs can generate; KeyError for one not yet available."""
    return CATALOGUE[kind]


def available_kinds() -> list[DocumentKind]:
    """Kinds with a template and a context builder, in catalogue order."""
    return list(CATALOGUE)
