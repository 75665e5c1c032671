"""Messages people read, keyed by code with parameters, in Swedish and English.

Participants are answered in Swedish; the organiser's API may stay English. A message is
raised as a ``Message`` (a code and its parameters), never as finished text, so each edge
renders it in the reader's language: the API by ``Accept-Language`` (Swedish by default for a
participant's token), the CLI in English. Parameters are rendered in the same language:
numbers with the language's digit grouping, quoted values with its quotation marks, and a
parameter that is itself a ``Message`` (a file type's name, "an empty cell") in turn.
Places (``BM 2!D12``, ``file``) keep their machine form in ``path`` and are read out by
``place`` ("Fliken BM 2, cell D12").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias


class Language(StrEnum):
    """The languages messages exist in."""

    SV = "sv"
    EN = "en"


@dataclass(frozen=True)
class Quoted:
    """A value the reader typed or a file holds, shown in quotation marks."""

    text: str


Param: TypeAlias = "str | int | Quoted | Message | tuple[Param, ...]"


@dataclass(frozen=True)
class Message:
    """One message: a catalogue code and the parameters its texts name."""

    code: str
    params: Mapping[str, Param] = field(default_factory=dict, hash=False)

    def render(self, language: Language = Language.EN) -> str:
        """The message's text in ``language``."""
        texts = CATALOGUE[self.code]
        template = texts[language]
        return template.format_map({k: _param(v, language) for k, v in self.params.items()})


def message(code: str, **params: Param) -> Message:
    """A message of the catalogue; an unknown code or a missing parameter fails at once."""
    texts = CATALOGUE[code]
    for text in texts.values():
        text.format_map({k: "" for k in params})  # KeyError for a parameter left out
    return Message(code, params)


def _param(value: Param, language: Language) -> str:
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, Quoted):
        return repr(value.text) if language is Language.EN else f"”{value.text}”"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        grouped = f"{value:,}"
        return grouped if language is Language.EN else grouped.replace(",", "\u00a0")
    if isinstance(value, tuple):
        return ", ".join(_param(v, language) for v in value)
    return value


_CELL = re.compile(r"^(?P<sheet>.+)!(?P<cell>\$?[A-Z]{1,3}\$?[0-9]{1,7})$")
_PLACES = {
    "file": {Language.SV: "Filen", Language.EN: "file"},
    "workbook": {Language.SV: "Arbetsboken", Language.EN: "workbook"},
    "round": {Language.SV: "Omgång", Language.EN: "round"},
}


def place(location: str, language: Language) -> str:
    """A problem's location as a person reads it: ``Fliken BM 2, cell D12``."""
    if (cell := _CELL.match(location)) is not None:
        if language is Language.SV:
            return f"Fliken {cell['sheet']}, cell {cell['cell']}"
        return f"sheet {cell['sheet']}, cell {cell['cell']}"
    known = _PLACES.get(location)
    return known[language] if known else location


_ACCEPT = re.compile(
    r"^\s*(?P<tag>[A-Za-z]{1,8}|\*)(?:-[A-Za-z0-9]{1,8})*\s*"
    r"(?:;\s*q\s*=\s*(?P<q>[0-9.]{1,5}))?\s*$"
)


_LANGUAGES = frozenset(language.value for language in Language)


def negotiate(accept_language: str | None, *, default: Language) -> Language:
    """The language an ``Accept-Language`` header prefers among ours; ``default`` if none."""
    best: tuple[float, int] | None = None
    chosen = default
    for position, item in enumerate((accept_language or "").split(",")[:20]):
        match = _ACCEPT.match(item)
        if match is None:
            continue
        try:
            weight = float(match["q"]) if match["q"] else 1.0
        except ValueError:
            continue
        tag = match["tag"].lower()
        if tag == "*":
            found = default
        elif tag in _LANGUAGES:
            found = Language(tag)
        else:
            continue
        if weight > 0 and (best is None or (weight, -position) > best):
            best, chosen = (weight, -position), found
    return chosen


# Every message a participant can see: code -> its Swedish and English texts. The English
# texts are the ones the API has always answered with; the Swedish ones say the same to a
# reader who is not a programmer ("fliken", "cellen", "raden", never a hidden id).
CATALOGUE: dict[str, dict[Language, str]] = {}


def _add(code: str, *, sv: str, en: str) -> None:
    CATALOGUE[code] = {Language.SV: sv, Language.EN: en}


_KEEP_ROWS_SV = (
    "behåll raderna som de var när ni laddade ner checklistan (eller ladda ner den igen och "
    "för över era svar)"
)
_KEEP_ROWS_EN = (
    "keep the rows as downloaded (or download the checklist again and copy your answers into it)"
)

