"""docxtpl contexts with images, sub-documents, table tags and replaced media render in benchdocs'
docx engine as docxtpl renders them: compared with docxtpl in the same test."""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import docx
import docxtpl
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm
from lxml import etree  # type: ignore[import-untyped]
from PIL import Image as PILImage

from service.engines.docx_engine import DocxTemplate
from service.engines.docx_media import MAX_IMAGE_BYTES, DocxImage, load_image
from service.engines.docx_package_edits import replace_in_template
from service.engines.docx_subdoc import DocxSubdoc
from service.engines.docx_tables import _adjust_with_lxml, adjust_table_grids
from service.errors import InvalidImageError, InvalidSubdocumentError, RenderError, TemplateError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
NS = {
    "w": W[1:-1],
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}


# -- builders ---------------------------------------------------------------------------------


def image_bytes(width: int = 40, height: int = 20, fmt: str = "PNG", colour: str = "red") -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, fmt)
    return out.getvalue()


def saved(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_template(build: Callable[[Any], None]) -> bytes:
    document = docx.Document()
    build(document)
    return saved(document)


def render_docxtpl(data: bytes, make_context: Callable[[Any], Mapping[str, Any]]) -> bytes:
    template = docxtpl.DocxTemplate(io.BytesIO(data))
    template.render(dict(make_context(template)), autoescape=True)
    return saved(template)


def render_ours(data: bytes, context: Mapping[str, Any]) -> bytes:
    return DocxTemplate.from_bytes(data, name="mall.docx").render(context)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def part_text(xml: bytes) -> str:
    root = etree.fromstring(xml)
    return "\n".join(
        "".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")
    ).strip()


def extents(xml: bytes) -> list[tuple[int, int]]:
    root = etree.fromstring(xml)
    return [
        (int(e.get("cx")), int(e.get("cy"))) for e in root.iterfind(".//wp:inline/wp:extent", NS)
    ]


def embedded_images(data: bytes, part: str) -> list[bytes]:
    """The image bytes each picture of ``part`` shows, following its relationship."""
    files = members(data)
    rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    rels = {
        rel.get("Id"): posixpath.normpath(
            posixpath.join(posixpath.dirname(part), rel.get("Target"))
        )
        for rel in etree.fromstring(files[rels_name])
    }
    root = etree.fromstring(files[part])
    return [files[rels[blip.get(R_EMBED)]] for blip in root.iterfind(".//a:blip", NS)]


# -- images -----------------------------------------------------------------------------------


def image_template(document: Any) -> None:
    document.sections[0].header.paragraphs[0].text = "Logga: {{ logo }}"
    document.sections[0].footer.paragraphs[0].text = "Sidfot {{ stamp }}"
    document.add_paragraph("Bild: {{ photo }} slut")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "{{ name }}"
    table.cell(0, 1).text = "{{ icon }}"


def test_images_land_in_body_header_footer_and_table_sized_as_docxtpl_sizes_them() -> None:
    red, blue, green = image_bytes(), image_bytes(30, 30, colour="blue"), image_bytes(8, 16, "GIF")
    data = make_template(image_template)

    def docxtpl_context(tpl: Any) -> dict[str, Any]:
        return {
            "logo": docxtpl.InlineImage(tpl, io.BytesIO(red), width=Mm(20)),
            "stamp": docxtpl.InlineImage(tpl, io.BytesIO(green)),
            "photo": docxtpl.InlineImage(tpl, io.BytesIO(blue), height=Mm(15)),
            "name": "Åbo & Söner <AB>",
            "icon": docxtpl.InlineImage(tpl, io.BytesIO(red), Mm(10), Mm(10)),
        }

    theirs = render_docxtpl(data, docxtpl_context)
    ours_from_docxtpl_objects = render_ours(
        data, docxtpl_context(docxtpl.DocxTemplate(io.BytesIO(data)))
    )
    ours_native = render_ours(
        data,
        {
            "logo": DocxImage(red, width=Mm(20)),
            "stamp": DocxImage(green),
            "photo": DocxImage(blue, height=Mm(15)),
            "name": "Åbo & Söner <AB>",
            "icon": DocxImage(red, Mm(10), Mm(10)),
        },
    )

    expected = members(theirs)
    for ours in (ours_from_docxtpl_objects, ours_native):
        files = members(ours)
        for part in ("word/document.xml", "word/header1.xml", "word/footer1.xml"):
            assert part_text(files[part]) == part_text(expected[part])
            assert extents(files[part]) == extents(expected[part])
        assert extents(files["word/document.xml"]) == [
            (Mm(15) * 30 // 30, Mm(15)),
            (Mm(10), Mm(10)),
        ]
        assert embedded_images(ours, "word/document.xml") == [blue, red]
        assert embedded_images(ours, "word/header1.xml") == [red]
        assert embedded_images(ours, "word/footer1.xml") == [green]
        content_types = files["[Content_Types].xml"].decode()
        assert 'Extension="png" ContentType="image/png"' in content_types
        assert 'Extension="gif" ContentType="image/gif"' in content_types
        reopened = docx.Document(io.BytesIO(ours))
        assert [shape.width for shape in reopened.inline_shapes] == [Mm(15), Mm(10)]
        assert reopened.tables[0].cell(0, 0).text == "Åbo & Söner <AB>"
        ids = [
            el.get("id")
            for f in files.values()
            if f.startswith(b"<?xml")
            for el in etree.fromstring(f).iterfind(".//wp:docPr", NS)
        ]
        assert len(ids) == len(set(ids)) == 4


def test_one_given_dimension_keeps_the_aspect_ratio() -> None:
    data = make_template(lambda d: d.add_paragraph("{{ wide }}{{ tall }}{{ native }}"))
    picture = image_bytes(200, 100)

    files = members(
        render_ours(
            data,
            {
                "wide": DocxImage(picture, width=Mm(40)),
                "tall": DocxImage(picture, height=Mm(40)),
                "native": DocxImage(picture),
            },
        )
    )

    (wide, tall, native) = extents(files["word/document.xml"])
    assert wide == (Mm(40), Mm(20))
    assert tall == (Mm(80), Mm(40))
    assert native == (200 * 914400 // 72, 100 * 914400 // 72)  # PIL writes no resolution: 72 dpi


def test_one_image_used_twice_is_stored_once() -> None:
    data = make_template(lambda d: d.add_paragraph("{{ a }} och {{ a }}"))

    files = members(render_ours(data, {"a": DocxImage(image_bytes(), width=Mm(5))}))

    assert [name for name in files if name.startswith("word/media/")] == [
        "word/media/benchdocs-image1.png"
    ]


ZERO_SIZE_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I4sIIBBBBBI", 13, b"IHDR", 0, 0, 8, 2, 0, 0, 0, 0)
    + struct.pack(">I4sI", 0, b"IEND", 0xAE426082)
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image at all", "not a PNG, JPEG, GIF, BMP or TIFF"),
        (image_bytes()[:-5], "cut short"),
        (image_bytes()[:-30], "cut short"),
        (ZERO_SIZE_PNG, "has no size"),
        (image_bytes(fmt="JPEG")[:-2], "cut short"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, "at most"),
    ],
    ids=[
        "garbage",
        "truncated-png",
        "cut-in-data",
        "bad-header",
        "truncated-jpeg",
        "empty",
        "oversized",
    ],
)
def test_unusable_image_data_is_refused_with_its_place(data: bytes, message: str) -> None:
    template = DocxTemplate.from_bytes(
        make_template(lambda d: d.add_paragraph("{{ photo }}")), name="mall.docx"
    )

    with pytest.raises(
        InvalidImageError, match=rf"mall\.docx: word/document\.xml, paragraph 1: .*{message}"
    ):
        template.render({"photo": DocxImage(data)})


def test_a_non_positive_size_is_refused() -> None:
    template = DocxTemplate.from_bytes(
        make_template(lambda d: d.add_paragraph("{{ p }}")), name="m"
    )

    with pytest.raises(InvalidImageError, match="positive EMU"):
        template.render({"p": DocxImage(image_bytes(), width=0)})


def test_jpeg_and_bmp_are_accepted() -> None:
    assert load_image(image_bytes(fmt="JPEG")).content_type == "image/jpeg"
    assert load_image(image_bytes(fmt="BMP")).ext == "bmp"


def test_templates_without_images_render_the_same_bytes_and_members_as_before() -> None:
    data = make_template(lambda d: d.add_paragraph("Hej {{ name }}"))
    template = DocxTemplate.from_bytes(data, name="m")

    first, second = template.render({"name": "Åsa"}), template.render({"name": "Åsa"})

    assert first == second
    assert sorted(members(first)) == sorted(n for n in members(data) if not n.endswith("/"))
    assert (
        members(first)["word/_rels/document.xml.rels"]
        == members(data)["word/_rels/document.xml.rels"]
    )


# -- tables -----------------------------------------------------------------------------------


def column_table(document: Any) -> None:
    table = document.add_table(rows=3, cols=4)
    table.style = "Table Grid"
    rows = [
        ["Namn", "{%tc for c in cols %}", "{{ c }}", "{%tc endfor %}"],
        ["{% cellbg colour %}{{ who }}", "{%tc for c in cols %}", "{% hm %}X", "{%tc endfor %}"],
    ]
    for r, cells in enumerate(rows):
        for i, text in enumerate(cells):
            table.cell(r, i).text = text
    table.cell(2, 0).text = "{% colspan span %}Summa"
    last = table.rows[2]._tr
    for cell in last.findall(qn("w:tc"))[1:]:
        last.remove(cell)
    merged = document.add_table(rows=3, cols=2)
    merged.cell(0, 0).text = "{%tr for g in groups %}"
    merged.cell(1, 0).text = "{% vm %}{{ g.name }}"
    merged.cell(1, 1).text = "{{ g.value }}"
    merged.cell(2, 0).text = "{%tr endfor %}"


TABLE_CONTEXT = {
    "cols": ["a", "b", "c", "d"],
    "colour": "FFF2CC",
    "who": "Åsa",
    "span": 5,
    "groups": [{"name": "Grupp 1", "value": 1}, {"name": "Grupp 1", "value": 2}],
}


def span(cell: Any) -> int:
    grid_span = cell.find(f"{W}tcPr/{W}gridSpan")
    return 1 if grid_span is None else int(grid_span.get(f"{W}val"))


def grid_and_rows(xml: bytes) -> list[tuple[int, list[int]]]:
    """Per table: gridCol count and each row's cell count with spans."""
    out = []
    for table in etree.fromstring(xml).iter(f"{W}tbl"):
        spans = [sum(span(tc) for tc in tr.findall(f"{W}tc")) for tr in table.findall(f"{W}tr")]
        out.append((len(table.findall(f"{W}tblGrid/{W}gridCol")), spans))
    return out


def merge_marks(xml: bytes) -> list[str]:
    return re.findall(r"<w:(?:gridSpan|vMerge|shd)[^>]*>", xml.decode())


def test_column_loops_and_merges_render_as_docxtpl_with_the_grid_following_the_rows() -> None:
    data = make_template(column_table)

    ours = members(render_ours(data, TABLE_CONTEXT))["word/document.xml"]
    theirs = members(render_docxtpl(data, lambda _: TABLE_CONTEXT))["word/document.xml"]

    assert part_text(ours) == part_text(theirs)
    assert merge_marks(ours) == merge_marks(theirs)
    assert merge_marks(ours) == [
        '<w:shd w:val="clear" w:color="auto" w:fill="FFF2CC"/>',
        '<w:gridSpan w:val="4"/>',
        '<w:gridSpan w:val="5"/>',
        '<w:vMerge w:val="restart"/>',
        '<w:vMerge w:val="continue"/>',
    ]
    assert grid_and_rows(ours) == [(5, [5, 5, 5]), (2, [2, 2])]
    widths = [int(c.get(f"{W}w")) for c in etree.fromstring(ours).iter(f"{W}gridCol")][:5]
    original = [
        int(c.get(f"{W}w"))
        for c in etree.fromstring(members(data)["word/document.xml"]).iter(f"{W}gridCol")
    ][:4]
    assert abs(sum(widths) - sum(original)) < 5  # the table keeps its width


def test_fewer_loop_columns_shrink_the_grid_and_keep_the_width() -> None:
    data = make_template(column_table)

    ours = members(render_ours(data, {**TABLE_CONTEXT, "cols": ["a"], "span": 2}))[
        "word/document.xml"
    ]

    assert grid_and_rows(ours)[0] == (2, [2, 2, 2])
    widths = [int(c.get(f"{W}w")) for c in etree.fromstring(ours).iter(f"{W}gridCol")][:2]
    assert sum(widths) >= 8600


def test_grid_adjustment_leaves_matching_tables_untouched() -> None:
    xml = members(make_template(lambda d: d.add_table(rows=2, cols=3)))["word/document.xml"]

    assert adjust_table_grids(xml) is xml


# -- sub-documents ----------------------------------------------------------------------------


def list_paragraph(document: Any, text: str, num_id: str) -> None:
    paragraph = document.add_paragraph(text)
    properties = paragraph._p.get_or_add_pPr()
    num_pr = etree.SubElement(properties, qn("w:numPr"))
    etree.SubElement(num_pr, qn("w:ilvl")).set(qn("w:val"), "0")
    etree.SubElement(num_pr, qn("w:numId")).set(qn("w:val"), num_id)


def sub_document() -> bytes:
    document = docx.Document()
    style = document.styles.add_style("Bilagerubrik", 1)
    style.font.bold = True
    document.add_paragraph("Bilagans rubrik", style="Bilagerubrik")
    list_paragraph(document, "Första punkten", "1")
    list_paragraph(document, "Andra punkten", "1")
    document.add_picture(io.BytesIO(image_bytes(30, 30, colour="blue")), width=Mm(10))
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "c1", "c2"
    return saved(document)


def subdoc_template(document: Any) -> None:
    document.add_paragraph("Före")
    list_paragraph(document, "Mallens punkt", "1")
    document.add_paragraph("{{p bilaga }}")
    document.add_paragraph("Efter {{ x }}")


def test_a_subdocument_is_merged_with_its_styles_lists_and_images(tmp_path: Any) -> None:
    sub = sub_document()
    path = tmp_path / "bilaga.docx"
    path.write_bytes(sub)
    data = make_template(subdoc_template)

    theirs = render_docxtpl(data, lambda tpl: {"bilaga": tpl.new_subdoc(str(path)), "x": 1})
    ours_native = render_ours(data, {"bilaga": DocxSubdoc(sub), "x": 1})
    docxtpl_subdoc = docxtpl.DocxTemplate(io.BytesIO(data)).new_subdoc(str(path))
    ours_from_docxtpl = render_ours(data, {"bilaga": docxtpl_subdoc, "x": 1})

    expected = docx.Document(io.BytesIO(theirs))
    for ours in (ours_native, ours_from_docxtpl):
        reopened = docx.Document(io.BytesIO(ours))
        assert [p.text for p in reopened.paragraphs] == [p.text for p in expected.paragraphs]
        style = reopened.paragraphs[2].style
        assert style is not None
        assert style.name == "Bilagerubrik"
        assert style.font.bold
        assert [[c.text for c in r.cells] for r in reopened.tables[0].rows] == [["c1", "c2"]]
        assert embedded_images(ours, "word/document.xml") == [image_bytes(30, 30, colour="blue")]
        files = members(ours)
        numbering = etree.fromstring(files["word/numbering.xml"])
        body = etree.fromstring(files["word/document.xml"])
        num_ids = [n.get(f"{W}val") for n in body.iter(f"{W}numId")]
        assert num_ids[0] == "1"  # the template's own list keeps its number
        assert num_ids[1] == num_ids[2] != "1"  # the sub-document's list is a list of its own
        defined = {
            n.get(f"{W}numId"): n.find(f"{W}abstractNumId").get(f"{W}val")
            for n in numbering.iter(f"{W}num")
        }
        assert defined[num_ids[1]] != defined["1"]
        abstract_ids = [a.get(f"{W}abstractNumId") for a in numbering.iter(f"{W}abstractNum")]
        assert len(abstract_ids) == len(set(abstract_ids))


def test_a_subdocument_without_lists_or_styles_needs_no_numbering_part() -> None:
    sub = saved(docx.Document())
    data = make_template(lambda d: d.add_paragraph("{{p bilaga }}"))
    sub_doc = docx.Document(io.BytesIO(sub))
    sub_doc.add_paragraph("Bara text")

    reopened = docx.Document(io.BytesIO(render_ours(data, {"bilaga": DocxSubdoc(saved(sub_doc))})))

    assert [p.text for p in reopened.paragraphs] == ["Bara text"]


def test_text_and_an_image_in_a_paragraph_tag_become_paragraphs_of_their_own() -> None:
    # docxtpl's {{p}} stands for its paragraph: text becomes a plain paragraph (as docxlang's
    # RichTextParagraph place gives it), an image a paragraph holding only the picture, and a
    # rich text meant for a run is refused naming the tag to use.
    template = DocxTemplate.from_bytes(
        make_template(lambda d: (d.add_paragraph("{{p bilaga }}"), d.add_paragraph("{{p bild }}"))),
        name="m",
    )

    result = template.render({"bilaga": "text", "bild": DocxImage(image_bytes(), width=Mm(10))})

    body = etree.fromstring(members(result)["word/document.xml"]).find(f"{W}body")
    paragraphs = body.findall(f"{W}p")
    assert ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in paragraphs] == ["text", ""]
    assert len(paragraphs[1].findall(f"{W}r/{W}drawing")) == 1
    assert embedded_images(result, "word/document.xml") == [image_bytes()]
    with pytest.raises(RenderError, match=r"paragraph 1: .*RichText has no meaning in \{\{p"):
        template.render({"bilaga": docxtpl.RichText("r"), "bild": ""})


