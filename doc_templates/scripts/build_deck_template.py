"""Build doc_templates/deck_benchmarking.pptx, the per-organisation presentation deck.

Run from the repository root: ``python doc_templates/scripts/build_deck_template.py``.
The result is committed; organisers may then edit the .pptx in PowerPoint directly. Tags follow
the conventions of ``service.engines.pptx_engine``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

OUTPUT = Path(__file__).resolve().parents[1] / "deck_benchmarking.pptx"

SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
MARGIN = Inches(0.6)
CONTENT_WIDTH = SLIDE_WIDTH - 2 * MARGIN
CONTENT_TOP = Inches(1.55)
LANGUAGE = "sv-SE"

NAVY = RGBColor(0x1F, 0x38, 0x64)
BLUE = RGBColor(0x2E, 0x75, 0xB6)
LIGHT_BLUE = RGBColor(0x9D, 0xC3, 0xE6)
PALE = RGBColor(0xF2, 0xF5, 0xF9)
GREY = RGBColor(0x59, 0x59, 0x59)
LIGHT_GREY = RGBColor(0xA6, 0xA6, 0xA6)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)

TITLE_SLIDE_LAYOUT = 0
TITLE_ONLY_LAYOUT = 5

PLACEHOLDER_AREAS = [
    "Styrning och ledning",
    "Mål och uppföljning",
    "Kunskap och kompetens",
    "Statistik och analys",
    "Verksamhetsutveckling",
    "Resursfördelning",
    "Kommunikation",
    "Samverkan",
]


# -- master and layouts ---------------------------------------------------------------------


def widen_to_16_9(prs: Any) -> None:
    """Switch the default 4:3 template to 16:9, stretching master and layout shapes."""
    factor = SLIDE_WIDTH / prs.slide_width
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    for part in [prs.slide_master, *prs.slide_layouts]:
        for shape in part.shapes:
            if shape.left is not None and shape._element.find(f".//{qn('a:off')}") is not None:
                shape.left = Emu(round(shape.left * factor))
                shape.width = Emu(round(shape.width * factor))


def style_master(prs: Any) -> None:
    """Left-aligned navy titles above a thin accent line; calmer body sizes."""
    master = prs.slide_master
    styles = master._element.find(qn("p:txStyles"))
    title = styles.find(f"{qn('p:titleStyle')}/{qn('a:lvl1pPr')}")
    title.set("algn", "l")
    title_rpr = title.find(qn("a:defRPr"))
    title_rpr.set("sz", "3000")
    title_rpr.set("b", "1")
    _set_fill(title_rpr, NAVY)
    for level, size in enumerate([2000, 1800, 1600, 1400, 1400, 1400, 1400, 1400, 1400], 1):
        ppr = styles.find(f"{qn('p:bodyStyle')}/{qn(f'a:lvl{level}pPr')}")
        if ppr is not None:
            ppr.find(qn("a:defRPr")).set("sz", str(size))
    for part in [master, *prs.slide_layouts]:
        for shape in part.placeholders:
            if shape.placeholder_format.type in (1, 3):  # TITLE, CENTER_TITLE
                if part is prs.slide_layouts[TITLE_SLIDE_LAYOUT]:
                    continue
                shape.left, shape.top = MARGIN, Inches(0.35)
                shape.width, shape.height = CONTENT_WIDTH, Inches(0.9)
                shape.text_frame.vertical_anchor = MSO_ANCHOR.BOTTOM
    line = master.shapes._spTree.add_autoshape(
        master.shapes._next_shape_id,
        "Dekorlinje",
        "rect",
        MARGIN,
        Inches(1.3),
        CONTENT_WIDTH,
        Inches(0.04),
    )
    _solid_shape(line, BLUE)


def style_title_layout(prs: Any) -> None:
    """The title slide: a navy band with the white title, details below it."""
    layout = prs.slide_layouts[TITLE_SLIDE_LAYOUT]
    layout._element.cSld.getparent().set("showMasterSp", "0")
    tree = layout.shapes._spTree
    band = tree.add_autoshape(
        layout.shapes._next_shape_id, "Rubrikband", "rect", 0, 0, SLIDE_WIDTH, Inches(4.1)
    )
    _solid_shape(band, NAVY)
    tree.remove(band)
    tree.insert(2, band)  # behind the placeholders: after nvGrpSpPr and grpSpPr
    accent = tree.add_autoshape(
        layout.shapes._next_shape_id,
        "Dekorlinje",
        "rect",
        0,
        Inches(4.1),
        SLIDE_WIDTH,
        Inches(0.08),
    )
    _solid_shape(accent, BLUE)
    for shape in layout.placeholders:
        kind = shape.placeholder_format.type
        if kind == 3:  # CENTER_TITLE
            shape.left, shape.top = MARGIN, Inches(1.2)
            shape.width, shape.height = CONTENT_WIDTH, Inches(2.6)
            shape.text_frame.vertical_anchor = MSO_ANCHOR.BOTTOM
            ppr = _lvl1_ppr(shape)
            ppr.set("algn", "l")
            rpr = _sub(ppr, "a:defRPr")
            rpr.set("sz", "4000")
            rpr.set("b", "1")
            _set_fill(rpr, WHITE)
        elif kind == 4:  # SUBTITLE
            shape.left, shape.top = MARGIN, Inches(4.5)
            shape.width, shape.height = CONTENT_WIDTH, Inches(2.4)
            shape.text_frame.vertical_anchor = MSO_ANCHOR.TOP
            ppr = _lvl1_ppr(shape)
            ppr.set("algn", "l")
            rpr = _sub(ppr, "a:defRPr")
            rpr.set("sz", "2000")
            _set_fill(rpr, GREY)


def _lvl1_ppr(shape: Any) -> Any:
    lst = shape.text_frame._txBody.find(qn("a:lstStyle"))
    ppr = lst.find(qn("a:lvl1pPr"))
    if ppr is None:
        ppr = etree.SubElement(lst, qn("a:lvl1pPr"))
    return ppr


def _sub(parent: Any, tag: str) -> Any:
    child = parent.find(qn(tag))
    return child if child is not None else etree.SubElement(parent, qn(tag))


def _set_fill(rpr: Any, color: RGBColor) -> None:
    for old in rpr.findall(qn("a:solidFill")):
        rpr.remove(old)
    fill = etree.Element(qn("a:solidFill"))
    etree.SubElement(fill, qn("a:srgbClr"), val=str(color))
    rpr.insert(0, fill)


def _solid_shape(sp: Any, color: RGBColor) -> None:
    """Give a raw p:sp a solid fill and no outline or text style of its own."""
    sppr = sp.spPr
    fill = etree.SubElement(sppr, qn("a:solidFill"))
    etree.SubElement(fill, qn("a:srgbClr"), val=str(color))
    ln = etree.SubElement(sppr, qn("a:ln"))
    etree.SubElement(ln, qn("a:noFill"))
    style = sp.find(qn("p:style"))
    if style is not None:
        sp.remove(style)


# -- slide building blocks ------------------------------------------------------------------


def content_slide(prs: Any, title: str) -> Any:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY_LAYOUT])
    slide.shapes.title.text = title
    return slide


def text_box(
    slide: Any,
    left: int,
    top: int,
    width: int,
    height: int,
    paragraphs: list[tuple[str, dict[str, Any]]],
    *,
    name: str | None = None,
) -> Any:
    """A word-wrapped text box; each paragraph is (text, font options)."""
    box = slide.shapes.add_textbox(left, top, width, height)
    if name is not None:
        box.name = name
    frame = box.text_frame
    frame.word_wrap = True
    for index, (text, options) in enumerate(paragraphs):
        p = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        p.space_after = Pt(options.get("space_after", 6))
        run = p.add_run()
        run.text = text
        _font(run.font, options)
    return box


def _font(font: Any, options: dict[str, Any]) -> None:
    font.size = Pt(options.get("size", 18))
    font.bold = options.get("bold", False)
    font.italic = options.get("italic", False)
    font.color.rgb = options.get("color", RGBColor(0x26, 0x26, 0x26))


def table(
    slide: Any,
    top: int,
    widths: list[float],
    rows: list[list[str]],
    *,
    name: str,
    size: int = 14,
    header: bool = True,
    bold_first_column: bool = False,
    row_height: float = 0.42,
    left: int = MARGIN,
) -> Any:
    """A table whose first row (if ``header``) is a navy heading row."""
    frame = slide.shapes.add_table(
        len(rows),
        len(widths),
        left,
        top,
        Inches(sum(widths)),
        Inches(row_height * len(rows)),
    )
    frame.name = name
    tbl = frame.table
    tbl.first_row = header
    tbl.horz_banding = True
    for c, width in enumerate(widths):
        tbl.columns[c].width = Inches(width)
    for r, row in enumerate(rows):
        tbl.rows[r].height = Inches(row_height)
        for c, text in enumerate(row):
            cell = tbl.cell(r, c)
            cell.margin_left = cell.margin_right = Inches(0.08)
            cell.margin_top = cell.margin_bottom = Inches(0.04)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            cell.text = text
            is_header = header and r == 0
            is_marker = text.startswith("{%tr")
            run = cell.text_frame.paragraphs[0].runs[0] if text else None
            if is_header:
                cell.fill.solid()
                cell.fill.fore_color.rgb = NAVY
            if run is not None:
                _font(
                    run.font,
                    {
                        "size": 10 if is_marker else size,
                        "bold": is_header or (bold_first_column and c == 0),
                        "italic": is_marker,
                        "color": WHITE if is_header else (GREY if is_marker else NAVY),
                    },
                )
                if not is_header and not is_marker and not (bold_first_column and c == 0):
                    run.font.color.rgb = RGBColor(0x26, 0x26, 0x26)
    return frame


def notes(slide: Any, text: str) -> None:
    slide.notes_slide.notes_text_frame.text = text


# -- the slides -----------------------------------------------------------------------------


def title_slide(prs: Any) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_SLIDE_LAYOUT])
    slide.shapes.title.text = (
        "{{ meeting.title }}{% if meeting.theme %} – {{ meeting.theme }}{% endif %}"
    )
    subtitle = slide.placeholders[1].text_frame
    lines = [
        ("{{ organisation.name }}", {"size": 28, "bold": True, "color": NAVY}),
        (
            "{{ [meeting.date, meeting.time, meeting.venue, meeting.place]"
            " | select | join(' · ') }}",
            {"size": 20, "color": GREY},
        ),
        ("{{ network.name }}", {"size": 20, "color": GREY}),
    ]
    for index, (text, options) in enumerate(lines):
        p = subtitle.paragraphs[0] if index == 0 else subtitle.add_paragraph()
        p.space_after = Pt(6)
        run = p.add_run()
        run.text = text
        _font(run.font, options)
    notes(
        slide,
        "Presentation för {{ organisation.name }} inför {{ meeting.title }} "
        "i nätverket {{ network.name }}. Ladda upp underlaget senast "
        "{{ meeting.upload_deadline }}.",
    )


def delegation_slide(prs: Any) -> None:
    slide = content_slide(prs, "Vilka är vi?")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP,
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "{% if contact %}Kontaktperson: {{ contact.name }}"
                "{% if contact.email %}, {{ contact.email }}{% endif %}{% endif %}",
                {"size": 16, "color": GREY},
            )
        ],
        name="Kontaktperson",
    )
    table(
        slide,
        CONTENT_TOP + Inches(0.65),
        [2.6, 4.4, 5.133],
        [
            ["Roll", "Namn", "Titel"],
            ["{%tr for p in delegation %}", "", ""],
            ["{{ p.role }}", "{{ p.name }}", "{{ p.title }}"],
            ["{%tr endfor %}", "", ""],
        ],
        name="Delegation",
        size=16,
    )


def organisation_slide(prs: Any) -> None:
    slide = content_slide(prs, "Vår organisation i korthet")
    table(
        slide,
        CONTENT_TOP,
        [3.6, 8.533],
        [
            ["Organisation", "{{ organisation.name }}"],
            ["Typ av organisation", "{{ organisation.type }}"],
            ["Län", "{{ organisation.county }}"],
            ["Nätverk", "{{ network.name }}"],
            ["Grupp", "{{ organisation.group_name }}"],
            ["Mentor", "{{ organisation.mentor_name }}"],
            ["Roll i programmet", "{{ organisation.programme_role }}"],
            ["Politiskt beslut", "{{ organisation.political_decision }}"],
        ],
        name="Organisation",
        size=18,
        header=False,
        bold_first_column=True,
        row_height=0.55,
    )


def highlights_slide(prs: Any) -> None:
    """Three suggested key messages as bullets, marked as suggestions to rewrite."""
    slide = content_slide(prs, "Det viktigaste sedan förra träffen")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(0.8),
        [("{{ highlights.note }}", {"size": 16, "italic": True, "color": GREY})],
        name="Förslag",
    )
    box = text_box(
        slide,
        MARGIN,
        CONTENT_TOP + Inches(0.8),
        CONTENT_WIDTH,
        Inches(4.6),
        [
            (f"{{{{ highlights.suggestions[{index}] }}}}", {"size": 22, "space_after": 18})
            for index in range(3)
        ],
        name="Det viktigaste",
    )
    for p in box.text_frame.paragraphs:
        bullet(p)
    # Long suggestions shrink rather than run off the slide (LibreOffice and PowerPoint both).
    box.text_frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE


def bullet(paragraph: Any) -> None:
    """A round bullet hanging in the margin, as the master's body text has them."""
    ppr = paragraph._p.get_or_add_pPr()
    ppr.set("marL", str(Inches(0.4)))
    ppr.set("indent", str(-Inches(0.4)))
    for tag in ("a:buClr", "a:buFont", "a:buChar"):
        old = ppr.find(qn(tag))
        if old is not None:
            ppr.remove(old)
    color = etree.SubElement(ppr, qn("a:buClr"))
    etree.SubElement(color, qn("a:srgbClr"), val=str(BLUE))
    etree.SubElement(ppr, qn("a:buFont"), typeface="Arial")
    etree.SubElement(ppr, qn("a:buChar"), char="•")