# -- the checklist workbook (service/uploads/checklist_reader.py) -----------------------------
_add(
    "checklist.not_benchdocs",
    sv="Det här är inte en checklista från benchdocs: ingen flik har checklistans dolda "
    "kännetecken. Ladda ner er organisations checklista och fyll i den",
    en="not a checklist made by benchdocs: no sheet carries the hidden layout id; download "
    "your organisation's checklist and fill that in",
)
_add(
    "checklist.no_round_sheet",
    sv="Arbetsboken har ingen flik för omgång {round} (den har flikar för {found})",
    en="no sheet for round {round} (found sheets for {found})",
)
_add(
    "checklist.round_sheets_twice",
    sv="{count} flikar gäller omgång {round} ({titles}): behåll bara den ni har fyllt i",
    en="{count} sheets are for round {round} ({titles}): keep only the one you filled in",
)
_add(
    "checklist.too_many_sheets",
    sv="Arbetsboken har {count} flikar, fler än en checklista någonsin har ({max}). Ladda upp "
    "checklistan ni laddade ner",
    en="the workbook has {count} sheets, more than a checklist ever has ({max}); upload the "
    "checklist you downloaded",
)
_add(
    "checklist.xml_entities",
    sv="Arbetsbokens XML innehåller deklarationer (DTD eller ENTITY) som Excel aldrig skriver; "
    "filen läses inte",
    en="the workbook's XML declares entities or a DTD; it is not read",
)
_add(
    "checklist.unreadable",
    sv="Filen kan inte läsas som en Excel-arbetsbok (den kan vara skadad eller sparad i ett "
    "annat format). Spara den som .xlsx i Excel eller LibreOffice och ladda upp den igen "
    "({error})",
    en="the file cannot be read as an Excel workbook (it may be damaged or saved in another "
    "format); save it as .xlsx in Excel or LibreOffice and upload it again ({error})",
)
_add(
    "checklist.other_layout",
    sv="Fliken är gjord av en annan version av benchdocs (kännetecken {layout}, här läses "
    "{expected}). Ladda ner er organisations checklista igen och fyll i den",
    en="layout id {layout} is not the one this service reads ({expected}): the sheet was made "
    "by another version of benchdocs; download your organisation's checklist again and fill "
    "that in",
)
_add(
    "checklist.other_organisation",
    sv="Filen gäller {found}, men den laddades upp för {expected}. Ladda upp er egen "
    "organisations checklista",
    en="the file is for {found}, but it was uploaded for {expected}: upload your own "
    "organisation's checklist",
)
_add(
    "checklist.other_scale",
    sv="Skalan i filen är {found} men checklistans skala är {low}–{high}: filen gjordes för en "
    "annan version av checklistan. Ladda ner den igen och fyll i den",
    en="the scale in the file is {found} but the checklist's scale is {low}–{high}: the file "
    "was made for another version of the checklist; download it again and fill that in",
)
_add(
    "checklist.row_missing",
    sv=f"Rad {{row}} (påstående {{number}}) saknas: raden har tagits bort; {_KEEP_ROWS_SV}",
    en=f"row {{row}} (statement {{number}}, {{ref}}) is missing: the row was deleted; "
    f"{_KEEP_ROWS_EN}",
)
_add(
    "checklist.row_inserted",
    sv=f"Raden har lagts till ({{found}} är inte ett påstående i checklistan); {_KEEP_ROWS_SV}",
    en=f"a row was added here ({{found}} is not a question of this checklist); {_KEEP_ROWS_EN}",
)
_add(
    "checklist.row_not_a_question",
    sv="{found} är inte ett påstående i checklistan: det sista påståendet står i {last}; ta "
    "bort den tillagda raden",
    en="{found} is not a question of this checklist: the last question is in {last}; remove "
    "the added row",
)
_add(
    "checklist.row_twice",
    sv="Påstående {ref} finns en andra gång (första gången i {first}); ta bort den tillagda raden",
    en="question {ref} appears a second time (first in {first}); remove the added row",
)
_add(
    "checklist.row_moved",
    sv=f"Här ska påstående {{ref}} stå, men här står {{found}}; {{where}}: rader har lagts "
    f"till, tagits bort, flyttats eller sorterats; {_KEEP_ROWS_SV}",
    en=f"expected question {{ref}} in this row, found {{found}}; {{where}}: rows were inserted, "
    f"deleted, moved or sorted; {_KEEP_ROWS_EN}",
)
_add("checklist.empty_cell", sv="en tom cell", en="an empty cell")
_add(
    "checklist.ref_elsewhere",
    sv="{ref} står i stället i {cells}",
    en="{ref} is in {cells} instead",
)
_add(
    "checklist.ref_nowhere",
    sv="{ref} finns inte alls i kolumn {column}",
    en="{ref} is not in column {column} at all",
)
_add(
    "checklist.score_hint",
    sv="skriv ett heltal {low}–{high}, eller lämna cellen tom",
    en="write a whole number {low}–{high}, or leave the cell empty",
)
_add(
    "checklist.score_formula",
    sv="{formula} är en formel; skriv själva talet ({low}–{high}), eller lämna cellen tom",
    en="{formula} is a formula; type the number itself ({low}–{high}), or leave the cell empty",
)
_add(
    "checklist.score_error_value",
    sv="felvärdet {value} är inte en poäng: {hint}",
    en="the error value {value} is not a score: {hint}",
)
_add(
    "checklist.score_yes_no",
    sv="{value} är ett ja/nej-värde, inte en poäng: {hint}",
    en="{value} is a yes/no value, not a score: {hint}",
)
_add(
    "checklist.score_date",
    sv="{value} är ett datum eller klockslag, inte en poäng (är cellen formaterad som datum?): "
    "{hint}",
    en="{value} is a date or time, not a score (is the cell formatted as a date?): {hint}",
)
_add(
    "checklist.score_not_a_score",
    sv="{value} är inte en poäng: {hint}",
    en="{value} is not a score: {hint}",
)
_add(
    "checklist.score_not_whole",
    sv="{value} är inte ett heltal: {hint}",
    en="{value} is not a whole number: {hint}",
)
_add(
    "checklist.score_outside_scale",
    sv="{value} ligger utanför skalan {low}–{high}: {hint}",
    en="{value} is outside the scale {low}–{high}: {hint}",
)
_add(
    "checklist.comment_control",
    sv="kommentaren innehåller ett styrtecken ({char}) på plats {position}; ta bort det",
    en="the comment contains control character {char} at position {position}; remove it",
)
_add(
    "checklist.comment_too_long",
    sv="kommentaren är {length} tecken lång; högst {max} sparas: korta den",
    en="the comment is {length} characters long; at most {max} are kept: shorten it",
)