def test_a_broken_subdocument_is_refused() -> None:
    template = DocxTemplate.from_bytes(
        make_template(lambda d: d.add_paragraph("{{p bilaga }}")), name="m"
    )

    with pytest.raises(InvalidSubdocumentError, match="not a readable docx"):
        template.render({"bilaga": DocxSubdoc(b"PK not really")})


# -- replacing pictures, media and embedded files ------------------------------------------


def picture_template(document: Any) -> None:
    document.add_paragraph("Hej {{ name }}")
    document.add_picture(io.BytesIO(image_bytes(colour="red")), width=Mm(30))
    header = document.sections[0].header.paragraphs[0]
    run = header.add_run()
    run.add_picture(io.BytesIO(image_bytes(10, 10, colour="green")), width=Mm(8))
    run._r.xpath(".//pic:cNvPr")[0].set("name", "logga.png")


def picture_names(data: bytes) -> list[str]:
    root = etree.fromstring(members(data)["word/document.xml"])
    pic = "{http://schemas.openxmlformats.org/drawingml/2006/picture}"
    return [el.get("name") for el in root.iter(f"{pic}cNvPr")]


def test_replace_pic_media_and_zipname_match_docxtpl(tmp_path: Any) -> None:
    data = make_template(picture_template)
    (name,) = picture_names(data)
    new_picture, new_logo = image_bytes(colour="yellow"), image_bytes(10, 10, colour="black")
    old_logo = image_bytes(10, 10, colour="green")
    old_path, new_path = tmp_path / "old.png", tmp_path / "new.png"
    old_path.write_bytes(old_logo)
    new_path.write_bytes(new_logo)

    tpl = docxtpl.DocxTemplate(io.BytesIO(data))
    tpl.replace_pic(name, io.BytesIO(new_picture))
    tpl.replace_media(str(old_path), str(new_path))
    tpl.render({"name": "Åsa"}, autoescape=True)
    theirs = saved(tpl)
    replaced = replace_in_template(
        data, name="m", pics={name: new_picture}, media={old_logo: new_logo}
    )
    ours = render_ours(replaced, {"name": "Åsa"})

    assert embedded_images(ours, "word/document.xml") == [new_picture]
    assert embedded_images(ours, "word/header1.xml") == [new_logo]
    assert embedded_images(theirs, "word/header1.xml") == [new_logo]
    assert embedded_images(theirs, "word/document.xml") == [new_picture]
    assert extents(members(ours)["word/document.xml"]) == extents(
        members(data)["word/document.xml"]
    )
    assert part_text(members(ours)["word/document.xml"]) == part_text(
        members(theirs)["word/document.xml"]
    )


