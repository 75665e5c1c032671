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


@dataclass(frozen=True)
class Size:
    """A number of bytes, shown as a person reads it: ``2,147.5 MB``, ``2 147,5 MB``."""

    bytes: int


Param: TypeAlias = "str | int | Quoted | Size | Message | tuple[Param, ...]"


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
    if isinstance(value, Size):
        return describe_size(value.bytes, language)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        grouped = f"{value:,}"
        return grouped if language is Language.EN else grouped.replace(",", "\u00a0")
    if isinstance(value, tuple):
        return ", ".join(_param(v, language) for v in value)
    return value


def describe_size(size: int, language: Language = Language.EN) -> str:
    """A byte count as a person reads it: ``50 MB``, ``2,147.5 MB`` (``2 147,5 MB``), ``812 kB``."""
    if size >= 1_000:
        scaled, unit = (size / 1_000_000, "MB") if size >= 1_000_000 else (size / 1_000, "kB")
        number = f"{scaled:,.1f}".removesuffix(".0")
        if language is Language.SV:
            number = number.replace(",", "\u00a0").replace(".", ",")
        return f"{number} {unit}"
    if language is Language.SV:
        return f"{size} byte"
    return f"{size} byte" if size == 1 else f"{size} bytes"


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

# -- the upload gate (service/file_safety): what is wrong with a file and what to do ---------
# File types as a person names them, with their article: "en Excel-arbetsbok (.xlsx)".
for _kind, _sv, _en in (
    ("xlsx", "en Excel-arbetsbok (.xlsx)", "an Excel workbook (.xlsx)"),
    ("xltx", "en Excel-mall (.xltx)", "an Excel template (.xltx)"),
    ("xlsb", "en binär Excel-arbetsbok (.xlsb)", "an Excel binary workbook (.xlsb)"),
    ("xlsm", "en makroaktiverad Excel-arbetsbok (.xlsm)", "a macro-enabled workbook (.xlsm)"),
    ("xltm", "en makroaktiverad Excel-mall (.xltm)", "a macro-enabled Excel template (.xltm)"),
    ("xlam", "ett Excel-tillägg (.xlam)", "an Excel add-in (.xlam)"),
    ("pptx", "en PowerPoint-presentation (.pptx)", "a PowerPoint presentation (.pptx)"),
    ("ppsx", "ett PowerPoint-bildspel (.ppsx)", "a PowerPoint slide show (.ppsx)"),
    ("potx", "en PowerPoint-mall (.potx)", "a PowerPoint template (.potx)"),
    (
        "pptm",
        "en makroaktiverad PowerPoint-presentation (.pptm)",
        "a macro-enabled presentation (.pptm)",
    ),
    (
        "ppsm",
        "ett makroaktiverat PowerPoint-bildspel (.ppsm)",
        "a macro-enabled slide show (.ppsm)",
    ),
    (
        "potm",
        "en makroaktiverad PowerPoint-mall (.potm)",
        "a macro-enabled PowerPoint template (.potm)",
    ),
    ("ppam", "ett PowerPoint-tillägg (.ppam)", "a PowerPoint add-in (.ppam)"),
    ("docx", "ett Word-dokument (.docx)", "a Word document (.docx)"),
    ("dotx", "en Word-mall (.dotx)", "a Word template (.dotx)"),
    ("docm", "ett makroaktiverat Word-dokument (.docm)", "a macro-enabled Word document (.docm)"),
    ("dotm", "en makroaktiverad Word-mall (.dotm)", "a macro-enabled Word template (.dotm)"),
    ("vsdx", "en Visio-ritning (.vsdx)", "a Visio drawing (.vsdx)"),
    ("csv", "en CSV-fil (.csv)", "a CSV file (.csv)"),
    ("xls", "en Excel 97–2003-arbetsbok (.xls)", "an Excel 97-2003 workbook (.xls)"),
    ("xls95", "en Excel 5.0/95-arbetsbok (.xls)", "an Excel 5.0/95 workbook (.xls)"),
    (
        "ppt",
        "en PowerPoint 97–2003-presentation (.ppt)",
        "a PowerPoint 97-2003 presentation (.ppt)",
    ),
    ("doc", "ett Word 97–2003-dokument (.doc)", "a Word 97-2003 document (.doc)"),
    ("ods", "ett OpenDocument-kalkylblad (.ods)", "an OpenDocument spreadsheet (.ods)"),
    ("odp", "en OpenDocument-presentation (.odp)", "an OpenDocument presentation (.odp)"),
    ("odt", "ett OpenDocument-textdokument (.odt)", "an OpenDocument text document (.odt)"),
    ("odf", "en OpenDocument-fil", "an OpenDocument file"),
    ("pdf", "ett PDF-dokument", "a PDF document"),
    ("png", "en PNG-bild", "a PNG image"),
    ("jpeg", "en JPEG-bild", "a JPEG image"),
    ("gif", "en GIF-bild", "a GIF image"),
    ("tiff", "en TIFF-bild", "a TIFF image"),
    ("webp", "en WebP-bild", "a WebP image"),
    ("heic", "en video eller en HEIC-bild", "a video or HEIC image"),
    ("rtf", "ett RTF-dokument", "an RTF document"),
    ("empty_zip", "ett tomt ZIP-arkiv", "an empty ZIP archive"),
    ("zip", "ett ZIP-arkiv", "a ZIP archive"),
    ("gzip", "ett gzip-arkiv", "a gzip archive"),
    ("7z", "ett 7-Zip-arkiv", "a 7-Zip archive"),
    ("rar", "ett RAR-arkiv", "a RAR archive"),
    ("elf", "ett program (körbar fil för Linux)", "a program (ELF executable)"),
    ("exe", "ett program (körbar fil för Windows)", "a program (Windows executable)"),
    ("excel_2003_xml", "ett Excel 2003 XML-kalkylblad", "an Excel 2003 XML spreadsheet"),
    ("xml", "en XML-fil", "an XML file"),
    ("svg", "en SVG-bild", "an SVG image"),
    ("html", "en webbsida (HTML)", "a web page (HTML)"),
    ("text", "text", "text"),
    ("binary", "okända binära data", "unrecognised binary data"),
    ("plain_xlsx", "en vanlig Excel-arbetsbok (.xlsx)", "an ordinary Excel workbook (.xlsx)"),
    (
        "plain_pptx",
        "en vanlig PowerPoint-presentation (.pptx)",
        "an ordinary PowerPoint presentation (.pptx)",
    ),
    ("plain_docx", "ett vanligt Word-dokument (.docx)", "an ordinary Word document (.docx)"),
):
    _add(f"filetype.{_kind}", sv=_sv, en=_en)
