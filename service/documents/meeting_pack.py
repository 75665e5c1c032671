"""The meeting pack and the archives, assembled from finished files: no database, no LibreOffice.

Three kinds are not rendered from a template but gathered from documents already made
(``catalogue.PACKS``): the meeting pack (every organisation's deck as one PDF, in agenda order,
for the projector), an organisation's archive (all its documents as a zip) and the meeting's
archive (every document of the meeting as a zip). This module holds their pure parts: the
order of the presentations, the PDF merge (outline, page labels, one structure tree, language,
title) and the names files get inside a zip. Loading and storing live in ``service.batches.packs``.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, String

from service.documents.catalogue import safe_file_name
from service.documents.meeting_documents import mention_position

PACK_LANGUAGE = "sv-SE"
# Bump when the pack's bytes would change for the same inputs (cover, labels, merge).
PACK_BUILDER_REVISION = 1
# A slide exported by LibreOffice from a 16:9 pptx; the cover takes the first deck's size.
_DEFAULT_PAGE = (0, 0, 960, 540)
_COVER_LINES_PER_PAGE = 22
_COVER_WRAP = 95
_PRESENTATION_WORD = "presentation"

T = TypeVar("T")


# -- order ------------------------------------------------------------------------------------


def presentation_order(
    agenda_items: Sequence[str], organisations: Sequence[tuple[T, str]]
) -> list[T]:
    """The organisations (key, name) in the order the agenda has them present.

    The agenda's presentation slots are its items (in programme order) whose text names a
    presentation ("Organisationernas presentationer del 1: Askersund, Fagersta, …"); within
    one item, organisations come in the order the text names them, by their name or short
    name as the agenda's highlighting recognises it (``mentions_organisation``). An
    organisation named in no presentation slot follows, in the order the agenda lists the
    delegations (the network's order: as entered, groups together). Other items (coffee,
    mentors' look back) do not count: who hosts lunch does not present first.
    """
    placed: list[T] = []
    seen: set[int] = set()
    for text in agenda_items:
        if _PRESENTATION_WORD not in text.casefold():
            continue
        found = [
            (position, index)
            for index, (_, name) in enumerate(organisations)
            if index not in seen and (position := mention_position(text, name)) is not None
        ]
        for _, index in sorted(found):
            seen.add(index)
            placed.append(organisations[index][0])
    placed.extend(key for index, (key, _) in enumerate(organisations) if index not in seen)
    return placed


# -- names inside archives --------------------------------------------------------------------


def archive_file_name(
    *, meeting_title: str, organisation_name: str | None, title: str, file_format: str
) -> str:
    """A file's name as people name it.

    ``Benchmarking 2 - Askersunds kommun - Presentation.pptx``; a meeting's own document
    has no organisation: ``Benchmarking 2 - Agenda.docx``.
    """
    parts = [meeting_title, *([organisation_name] if organisation_name else []), title]
    return f"{safe_file_name(' - '.join(parts))}.{file_format}"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``… before its extension, whichever is free (case-insensitive)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        stem, suffix = name, ""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number}).{suffix}" if suffix else f"{stem} ({number})"
    taken.add(candidate.casefold())
    return candidate


# -- the meeting pack -------------------------------------------------------------------------


@dataclass(frozen=True)
class PackDeck:
    """One organisation's deck as PDF bytes, in the pack's order."""

    organisation: str
    pdf: bytes


@dataclass(frozen=True)
class LeftOut:
    """An organisation whose deck is not in the pack, and why (Swedish, for the cover)."""

    organisation: str
    reason: str


def cover_lines(
    *, meeting_title: str, decks: Sequence[PackDeck], left_out: Sequence[LeftOut]
) -> list[str]:
    """The cover's text: what the pack holds and whose deck is missing, in Swedish."""
    lines = [
        f"{len(decks)} presentationer i agendans ordning. Bokmärkena leder till varje "
        "organisation; sidnumren räknas per organisation.",
        "",
    ]
    missing = [item for item in left_out if not item.reason]
    failed = [item for item in left_out if item.reason]
    if missing:
        lines.append("Saknas (ingen presentation): " + ", ".join(i.organisation for i in missing))
    if failed:
        lines.append("Kunde inte tas med:")
        lines.extend(f"{item.organisation}: {item.reason}" for item in failed)
    if not missing and not failed:
        lines.append("Alla organisationers presentationer finns med.")
    return lines


def assemble_meeting_pack(
    *, meeting_title: str, decks: Sequence[PackDeck], left_out: Sequence[LeftOut] = ()
) -> bytes:
    """One tagged PDF: a cover, then every deck in the given order.

    Each deck keeps its own pages, links and structure elements: its structure tree becomes
    a section (titled with the organisation) of one document tree, with the parent tree
    renumbered, so the whole stays tagged. One bookmark per organisation; page labels count
    per organisation (``Askersunds kommun 3``), so the viewer's page box says whose slide is
    on the projector and "go to Kalmar's third slide" is typed, not counted; the cover pages
    read ``Innehåll``. An organisation without a deck gets no placeholder slide: at the
    projector that is one more page to click past, while the cover names at once whose deck
    is missing or could not be taken in (``left_out``), so the organiser can ask for it.
    """
    title = f"Mötespaket – {meeting_title}"
    pdf = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(deck.pdf)) for deck in decks]
    try:
        box = _first_page_box(sources)
        root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        document = pdf.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Document, P=root, K=Array(), T=String(title))
        )
        root.K = Array([document])
        parents: list[tuple[int, Any]] = []
        role_map: dict[str, Any] = {}
        next_key = _add_cover(
            pdf,
            document,
            parents,
            box=box,
            title=title,
            lines=cover_lines(meeting_title=meeting_title, decks=decks, left_out=left_out),
        )
        cover_label = (
            Dictionary(P=String("Innehåll"))
            if next_key == 1
            else Dictionary(S=Name.D, P=String("Innehåll "))
        )
        labels: list[Any] = [0, cover_label]
        bookmarks: list[OutlineItem] = []
        for deck, source in zip(decks, sources, strict=True):
            first_page = len(pdf.pages)
            section = pdf.make_indirect(
                Dictionary(
                    Type=Name.StructElem,
                    S=Name.Sect,
                    P=document,
                    K=Array(),
                    T=String(deck.organisation),
                    Lang=String(PACK_LANGUAGE),
                )
            )
            document.K.append(section)
            next_key = _append_deck(pdf, source, section, parents, role_map, offset=next_key)
            labels.extend([first_page, Dictionary(S=Name.D, P=String(f"{deck.organisation} "))])
            bookmarks.append(OutlineItem(deck.organisation, first_page))
        root.ParentTree = pdf.make_indirect(
            Dictionary(Nums=Array([item for key, value in parents for item in (key, value)]))
        )
        root.ParentTreeNextKey = next_key
        if role_map:
            root.RoleMap = Dictionary({key: value for key, value in role_map.items()})
        pdf.Root.StructTreeRoot = root
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        pdf.Root.Lang = String(PACK_LANGUAGE)
        pdf.Root.PageLabels = Dictionary(Nums=Array(labels))
        pdf.Root.PageMode = Name.UseOutlines
        pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        with pdf.open_outline() as outline:
            outline.root.extend(bookmarks)
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title
            meta["dc:language"] = [PACK_LANGUAGE]
        # After the metadata, which rewrites the document information from XMP.
        pdf.docinfo[Name.Title] = String(title)
        pdf.docinfo[Name.Producer] = String("benchdocs")
        out = io.BytesIO()
        # Fixed ID and no timestamps beyond the metadata: the same inputs give the same bytes.
        pdf.save(out, deterministic_id=True, compress_streams=True, min_version="1.7")
        return out.getvalue()
    finally:
        for source in sources:
            source.close()
        pdf.close()


