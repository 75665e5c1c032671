"""Build doc_templates/network_overview.pptx, the network's self-assessment for one meeting.

Run from the repository root:
``python doc_templates/scripts/build_network_overview_template.py``.
The look (master, colours, title style, tables) is the deck's, from ``build_deck_template``.
The result is committed; organisers may edit the .pptx in PowerPoint directly. Tags follow the
conventions of ``service.engines.pptx_engine`` (charts named ``chart:EXPR`` get their data
natively); the context comes from ``service.documents.network_overview``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from build_deck_template import (
    CONTENT_TOP,
    CONTENT_WIDTH,
    GREY,
    LANGUAGE,
    LIGHT_BLUE,
    LIGHT_GREY,
    MARGIN,
    NAVY,
    SLIDE_HEIGHT,
    TITLE_SLIDE_LAYOUT,
    content_slide,
    finish,
    notes,
    style_master,
    style_title_layout,
    table,
    text_box,
    widen_to_16_9,
)
from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

OUTPUT = Path(__file__).resolve().parents[1] / "network_overview.pptx"

FOOTNOTE = {"size": 13, "italic": True, "color": GREY, "space_after": 2}
SUMMARY = {"size": 16, "bold": True, "color": NAVY, "space_after": 2}
EMPTY = (
    "{% if not has_scores %}Ingen självskattning är registrerad för "
    "{{ meeting.title }} ännu.{% endif %}"
)
PALE_RED = RGBColor(0xF4, 0xB1, 0x83)
PLACEHOLDER_ORGANISATIONS = [f"Organisation {letter}" for letter in "ABCDEFGH"]
PLACEHOLDER_AREAS = [
    "Politisk styrning",
    "Styrning och ledning",
    "Mål och uppföljning",
    "Kunskap och kompetens",
    "Statistik och analys",
    "Verksamhetsutveckling",
    "Kommunikation",
    "Samverkan",
]


def title_slide(prs: Any) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_SLIDE_LAYOUT])
    slide.shapes.title.text = "Sammanställning för nätverket – {{ meeting.title }}"
    subtitle = slide.placeholders[1].text_frame
    lines: list[tuple[str, dict[str, Any]]] = [
        (
            "Självskattning {{ rounds.current }}"
            "{% if rounds.has_previous %} jämfört med {{ rounds.previous }}{% endif %}",
            {"size": 24, "bold": True, "color": NAVY},
        ),
        (
            "{{ [meeting.date, meeting.venue, meeting.place] | select | join(' · ') }}",
            {"size": 18, "color": GREY},
        ),
        (
            "{{ network.name }} · {{ organisation_count }} organisationer",
            {"size": 18, "color": GREY},
        ),
    ]
    for index, (text, options) in enumerate(lines):
        p = subtitle.paragraphs[0] if index == 0 else subtitle.add_paragraph()
        p.space_after = Pt(6)
        run = p.add_run()
        run.text = text
        run.font.size = Pt(options["size"])
        run.font.bold = options.get("bold", False)
        run.font.color.rgb = options["color"]
    notes(
        slide,
        "Nätverkets självskattning inför punkten ”sammanställning för nätverket” på "
        "{{ meeting.title }} den {{ meeting.date }}. {{ naming }}",
    )


def totals_slide(prs: Any) -> None:
    slide = content_slide(prs, "Summa poäng och förflyttning per organisation")
    text_box(
        slide,
        MARGIN,
        CONTENT_TOP - Inches(0.1),
        CONTENT_WIDTH,
        Inches(0.5),
        [("{{ readiness.text }}" + EMPTY, SUMMARY)],
        name="Tumregeln",
    )
    table(
        slide,
        CONTENT_TOP + Inches(0.55),
        [3.733, 1.5, 1.5, 1.4, 1.3, 1.3, 1.4],
        [
            [
                "Organisation",
                "{% if rounds.has_previous %}Summa {{ rounds.previous }}"
                "{% else %}Föregående{% endif %}",
                "Summa {{ rounds.current }}",
                "Förändring",
                "Antal {{ scale.min }}:or",
                "Antal {{ scale.max }}:or",
                "Tumregeln uppfylld",
            ],
            ["{%tr for o in organisations %}", "", "", "", "", "", ""],
            [
                "{{ o.name }}",
                "{{ o.previous_text }}",
                "{{ o.current_text }}",
                "{{ o.delta_text }}",
                "{{ o.count_texts[0] }}",
                "{{ o.count_texts[-1] }}",
                "{{ o.ready_text }}",
            ],
            ["{%tr endfor %}", "", "", "", "", "", ""],
        ],
        name="Organisationer",
        size=14,
        row_height=0.4,
    )
    text_box(
        slide,
        MARGIN,
        SLIDE_HEIGHT - Inches(0.75),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "Summan av alla påståenden ({% if scale.max_total %}högst "
                "{{ scale.max_total }} poäng; {% endif %}– = ingen självskattning). {{ naming }}",
                FOOTNOTE,
            )
        ],
        name="Fotnot",
    )
    notes(
        slide,
        "Tumregeln för modellorganisation: inga 1:or, och 3:or på fler än hälften av "
        "påståendena. En lägre summa kan vara en ärligare bedömning, inte ett sämre arbete.",
    )


def _chart(
    slide: Any,
    *,
    name: str,
    chart_type: Any,
    categories: list[str],
    series: list[tuple[str, tuple[float, ...]]],
    colors: list[RGBColor],
    description: str,
    number_format: str,
    minimum: float | None = None,
    maximum: float | None = None,
    major_unit: float | None = None,
    axis_format: str = "0",
) -> Any:
    """A horizontal bar chart in the deck's style, first category at the top."""
    data = CategoryChartData(number_format=number_format)
    data.categories = categories
    for label, values in series:
        data.add_series(label, values)
    frame = slide.shapes.add_chart(
        chart_type, MARGIN, CONTENT_TOP, CONTENT_WIDTH, Inches(5.55), data
    )
    frame.name = f"chart:{name}"
    frame._element.nvGraphicFramePr.cNvPr.set("descr", description)
    chart = frame.chart
    chart.has_title = False
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.legend.font.size = Pt(14)
    chart.font.size = Pt(13)
    values = chart.value_axis
    if minimum is not None:
        values.minimum_scale = minimum
    if maximum is not None:
        values.maximum_scale = maximum
    if major_unit is not None:
        values.major_unit = major_unit
    values.has_major_gridlines = True
    values.major_gridlines.format.line.color.rgb = RGBColor(0xD9, 0xD9, 0xD9)
    values.tick_labels.number_format = axis_format
    values.tick_labels.number_format_is_linked = False
    values.format.line.fill.background()
    axis = chart.category_axis
    axis.reverse_order = True  # first organisation or area at the top, as in the tables
    axis.tick_labels.font.size = Pt(13)
    axis.format.line.color.rgb = LIGHT_GREY
    plot = chart.plots[0]
    plot.gap_width = 60
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.number_format, labels.number_format_is_linked = number_format, False
    labels.font.size = Pt(11)
    for one, color in zip(plot.series, colors, strict=True):
        one.format.fill.solid()
        one.format.fill.fore_color.rgb = color
    chart_space = chart._chartSpace
    chart_space.find(qn("c:date1904")).addnext(etree.Element(qn("c:lang"), val=LANGUAGE))
    return plot