def test_replace_embedded_and_zipname() -> None:
    template = docx.Document()
    template.add_paragraph("Hej")
    data = saved(template)
    files = members(data)
    files["word/embeddings/Blad1.xlsx"] = b"old workbook"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member, blob in files.items():
            archive.writestr(member, blob)

    replaced = members(
        replace_in_template(
            out.getvalue(),
            name="m",
            embedded={b"old workbook": b"new workbook"},
            zipnames={
                "word/settings.xml": files["word/settings.xml"].replace(
                    b"w:settings", b"w:settings", 1
                )
            },
        )
    )

    assert replaced["word/embeddings/Blad1.xlsx"] == b"new workbook"


def test_replacing_a_missing_picture_or_member_is_refused() -> None:
    data = make_template(picture_template)

    with pytest.raises(TemplateError, match=r"picture 'saknas\.png' not found"):
        replace_in_template(data, name="m", pics={"saknas.png": image_bytes()})
    with pytest.raises(TemplateError, match=r"no member 'word/saknas\.xml'"):
        replace_in_template(data, name="m", zipnames={"word/saknas.xml": b""})
    with pytest.raises(InvalidImageError):
        replace_in_template(data, name="m", pics={picture_names(data)[0]: b"no image"})


def test_nothing_replaced_gives_the_same_bytes() -> None:
    data = make_template(picture_template)

    assert replace_in_template(data, name="m", media={b"unknown": b"x"}) is data


