"""The roster's columns: the headers accepted for each, and the words accepted for roles.

Headers and role words are compared as ``header_key`` makes them: case, spacing, diacritics
and notes in brackets do not matter, so "E-post (arbete)" is the e-mail column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from service.domain import limits
from service.domain.kinds import ParticipantRole


class Col(StrEnum):
    """The fields a roster column can hold."""

    ORGANISATION_REF = "organisation_ref"
    ORGANISATION = "organisation"
    TYPE = "type"
    COUNTY = "county"
    PROGRAMME_ROLE = "programme_role"
    GROUP = "group"
    PARTICIPANT_REF = "participant_ref"
    NAME = "name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    ROLE = "role"
    TITLE = "title"
    EMAIL = "email"
    PHONE = "phone"


Level = Literal["organisation", "participant"]


@dataclass(frozen=True)
class ColumnSpec:
    """A roster column: the header we print, the headers we accept, the longest value."""

    key: Col
    label: str
    aliases: tuple[str, ...]
    max_length: int
    level: Level


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        Col.ORGANISATION_REF,
        "Organisation-id",
        (
            "Organisations-id",
            "Org-id",
            "Organisation ref",
            "Organisationsreferens",
            "Organisation id",
            "Organization id",
            "Organisation_ref",
        ),
        limits.REF,
        "organisation",
    ),
    ColumnSpec(
        Col.ORGANISATION,
        "Organisation",
        (
            "Organisationsnamn",
            "Organisation namn",
            "Organisation name",
            "Organization",
            "Organization name",
            "Kommun/region",
            "Kommun eller region",
        ),
        limits.SHORT_TEXT,
        "organisation",
    ),
    ColumnSpec(
        Col.TYPE,
        "Typ",
        ("Organisationstyp", "Type", "Organisation type", "Organization type"),
        limits.CODE,
        "organisation",
    ),
    ColumnSpec(Col.COUNTY, "Län", ("County",), limits.LABEL, "organisation"),
    ColumnSpec(
        Col.PROGRAMME_ROLE,
        "Roll i programmet",
        ("Programroll", "Programme role", "Program role", "Role in the programme"),
        limits.CODE,
        "organisation",
    ),
    ColumnSpec(
        Col.GROUP,
        "Grupp",
        ("Kluster", "Benchmarkinggrupp", "Group", "Cluster"),
        limits.SHORT_TEXT,
        "organisation",
    ),
    ColumnSpec(
        Col.PARTICIPANT_REF,
        "Deltagar-id",
        ("Deltagare-id", "Person-id", "Deltagarreferens", "Participant id", "Participant ref"),
        limits.REF,
        "participant",
    ),
    ColumnSpec(
        Col.NAME,
        "Namn",
        ("Deltagare", "Deltagarnamn", "Fullständigt namn", "Name", "Full name", "Participant"),
        limits.SHORT_TEXT,
        "participant",
    ),
    ColumnSpec(
        Col.FIRST_NAME,
        "Förnamn",
        ("First name", "Given name"),
        limits.SHORT_TEXT,
        "participant",
    ),
    ColumnSpec(
        Col.LAST_NAME,
        "Efternamn",
        ("Last name", "Surname", "Family name"),
        limits.SHORT_TEXT,
        "participant",
    ),
    ColumnSpec(
        Col.ROLE,
        "Roll",
        ("Deltagarroll", "Roll i delegationen", "Role"),
        limits.SHORT_TEXT,
        "participant",
    ),
    ColumnSpec(
        Col.TITLE,
        "Titel",
        ("Befattning", "Tjänstetitel", "Title", "Job title", "Position"),
        limits.SHORT_TEXT,
        "participant",
    ),
    ColumnSpec(
        Col.EMAIL,
        "E-post",
        ("E-postadress", "Epost", "Mejl", "Mejladress", "Mail", "Email", "E-mail", "Email address"),
        limits.EMAIL,
        "participant",
    ),
    ColumnSpec(
        Col.PHONE,
        "Telefon",
        ("Telefonnummer", "Tel", "Tel.nr", "Mobil", "Mobilnummer", "Phone", "Telephone", "Mobile"),
        limits.CODE,
        "participant",
    ),
)
SPECS: Mapping[Col, ColumnSpec] = {spec.key: spec for spec in COLUMNS}

ORGANISATION_COLUMNS = tuple(s.key for s in COLUMNS if s.level == "organisation")
PARTICIPANT_COLUMNS = tuple(s.key for s in COLUMNS if s.level == "participant")


def header_key(text: str) -> str:
    """A header as compared: "E-post (arbete)" and "e post" are both "epost"."""
    without_notes = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", text)
    decomposed = unicodedata.normalize("NFKD", without_notes.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


HEADERS: Mapping[str, Col] = {
    header_key(name): spec.key for spec in COLUMNS for name in (spec.label, *spec.aliases)
}

# Participant roles: every accepted spelling (compared like headers) -> the stored role.
ROLE_WORDS: Mapping[ParticipantRole, tuple[str, ...]] = {
    ParticipantRole.POLITIKER: ("politiker", "förtroendevald", "politician"),
    ParticipantRole.CHEF: ("chef", "ledande tjänsteperson", "manager"),
    ParticipantRole.STRATEG: ("strateg", "nyckelperson", "jämställdhetsstrateg", "strategist"),
    ParticipantRole.CONTROLLER: ("controller",),
    ParticipantRole.STATISTIKER: ("statistiker", "statistician"),
    ParticipantRole.KOMMUNIKATOR: (
        "kommunikatör",
        "kommunikationsansvarig",
        "communicator",
        "communications officer",
    ),
    ParticipantRole.OVRIG: ("övrig", "övriga", "annan", "other"),
}
ROLES: Mapping[str, ParticipantRole] = {
    header_key(word): role for role, words in ROLE_WORDS.items() for word in words
}
ROLE_CHOICES = ", ".join(role.value for role in ParticipantRole)

PROGRAMME_ROLES: Mapping[str, str] = {
    "mentor": "mentor",
    "mentororganisation": "mentor",
    "mentorkommun": "mentor",
    "mentorregion": "mentor",
    "benchmarkingorganisation": "benchmarkingorganisation",
    "benchmarking": "benchmarkingorganisation",
    "benchmarkingkommun": "benchmarkingorganisation",
    "benchmarkingregion": "benchmarkingorganisation",
}