def chart_slide(prs: Any) -> None:
    """Area means of two rounds as columns: legend and bars read left to right alike."""
    slide = content_slide(prs, "Självskattning – resultat per område")
    data = CategoryChartData(number_format="0.00")
    data.categories = PLACEHOLDER_AREAS
    data.add_series("BM 1", (1.5, 2.0, 1.0, 1.5, 2.0, 1.0, 2.5, 1.5))
    data.add_series("BM 2", (2.0, 2.5, 1.5, 2.0, 2.5, 1.5, 3.0, 2.0))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED,
        MARGIN,
        CONTENT_TOP,
        CONTENT_WIDTH,
        Inches(5.6),
        data,
    )
    frame.name = "chart:area_chart"
    # The engine writes the organisation's own alt text (area_chart.description).
    frame._element.nvGraphicFramePr.cNvPr.set(
        "descr",
        "Stapeldiagram över organisationens självskattning: medelvärdet per område "
        "vid förra och den här träffen, på checklistans skala.",
    )
    style_column_chart(
        frame.chart, series_colors=[LIGHT_BLUE, NAVY], label_format="0.00", category_size=10
    )
    values = frame.chart.value_axis
    values.minimum_scale, values.maximum_scale, values.major_unit = 1, 3, 1
    values.tick_labels.number_format = "0"
    values.tick_labels.number_format_is_linked = False