def test_a_nested_table_with_a_column_loop_gets_its_own_grid() -> None:
    def nested(document: Any) -> None:
        outer = document.add_table(rows=1, cols=2)
        outer.cell(0, 0).text = "Yttre"
        inner = outer.cell(0, 1).add_table(rows=1, cols=3)
        for i, text in enumerate(["{%tc for c in cols %}", "{{ c }}", "{%tc endfor %}"]):
            inner.cell(0, i).text = text

    data = make_template(nested)

    ours = members(render_ours(data, {"cols": ["a", "b", "c", "d"]}))["word/document.xml"]
    theirs = members(render_docxtpl(data, lambda _: {"cols": ["a", "b", "c", "d"]}))

    assert part_text(ours) == part_text(theirs["word/document.xml"])
    assert grid_and_rows(ours) == [(2, [2]), (4, [4])]


def test_the_text_fast_way_and_the_lxml_way_give_the_same_grids() -> None:
    data = make_template(column_table)
    template = DocxTemplate.from_bytes(data, name="m")
    rendered = members(template.render(TABLE_CONTEXT))["word/document.xml"]
    # Undo the fix on the first table (back to its three template columns).
    first_grid = re.search(rb"<w:tblGrid>.*?</w:tblGrid>", rendered, re.S)
    assert first_grid is not None
    three = b"<w:tblGrid>" + b'<w:gridCol w:w="2160"/>' * 3 + b"</w:tblGrid>"
    broken = rendered[: first_grid.start()] + three + rendered[first_grid.end() :]

    fast = adjust_table_grids(broken)
    slow = _adjust_with_lxml(broken)

    assert grid_and_rows(fast) == grid_and_rows(slow) == [(5, [5, 5, 5]), (2, [2, 2])]
    widths = [
        [c.get(f"{W}w") for c in etree.fromstring(x).iter(f"{W}gridCol")] for x in (fast, slow)
    ]
    assert widths[0] == widths[1]