def _first_page_box(sources: Sequence[pikepdf.Pdf]) -> tuple[float, ...]:
    for source in sources:
        if len(source.pages):
            return tuple(float(v) for v in source.pages[0].mediabox)
    return _DEFAULT_PAGE


def _append_deck(
    pdf: pikepdf.Pdf,
    source: pikepdf.Pdf,
    section: Any,
    parents: list[tuple[int, Any]],
    role_map: dict[str, Any],
    *,
    offset: int,
) -> int:
    """Append a deck's pages and graft its structure tree under ``section``; the next key."""
    highest = offset - 1
    for page in source.pages:
        if Name.StructParents in page.obj:
            page.obj.StructParents = int(page.obj.StructParents) + offset
            highest = max(highest, int(page.obj.StructParents))
        for annotation in page.obj.get(Name.Annots, Array()):
            if isinstance(annotation, Dictionary) and Name.StructParent in annotation:
                annotation.StructParent = int(annotation.StructParent) + offset
                highest = max(highest, int(annotation.StructParent))
    # Pages first: the structure tree copied next refers to them, and qpdf maps each foreign
    # object once, so its /Pg entries point at the pages appended here.
    pdf.pages.extend(source.pages)
    tree = source.Root.get(Name.StructTreeRoot)
    if not isinstance(tree, Dictionary):
        return highest + 1
    copied = pdf.copy_foreign(tree)
    kids = copied.get(Name.K)
    for kid in _as_list(kids):
        if isinstance(kid, Dictionary):
            kid.P = section
        section.K.append(kid)
    for key, value in _number_tree(copied.get(Name.ParentTree)):
        parents.append((key + offset, value))
        highest = max(highest, key + offset)
    next_key = copied.get(Name.ParentTreeNextKey)
    if next_key is not None:
        highest = max(highest, int(next_key) + offset - 1)
    mapping = copied.get(Name.RoleMap)
    if isinstance(mapping, Dictionary):
        for role in mapping:
            role_map.setdefault(str(role), mapping[str(role)])
    return highest + 1


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Array):
        return list(value)
    return [value]