def style_column_chart(
    chart: Any, *, series_colors: list[RGBColor], label_format: str, category_size: int = 14
) -> None:
    """Clustered columns with labels on top, the legend below in bar order, Swedish text."""
    chart.has_title = False
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.legend.font.size = Pt(14)
    chart.font.size = Pt(12)
    values = chart.value_axis
    values.has_major_gridlines = True
    values.major_gridlines.format.line.color.rgb = RGBColor(0xD9, 0xD9, 0xD9)
    values.format.line.fill.background()
    categories = chart.category_axis
    categories.tick_labels.font.size = Pt(category_size)
    categories.format.line.color.rgb = LIGHT_GREY
    # Category names stay horizontal and wrap under their columns instead of turning sideways.
    body_pr = categories._element.find(f"{qn('c:txPr')}/{qn('a:bodyPr')}")
    body_pr.set("rot", "0")
    body_pr.set("vert", "horz")
    body_pr.set("wrap", "square")
    plot = chart.plots[0]
    plot.gap_width = 60
    plot.overlap = -10
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.number_format, labels.number_format_is_linked = label_format, False
    labels.position = XL_LABEL_POSITION.OUTSIDE_END
    labels.font.size = Pt(11)
    labels.font.color.rgb = GREY
    for series, color in zip(plot.series, series_colors, strict=True):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = color
    chart_space = chart._chartSpace
    lang = etree.Element(qn("c:lang"), val=LANGUAGE)
    chart_space.find(qn("c:date1904")).addnext(lang)