_add("filetype.either", sv="{first} eller {second}", en="{first} or {second}")

_AGAIN_SV = "och ladda upp den igen"
_RIGHT_FILE_SV = "Kontrollera att ni har valt rätt fil"
_add(
    "gate.empty",
    sv="Filen är tom (0 byte). Kontrollera att den sparades och ladda upp den igen",
    en="the file is empty (0 bytes): check that it was saved, then upload it again",
)
_add(
    "gate.too_large",
    sv="Filen är {size}, mer än gränsen för uppladdning på {limit}. Gör den mindre (till "
    f"exempel genom att komprimera bilderna) {_AGAIN_SV}",
    en="the file is {size}, more than the upload limit of {limit}: make it smaller (compress "
    "its pictures, say) and upload again",
)
_add(
    "gate.too_large_exactly",
    sv="Filen är {size} byte, mer än gränsen för uppladdning på {limit} ({limit_bytes} byte). "
    f"Gör den mindre (till exempel genom att komprimera bilderna) {_AGAIN_SV}",
    en="the file is {size} bytes, more than the upload limit of {limit} ({limit_bytes} bytes): "
    "make it smaller (compress its pictures, say) and upload again",
)
_add(
    "upload.too_large",
    sv="Filen är större än gränsen för uppladdning på {limit}. Gör den mindre (till exempel "
    f"genom att komprimera bilderna) {_AGAIN_SV}",
    en="the file is more than the upload limit of {limit}: make it smaller (compress its "
    "pictures, say) and upload again",
)
_add(
    "gate.not_expected",
    sv=f"Det här är {{found}}, inte {{wanted}}. {_RIGHT_FILE_SV}",
    en="this is {found}, not {wanted}",
)
_add(
    "gate.excel_2003_xml",
    sv="Det här är {found}, inte {wanted}. Öppna filen i Excel och spara den som en "
    f"Excel-arbetsbok (.xlsx) {_AGAIN_SV}",
    en="this is {found}, not {wanted}: open it in Excel and save it as an Excel workbook (.xlsx)",
)
_add(
    "gate.encrypted_file",
    sv="Filen är lösenordsskyddad (krypterad) och kan därför inte läsas. Ta bort lösenordet "
    "(Arkiv > Info > Skydda > Kryptera med lösenord, töm fältet), spara och ladda upp filen igen",
    en="the file is password-protected (encrypted), so it cannot be read: remove the password "
    "(File > Info > Protect > Encrypt with Password, clear it), save, and upload again",
)
_add(
    "gate.old_format",
    sv="Det här är {found}, ett äldre format. Öppna filen och spara den som {save_as}, ladda "
    "sedan upp den igen",
    en="this is {found}, an old format: open it and save it as {save_as}, then upload again",
)
_add(
    "gate.compound_file",
    sv="Det här är en äldre Office-fil eller en annan sammansatt fil (OLE), inte {wanted}. "
    f"Spara den som {{wanted}} {_AGAIN_SV}",
    en="this is an old-style Office or other compound (OLE) file, not {wanted}: save it as "
    "{wanted} and upload again",
)
_add(
    "gate.name_not_content",
    sv="Filnamnet slutar på .{extension} men innehållet är inte {named}: det är {what}. "
    f"{_RIGHT_FILE_SV}",
    en="the name ends in .{extension} but the content is not {named}: it is {what}",
)
_add(
    "gate.csv_name",
    sv="Filnamnet slutar på .{extension}, men en CSV-fils namn slutar på .csv (innehållet är "
    f"{{what}}). Spara filen som CSV {_AGAIN_SV}",
    en="the name ends in .{extension}; a CSV file's name ends in .csv (the content is {what})",
)
_add(
    "gate.wrong_package",
    sv=f"Det här är {{found}}, inte {{wanted}}. Välj rätt fil {_AGAIN_SV}",
    en="this is {found}, not {wanted}: pick the right file and upload again",
)
_add(
    "gate.wrong_package_named",
    sv="Det här är {found}, inte {wanted}, fast filnamnet slutar på .{extension}. Välj rätt fil "
    f"{_AGAIN_SV}",
    en="this is {found}, not {wanted}, although its name ends in .{extension}: pick the right "
    "file and upload again",
)
_add(
    "gate.not_plain",
    sv=f"Det här är {{found}}, inte {{wanted}}. Spara den som {{plain}} {_AGAIN_SV}",
    en="this is {found}, not {wanted}: save it as {plain} and upload again",
)
_add(
    "gate.name_other_type",
    sv="Filnamnet slutar på .{extension} men innehållet är {found}. Kontrollera att det är rätt "
    "fil och ge den ändelsen .{correct}",
    en="the name ends in .{extension} but the content is {found}: check that this is the right "
    "file and name it .{correct}",
)
_add(
    "gate.macro_main_part",
    sv="Filen är sparad med makron (huvuddelen är {main_type}). Spara den utan makron som "
    f"{{wanted}} {_AGAIN_SV}",
    en="the file is macro-enabled (its main part is {main_type}): save it without macros as "
    "{wanted} and upload again",
)
_add(
    "gate.unknown_office",
    sv="Det här är en Office-fil av ett slag som benchdocs inte läser (huvuddelen är "
    f"{{main_type}}), inte {{wanted}}. {_RIGHT_FILE_SV}",
    en="this is an Office file of a kind benchdocs does not read (its main part is "
    "{main_type}), not {wanted}",
)
_add(
    "gate.opendocument",
    sv="Det här är {found}, LibreOffice:s eget format, inte {wanted}. Spara den i Microsoft "
    f"Office-format (Arkiv > Spara som) {_AGAIN_SV}",
    en="this is {found}, LibreOffice's own format, not {wanted}: save it in Microsoft Office "
    "format and upload again",
)
_add(
    "gate.macros",
    sv=f"Filen är sparad med makron: den är {{kind}}; {{evidence}}. Spara den som {{plain}} "
    f"{_AGAIN_SV}",
    en="the file is {noun} (.{extension}, {evidence}): save it as {plain} and upload again",
)
_add("gate.evidence.contains", sv="makrona finns i {part}", en="contains {part}")
_add(
    "gate.evidence.content_type",
    sv="innehållstypen är makroaktiverad",
    en="its content type is macro-enabled",
)
_add(
    "gate.evidence.name", sv="filnamnet slutar på .{extension}", en="its name ends in .{extension}"
)
_add(
    "gate.activex",
    sv="Filen innehåller ActiveX-kontroller ({part}), som kan köra program. Ta bort "
    "kontrollerna och ladda upp filen igen",
    en="the file contains ActiveX controls ({part}), which can run programs: remove the "
    "controls and upload again",
)
_add(
    "gate.ole_object",
    sv="Filen innehåller ett inbäddat objekt ({part}), som kan bära med sig program. Ersätt det "
    "med en bild eller klistra in själva innehållet, och ladda upp filen igen",
    en="the file contains an embedded object ({part}), which can carry programs: replace it "
    "with a picture or paste its content, and upload again",
)
_add(
    "gate.embedded_macros",
    sv="Filen innehåller en inbäddad fil med makron ({part}). Ta bort den och ladda upp filen igen",
    en="the file contains an embedded file with macros ({part}): remove it and upload again",
)
_add(
    "gate.in_embedded",
    sv="{problem} (gäller den inbäddade filen {part})",
    en="in the embedded file {part}: {problem}",
)
_add(
    "gate.embedded_too_large",
    sv="Den inbäddade filen {part} packas upp till {size}, mer än de {limit} som en inbäddad "
    "fil får vara. Gör den mindre och ladda upp filen igen",
    en="the embedded file {part} unpacks to {size}, more than the {limit} allowed for an "
    "embedded file",
)
# Zip bombs: no real Office file comes near these caps, so the likely cause is a wrong file.
_add(
    "gate.too_many_parts",
    sv="Filen har {count} delar; en Office-fil har betydligt färre (högst {max} tas emot). "
    f"{_RIGHT_FILE_SV}",
    en="the file has {count} parts; an Office file has far fewer (at most {max} are accepted)",
)
_add(
    "gate.unpacks_too_much",
    sv="Filen skulle packas upp till {total} (från {packed} packat), mer än gränsen på {limit}. "
    f"{_RIGHT_FILE_SV}",
    en="the file would unpack to {total} (from {packed} packed), more than the limit of {limit}",
)
_add(
    "gate.unpacks_too_much_embedded",
    sv=f"Med sina inbäddade filer skulle filen packas upp till mer än {{limit}}. {_RIGHT_FILE_SV}",
    en="with its embedded files the file would unpack to more than {limit}",
)
_add(
    "gate.part_ratio",
    sv="Delen {part} är komprimerad {ratio}:1 ({size} packat till {packed}); Office-filer "
    f"ligger långt under gränsen {{cap}}:1. {_RIGHT_FILE_SV}",
    en="the part {part} is compressed {ratio}:1 ({size} packed into {packed}); Office files "
    "stay far below the limit of {cap}:1",
)
_add(
    "gate.file_ratio",
    sv="Filen är komprimerad {ratio}:1 ({size} packat till {packed}); Office-filer ligger långt "
    f"under gränsen {{cap}}:1. {_RIGHT_FILE_SV}",
    en="the file is compressed {ratio}:1 ({size} packed into {packed}); Office files stay far "
    "below the limit of {cap}:1",
)
_add(
    "gate.lying_header",
    sv="Delen {part} packas upp till mer än de {size} byte som dess huvud anger (en zip-bomb "
    f"med falska storlekar); inget mer packades upp. {_RIGHT_FILE_SV}",
    en="the part {part} unpacks to more than the {size} bytes its header declares (a zip bomb "
    "with lying headers); nothing more was unpacked",
)
_add(
    "gate.overlapping_parts",
    sv="Delarna {first} och {second} delar samma data (överlappande delar, ett sätt att bygga "
    f"en zip-bomb). {_RIGHT_FILE_SV}",
    en="the parts {first} and {second} share their data (overlapping members, a zip-bomb "
    "construction)",
)
_add(
    "gate.nested_archive",
    sv="Filen innehåller ett annat arkiv ({part}), vilket inte är tillåtet. Ta bort det och "
    "ladda upp filen igen",
    en="the file contains another archive ({part}), which is not allowed",
)
_add(
    "gate.embedded_nested",
    sv="Den inbäddade filen {part} innehåller i sin tur inbäddade filer; bara en nivå av "
    "inbäddning är tillåten. Ta bort den och ladda upp filen igen",
    en="the embedded file {part} holds further embedded files; one level of embedding is allowed",
)
_add(
    "gate.encrypted_part",
    sv="Delen {part} är krypterad (en lösenordsskyddad zip-fil). Ta bort lösenordet och ladda "
    "upp filen igen",
    en="the part {part} is encrypted (a password-protected zip): remove the password and "
    "upload again",
)
# A damaged file: most often an upload cut short, or a file not saved to the end.
_add(
    "gate.damaged",
    sv="Filen är skadad eller ofullständig (avbröts uppladdningen?): {detail}. Spara filen på "
    "nytt och ladda upp den igen",
    en="the file is damaged or incomplete (truncated upload?): {detail}",
)
for _code, _sv, _en in (
    (
        "too_short",
        "bara {size}, för kort för att vara {named}",
        "only {size}, too short to be {named}",
    ),
    ("same_name", "två delar heter {name}", "two parts are named {name}"),
    (
        "part_size",
        "delen {part} har {found} byte, inte {size}",
        "the part {part} has {found} bytes, not {size}",
    ),
    (
        "crc",
        "delen {part} har fel kontrollsumma (CRC-fel)",
        "the part {part} fails its checksum (CRC error)",
    ),
    (
        "unpack",
        "delen {part} kan inte packas upp ({error})",
        "the part {part} cannot be unpacked ({error})",
    ),
    (
        "ends_early",
        "de packade data i delen {part} tar slut för tidigt",
        "the compressed data of the part {part} ends too early",
    ),
    (
        "no_directory",
        "zip-katalogen i slutet av filen saknas",
        "the zip directory at the end of the file is missing",
    ),
    (
        "directory_length",
        "slutet av zip-katalogen stämmer inte med filens längd",
        "the end of the zip directory does not match the file's length",
    ),
    (
        "zip64_locator",
        "zip64-katalogens lokaliserare saknas",
        "the zip64 directory locator is missing",
    ),
    ("zip64_end", "zip64-katalogens slut saknas", "the zip64 end of directory is missing"),
    (
        "split",
        "filen är en del av en uppdelad zip-fil (flera volymer)",
        "the file is one part of a split (multi-volume) zip",
    ),
    (
        "directory_place",
        "zip-katalogen ligger inte där slutposten anger",
        "the zip directory is not where the end record says",
    ),
    ("directory_cut", "zip-katalogen är avkortad", "the zip directory is cut short"),
    ("broken_entry", "zip-katalogen har en trasig post", "the zip directory has a broken entry"),
    (
        "method",
        "delen {part} är komprimerad med {method}, som Office aldrig använder",
        "the part {part} is compressed with {method}, which Office never uses",
    ),
    ("method_number", "metod nummer {number}", "number {number}"),
    (
        "stored_sizes",
        "den okomprimerade delen {part} anger två olika storlekar",
        "the stored part {part} declares two different sizes",
    ),
    (
        "directory_extra",
        "zip-katalogen har fler poster än slutposten räknar",
        "the zip directory holds more than its end record counts",
    ),
    ("name_not_utf8", "namnet på en del är inte giltig UTF-8", "a part's name is not valid UTF-8"),
    (
        "name_nul",
        "namnet på en del innehåller ett NUL-tecken",
        "a part's name contains a NUL character",
    ),
    (
        "zip64_sizes",
        "zip64-storlekarna för delen {part} saknas",
        "the zip64 sizes of the part {part} are missing",
    ),
    ("outside", "delen {part} ligger utanför filen", "the part {part} lies outside the file"),
    (
        "local_header",
        "huvudet för delen {part} är trasigt",
        "the header of the part {part} is broken",
    ),
    (
        "local_name",
        "delen {part} har ett annat namn i sitt eget huvud",
        "the part {part} has a different name in its own header",
    ),
    (
        "runs_past",
        "data i delen {part} går förbi filens slut",
        "the data of the part {part} runs past the end of the file",
    ),
    (
        "no_main_part",
        "[Content_Types].xml och _rels/.rels anger ingen huvuddel",
        "[Content_Types].xml and _rels/.rels name no main document part",
    ),
    (
        "no_content_types",
        "Office-filens dellista [Content_Types].xml saknas",
        "the Office part list [Content_Types].xml is missing",
    ),
    (
        "content_types",
        "[Content_Types].xml kan inte läsas ({error})",
        "[Content_Types].xml cannot be read ({error})",
    ),
    (
        "content_types_list",
        "[Content_Types].xml är inte en lista över innehållstyper",
        "[Content_Types].xml is not a list of content types",
    ),
    (
        "relationships",
        "_rels/.rels kan inte läsas ({error})",
        "_rels/.rels cannot be read ({error})",
    ),
    ("part_too_large", "{part} är {size}, orimligt stort", "{part} is {size}, implausibly large"),
    (
        "embedded_not_office",
        "den inbäddade filen {part} är inte en Office-fil",
        "the embedded file {part} is not an Office file",
    ),
):
    _add(f"gate.damaged.{_code}", sv=_sv, en=_en)