def test_a_subdocument_in_running_text_is_refused_with_the_tag_to_use() -> None:
    template = DocxTemplate.from_bytes(
        make_template(lambda d: d.add_paragraph("Se {{ b }}")), name="m"
    )

    with pytest.raises(InvalidSubdocumentError, match=r"paragraph 1: .*write '\{\{p name \}\}'"):
        template.render({"b": DocxSubdoc(sub_document())})


def test_a_subdocument_built_with_python_docx_and_one_in_a_header(tmp_path: Any) -> None:
    def header_and_body(document: Any) -> None:
        document.sections[0].header.paragraphs[0].text = "{{p sidhuvud }}"
        document.add_paragraph("{{p bilaga }}")

    data = make_template(header_and_body)
    header_doc = docx.Document()
    header_doc.add_picture(io.BytesIO(image_bytes(12, 12, colour="black")), width=Mm(6))
    picture = tmp_path / "logga.png"
    picture.write_bytes(image_bytes(12, 12, colour="black"))

    def context(tpl: Any) -> dict[str, Any]:
        built = tpl.new_subdoc()
        built.add_paragraph("Skriven med python-docx", style="Heading 2")
        return {"bilaga": built, "sidhuvud": DocxSubdoc(saved(header_doc))}

    ours = render_ours(data, context(docxtpl.DocxTemplate(io.BytesIO(data))))

    reopened = docx.Document(io.BytesIO(ours))
    assert [(p.text, p.style.name if p.style else "") for p in reopened.paragraphs] == [
        ("Skriven med python-docx", "Heading 2")
    ]
    assert embedded_images(ours, "word/header1.xml") == [picture.read_bytes()]