def movement_slide(prs: Any) -> None:
    slide = content_slide(prs, "Förflyttning sedan förra gången")
    summary = {"size": 16, "space_after": 2}
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(1.1),
        [
            (
                "Summa: {{ movement.previous_sum }} ({{ movement.previous_label }}) → "
                "{{ movement.current_sum }} ({{ movement.current_label }}) av "
                "{{ movement.max_sum }} möjliga, förändring {{ movement.delta }}",
                {**summary, "bold": True, "color": NAVY},
            ),
            (
                "Antal påståenden med svaret 1: {{ movement.count_1_previous }} → "
                "{{ movement.count_1_current }}   ·   med svaret 3: "
                "{{ movement.count_3_previous }} → {{ movement.count_3_current }}",
                summary,
            ),
            ("{{ movement.readiness }}", summary),
        ],
        name="Sammanfattning",
    )
    table(
        slide,
        CONTENT_TOP + Inches(1.15),
        [0.6, 4.9, 0.8, 0.8, 1.35, 3.683],
        [
            ["Nr", "Påstående", "Före", "Nu", "Förändring", "Kommentar"],
            ["{%tr for c in movement.rows %}", "", "", "", "", ""],
            [
                "{{ c.number }}",
                "{{ c.text }}",
                "{{ c.previous }}",
                "{{ c.current }}",
                "{{ c.delta }}",
                "{{ c.comment }}",
            ],
            ["{%tr endfor %}", "", "", "", "", ""],
        ],
        name="Förändrade svar",
        size=14,
        row_height=0.4,
    )