# XML parts (service/file_safety/xml_guard.py).
_add(
    "gate.xml_attack",
    sv="Delen {part} innehåller en dokumenttypdeklaration (DOCTYPE/ENTITY), som Office aldrig "
    "skriver men som XML-attacker behöver. Filen läses inte; spara den på nytt i Excel eller "
    "PowerPoint och ladda upp den igen",
    en="the part {part} contains a document type declaration (DOCTYPE/ENTITY), which Office "
    "never writes and XML attacks (entity expansion, external entities) need",
)
_add(
    "gate.xml_malformed",
    sv="Delen {part} är inte korrekt XML ({error}). Filen kan vara skadad: spara den på nytt "
    f"{_AGAIN_SV}",
    en="the part {part} is not well-formed XML ({error})",
)
_add(
    "gate.xml_encoding",
    sv="Delen {part} är kodad som {encoding}; Office-filer använder bara UTF-8 eller UTF-16. "
    f"Spara filen på nytt i Excel eller PowerPoint {_AGAIN_SV}",
    en="the part {part} is encoded as {encoding}; Office files use UTF-8 or UTF-16 only",
)
# CSV text (service/file_safety/csv_text.py).
_SAVE_AS_CSV_SV = f"Spara den från Excel som ”CSV UTF-8 (kommaavgränsad)” {_AGAIN_SV}"
_SAVE_AS_CSV_EN = 'save it from Excel as "CSV UTF-8 (kommaavgränsad)" and upload again'
_add(
    "gate.csv.utf16_without_bom",
    sv=f"Filen ser ut att vara UTF-16-text utan byteordningsmärke (BOM) och kan inte läsas "
    f"säkert. {_SAVE_AS_CSV_SV}",
    en="the file looks like UTF-16 text without a byte-order mark, which cannot be read "
    f"reliably: {_SAVE_AS_CSV_EN}",
)
_add(
    "gate.csv.nul",
    sv=f"Filen innehåller NUL-tecken (det första vid byte {{offset}}) och är alltså ingen "
    f"textfil. {_SAVE_AS_CSV_SV}",
    en="the file contains NUL bytes (the first at byte {offset}), so it is not a text file: "
    f"{_SAVE_AS_CSV_EN}",
)
_add(
    "gate.csv.undecodable",
    sv=f"Filen kan inte läsas som {{encoding}}: byten {{byte}} nära byte {{offset}} är inte "
    f"giltig där. {_SAVE_AS_CSV_SV}",
    en="the file cannot be read as {encoding}: byte {byte} near byte {offset} is not valid "
    f"there; {_SAVE_AS_CSV_EN}",
)
_add(
    "gate.csv.utf8_bom",
    sv="UTF-8 (den börjar med ett byteordningsmärke för UTF-8)",
    en="UTF-8 (it starts with a UTF-8 byte-order mark)",
)
_add(
    "gate.csv.utf16_bom",
    sv="UTF-16 (den börjar med ett byteordningsmärke för UTF-16)",
    en="UTF-16 (it starts with a UTF-16 byte-order mark)",
)
_add("gate.csv.utf8_or_1252", sv="UTF-8 eller Windows-1252", en="UTF-8 or Windows-1252")
_add(
    "gate.csv.control",
    sv=f"Rad {{line}} innehåller styrtecknet {{char}}, som inte hör hemma i en CSV-fil. "
    f"{_SAVE_AS_CSV_SV}",
    en=f"line {{line}} contains the control character {{char}}, which a CSV file does not: "
    f"{_SAVE_AS_CSV_EN}",
)
_add(
    "gate.csv.line_too_long",
    sv="Rad {line} är längre än {max} tecken, vilket ingen rad i en deltagarlista är. "
    "Kontrollera att det är rätt fil",
    en="line {line} is longer than {max} characters, which no roster line is: check that this "
    "is the right file",
)
_add(
    "gate.csv.too_many_lines",
    sv="Filen har fler än {max} rader, betydligt fler än någon deltagarlista. Kontrollera att "
    "det är rätt fil",
    en="the file has more than {max} lines, far more than any roster: check that this is the "
    "right file",
)