# -- the checklist upload (service/uploads/checklist_upload.py) -------------------------------
_add(
    "checklist.no_round",
    sv="Det finns ingen självskattningsomgång {round} i nätverket för {organisation}",
    en="no assessment round {round} in {organisation}'s network",
)
_add(
    "checklist.no_sheet_for_round",
    sv="Arbetsboken har ingen flik för omgång {round} ({label}); dess omgångsflikar: {sheets}",
    en="the workbook has no sheet for round {round} ({label}); its round sheets: {sheets}",
)
_add("checklist.none", sv="inga", en="none")
_add(
    "checklist.no_sheet_to_fill",
    sv="Arbetsboken har ingen omgångsflik att fylla i",
    en="the workbook has no round sheet to fill in",
)
_add(
    "checklist.unknown_round",
    sv="Fliken {sheet} gäller omgång {round}, som nätverket för {organisation} inte har",
    en="sheet {sheet} is for round {round}, which {organisation}'s network does not have",
)

# -- access: tokens and what a token may see (service/api, service/access) -------------------
_add(
    "access.no_token",
    sv="Ange er organisations åtkomstnyckel som 'Authorization: Bearer <nyckel>' (eller "
    "använd länken ni fick i e-post)",
    en="send the organiser X-API-Key header or a live organisation token as 'Authorization: "
    "Bearer <token>' (tokens expire and can be revoked)",
)
_add(
    "access.unknown_token",
    sv="Åtkomstnyckeln är okänd: kontrollera att hela länken kom med när den kopierades, eller "
    "be arrangören om en ny",
    en="the token is not known: check that the whole link was copied, or ask the organiser "
    "for a new one",
)
_add(
    "access.expired_token",
    sv="Åtkomstnyckeln har gått ut: be arrangören om en ny",
    en="the token has expired: ask the organiser for a new one",
)
_add(
    "access.revoked_token",
    sv="Åtkomstnyckeln har dragits tillbaka av arrangören: be arrangören om en ny",
    en="the token was revoked by the organiser: ask the organiser for a new one",
)
_add(
    "access.organisation_not_found",
    sv="Organisationen {id} finns inte, eller så hör den inte till er åtkomstnyckel",
    en="organisation {id} not found",
)
_add(
    "access.document_not_found",
    sv="Dokument {id} finns inte, eller så hör det inte till er organisation",
    en="document {id} not found",
)
_add(
    "access.document_has_no_file",
    sv="Dokument {id} har ingen fil ännu: det håller på att tas fram",
    en="document {id} has no file (yet)",
)
_add(
    "access.upload_not_found",
    sv="Uppladdning {id} finns inte, eller så hör den inte till er organisation",
    en="upload {id} not found",
)
_add(
    "access.meeting_not_found",
    sv="Möte {id} finns inte i nätverket för {organisation}",
    en="meeting {id} not found in {organisation}'s network",
)
_add(
    "upload.refused",
    sv="Filen togs inte emot ({reason})",
    en="the file was refused ({reason})",
)
_add("upload.invalid", sv="Begäran har felaktiga fält", en="the request has invalid fields")
for _reason, _sv in {
    "empty": "den är tom",
    "too_large": "den är för stor",
    "wrong_type": "fel filtyp",
    "macros": "den innehåller makron",
    "encrypted": "den är lösenordsskyddad",
    "zip_bomb": "den packas upp till för mycket",
    "xml_attack": "otillåten XML",
    "corrupt": "den är skadad",
    "content": "innehållet har fel",
}.items():
    _add(f"upload.reason.{_reason}", sv=_sv, en=_reason)