def areas_slide(prs: Any) -> None:
    slide = content_slide(prs, "Förflyttning per område")
    table(
        slide,
        CONTENT_TOP,
        [6.133, 2.0, 2.0, 2.0],
        [
            ["Område", "Före", "Nu", "Förändring"],
            ["{%tr for a in movement.areas %}", "", "", ""],
            ["{{ a.name }}", "{{ a.previous }}", "{{ a.current }}", "{{ a.delta }}"],
            ["{%tr endfor %}", "", "", ""],
        ],
        name="Områden",
        size=16,
        row_height=0.45,
    )


def governance_slide(prs: Any) -> None:
    slide = content_slide(prs, "Förbättringar i styrning och ledning")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "Förbättringsarbeten på nivån styrning och ledning: mål, budget, uppföljning "
                "och beslutsunderlag.",
                {"size": 16, "color": GREY},
            )
        ],
        name="Inledning",
    )
    table(
        slide,
        CONTENT_TOP + Inches(0.6),
        [7.133, 2.8, 2.2],
        [
            ["Förbättringsarbete", "Status", "PDSA-fas"],
            ["{%tr for g in governance.rows %}", "", ""],
            ["{{ g.title }}", "{{ g.status }}", "{{ g.pdsa_phase }}"],
            ["{%tr endfor %}", "", ""],
        ],
        name="Styrning och ledning",
        size=16,
        row_height=0.5,
    )


def results_slide(prs: Any) -> None:
    """One indicator per slide: baseline and latest measurement as bars per group."""
    slide = content_slide(prs, "{{ result.heading }}")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(1.0),
        [
            ("{{ result.indicator }}", {"size": 18, "bold": True, "color": NAVY, "space_after": 2}),
            ("{{ result.initiative }}", {"size": 14, "color": GREY, "space_after": 2}),
            ("{{ result.dates }}", {"size": 14, "color": GREY, "space_after": 2}),
        ],
        name="Indikator",
    )
    data = CategoryChartData(number_format="0.0")
    data.categories = ["Kvinnor", "Män"]
    data.add_series("Utgångsläge", (7.9, 10.4))
    data.add_series("Senaste mätningen", (8.8, 9.9))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED,
        MARGIN + Inches(1.0),
        CONTENT_TOP + Inches(1.0),
        CONTENT_WIDTH - Inches(2.0),
        Inches(4.4),
        data,
    )
    frame.name = "chart:result.chart"
    # The engine writes each indicator's own alt text (result.chart.description).
    frame._element.nvGraphicFramePr.cNvPr.set(
        "descr",
        "Stapeldiagram över en indikator: utgångsläge och senaste mätningen, "
        "uppdelat på kvinnor och män.",
    )
    style_column_chart(frame.chart, series_colors=[LIGHT_BLUE, NAVY], label_format="0.0")
    values = frame.chart.value_axis
    values.minimum_scale = 0
    # Linked to the values' own format; formatCode is required even then (ECMA-376).
    values.tick_labels.number_format = "General"
    values.tick_labels.number_format_is_linked = True
    text_box(
        slide,
        SLIDE_WIDTH - MARGIN - Inches(5.0),
        SLIDE_HEIGHT - Inches(0.45),
        Inches(5.0),
        Inches(0.35),
        [
            (
                "{%slide for result in results.charts %}",
                {"size": 10, "italic": True, "color": LIGHT_GREY},
            )
        ],
        name="Upprepa bilden",
    ).text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT


