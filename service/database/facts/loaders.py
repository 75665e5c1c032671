"""Which loader gives each document kind its facts (the registry beside the catalogue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.database.facts.checklist import load_checklist_facts
from service.database.facts.meeting_documents import (
    load_agenda_facts,
    load_feedback_letter_facts,
    load_feedback_summary_facts,
)
from service.database.facts.network_overview import load_network_overview_facts
from service.database.facts.organiser_checklist import load_organiser_checklist_facts
from service.database.facts.records import load_deck_facts
from service.domain.kinds import DocumentKind

# Each takes (session, *, meeting_id, organisation_id, shared) and returns the kind's facts.
FactsLoader = Callable[..., Any]

LOADERS: dict[DocumentKind, FactsLoader] = {
    DocumentKind.DECK: load_deck_facts,
    DocumentKind.CHECKLIST: load_checklist_facts,
    DocumentKind.AGENDA: load_agenda_facts,
    DocumentKind.ORGANISATION_AGENDA: load_agenda_facts,
    DocumentKind.FEEDBACK_LETTER: load_feedback_letter_facts,
    DocumentKind.FEEDBACK_SUMMARY: load_feedback_summary_facts,
    DocumentKind.ORGANISER_CHECKLIST: load_organiser_checklist_facts,
    DocumentKind.NETWORK_OVERVIEW: load_network_overview_facts,
    DocumentKind.NETWORK_OVERVIEW_WORKBOOK: load_network_overview_facts,
}
