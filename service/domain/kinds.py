"""The closed sets of values benchdocs works with: roles, document kinds, upload kinds, states.

They are domain vocabulary, not storage: the ORM models, the import formats, the API and the
document catalogue all import them from here.
"""

from __future__ import annotations

import enum


class ParticipantRole(enum.StrEnum):
    """Roles a participant can have in the delegation (Swedish identifiers, as SKR uses)."""

    POLITIKER = "politiker"
    CHEF = "chef"
    STRATEG = "strateg"
    CONTROLLER = "controller"
    STATISTIKER = "statistiker"
    KOMMUNIKATOR = "kommunikatör"
    OVRIG = "övrig"


class DocumentKind(enum.StrEnum):
    """Kinds of document benchdocs generates; the catalogue maps each to a template."""

    DECK = "deck"  # per organisation: its presentation for the meeting (pptx)
    CHECKLIST = "checklist"  # per organisation: the self-assessment checklist (xlsx)
    AGENDA = "agenda"  # per meeting (docx, pdf)
    ORGANISATION_AGENDA = "organisation_agenda"  # the agenda with one organisation's slots marked
    ORGANISER_CHECKLIST = "organiser_checklist"  # per meeting, for the host (pptx)
    FEEDBACK_LETTER = "feedback_letter"  # per organisation (docx, pdf)
    FEEDBACK_SUMMARY = "feedback_summary"  # per meeting: Plus – Minus – Intressant to SKR (docx)
    NETWORK_OVERVIEW = "network_overview"  # per meeting: the network's self-assessment (pptx)
    NETWORK_OVERVIEW_WORKBOOK = "network_overview_workbook"  # the same figures (xlsx)


class IndicatorPopulation(enum.StrEnum):
    """Whom an indicator's two values are about: how the split is labelled in documents."""

    WOMEN_MEN = "kvinnor_män"  # adults: "kvinnor" / "män" (the default)
    GIRLS_BOYS = "flickor_pojkar"  # children and pupils: "flickor" / "pojkar"
    NEUTRAL = "neutral"  # mixed ages: "kvinnor och flickor" / "män och pojkar"


class AttendanceStatus(enum.StrEnum):
    """Whether a participant came to a meeting (DOMAIN.md: anmäld, deltog, förhinder)."""

    REGISTERED = "anmäld"
    ATTENDED = "deltog"
    ABSENT = "förhinder"


class UploadKind(enum.StrEnum):
    """What a participant sends back."""

    CHECKLIST = "checklist"  # the filled self-assessment checklist (xlsx): becomes scores
    DECK = "deck"  # the finished presentation (pptx), due by the meeting's upload deadline


class BatchOrigin(enum.StrEnum):
    """Who asked for a batch."""

    ORGANISER = "organiser"  # POST /meetings/{id}/batches or `benchdocs generate`
    REGENERATION = "regeneration"  # the nightly run or `benchdocs regenerate`


class DocumentStatus(enum.StrEnum):
    """Life of a generated document: the database is the truth, not the broker."""

    PENDING = "pending"  # recorded, not yet handed to the broker
    QUEUED = "queued"  # handed to the broker
    RUNNING = "running"  # a worker has started it
    DONE = "done"
    FAILED = "failed"


class PortalRole(enum.StrEnum):
    """Who a portal session is for: an organiser's account or one organisation's link."""

    ORGANISER = "organiser"
    PARTICIPANT = "participant"
