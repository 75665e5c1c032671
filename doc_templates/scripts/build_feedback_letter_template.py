"""Build doc_templates/feedback_letter.docx, the letter to one organisation after a meeting.

Run from the repository root: ``python doc_templates/scripts/build_feedback_letter_template.py``.
The result is committed; organisers may then edit the .docx in Word directly. Facts are filled
in; what the sender noticed is left as ``[Fyll i …]`` for a person to write.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from word_styles import (
    add_row,
    control,
    control_row,
    facts_table,
    header_and_footer,
    merged_row,
    new_document,
    paragraph,
    table,
)

OUTPUT = Path(__file__).resolve().parents[1] / "feedback_letter.docx"
TRANSFER_TO = "{% if t.transfer_to %} – kan överföras till {{ t.transfer_to }}{% endif %}"


def build() -> bytes:
    doc = new_document(title="Återkoppling", subject="Återkoppling efter benchmarkingträff")
    header_and_footer(
        doc,
        header="{{ network.name }}\t{{ organisation.name }}",
        footer="Återkoppling – {{ meeting.title }} · {{ meeting.date }}",
    )

    facts_table(
        doc,
        [
            ("Till", "{{ letter.to }}"),
            ("Från", "{{ letter.from }}"),
            ("Datum", "{{ letter.date }}"),
        ],
        label_width=2.0,
    )
    paragraph(doc, "Återkoppling efter {{ meeting.title }}", style="Title")
    control(doc, "{%p if letter.draft %}")
    paragraph(
        doc,
        ("Utkast", "b"),
        " – arrangören granskar brevet innan det släpps. Organisationen ser det inte förrän "
        "det har släppts, och då får det släppdatumet.",
    )
    control(doc, "{%p endif %}")
    paragraph(
        doc,
        "{{ letter.thanks }} Här har vi samlat det som rör ",
        ("{{ organisation.name }}", "b"),
        ": det ni presenterade, er förflyttning i självskattningen, idéer från de andra "
        "organisationerna och er plan för fortsättningen.",
    )

    paragraph(doc, "Er presentation – det vi särskilt noterade", style="Heading 1")
    paragraph(doc, "Ni presenterade följande förbättringsarbeten:", keep_with_next=True)
    initiatives = table(doc, (6.0, 3.4, 7.2), ["Förbättringsarbete", "Status", "Resultat"])
    control_row(initiatives, "{%tr for i in initiatives %}")
    add_row(initiatives, ("{{ i.title }}", "{{ i.status }}", "{{ i.results }}"))
    control_row(initiatives, "{%tr else %}")
    merged_row(initiatives, "Inga förbättringsarbeten är registrerade.")
    control_row(initiatives, "{%tr endfor %}")
    paragraph(doc, "")
    paragraph(doc, "{{ noted }}")

    paragraph(doc, "Er förflyttning i självskattningen", style="Heading 1")
    paragraph(
        doc,
        "Summa poäng från {{ movement.previous_label }} till {{ movement.current_label }}: ",
        (
            "{{ movement.previous_sum }} → {{ movement.current_sum }} av "
            "{{ movement.max_sum }} ({{ movement.delta }})",
            "b",
        ),
        ".",
    )
    areas = table(
        doc,
        (8.6, 2.6, 2.6, 2.8),
        [
            "Område (medelvärde)",
            "{{ movement.previous_label }}",
            "{{ movement.current_label }}",
            "Förändring",
        ],
    )
    control_row(areas, "{%tr for area in movement.areas %}")
    add_row(
        areas, ("{{ area.name }}", "{{ area.previous }}", "{{ area.current }}", "{{ area.delta }}")
    )
    control_row(areas, "{%tr endfor %}")
    paragraph(doc, "")
    paragraph(doc, "Påståenden där poängen har ändrats:", keep_with_next=True)
    changed = table(doc, (1.2, 7.9, 2.6, 4.9), ["Nr", "Påstående", "Poäng", "Kommentar"])
    control_row(changed, "{%tr for q in movement.changed %}")
    add_row(changed, ("{{ q.number }}", "{{ q.text }}", "{{ q.change }}", "{{ q.comment }}"))
    control_row(changed, "{%tr else %}")
    merged_row(changed, "Inga påståenden har ändrats sedan förra skattningen.")
    control_row(changed, "{%tr endfor %}")

    paragraph(doc, "Idéer från de andra organisationerna att ta med hem", style="Heading 1")
    control(doc, "{%p for idea in ideas %}")
    paragraph(doc, "{{ idea }}", style="List Bullet")
    control(doc, "{%p endfor %}")

    paragraph(doc, "Förbättringar som kan överföras", style="Heading 1")
    paragraph(doc, "Från er egen organisation", style="Heading 2")
    control(doc, "{%p for t in own_transferable %}")
    paragraph(doc, ("{{ t.title }}", "b"), TRANSFER_TO, style="List Bullet")
    control(doc, "{%p else %}")
    paragraph(doc, ("Inga förbättringar är markerade som överförbara.", "i"))
    control(doc, "{%p endfor %}")
    paragraph(doc, "Från de andra organisationerna", style="Heading 2")
    control(doc, "{%p for t in others_transferable %}")
    paragraph(
        doc,
        ("{{ t.title }}", "b"),
        " ({{ t.organisation }})" + TRANSFER_TO,
        style="List Bullet",
    )
    control(doc, "{%p else %}")
    paragraph(doc, ("Inga förbättringar är markerade som överförbara.", "i"))
    control(doc, "{%p endfor %}")

    paragraph(doc, "Er plan för fortsättningen", style="Heading 1")
    plan = table(
        doc,
        (4.8, 4.0, 2.5, 3.3, 2.0),
        ["Aktivitet", "Ansvarig", "Klart senast", "Uppföljning", "Status"],
    )
    control_row(plan, "{%tr for a in plan %}")
    add_row(
        plan,
        (
            "{{ a.activity }}",
            "{{ a.owner }}",
            "{{ a.deadline }}",
            "{{ a.follow_up }}",
            "{{ a.status }}",
        ),
    )
    control_row(plan, "{%tr else %}")
    merged_row(plan, "Ingen plan är registrerad ännu.")
    control_row(plan, "{%tr endfor %}")

    paragraph(doc, "Inför nästa träff", style="Heading 1")
    control(doc, "{%p if next_meeting %}")
    paragraph(
        doc,
        "Nästa träff är ",
        ("{{ next_meeting.full_title }}", "b"),
        ", {{ next_meeting.weekday }} {{ next_meeting.date }} i {{ next_meeting.place }}"
        "{% if next_meeting.host %} med {{ next_meeting.host }} som värd{% endif %}.",
    )
    paragraph(
        doc,
        "Gör den gemensamma självskattningen i checklistan, fliken "
        "{{ next_meeting.checklist_tab }}.",
        style="List Bullet",
    )
    paragraph(
        doc,
        "Lägg upp er presentation på {{ network.project_platform }} senast ",
        ("{{ next_meeting.upload_deadline_weekday }} {{ next_meeting.upload_deadline }}", "b"),
        ".",
        style="List Bullet",
    )
    control(doc, "{%p for item in next_meeting.preparations %}")
    paragraph(doc, "{{ item }}", style="List Bullet")
    control(doc, "{%p endfor %}")
    control(doc, "{%p else %}")
    paragraph(doc, "Datum för nästa träff är inte bestämt ännu.")
    control(doc, "{%p endif %}")

    paragraph(doc, "")
    paragraph(doc, "Med vänliga hälsningar")
    paragraph(doc, ("{{ letter.signature }}", "b"))
    paragraph(doc, "{{ letter.signature_organisation }}")

    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