def totals_chart_slide(prs: Any) -> None:
    slide = content_slide(prs, "Summa poäng per organisation")
    plot = _chart(
        slide,
        name="totals_chart",
        chart_type=XL_CHART_TYPE.COLUMN_CLUSTERED,
        categories=PLACEHOLDER_ORGANISATIONS,
        series=[
            ("BM 1", (53, 50, 47, 44, 40, 37, 36, 32)),
            ("BM 2", (55, 55, 50, 46, 42, 40, 39, 35)),
        ],
        colors=[LIGHT_BLUE, NAVY],
        description="Stapeldiagram med summan av varje organisations självskattning, "
        "förra och nuvarande omgången.",
        number_format="0",
        minimum=0,
    )
    plot.overlap = -10
    plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
    plot.data_labels.font.color.rgb = GREY


def area_chart_slide(prs: Any) -> None:
    slide = content_slide(prs, "Nätverkets medelvärde per område")
    plot = _chart(
        slide,
        name="area_chart",
        chart_type=XL_CHART_TYPE.COLUMN_CLUSTERED,
        categories=PLACEHOLDER_AREAS,
        series=[
            ("BM 1", (2.13, 1.5, 1.63, 2.0, 1.5, 2.06, 1.38, 1.56)),
            ("BM 2", (2.25, 1.56, 1.75, 2.13, 1.69, 2.31, 1.63, 1.69)),
        ],
        colors=[LIGHT_BLUE, NAVY],
        description="Stapeldiagram med nätverkets medelvärde per område, förra och "
        "nuvarande omgången, på skalan 1 till 3.",
        number_format="0.00",
        minimum=1,
        maximum=3,
        major_unit=0.5,
        axis_format="0.0",
    )
    plot.overlap = -10
    plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
    plot.data_labels.font.color.rgb = GREY


