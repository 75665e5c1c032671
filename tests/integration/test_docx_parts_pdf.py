"""Through our PDF path: a docxtpl template with a header image, a column loop with merged cells
and a sub-document looks in LibreOffice as docxtpl's own output does."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import docxtpl
import pytest
from docx.shared import Mm

from service.engines.docx_engine import DocxTemplate
from service.engines.docx_media import DocxImage
from service.engines.docx_subdoc import DocxSubdoc
from service.pdf.libreoffice import make_pdf_converter
from tests.unit.test_docx_parts import (
    TABLE_CONTEXT,
    column_table,
    image_bytes,
    make_template,
    saved,
    sub_document,
)

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("soffice", "pdftotext", "pdfimages")]

# How pdftotext prints a bulleted list's symbol (Symbol font's BULLET).
BULLET = "\uf0b7"
COLUMNS = ["alfa", "beta", "gamma", "delta", "epsilon", "zeta"]


def letter(document: Any) -> None:
    document.sections[0].header.paragraphs[0].text = "Logga {{ logo }}"
    document.add_paragraph("Hej {{ name }}")
    column_table(document)
    document.add_paragraph("{{p bilaga }}")


def pdf_text_and_images(data: bytes, tmp_path: Path, stem: str) -> tuple[str, int]:
    converter = make_pdf_converter(warm=False, timeout_seconds=120, restart_after=10)
    pdf = tmp_path / f"{stem}.pdf"
    pdf.write_bytes(converter.convert(data, source_format="docx"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    return text, len(images.splitlines()) - 2


def test_header_image_columns_and_subdocument_look_as_in_docxtpls_output(tmp_path: Path) -> None:
    data = make_template(letter)
    sub = sub_document()
    (tmp_path / "bilaga.docx").write_bytes(sub)
    logo = image_bytes(60, 20, colour="green")
    context = {**TABLE_CONTEXT, "cols": COLUMNS, "span": 7, "name": "Åsa"}

    ours = DocxTemplate.from_bytes(data, name="brev.docx").render(
        {**context, "logo": DocxImage(logo, width=Mm(30)), "bilaga": DocxSubdoc(sub)}
    )
    theirs_template = docxtpl.DocxTemplate(io.BytesIO(data))
    theirs_template.render(
        {
            **context,
            "logo": docxtpl.InlineImage(theirs_template, io.BytesIO(logo), width=Mm(30)),
            "bilaga": theirs_template.new_subdoc(str(tmp_path / "bilaga.docx")),
        },
        autoescape=True,
    )
    theirs = saved(theirs_template)

    our_text, our_images = pdf_text_and_images(ours, tmp_path, "ours")
    their_text, their_images = pdf_text_and_images(theirs, tmp_path, "theirs")

    assert our_text == their_text
    assert our_images == their_images == 2  # the header's logo and the sub-document's picture
    header_row = next(line for line in our_text.splitlines() if "Namn" in line)
    assert header_row.split() == ["Namn", *COLUMNS]
    assert "Bilagans rubrik" in our_text
    listed = [line.split() for line in our_text.splitlines() if "punkten" in line]
    assert listed == [[BULLET, "Första", "punkten"], [BULLET, "Andra", "punkten"]]
