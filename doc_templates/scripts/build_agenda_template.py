"""Build doc_templates/agenda.docx, the meeting agenda (and each organisation's copy of it).

Run from the repository root: ``python doc_templates/scripts/build_agenda_template.py``.
The result is committed; organisers may then edit the .docx in Word directly. With
``highlight`` set (an organisation's name), the programme rows naming that organisation use the
shaded, bold row of the ``{%tr if row.highlighted %}`` pair.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from docx.shared import Pt
from word_styles import (
    GREY,
    HIGHLIGHT_FILL,
    add_row,
    control,
    control_row,
    facts_table,
    header_and_footer,
    new_document,
    paragraph,
    table,
)

OUTPUT = Path(__file__).resolve().parents[1] / "agenda.docx"

PROGRAMME_WIDTHS = (2.2, 7.5, 3.6, 3.3)
ROW = ("{{ row.time }}", "{{ row.item }}", "{{ row.responsible }}", "{{ row.format }}")


def build() -> bytes:
    doc = new_document(title="Agenda", subject="Agenda för benchmarkingträff")
    header_and_footer(
        doc,
        header="{{ network.name }}\t{{ network.organiser }}",
        footer="Agenda – {{ meeting.title }} · {{ meeting.date }} · {{ meeting.place }}",
    )

    paragraph(doc, "Agenda – {{ meeting.full_title }}", style="Title")
    control(doc, "{%p if highlight %}")
    paragraph(
        doc,
        "Agenda för ",
        ("{{ highlight }}", "b"),
        ": de punkter där ni medverkar är markerade.",
        style="Subtitle",
    )
    control(doc, "{%p endif %}")
    facts_table(
        doc,
        [
            ("Datum", "{{ meeting.weekday | capitalize }} {{ meeting.date }}"),
            ("Tid", "{{ meeting.time }}"),
            ("Plats", "{{ meeting.location }}"),
            ("Värd", "{{ host.name }}"),
            ("Digitalt", "{{ practical.digital }}"),
        ],
    )

    paragraph(doc, "Syfte och mål", style="Heading 1")
    paragraph(doc, "Träffen ska ge varje organisation:")
    control(doc, "{%p for goal in goals %}")
    paragraph(doc, "{{ goal }}", style="List Bullet")
    control(doc, "{%p endfor %}")

    paragraph(doc, "Förberedelser", style="Heading 1")
    paragraph(
        doc,
        "Inför träffen gör varje organisation följande. Presentationen läggs upp på "
        "{{ network.project_platform }} senast ",
        ("{{ meeting.upload_deadline_weekday }} {{ meeting.upload_deadline }}", "b"),
        ".",
    )
    control(doc, "{%p for item in preparations %}")
    paragraph(doc, "{{ item }}", style="List Bullet")
    control(doc, "{%p endfor %}")
    control(doc, "{%p if film %}")
    paragraph(doc, ("Film: ", "b"), "{{ film.title }} – {{ film.link }}")
    control(doc, "{%p endif %}")

    paragraph(doc, "Program", style="Heading 1")
    programme = table(doc, PROGRAMME_WIDTHS, ["Tid", "Punkt", "Ansvarig", "Form"])
    control_row(programme, "{%tr for row in programme %}")
    control_row(programme, "{%tr if row.highlighted %}")
    add_row(programme, ROW, bold=True, fill=HIGHLIGHT_FILL)
    control_row(programme, "{%tr else %}")
    add_row(programme, ROW)
    control_row(programme, "{%tr endif %}")
    control_row(programme, "{%tr endfor %}")

    paragraph(doc, "Praktisk information", style="Heading 1")
    for label, text in (
        ("Plats: ", "{{ meeting.location }}, {{ practical.address }}."),
        ("Hitta hit: ", "{{ practical.directions }}"),
        ("Delta digitalt: ", "{{ practical.digital }}"),
        ("Lunch och fika: ", "{{ practical.breaks }}. Värden bjuder på lunch och fika."),
        ("Resor: ", "varje deltagare bokar och betalar sin egen resa."),
        (
            "Tillgänglighet och särskilda behov: ",
            "meddela specialkost, behov av hörslinga eller annat vid anmälan till "
            "{{ host.contact }}, {{ host.email }}.",
        ),
    ):
        paragraph(doc, (label, "b"), text, style="List Bullet")

    paragraph(doc, "Deltagare", style="Heading 1")
    paragraph(doc, "{{ participants_note }}", keep_with_next=True)
    participants = table(doc, (5.6, 11.0), ["Organisation", "Deltagare"])
    control_row(participants, "{%tr for org in organisations %}")
    row = add_row(participants, ("{{ org.name }}", "{{ org.delegation }}"))
    role = row.cells[0].add_paragraph(style="Tabelltext").add_run("{{ org.role }}")
    role.font.size = Pt(8.5)
    role.font.color.rgb = GREY
    control_row(participants, "{%tr endfor %}")

    paragraph(doc, "Kontakt", style="Heading 1")
    paragraph(doc, ("Värd: ", "b"), "{{ host.name }} – {{ host.contact }}, {{ host.email }}")
    paragraph(doc, ("Arrangör: ", "b"), "{{ network.organiser }}")
    paragraph(doc, ("Processledare: ", "b"), "{{ contacts.process_leader }}")
    paragraph(doc, ("SKR: ", "b"), "{{ contacts.skr }}")

    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