def areas_slide(prs: Any) -> None:
    slide = content_slide(prs, "Medelvärde och fördelning per område")
    table(
        slide,
        CONTENT_TOP,
        [4.333, 1.6, 1.6, 1.6, 3.0],
        [
            [
                "Område",
                "{% if rounds.has_previous %}{{ rounds.previous }}{% else %}Föregående{% endif %}",
                "{{ rounds.current }}",
                "Förändring",
                "Antal svar per nivå",
            ],
            ["{%tr for a in areas %}", "", "", "", ""],
            [
                "{{ a.name }}",
                "{{ a.previous_text }}",
                "{{ a.current_text }}",
                "{{ a.delta_text }}",
                "{{ a.distribution_text }}",
            ],
            ["{%tr endfor %}", "", "", "", ""],
        ],
        name="Områden",
        size=14,
        row_height=0.4,
    )
    text_box(
        slide,
        MARGIN,
        SLIDE_HEIGHT - Inches(0.75),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "Medelvärdet av alla organisationers svar inom området (ej bedömda "
                "påståenden räknas inte). " + EMPTY,
                FOOTNOTE,
            )
        ],
        name="Fotnot",
    )


def distribution_slide(prs: Any) -> None:
    slide = content_slide(prs, "Så fördelar sig svaren per område ({{ rounds.current }})")
    plot = _chart(
        slide,
        name="distribution_chart",
        chart_type=XL_CHART_TYPE.BAR_STACKED,
        categories=PLACEHOLDER_AREAS,
        series=[
            ("Antal 1:or", (3, 12, 8, 4, 10, 2, 9, 8)),
            ("Antal 2:or", (6, 11, 10, 12, 7, 10, 11, 10)),
            ("Antal 3:or", (7, 1, 6, 8, 7, 12, 4, 6)),
        ],
        colors=[PALE_RED, LIGHT_BLUE, NAVY],
        description="Staplat liggande stapeldiagram med antalet svar 1, 2 och 3 inom varje "
        "område, summerat över nätverkets organisationer, nuvarande omgången.",
        number_format="0",
        minimum=0,
    )
    plot.overlap = 100
    plot.data_labels.position = XL_LABEL_POSITION.CENTER
    plot.data_labels.font.color.rgb = RGBColor(0x26, 0x26, 0x26)
    # White on the darkest series; a series' own labels must say again what to show.
    labels = plot.series[-1].data_labels
    labels.show_value = True
    labels.number_format, labels.number_format_is_linked = "0", False
    labels.position = XL_LABEL_POSITION.CENTER
    labels.font.size = Pt(11)
    labels.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)


def weakest_slide(prs: Any) -> None:
    slide = content_slide(prs, "Här är nätverket som helhet svagast")
    table(
        slide,
        CONTENT_TOP,
        [0.7, 6.833, 2.6, 0.8, 0.6, 0.6],
        [
            ["Nr", "Påstående", "Område", "Medel", "Min", "Max"],
            ["{%tr for s in weakest %}", "", "", "", "", ""],
            [
                "{{ s.number }}",
                "{{ s.text }}",
                "{{ s.area }}",
                "{{ s.mean_text }}",
                "{{ s.min_text }}",
                "{{ s.max_text }}",
            ],
            ["{%tr endfor %}", "", "", "", "", ""],
        ],
        name="Svagast",
        size=14,
        row_height=0.5,
    )
    text_box(
        slide,
        MARGIN,
        SLIDE_HEIGHT - Inches(0.75),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "Påståendena med lägst medelvärde i {{ rounds.current }} över alla "
                "organisationer; min och max visar spridningen. Underlag för teman till nästa "
                "träff." + EMPTY,
                FOOTNOTE,
            )
        ],
        name="Fotnot",
    )
    notes(
        slide,
        "Numren är påståendenas nummer i checklistan. Stor spridning (min 1, max 3) betyder "
        "att någon i nätverket redan gör det som andra inte har påbörjat.",
    )


def build() -> bytes:
    prs = Presentation()
    widen_to_16_9(prs)
    style_master(prs)
    style_title_layout(prs)
    title_slide(prs)
    totals_slide(prs)
    totals_chart_slide(prs)
    area_chart_slide(prs)
    areas_slide(prs)
    distribution_slide(prs)
    weakest_slide(prs)
    return finish(
        prs,
        title="Sammanställning för nätverket",
        subject="Nätverkets självskattning per träff: summa, förflyttning, områden och "
        "svagaste påståenden",
    )


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