def results_invitation_slide(prs: Any) -> None:
    """Shown instead of the results slides when no indicator has a measurement."""
    slide = content_slide(prs, "Resultat – uppdelat på kvinnor och män")
    card(
        slide,
        MARGIN,
        CONTENT_TOP,
        CONTENT_WIDTH,
        Inches(4.6),
        "Våra resultat",
        "{{ invitation }}",
        name="Resultat",
    )
    text_box(
        slide,
        SLIDE_WIDTH - MARGIN - Inches(5.0),
        SLIDE_HEIGHT - Inches(0.45),
        Inches(5.0),
        Inches(0.35),
        [
            (
                "{%slide for invitation in results.invitation %}",
                {"size": 10, "italic": True, "color": LIGHT_GREY},
            )
        ],
        name="Upprepa bilden",
    ).text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT


def initiative_slide(prs: Any) -> None:
    slide = content_slide(prs, "Förbättringsarbete: {{ initiative.title }}")
    table(
        slide,
        CONTENT_TOP,
        [2.9, 9.233],
        [
            ["Nivå", "{{ initiative.level }}"],
            ["Verksamhet", "{{ initiative.verksamhet }}"],
            [
                "Status och PDSA-fas",
                "{{ [initiative.status, initiative.pdsa_phase] | select | join(' · ') }}",
            ],
            ["Problem", "{{ initiative.problem }}"],
            ["Åtgärd", "{{ initiative.action }}"],
            ["Resultat", "{{ initiative.results }}"],
            ["Indikator", "{{ initiative.indicator }}"],
            ["Ansvarig", "{{ initiative.owner }}"],
        ],
        name="Förbättringsarbete",
        size=16,
        header=False,
        bold_first_column=True,
        row_height=0.6,
    )
    text_box(
        slide,
        SLIDE_WIDTH - MARGIN - Inches(5.0),
        SLIDE_HEIGHT - Inches(0.45),
        Inches(5.0),
        Inches(0.35),
        [
            (
                "{%slide for initiative in initiatives %}",
                {"size": 10, "italic": True, "color": LIGHT_GREY},
            )
        ],
        name="Upprepa bilden",
    ).text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT
    notes(
        slide,
        "Förbättringsarbetet {{ initiative.title }} ({{ initiative.level }}). "
        "Ansvarig: {{ initiative.owner }}.",
    )


def plan_slide(prs: Any) -> None:
    slide = content_slide(prs, "Plan för fortsättning och uppföljning")
    table(
        slide,
        CONTENT_TOP,
        [4.0, 2.3, 1.6, 2.7, 1.533],
        [
            ["Aktivitet", "Ansvarig", "Klart senast", "Uppföljning", "Status"],
            ["{%tr for a in plan.activities %}", "", "", "", ""],
            [
                "{{ a.activity }}",
                "{{ a.owner }}",
                "{{ a.deadline }}",
                "{{ a.follow_up }}",
                "{{ a.status }}",
            ],
            ["{%tr endfor %}", "", "", "", ""],
        ],
        name="Plan",
        size=16,
        row_height=0.5,
    )


def card(
    slide: Any,
    left: int,
    top: int,
    width: int,
    height: int,
    heading: str,
    body: str,
    *,
    name: str,
) -> Any:
    """A pale rounded card: a navy heading and a text (a fact, or a prompt to fill in)."""
    shape = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, left, top, width, height)
    shape.name = name
    shape.adjustments[0] = 0.06
    shape.fill.solid()
    shape.fill.fore_color.rgb = PALE
    shape.line.color.rgb = LIGHT_BLUE
    shape.shadow.inherit = False
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = Inches(0.2)
    frame.margin_top = Inches(0.15)
    # Long texts shrink rather than run out of the card (LibreOffice and PowerPoint both).
    body_pr = frame._txBody.find(qn("a:bodyPr"))
    for old in list(body_pr):
        body_pr.remove(old)
    etree.SubElement(body_pr, qn("a:normAutofit"))
    paragraphs = [(heading, {"size": 18, "bold": True, "color": NAVY})] if heading else []
    paragraphs.append((body, {"size": 16, "color": RGBColor(0x26, 0x26, 0x26)}))
    for number, (text, options) in enumerate(paragraphs):
        p = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
        p.alignment = PP_ALIGN.LEFT
        p.space_after = Pt(8)
        run = p.add_run()
        run.text = text
        _font(run.font, options)
    return shape