def _number_tree(node: Any, depth: int = 0) -> Iterable[tuple[int, Any]]:
    """The (key, value) pairs of a PDF number tree, leaves and kids alike."""
    if not isinstance(node, Dictionary) or depth > 32:
        return
    nums = node.get(Name.Nums)
    if isinstance(nums, Array):
        items = list(nums)
        for index in range(0, len(items) - 1, 2):
            yield int(items[index]), items[index + 1]
    for kid in _as_list(node.get(Name.Kids)):
        yield from _number_tree(kid, depth + 1)


def _add_cover(
    pdf: pikepdf.Pdf,
    document: Any,
    parents: list[tuple[int, Any]],
    *,
    box: tuple[float, ...],
    title: str,
    lines: Sequence[str],
) -> int:
    """The cover pages, tagged (a heading, then one paragraph per line); the next key."""
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, _COVER_WRAP) or [""])
    pages = [
        wrapped[start : start + _COVER_LINES_PER_PAGE]
        for start in range(0, max(len(wrapped), 1), _COVER_LINES_PER_PAGE)
    ]
    font = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type1,
            BaseFont=Name.Helvetica,
            Encoding=Name.WinAnsiEncoding,
        )
    )
    bold = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name("/Type1"),
            BaseFont=Name("/Helvetica-Bold"),
            Encoding=Name.WinAnsiEncoding,
        )
    )
    left, top = float(box[0]) + 56, float(box[3]) - 72
    for key, page_lines in enumerate(pages):
        content: list[str] = []
        elements: list[Any] = []
        page = pikepdf.Page(
            Dictionary(
                Type=Name.Page,
                MediaBox=Array(list(box)),
                Resources=Dictionary(Font=Dictionary(F1=font, F2=bold)),
                StructParents=key,
                Tabs=Name.S,
            )
        )
        pdf.pages.append(page)
        page_obj = pdf.pages[-1].obj
        texts = ([(title, "F2", 26, Name.H1)] if key == 0 else []) + [
            (line, "F1", 15, Name.P) for line in page_lines
        ]
        y = top
        for text, font_name, size, role in texts:
            if text:
                mcid = len(elements)
                content.append(
                    f"/{str(role)[1:]} <</MCID {mcid}>> BDC BT /{font_name} {size} Tf "
                    f"{left:.1f} {y:.1f} Td ({_pdf_text(text)}) Tj ET EMC"
                )
                element = pdf.make_indirect(
                    Dictionary(Type=Name.StructElem, S=role, P=document, Pg=page_obj, K=mcid)
                )
                elements.append(element)
                document.K.append(element)
            y -= size * 1.45
        page_obj.Contents = pdf.make_stream("\n".join(content).encode("latin-1"))
        parents.append((key, Array(elements)))
    return len(pages)


def _pdf_text(text: str) -> str:
    """Text for a literal string in Helvetica's WinAnsi encoding, escaped; unknown as ``?``."""
    encoded = text.encode("cp1252", errors="replace").decode("latin-1")
    return encoded.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
