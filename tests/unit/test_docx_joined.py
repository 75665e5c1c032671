"""docxtpl's template language and its images, sub-documents and tables in one template.

The language (RichText, notes) and the parts (images, sub-documents, table grids) were built
apart and meet in ``docx_values``' seam: one writer per part adds every relationship, media
member, content type, style and list a render needs. This renders them all at once, beside
docxtpl, and checks the package they make together.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import docx
import docxtpl
import pytest
from docx.shared import Mm
from lxml import etree  # type: ignore[import-untyped]

from service.engines.docx_engine import DocxTemplate, docx_spots
from service.engines.docx_media import DocxImage
from service.engines.docx_subdoc import DocxSubdoc
from service.engines.template_check import check_spots
from service.errors import InvalidSubdocumentError
from tests.unit.test_docx_docxtpl_compat import with_footnotes
from tests.unit.test_docx_parts import (
    NS,
    W,
    embedded_images,
    grid_and_rows,
    image_bytes,
    members,
    saved,
    sub_document,
)

R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
LINK = "https://example.se/villkor"


def everything(document: Any) -> None:
    document.sections[0].header.paragraphs[0].text = "Logga: {{ logo }}"
    document.add_paragraph("Hej {{ name }}, se {{r villkor }} nedan.")
    table = document.add_table(rows=2, cols=4)
    rows = [
        ["Namn", "{%tc for c in cols %}", "{{ c }}", "{%tc endfor %}"],
        ["{{ name }}", "{%tc for c in cols %}", "x{{ c }}", "{%tc endfor %}"],
    ]
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    document.add_paragraph("{{p bilaga }}")
    document.add_paragraph("Slut.")


def rich(url_id: str) -> Any:
    text = docxtpl.RichText("Viktigt: ", bold=True, color="C00000")
    text.add("villkoren", url_id=url_id, underline=True)
    return text


def context(
    logo: Any, bilaga: Any, url_id: str, cols: tuple[str, ...] = ("a", "b", "c", "d", "e")
) -> dict[str, Any]:
    return {
        "name": "Åbo & Söner",
        "villkor": rich(url_id),
        "logo": logo,
        "bilaga": bilaga,
        "cols": list(cols),
        "note": "Fotnot <1>",
    }


def visible_text(data: bytes) -> list[str]:
    """Body paragraphs, table cells, header paragraphs and footnote text, in that order."""
    document = docx.Document(io.BytesIO(data))
    found = [p.text for p in document.paragraphs]
    found += [c.text for t in document.tables for row in t.rows for c in row.cells]
    found += [p.text for p in document.sections[0].header.paragraphs]
    notes = etree.fromstring(members(data)["word/footnotes.xml"])
    found += ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in notes.iter(f"{W}p")]
    return found


def relationships(files: dict[str, bytes], part: str) -> dict[str, tuple[str, str]]:
    folder, name = part.rsplit("/", 1)
    root = etree.fromstring(files[f"{folder}/_rels/{name}.rels"])
    return {r.get("Id"): (r.get("Type").rsplit("/", 1)[1], r.get("Target")) for r in root}


def test_rich_text_header_image_column_loop_subdocument_and_footnote_render_as_docxtpl(
    tmp_path: Path,
) -> None:
    data = with_footnotes(saved(_build(everything)))
    sub = sub_document()
    (tmp_path / "bilaga.docx").write_bytes(sub)
    logo = image_bytes(60, 20, colour="green")

    theirs_template = docxtpl.DocxTemplate(io.BytesIO(data))
    theirs_template.render(
        context(
            docxtpl.InlineImage(theirs_template, io.BytesIO(logo), width=Mm(30)),
            theirs_template.new_subdoc(str(tmp_path / "bilaga.docx")),
            theirs_template.build_url_id(LINK),
        ),
        autoescape=True,
    )
    theirs = saved(theirs_template)
    ours_template = DocxTemplate.from_bytes(data, name="mall.docx")
    ours_native = ours_template.render(
        context(DocxImage(logo, width=Mm(30)), DocxSubdoc(sub), ours_template.build_url_id(LINK))
    )
    objects = docxtpl.DocxTemplate(io.BytesIO(data))
    ours_docxtpl_objects = ours_template.render(
        context(
            docxtpl.InlineImage(objects, io.BytesIO(logo), width=Mm(30)),
            objects.new_subdoc(str(tmp_path / "bilaga.docx")),
            ours_template.build_url_id(LINK),
        )
    )

    expected = visible_text(theirs)
    assert "Hej Åbo & Söner, se Viktigt: villkoren nedan." in expected
    assert "Not: Fotnot <1>" in expected
    for ours in (ours_native, ours_docxtpl_objects):
        assert visible_text(ours) == expected
        files = members(ours)
        # The column loop widened the table (the second is the sub-document's): its grid
        # follows, as docxtpl's fix_tables does.
        assert grid_and_rows(files["word/document.xml"]) == [(6, [6, 6]), (2, [2])]
        # One writer per part: the link (RichText) and the sub-document's picture are both
        # relationships of the document, the logo one of the header, none lost or doubled.
        body_rels = relationships(files, "word/document.xml")
        kinds = sorted(kind for kind, _ in body_rels.values())
        assert kinds.count("hyperlink") == 1 and kinds.count("image") == 1
        assert ("hyperlink", LINK) in body_rels.values()
        used = set(re.findall(rb'r:(?:id|embed)="(rId\d+)"', files["word/document.xml"]))
        assert {rid.decode() for rid in used} <= set(body_rels)
        assert embedded_images(ours, "word/document.xml") == [image_bytes(30, 30, colour="blue")]
        assert embedded_images(ours, "word/header1.xml") == [logo]
        assert b'Extension="png" ContentType="image/png"' in files["[Content_Types].xml"]
        assert b"Bilagerubrik" in files["word/styles.xml"]
        docpr_ids = [
            el.get("id")
            for name, blob in files.items()
            if name.endswith(".xml") and blob.startswith(b"<?xml")
            for el in etree.fromstring(blob).iterfind(".//wp:docPr", NS)
        ]
        assert len(docpr_ids) == len(set(docpr_ids)) == 2
        run = etree.fromstring(files["word/document.xml"]).find(f".//{W}hyperlink/{W}r")
        assert run is not None and run.find(f"{W}rPr/{W}u") is not None
        with zipfile.ZipFile(io.BytesIO(ours)) as archive:
            assert len(archive.namelist()) == len(set(archive.namelist()))


def test_a_render_adding_nothing_keeps_every_member_but_the_templated_parts() -> None:
    data = with_footnotes(saved(_build(everything)))
    template = DocxTemplate.from_bytes(data, name="mall.docx")
    plain = docxtpl.RichText("utan länk", bold=True)

    result = template.render({**context("", "", ""), "villkor": plain, "cols": ["a", "b", "c"]})

    before, after = members(data), members(result)
    templated = {"word/document.xml", "word/header1.xml", "word/footnotes.xml"}
    assert sorted(after) == sorted(before)
    assert {n for n in after if after[n] != before[n]} <= templated


def test_the_check_names_a_subdocument_or_rich_text_in_the_wrong_tag() -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Se {{ bilaga }} och {{ villkor }}")
        document.add_paragraph("{{p bilaga }} {{r logo }}")

    spots = docx_spots(saved(_build(build)), name="mall.docx")
    schema = {"bilaga": DocxSubdoc(b""), "villkor": rich(""), "logo": DocxImage(b"")}

    problems = [str(p) for p in check_spots(spots, schema)]

    assert problems == [
        "word/document.xml, paragraph 1: 'bilaga' is a DocxSubdoc in '{{ }}': write"
        " '{{p bilaga }}' alone in a paragraph of its own",
        "word/document.xml, paragraph 1: 'villkor' is a RichText in '{{ }}': write"
        " '{{r villkor }}' alone in its run",
    ]


def _build(build: Any) -> Any:
    document = docx.Document()
    build(document)
    return document


@pytest.mark.parametrize("place", ["Se {{ bilaga }}", "Se {{r bilaga }}"])
def test_a_subdocument_outside_its_paragraph_tag_is_refused_naming_the_tag(place: str) -> None:
    template = DocxTemplate.from_bytes(saved(_build(lambda d: d.add_paragraph(place))), name="m")
    with pytest.raises(InvalidSubdocumentError, match=r"paragraph 1: .*write '\{\{p name \}\}'"):
        template.render({"bilaga": DocxSubdoc(sub_document())})


def test_a_subdocument_bringing_only_a_style_writes_the_styles() -> None:
    # Nothing but styles.xml changes: no relationship, media or content type marks the render.
    sub = docx.Document()
    sub.styles.add_style("Bilagetext", 1).font.italic = True
    sub.add_paragraph("Kursiv", style="Bilagetext")
    data = saved(_build(lambda d: d.add_paragraph("{{p bilaga }}")))

    result = DocxTemplate.from_bytes(data, name="m").render({"bilaga": DocxSubdoc(saved(sub))})

    paragraph = docx.Document(io.BytesIO(result)).paragraphs[0]
    assert paragraph.text == "Kursiv"
    assert paragraph.style is not None and paragraph.style.name == "Bilagetext"
    assert paragraph.style.font.italic