def test_an_inline_image_given_as_a_path(tmp_path: Any) -> None:
    picture = tmp_path / "bild.png"
    picture.write_bytes(image_bytes(20, 10))
    data = make_template(lambda d: d.add_paragraph("{{ bild }}"))
    tpl = docxtpl.DocxTemplate(io.BytesIO(data))

    ours = render_ours(data, {"bild": docxtpl.InlineImage(tpl, str(picture), width=Mm(20))})

    assert extents(members(ours)["word/document.xml"]) == [(Mm(20), Mm(10))]
    with pytest.raises(InvalidImageError, match="cannot be read"):
        render_ours(data, {"bild": docxtpl.InlineImage(tpl, str(tmp_path / "saknas.png"))})


def test_an_image_with_a_link_opens_it_as_in_docxtpl() -> None:
    data = make_template(lambda d: d.add_paragraph("{{ bild }}"))
    picture = image_bytes()

    theirs = members(
        render_docxtpl(
            data,
            lambda tpl: {
                "bild": docxtpl.InlineImage(tpl, io.BytesIO(picture), anchor="https://example.se/a")
            },
        )
    )
    ours = members(render_ours(data, {"bild": DocxImage(picture, link="https://example.se/a")}))

    for files in (ours, theirs):
        root = etree.fromstring(files["word/document.xml"])
        rels = {r.get("Id"): r for r in etree.fromstring(files["word/_rels/document.xml.rels"])}
        clicks = root.findall(".//a:hlinkClick", NS)
        assert len(clicks) == 2
        target = rels[clicks[0].get(qn("r:id"))]
        assert (target.get("Target"), target.get("TargetMode")) == (
            "https://example.se/a",
            "External",
        )
    with pytest.raises(InvalidImageError, match="http"):
        render_ours(data, {"bild": DocxImage(picture, link="javascript:alert(1)")})


def test_a_subdocument_with_footnotes_is_refused() -> None:
    sub = docx.Document()
    paragraph = sub.add_paragraph("Text")
    reference = etree.SubElement(paragraph.add_run()._r, qn("w:footnoteReference"))
    reference.set(qn("w:id"), "1")
    template = DocxTemplate.from_bytes(
        make_template(lambda d: d.add_paragraph("{{p b }}")), name="m"
    )

    with pytest.raises(InvalidSubdocumentError, match="footnotes, which cannot be merged"):
        template.render({"b": DocxSubdoc(saved(sub))})
