"""Build doc_templates/feedback_summary.docx, the organiser's Plus – Minus – Intressant to SKR.

Run from the repository root: ``python doc_templates/scripts/build_feedback_summary_template.py``.
The result is committed; organisers may then edit the .docx in Word directly. Whether each
goal was reached is left for the organiser to mark.
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

OUTPUT = Path(__file__).resolve().parents[1] / "feedback_summary.docx"


def bullets(doc: object, heading: str, variable: str) -> None:
    """A heading and one bullet per item of a list in the context."""
    paragraph(doc, heading, style="Heading 1")
    control(doc, f"{{%p for item in {variable} %}}")
    paragraph(doc, "{{ item }}", style="List Bullet")
    control(doc, "{%p endfor %}")


def build() -> bytes:
    doc = new_document(
        title="Återkoppling till SKR", subject="Plus – Minus – Intressant efter benchmarkingträff"
    )
    header_and_footer(
        doc,
        header="{{ network.name }}\tÅterkoppling till {{ sent_to }}",
        footer="Återkoppling – {{ meeting.title }} · {{ meeting.date }}",
    )

    paragraph(doc, "Återkoppling efter {{ meeting.title }}", style="Title")
    paragraph(doc, "Plus – Minus – Intressant", style="Subtitle")

    paragraph(doc, "Träff", style="Heading 1")
    facts_table(
        doc,
        [
            ("Träff", "{{ meeting.full_title }} (träff {{ meeting.number }})"),
            ("Datum", "{{ meeting.weekday | capitalize }} {{ meeting.date }}, {{ meeting.time }}"),
            ("Plats", "{{ meeting.location }}"),
            ("Värd", "{{ host.name }}"),
            ("Mentorer", "{{ mentors }}"),
            ("Skriven av", "{{ author.contact }}, {{ author.organisation }}"),
            ("Skickas till", "{{ sent_to }}"),
        ],
        label_width=3.0,
    )

    paragraph(doc, "Deltagande organisationer och roller", style="Heading 1")
    paragraph(doc, "{{ attendance_note }}", keep_with_next=True)
    attendance = table(
        doc,
        (5.2, 2.0, 2.0, 2.0, 5.4),
        ["Organisation", "Politiker", "Chef", "Strateg", "Övriga"],
    )
    control_row(attendance, "{%tr for a in attendance %}")
    add_row(
        attendance,
        (
            "{{ a.organisation }}",
            "{{ a.politiker }}",
            "{{ a.chef }}",
            "{{ a.strateg }}",
            "{{ a.others }}",
        ),
    )
    control_row(attendance, "{%tr endfor %}")

    paragraph(doc, "Syfte och mål för träffen", style="Heading 1")
    goals = table(doc, (8.6, 3.0, 5.0), ["Mål", "Uppnått?", "Kommentar"])
    control_row(goals, "{%tr for goal in goals %}")
    add_row(goals, ("{{ goal }}", "Ja / Delvis / Nej", ""))
    control_row(goals, "{%tr endfor %}")

    bullets(doc, "Plus – det som fungerade bra", "plus")
    bullets(doc, "Minus – det som kan bli bättre", "minus")
    bullets(doc, "Intressant – idéer och iakttagelser att sprida", "interesting")

    paragraph(doc, "Identifierade förbättringsidéer per organisation", style="Heading 1")
    ideas = table(doc, (5.2, 11.4), ["Organisation", "Idéer att ta med hem"])
    control_row(ideas, "{%tr for row in ideas %}")
    add_row(ideas, ("{{ row.organisation }}", "{{ row.ideas }}"))
    control_row(ideas, "{%tr else %}")
    merged_row(ideas, "[Fyll i idéer per organisation]")
    control_row(ideas, "{%tr endfor %}")

    paragraph(doc, "Överenskommelser och nästa steg", style="Heading 1")
    control(doc, "{%p if next_meeting %}")
    paragraph(
        doc,
        ("Nästa träff: ", "b"),
        "{{ next_meeting.full_title }}, {{ next_meeting.weekday }} {{ next_meeting.date }} i "
        "{{ next_meeting.place }}{% if next_meeting.host %} ({{ next_meeting.host }} är värd)"
        "{% endif %}. Presentationerna läggs upp senast {{ next_meeting.upload_deadline }}.",
    )
    control(doc, "{%p else %}")
    paragraph(doc, ("Nästa träff: ", "b"), "[Fyll i datum och plats]")
    control(doc, "{%p endif %}")
    paragraph(doc, "[Fyll i övriga överenskommelser]")

    paragraph(doc, "Kontaktuppgifter", style="Heading 1")
    paragraph(doc, ("{{ author.contact }}", "b"))
    paragraph(doc, "{{ author.organisation }}")
    paragraph(doc, "{{ author.email }}")

    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
