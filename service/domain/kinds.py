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
    # Assembled from documents already made, not rendered (catalogue.PACKS):
    MEETING_PACK = "meeting_pack"  # per meeting: every deck in agenda order, one PDF
    ORGANISATION_ARCHIVE = "organisation_archive"  # per organisation: all its documents (zip)
    MEETING_ARCHIVE = "meeting_archive"  # per meeting: every document of the meeting (zip)


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


class MessageKind(enum.StrEnum):
    """E-mails benchdocs sends; each has an editable Swedish template (doc_templates/messages)."""

    INVITATION = "invitation"  # to each participant, 14 days before the meeting
    UPLOAD_REMINDER = "upload_reminder"  # to organisations missing an upload, 3 days before
    LATE_UPLOADS = "late_uploads"  # to the organiser, the day after the upload deadline
    LETTER_READY = "letter_ready"  # to the organisation's participants, when a letter is released
    MEETING_CHANGED = "meeting_changed"  # a calendar update when the meeting's time or place moved


class MessageState(enum.StrEnum):
    """Life of an outbox message: the database is the truth, not the broker or the server."""

    HELD = "held"  # waits for an organiser to send it (or was stopped by one)
    QUEUED = "queued"  # handed to the broker for sending
    SENDING = "sending"  # a worker is talking to the SMTP server (or was, when it died)
    SENT = "sent"  # the server accepted it (or it was written to the outbox folder)
    FAILED = "failed"  # refused for good (5xx, no address) or retries ran out
    CANCELLED = "cancelled"  # an organiser decided it should not go
