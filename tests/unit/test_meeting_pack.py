"""The meeting pack's pure parts: the order of the presentations, the merge, the names."""

from __future__ import annotations

import io
import zipfile

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from service.documents.meeting_pack import (
    LeftOut,
    PackDeck,
    archive_file_name,
    assemble_meeting_pack,
    cover_lines,
    presentation_order,
    unique_name,
)
from service.file_safety.external_links import EXTERNAL_TARGET, without_external_links

NETWORK = [
    (1, "Hedemora kommun"),
    (2, "Askersunds kommun"),
    (3, "Fagersta kommun"),
    (4, "Norrtälje kommun"),
    (5, "Södertälje kommun"),
    (6, "Kalmar kommun"),
    (7, "Region Värmland"),
    (8, "Region Gotland"),
]
BM2_AGENDA = [
    "Kaffe och registrering\nSödertälje kommun",
    "Återblick: lärdomar från Benchmarking 1\nMentorer (Hedemora, Norrtälje)",
    "Organisationernas presentationer del 1: Askersund, Fagersta, Södertälje, Kalmar\n"
    "Respektive strateg",
    "Lunch\nSödertälje kommun",
    "Organisationernas presentationer del 2: Region Värmland, Region Gotland, Hedemora, "
    "Norrtälje\nRespektive strateg",
    "Plan för fortsättningen\nRegion Värmland (värd BM 3)",
]