# -- the upload form and the organiser's routes, as a participant's token meets them ----------
_add(
    "upload.not_multipart",
    sv="Skicka filen som ett formulär (multipart/form-data) med filen i fältet ”file”",
    en="send the file as multipart/form-data in the field 'file'",
)
_add(
    "upload.unreadable_form",
    sv="Formuläret med filen kunde inte läsas ({error}). Ladda upp filen igen",
    en="unreadable multipart body: {error}",
)
_add(
    "upload.missing_file",
    sv="Ingen fil kom med: välj filen och skicka den i fältet ”file”",
    en="is required: the file, in the form field 'file'",
)
_add(
    "upload.round_twice",
    sv="Omgången anges två gånger och olika, i adressen och i formuläret: ange den en gång",
    en="given twice, as a query parameter and a form field, differently",
)
_add(
    "access.organiser_key",
    sv="Det här får bara arrangören göra (med arrangörens API-nyckel)",
    en="missing or wrong X-API-Key header",
)
_add(
    "access.organiser_only",
    sv="Det här får bara arrangören göra; er åtkomstnyckel räcker inte till det",
    en="only the organiser (X-API-Key) may do this",
)
# A score or comment the reader let through but the scores' own rules refuse (a safety net:
# the reader's checks come first and say more).
_add("checklist.what.score", sv="Poängen", en="score")
_add("checklist.what.comment", sv="Kommentaren", en="comment")
_add(
    "checklist.not_stored",
    sv="{what} för påstående {ref} kan inte sparas ({error}); rätta cellen och ladda upp filen "
    "igen",
    en="{what} of {ref}: {error}",
)
_add(
    "store.unavailable",
    sv="Filerna kan inte hämtas eller sparas just nu. Ingenting har gått förlorat: försök igen "
    "om en stund",
    en="the file store cannot be reached right now; nothing was lost: try again in a while",
)
# -- leases (issue 16): the file store is full ---------------------------------------------
_add(
    "store.full",
    sv="Filen kunde inte sparas: lagringsutrymmet är fullt. Ingenting sparades och inget "
    "tidigare har gått förlorat. Försök igen senare; arrangören har fått veta det",
    en="the file could not be stored: the file store is full. Nothing was stored and nothing "
    "stored before was lost; try again later",
)