def lessons_slide(prs: Any) -> None:
    slide = content_slide(prs, "Lärdomar av förflyttningen")
    table(
        slide,
        CONTENT_TOP,
        [0.6, 5.2, 1.3],
        [
            ["Nr", "Påstående som har förflyttats", "Före → nu"],
            ["{%tr for c in movement.rows %}", "", ""],
            ["{{ c.number }}", "{{ c.text }}", "{{ c.previous }} → {{ c.current }}"],
            ["{%tr endfor %}", "", ""],
        ],
        name="Förflyttade påståenden",
        size=14,
        row_height=0.4,
    )
    card(
        slide,
        MARGIN + Inches(7.4),
        CONTENT_TOP,
        CONTENT_WIDTH - Inches(7.4),
        Inches(5.2),
        "Våra lärdomar",
        "{{ lessons.prompt }}",
        # The prompt is filled in once: a continued table's copies leave the card out.
        name="first:Lärdomar",
    )


def transferable_slide(prs: Any) -> None:
    slide = content_slide(prs, "Vad kan överföras till fler verksamheter?")
    table(
        slide,
        CONTENT_TOP,
        [6.0, 6.133],
        [
            ["Förbättringsarbete", "Kan överföras till"],
            ["{%tr for t in transferable %}", ""],
            ["{{ t.title }}", "{{ t.where }}"],
            ["{%tr endfor %}", ""],
        ],
        name="Kan överföras",
        size=16,
        row_height=0.5,
    )


def leadership_slide(prs: Any) -> None:
    slide = content_slide(prs, "Ledarskap och kultur – vad stödjer och vad hindrar?")
    gap = Inches(0.3)
    width = (CONTENT_WIDTH - gap) // 2
    height = Inches(2.5)
    cards = [
        ("Det som stödjer arbetet", "{{ leadership.strengths }}"),
        ("Det som hindrar", "{{ leadership.obstacles }}"),
        ("Det vi ser i kulturen", "{{ leadership.culture_observations }}"),
        ("Det vi gör", "{{ leadership.actions }}"),
    ]
    for index, (heading, body) in enumerate(cards):
        card(
            slide,
            MARGIN + (index % 2) * (width + gap),
            CONTENT_TOP + (index // 2) * (height + gap),
            width,
            height,
            heading,
            body,
            name=heading,
        )


def film_slide(prs: Any) -> None:
    slide = content_slide(
        prs,
        "Reflektion{% if film.title %}: {{ film.title }}{% else %} kring filmen{% endif %}",
    )
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "{% if film.link %}Filmen: {{ film.link }}{% else %}Filmen ni såg inför träffen."
                "{% endif %}",
                {"size": 16, "color": GREY},
            )
        ],
        name="Filmen",
    )
    card(
        slide,
        MARGIN,
        CONTENT_TOP + Inches(0.6),
        CONTENT_WIDTH,
        Inches(4.6),
        "Vår reflektion",
        "{{ film.reflection }}",
        name="Reflektion",
    )


def needs_slide(prs: Any) -> None:
    slide = content_slide(prs, "Behov av fortsatt förbättringsarbete")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(1.2),
        [
            (
                "Förslag från självskattningen: de påståenden som har lägsta poäng och det "
                "område som har lägst medelvärde.",
                {"size": 16, "space_after": 2},
            ),
            (
                "{% if needs.lowest_area %}Lägst skattade område: {{ needs.lowest_area }}"
                "{% endif %}",
                {"size": 16, "space_after": 2},
            ),
            ("{{ needs.prompt }}", {"size": 16, "italic": True, "color": GREY}),
        ],
        name="Förslag",
    )
    table(
        slide,
        CONTENT_TOP + Inches(1.2),
        [0.6, 8.0, 3.533],
        [
            ["Nr", "Påstående", "Område"],
            ["{%tr for n in needs.statements %}", "", ""],
            ["{{ n.number }}", "{{ n.text }}", "{{ n.area }}"],
            ["{%tr endfor %}", "", ""],
        ],
        name="Behov",
        size=14,
        row_height=0.4,
    )