def a_deck(name: str, pages: int) -> bytes:
    """A small PDF with one line of text per page, as a deck would have."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    )
    for number in range(pages):
        page = pikepdf.Page(
            Dictionary(
                Type=Name.Page,
                MediaBox=Array([0, 0, 960, 540]),
                Resources=Dictionary(Font=Dictionary(F1=font)),
            )
        )
        pdf.pages.append(page)
        text = f"{name} bild {number + 1}".encode("latin-1")
        pdf.pages[-1].obj.Contents = pdf.make_stream(
            b"BT /F1 20 Tf 50 400 Td (" + text + b") Tj ET"
        )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


# -- order ------------------------------------------------------------------------------------


def test_presentations_follow_the_agendas_presentation_slots() -> None:
    order = presentation_order(BM2_AGENDA, NETWORK)

    assert order == [2, 3, 5, 6, 7, 8, 1, 4]


def test_who_hosts_coffee_or_looks_back_does_not_present_first() -> None:
    agenda = ["Kaffe\nSödertälje kommun", "Presentationer: Kalmar"]

    order = presentation_order(agenda, NETWORK)

    assert order[0] == 6
    assert order[1:] == [1, 2, 3, 4, 5, 7, 8]  # the rest in the network's order


def test_without_presentation_slots_the_network_order_stands() -> None:
    assert presentation_order(["Lunch", "Avslutning"], NETWORK) == [k for k, _ in NETWORK]


def test_an_organisation_named_twice_presents_once_where_first_named() -> None:
    agenda = ["Presentationer: Fagersta, Askersund", "Presentationer igen: Askersund"]

    order = presentation_order(agenda, NETWORK[:3])

    assert order == [3, 2, 1]


# -- names ------------------------------------------------------------------------------------


def test_files_are_named_as_people_name_them() -> None:
    assert (
        archive_file_name(
            meeting_title="Benchmarking 2",
            organisation_name="Askersunds kommun",
            title="Presentation",
            file_format="pptx",
        )
        == "Benchmarking 2 - Askersunds kommun - Presentation.pptx"
    )
    assert (
        archive_file_name(
            meeting_title="Benchmarking 2",
            organisation_name=None,
            title="Agenda",
            file_format="docx",
        )
        == "Benchmarking 2 - Agenda.docx"
    )


def test_hostile_names_stay_inside_their_folder() -> None:
    name = archive_file_name(
        meeting_title="../../etc",
        organisation_name='Å/B:"C"<script>',
        title="Agenda",
        file_format="pdf",
    )

    assert "/" not in name and "\\" not in name and ":" not in name
    assert name.endswith(".pdf") and "ÅBCscript" in name


def test_a_second_file_of_the_same_name_is_numbered() -> None:
    taken: set[str] = set()

    names = [unique_name(n, taken) for n in ("A.pdf", "a.PDF", "A.pdf", "Mapp")]

    assert names == ["A.pdf", "a (2).PDF", "A (3).pdf", "Mapp"]


# -- the PDF ----------------------------------------------------------------------------------


def test_one_bookmark_per_organisation_and_page_labels_per_organisation() -> None:
    decks = [
        PackDeck("Askersunds kommun", a_deck("Askersund", 2)),
        PackDeck("Region Värmland", a_deck("Värmland", 3)),
    ]

    data = assemble_meeting_pack(meeting_title="Benchmarking 2", decks=decks)

    with pikepdf.open(io.BytesIO(data)) as pdf:
        with pdf.open_outline() as outline:
            bookmarks = [(item.title, item.destination[0].objgen) for item in outline.root]
        pages = [page.obj.objgen for page in pdf.pages]
        labels = [page.label for page in pdf.pages]
        assert str(pdf.Root.Lang) == "sv-SE"
        assert bool(pdf.Root.MarkInfo.Marked)
        assert str(pdf.docinfo.Title) == "Mötespaket – Benchmarking 2"
    assert [(title, pages.index(page)) for title, page in bookmarks] == [
        ("Askersunds kommun", 1),
        ("Region Värmland", 3),
    ]
    assert labels == [
        "Innehåll",
        "Askersunds kommun 1",
        "Askersunds kommun 2",
        "Region Värmland 1",
        "Region Värmland 2",
        "Region Värmland 3",
    ]


def test_merged_structure_trees_point_at_the_packs_own_pages() -> None:
    # A pack is tagged: packing packs merges tagged trees, parent trees and all.
    inner = [
        PackDeck(
            "A", assemble_meeting_pack(meeting_title="X", decks=[PackDeck("a", a_deck("a", 2))])
        ),
        PackDeck(
            "B", assemble_meeting_pack(meeting_title="Y", decks=[PackDeck("b", a_deck("b", 1))])
        ),
    ]

    data = assemble_meeting_pack(meeting_title="Z", decks=inner)

    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = {page.obj.objgen for page in pdf.pages}
        keys = [int(page.obj.StructParents) for page in pdf.pages if Name.StructParents in page.obj]
        nums = list(pdf.Root.StructTreeRoot.ParentTree.Nums)
        tree_keys = [int(nums[i]) for i in range(0, len(nums), 2)]
        on_pages = _structure_pages(pdf.Root.StructTreeRoot)
        sections = [
            str(kid.T) for kid in pdf.Root.StructTreeRoot.K[0].K if kid.get("/S") == Name.Sect
        ]
    # Every cover's page had parent-tree key 0 in its own file: renumbered, none shared.
    assert keys == [0, 1, 2]
    assert sorted(tree_keys) == sorted(keys)
    assert on_pages and on_pages <= pages
    assert sections == ["A", "B"]


def _structure_pages(
    node: object, seen: set[tuple[int, int]] | None = None
) -> set[tuple[int, int]]:
    seen = set() if seen is None else seen
    found: set[tuple[int, int]] = set()
    if isinstance(node, Dictionary):
        if node.objgen != (0, 0):
            if node.objgen in seen:
                return found
            seen.add(node.objgen)
        if Name.Pg in node:
            found.add(node.Pg.objgen)
        kids = node.get(Name.K)
        for kid in kids if isinstance(kids, Array) else [kids]:
            found |= _structure_pages(kid, seen)
    return found


def test_the_cover_says_whose_deck_is_missing_and_why() -> None:
    lines = cover_lines(
        meeting_title="Benchmarking 2",
        decks=[PackDeck("Askersunds kommun", b"")],
        left_out=[
            LeftOut("Kalmar kommun", ""),
            LeftOut("Region Gotland", "den inskickade presentationen kunde inte omvandlas."),
        ],
    )

    assert "Saknas (ingen presentation): Kalmar kommun" in lines
    assert "Region Gotland: den inskickade presentationen kunde inte omvandlas." in lines


def test_the_same_decks_give_the_same_bytes() -> None:
    decks = [PackDeck("Askersunds kommun", a_deck("Askersund", 1))]

    first = assemble_meeting_pack(meeting_title="Benchmarking 2", decks=decks)
    second = assemble_meeting_pack(meeting_title="Benchmarking 2", decks=decks)

    assert first == second


# -- links out of an uploaded deck ------------------------------------------------------------

RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://x/image" Target="../media/image1.png"/>'
    '<Relationship Id="rId2" Type="http://x/image" Target="http://evil.example/p.png" '
    'TargetMode="External"/>'
    '<Relationship Id="rId3" Type="http://x/oleObject" Target="file:///etc/passwd" '
    'TargetMode="External"/>'
    "</Relationships>"
)


def test_an_uploaded_decks_external_links_point_nowhere() -> None:
    source = io.BytesIO()
    with zipfile.ZipFile(source, "w") as package:
        package.writestr("ppt/slides/_rels/slide1.xml.rels", RELS)
        package.writestr("ppt/slides/slide1.xml", "<p/>")

    cut = without_external_links(source.getvalue())

    with zipfile.ZipFile(io.BytesIO(cut)) as package:
        rels = package.read("ppt/slides/_rels/slide1.xml.rels").decode()
        assert package.read("ppt/slides/slide1.xml") == b"<p/>"
    assert "evil.example" not in rels and "/etc/passwd" not in rels
    assert rels.count(f'Target="{EXTERNAL_TARGET}"') == 2
    assert 'Target="../media/image1.png"' in rels


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken"])
def test_a_package_that_is_not_a_zip_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a zip package"):
        without_external_links(data)
