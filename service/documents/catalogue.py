"""The catalogue: every document kind, its template file, output name and content type."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.documents.checklist import build_checklist_context
from service.documents.deck import build_deck_context
from service.documents.meeting_documents import (
    build_agenda_context,
    build_feedback_letter_context,
    build_feedback_summary_context,
)
from service.documents.network_overview import build_network_overview_context
from service.documents.organiser_checklist import build_organiser_checklist_context
from service.domain.kinds import DocumentKind

CONTENT_TYPES = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


class PrivateData(StrEnum):
    """An organisation's own data, as opposed to what the whole network shares.

    Change detection keeps one digest per organisation and kind of data, so a document is
    checked again only when data it can show has changed (see ``service.change_detection.stamps``).
    """

    PARTICIPANTS = "participants"  # its delegation
    SCORES = "scores"  # its self-assessment scores and comments
    INITIATIVES = "initiatives"  # its improvement initiatives, indicators and measurements
    ANALYSES = "analyses"  # its leadership and culture analyses
    PLANS = "plans"  # its continuation plans and their activities
    UPLOADS = "uploads"  # the files it sent back
    LETTERS = "letters"  # the organiser's review and release of its feedback letters


@dataclass(frozen=True)
class DocumentSpec:
    """How one kind of document is made."""

    kind: DocumentKind
    title: str
    template_file: str
    per_organisation: bool
    build_context: Callable[[Any], dict[str, Any]]
    offers_pdf: bool = False
    # What change detection may rely on (service.change_detection.stamps): the private data of its
    # own organisation that a per-organisation kind shows, and the private data of OTHER
    # organisations (for a meeting-level kind: of any) that the kind shows. The coverage test
    # (tests/integration/test_stamp_coverage.py) fails when a loader reads more than declared.
    reads_own_organisation: frozenset[PrivateData] = frozenset(PrivateData)
    reads_other_organisations: frozenset[PrivateData] = frozenset()

    @property
    def office_format(self) -> str:
        """The template's own format: ``pptx``, ``docx`` or ``xlsx``."""
        return self.template_file.rsplit(".", 1)[-1].lower()

    def formats(self, *, with_pdf: bool) -> list[str]:
        """The files a batch makes of this kind: the Office file, and a PDF if offered."""
        return [self.office_format] + (["pdf"] if with_pdf and self.offers_pdf else [])

    def file_name(
        self, *, meeting_title: str, organisation_name: str | None, file_format: str
    ) -> str:
        """A readable, safe download name such as ``Benchmarking 2 - Askersunds kommun.pptx``."""
        parts = [self.title, meeting_title]
        if organisation_name:
            parts.append(organisation_name)
        return f"{safe_file_name(' - '.join(parts))}.{file_format}"


# The deck and the letter both show the delegation, the scores, the initiatives and the plan.
_WHAT_THE_ORGANISATION_PRESENTS = frozenset(
    {PrivateData.PARTICIPANTS, PrivateData.SCORES, PrivateData.INITIATIVES, PrivateData.PLANS}
)

