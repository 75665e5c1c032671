"""Build doc_templates/organiser_checklist.pptx, the host's checklist for one meeting.

Run from the repository root:
``python doc_templates/scripts/build_organiser_checklist_template.py``.
The look (master, colours, title style, tables) is the deck's, from ``build_deck_template``.
The result is committed; organisers may edit the .pptx in PowerPoint directly. Tags follow the
conventions of ``service.engines.pptx_engine``; the context comes from
``service.documents.organiser_checklist``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from build_deck_template import (
    CONTENT_TOP,
    CONTENT_WIDTH,
    GREY,
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
from pptx import Presentation
from pptx.enum.text import PP_ALIGN
from pptx.util import Inches, Pt

OUTPUT = Path(__file__).resolve().parents[1] / "organiser_checklist.pptx"

FOOTNOTE = {"size": 12, "italic": True, "color": GREY, "space_after": 2}
ITEM_COLUMNS = [0.8, 7.233, 2.3, 1.8]  # Klart | Punkt | Ansvarig | Senast: 12.133 in


def title_slide(prs: Any) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_SLIDE_LAYOUT])
    slide.shapes.title.text = (
        "Checklista för benchmarkingträffar – {{ meeting.title }}, {{ meeting.date }}"
        "{% if host.name %}, {{ host.name }}{% endif %}"
    )
    subtitle = slide.placeholders[1].text_frame
    lines: list[tuple[str, dict[str, Any]]] = [
        ("{{ meeting.theme }}", {"size": 24, "bold": True, "color": NAVY}),
        (
            "{% if host.name %}Värd: {{ host.name }}{% endif %}"
            "{% if host.name and mentors %} · {% endif %}"
            "{% if mentors %}Mentorer: {{ mentors }}{% endif %}",
            {"size": 18, "color": GREY},
        ),
        (
            "{{ network.name }}{% if network.organiser %} · {{ network.organiser }}{% endif %}",
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
        "Checklista för värden inför, under och efter {{ meeting.title }} den "
        "{{ meeting.date }}. Inbjudan med agenda skickas senast {{ meeting.invitation_send_by }}; "
        "presentationerna laddas upp senast {{ meeting.upload_deadline }}.",
    )


def practical_slide(prs: Any) -> None:
    slide = content_slide(prs, "Praktiska förutsättningar")
    table(
        slide,
        CONTENT_TOP,
        [3.0, 9.133],
        [
            ["{%tr for row in practical %}", ""],
            ["{{ row.label }}", "{{ row.text }}"],
            ["{%tr endfor %}", ""],
        ],
        name="Förutsättningar",
        size=16,
        header=False,
        bold_first_column=True,
        row_height=0.5,
    )


def items_slide(prs: Any, title: str, phase: str, footnote: str | None = None) -> None:
    slide = content_slide(prs, title)
    table(
        slide,
        CONTENT_TOP,
        ITEM_COLUMNS,
        [
            ["Klart", "Punkt", "Ansvarig", "Senast"],
            [f"{{%tr for item in {phase} %}}", "", "", ""],
            ["{{ item.done }}", "{{ item.text }}", "{{ item.responsible }}", "{{ item.due }}"],
            ["{%tr endfor %}", "", "", ""],
        ],
        name=f"Punkter {phase}",
        size=14,
        row_height=0.42,
    )
    _center_first_column(slide, f"Punkter {phase}")
    if footnote is not None:
        text_box(
            slide,
            MARGIN,
            SLIDE_HEIGHT - Inches(0.7),
            CONTENT_WIDTH,
            Inches(0.4),
            [(footnote, FOOTNOTE)],
            name="Fotnot",
        )


def _center_first_column(slide: Any, name: str) -> None:
    frame = next(shape for shape in slide.shapes if shape.name == name)
    for row in frame.table.rows:
        paragraph = row.cells[0].text_frame.paragraphs[0]
        if not paragraph.text.startswith("{%tr"):
            paragraph.alignment = PP_ALIGN.CENTER


def status_slide(prs: Any) -> None:
    slide = content_slide(prs, "Status per organisation")
    table(
        slide,
        CONTENT_TOP,
        [2.1, 1.9, 1.55, 1.6, 2.5, 2.483],
        [
            [
                "Organisation",
                "Delegation",
                "Självskattning {{ round_label }}",
                "Presentation uppladdad",
                "Kontaktperson",
                "Särskilda behov",
            ],
            ["{%tr for org in organisations %}", "", "", "", "", ""],
            [
                "{{ org.name }}",
                "{{ org.delegation }}",
                "{{ org.self_assessment }}",
                "{{ org.presentation }}",
                "{{ org.contact }}",
                "{{ org.special_needs }}",
            ],
            ["{%tr endfor %}", "", "", "", "", ""],
        ],
        name="Status",
        size=12,
        row_height=0.42,
    )
    text_box(
        slide,
        MARGIN,
        SLIDE_HEIGHT - Inches(0.75),
        CONTENT_WIDTH,
        Inches(0.5),
        [
            (
                "Delegationen är komplett när politiker, chef och strateg deltar. "
                "Presentationerna ska laddas upp senast {{ meeting.upload_deadline }}; "
                "i tid/sent räknas på datum i svensk tid (saknas = ingen uppladdning). "
                "Särskilda behov kommer från anmälan (närvarolistan).",
                FOOTNOTE,
            )
        ],
        name="Fotnot",
    )


def build() -> bytes:
    prs = Presentation()
    widen_to_16_9(prs)
    style_master(prs)
    style_title_layout(prs)
    title_slide(prs)
    practical_slide(prs)
    items_slide(
        prs,
        "Inför mötet",
        "before",
        "Inbjudan med agenda senast {{ meeting.invitation_send_by }} · presentationerna "
        "uppladdade senast {{ meeting.upload_deadline }} (status per organisation på sista bilden)",
    )
    items_slide(
        prs,
        "Under mötet",
        "during",
        "{% if next_meeting %}Nästa träff: {{ next_meeting.title }}, {{ next_meeting.date }}"
        "{% if next_meeting.place %}, {{ next_meeting.place }}{% endif %}{% endif %}",
    )
    items_slide(
        prs,
        "Efter mötet",
        "after",
        "Återkoppling till SKR (Plus – Minus – Intressant) senast {{ meeting.feedback_due }}"
        "{% if network.project_platform %} · dokumentationen läggs på "
        "{{ network.project_platform }}{% endif %}",
    )
    status_slide(prs)
    return finish(
        prs,
        title="Checklista för benchmarkingträffar",
        subject="Värdens checklista inför, under och efter en benchmarkingträff",
    )


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
