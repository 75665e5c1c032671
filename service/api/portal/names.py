"""Swedish names of the document kinds, the same on every page, with the generate form's hints."""

from __future__ import annotations

from service.domain.kinds import DocumentKind

# Each kind's name and a one-line hint of what it is for.
KIND_WORDS: dict[DocumentKind, tuple[str, str]] = {
    DocumentKind.DECK: (
        "Presentation",
        "Som organisationen fyller i och visar på träffen.",
    ),
    DocumentKind.CHECKLIST: (
        "Checklista för jämställdhetsintegrering",
        "För organisationens självskattning.",
    ),
    DocumentKind.ORGANISATION_AGENDA: (
        "Agenda för organisationen",
        "Träffens agenda med organisationens egna punkter markerade.",
    ),
    DocumentKind.FEEDBACK_LETTER: (
        "Återkopplingsbrev",
        "Organisationen ser brevet först när ni har släppt det.",
    ),
    DocumentKind.AGENDA: ("Agenda för träffen", "Den gemensamma agendan för alla organisationer."),
    DocumentKind.ORGANISER_CHECKLIST: (
        "Checklista för benchmarkingträffar",
        "För värden och arrangören: före, under och efter träffen.",
    ),
    DocumentKind.FEEDBACK_SUMMARY: (
        "Återkoppling till SKR",
        "Plus, minus och intressant från träffen.",
    ),
    DocumentKind.NETWORK_OVERVIEW: (
        "Sammanställning för nätverket (presentation)",
        "Nätverkets självskattning som bilder.",
    ),
    DocumentKind.NETWORK_OVERVIEW_WORKBOOK: (
        "Sammanställning för nätverket (Excel)",
        "Samma siffror som presentationen, att räkna vidare med.",
    ),
    DocumentKind.MEETING_PACK: (
        "Mötespaket (PDF)",
        "Alla organisationers presentationer i agendans ordning, i en fil för projektorn.",
    ),
    DocumentKind.ORGANISATION_ARCHIVE: (
        "Alla dokument (zip)",
        "Organisationens alla dokument i en zip-fil. Bara för arrangörer.",
    ),
    DocumentKind.MEETING_ARCHIVE: (
        "Alla dokument för träffen (zip)",
        "Träffens alla dokument, en mapp per organisation, och mötespaketet.",
    ),
}

KIND_NAMES = {kind: words[0] for kind, words in KIND_WORDS.items()}


def kind_label(kind: DocumentKind) -> str:
    """A kind's name in Swedish."""
    return KIND_WORDS.get(kind, (kind.value, ""))[0]