CATALOGUE: dict[DocumentKind, DocumentSpec] = {
    DocumentKind.DECK: DocumentSpec(
        kind=DocumentKind.DECK,
        title="Presentation",
        template_file="deck_benchmarking.pptx",
        per_organisation=True,
        build_context=build_deck_context,
        offers_pdf=True,
        # Its leadership and culture analysis and film reflection too.
        reads_own_organisation=_WHAT_THE_ORGANISATION_PRESENTS | {PrivateData.ANALYSES},
    ),
    DocumentKind.CHECKLIST: DocumentSpec(
        kind=DocumentKind.CHECKLIST,
        title="Checklista för jämställdhetsintegrering",
        template_file="checklist.xlsx",
        per_organisation=True,
        build_context=build_checklist_context,
        reads_own_organisation=frozenset({PrivateData.PARTICIPANTS, PrivateData.SCORES}),
    ),
    DocumentKind.AGENDA: DocumentSpec(
        kind=DocumentKind.AGENDA,
        title="Agenda",
        template_file="agenda.docx",
        per_organisation=False,
        build_context=build_agenda_context,
        offers_pdf=True,
        reads_other_organisations=frozenset({PrivateData.PARTICIPANTS}),
    ),
    DocumentKind.ORGANISATION_AGENDA: DocumentSpec(
        kind=DocumentKind.ORGANISATION_AGENDA,
        title="Agenda",
        template_file="agenda.docx",
        per_organisation=True,
        build_context=build_agenda_context,
        offers_pdf=True,
        reads_own_organisation=frozenset({PrivateData.PARTICIPANTS}),
        reads_other_organisations=frozenset({PrivateData.PARTICIPANTS}),
    ),
    DocumentKind.FEEDBACK_LETTER: DocumentSpec(
        kind=DocumentKind.FEEDBACK_LETTER,
        title="Återkoppling",
        template_file="feedback_letter.docx",
        per_organisation=True,
        build_context=build_feedback_letter_context,
        offers_pdf=True,
        reads_own_organisation=_WHAT_THE_ORGANISATION_PRESENTS | {PrivateData.LETTERS},
        # Others' transferable initiatives; the host's (or mentor's) contact signs the letter.
        reads_other_organisations=frozenset({PrivateData.INITIATIVES, PrivateData.PARTICIPANTS}),
    ),
    DocumentKind.FEEDBACK_SUMMARY: DocumentSpec(
        kind=DocumentKind.FEEDBACK_SUMMARY,
        title="Återkoppling till SKR",
        template_file="feedback_summary.docx",
        per_organisation=False,
        build_context=build_feedback_summary_context,
        offers_pdf=True,
        reads_other_organisations=frozenset({PrivateData.PARTICIPANTS}),
    ),
    DocumentKind.ORGANISER_CHECKLIST: DocumentSpec(
        kind=DocumentKind.ORGANISER_CHECKLIST,
        title="Checklista för benchmarkingträffar",
        template_file="organiser_checklist.pptx",
        per_organisation=False,
        build_context=build_organiser_checklist_context,
        offers_pdf=True,
        reads_other_organisations=frozenset(
            {PrivateData.PARTICIPANTS, PrivateData.SCORES, PrivateData.UPLOADS}
        ),
    ),
    # The network's self-assessment for the agenda's "sammanställning för nätverket": every
    # organisation's scores (names are shared data). Organiser material: meeting-level
    # documents are not reachable with an organisation's token (README, "Using it").
    DocumentKind.NETWORK_OVERVIEW: DocumentSpec(
        kind=DocumentKind.NETWORK_OVERVIEW,
        title="Sammanställning för nätverket",
        template_file="network_overview.pptx",
        per_organisation=False,
        build_context=build_network_overview_context,
        offers_pdf=True,
        reads_other_organisations=frozenset({PrivateData.SCORES}),
    ),
    DocumentKind.NETWORK_OVERVIEW_WORKBOOK: DocumentSpec(
        kind=DocumentKind.NETWORK_OVERVIEW_WORKBOOK,
        title="Sammanställning för nätverket",
        template_file="network_overview.xlsx",
        per_organisation=False,
        build_context=build_network_overview_context,
        reads_other_organisations=frozenset({PrivateData.SCORES}),
    ),
}


@dataclass(frozen=True)
class PackSpec:
    """How one kind is assembled from documents already made, without a template.

    The meeting pack and the archives (``service.documents.meeting_pack``) are recorded,
    fingerprinted and regenerated like rendered documents, but their inputs are finished
    files (their sha256s), not a context: change detection checks them apart
    (``service.batches.packs``), and nothing that reads templates ever sees them.
    """

    kind: DocumentKind
    title: str
    per_organisation: bool
    file_format: str

    def formats(self, *, with_pdf: bool) -> list[str]:
        """The one file a pack is: ``pdf`` or ``zip`` (``with_pdf`` does not apply)."""
        return [self.file_format]

    def file_name(
        self, *, meeting_title: str, organisation_name: str | None, file_format: str
    ) -> str:
        """The name people give it: ``Benchmarking 2 - Askersunds kommun - Alla dokument.zip``."""
        parts = [meeting_title, *([organisation_name] if organisation_name else []), self.title]
        return f"{safe_file_name(' - '.join(parts))}.{file_format}"


# In the order a batch makes them: the meeting's archive holds the meeting pack.
PACKS: dict[DocumentKind, PackSpec] = {
    DocumentKind.MEETING_PACK: PackSpec(
        kind=DocumentKind.MEETING_PACK,
        title="Mötespaket",
        per_organisation=False,
        file_format="pdf",
    ),
    DocumentKind.ORGANISATION_ARCHIVE: PackSpec(
        kind=DocumentKind.ORGANISATION_ARCHIVE,
        title="Alla dokument",
        per_organisation=True,
        file_format="zip",
    ),
    DocumentKind.MEETING_ARCHIVE: PackSpec(
        kind=DocumentKind.MEETING_ARCHIVE,
        title="Alla dokument",
        per_organisation=False,
        file_format="zip",
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


def output_spec(kind: DocumentKind) -> DocumentSpec | PackSpec:
    """How a kind is made, rendered or assembled: what batches and listings need of it."""
    return PACKS[kind] if kind in PACKS else CATALOGUE[kind]


def batch_kinds() -> list[DocumentKind]:
    """Every kind a batch can ask for: the rendered ones, then the packs (made from them)."""
    return [*CATALOGUE, *PACKS]


def main_format(kind: DocumentKind) -> str:
    """The format a kind is made in first: its template's, or its pack's one format."""
    spec = output_spec(kind)
    return spec.file_format if isinstance(spec, PackSpec) else spec.office_format