def questions_slide(prs: Any) -> None:
    slide = content_slide(prs, "Frågor till de andra organisationerna")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "Vad vill vi lära oss av de andra? Skriv frågorna före träffen.",
                {"size": 16, "color": GREY},
            )
        ],
    )
    gap = Inches(0.3)
    width = (CONTENT_WIDTH - 2 * gap) // 3
    for index in range(3):
        card(
            slide,
            MARGIN + index * (width + gap),
            CONTENT_TOP + Inches(0.6),
            width,
            Inches(4.6),
            f"Fråga {index + 1}",
            f"{{{{ questions[{index}] }}}}",
            name=f"Fråga {index + 1}",
        )


def next_meeting_slide(prs: Any) -> None:
    slide = content_slide(
        prs, "Inför {% if next_meeting %}{{ next_meeting.title }}{% else %}nästa träff{% endif %}"
    )
    body = {"size": 20, "space_after": 8}
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP,
        CONTENT_WIDTH,
        Inches(3.0),
        [
            (
                "{% if next_meeting %}{{ next_meeting.title }}"
                "{% if next_meeting.theme %} – {{ next_meeting.theme }}{% endif %}{% endif %}",
                {**body, "size": 24, "bold": True, "color": NAVY},
            ),
            (
                "{% if next_meeting and next_meeting.date %}Datum: {{ next_meeting.date }}"
                "{% if next_meeting.time %}, {{ next_meeting.time }}{% endif %}{% endif %}",
                body,
            ),
            (
                "{% if next_meeting and next_meeting.place %}Plats: "
                "{{ [next_meeting.venue, next_meeting.place] | select | join(', ') }}"
                "{% endif %}",
                body,
            ),
            (
                "{% if next_meeting and next_meeting.upload_deadline %}Ladda upp presentationen "
                "senast {{ next_meeting.upload_deadline }}{% endif %}",
                body,
            ),
            (
                "{% if next_meeting and next_meeting.checklist_tab %}Gör självskattningen "
                "tillsammans på fliken {{ next_meeting.checklist_tab }} i checklistan"
                "{% endif %}",
                body,
            ),
            (
                "{% if not next_meeting %}Datum och plats för nästa träff meddelas senare."
                "{% endif %}",
                body,
            ),
        ],
        name="Nästa träff",
    )
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP + Inches(3.3),
        CONTENT_WIDTH,
        Inches(1.6),
        [
            ("Till nästa gång tar vi med oss", {"size": 18, "bold": True, "color": NAVY}),
            (
                "[Fyll i vad ni ska ha gjort eller prövat till nästa träff …]",
                {
                    "size": 16,
                    "italic": True,
                    "color": GREY,
                },
            ),
        ],
        name="Till nästa gång",
    )


# -- language and assembly ------------------------------------------------------------------


def set_language(prs: Any) -> None:
    """Mark every run and text style as Swedish so spelling and hyphenation follow sv-SE."""
    parts = [prs.part, prs.slide_master.part]
    parts += [layout.part for layout in prs.slide_layouts]
    for slide in prs.slides:
        parts.append(slide.part)
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.part)
    for part in parts:
        root = part._element
        for run in root.iter(qn("a:r")):
            if run.find(qn("a:rPr")) is None:
                run.insert(0, etree.Element(qn("a:rPr")))
        for tag in ("a:rPr", "a:endParaRPr", "a:defRPr"):
            for element in root.iter(qn(tag)):
                element.set("lang", LANGUAGE)


def build() -> bytes:
    prs = Presentation()
    widen_to_16_9(prs)
    style_master(prs)
    style_title_layout(prs)
    title_slide(prs)
    delegation_slide(prs)
    organisation_slide(prs)
    highlights_slide(prs)
    chart_slide(prs)
    movement_slide(prs)
    areas_slide(prs)
    lessons_slide(prs)
    governance_slide(prs)
    initiative_slide(prs)
    results_slide(prs)
    results_invitation_slide(prs)
    transferable_slide(prs)
    leadership_slide(prs)
    film_slide(prs)
    needs_slide(prs)
    plan_slide(prs)
    questions_slide(prs)
    next_meeting_slide(prs)
    return finish(
        prs,
        title="Presentation inför benchmarkingträff",
        subject="Mall för organisationens presentation",
    )


def finish(prs: Any, *, title: str, subject: str) -> bytes:
    """Swedish language everywhere, document properties, and the saved bytes."""
    set_language(prs)
    properties = prs.core_properties
    properties.title = title
    properties.author = properties.last_modified_by = "SKR"
    properties.language = LANGUAGE
    properties.subject = subject
    properties.revision = 1
    out = io.BytesIO()
    prs.save(out)
    return bytes(out.getvalue())


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
