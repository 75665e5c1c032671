"""What a reader sees in a generated file, as text: for tests that open what was made."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import openpyxl
from docx import Document
from pptx import Presentation


def pptx_text(data: bytes) -> str:
    """Every text frame, table cell and speaker note of every slide."""
    parts = []
    for slide in Presentation(io.BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts.extend(c.text for row in shape.table.rows for c in row.cells)
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell, and the headers and footers."""
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(c.text for row in table.rows for c in row.cells)
    for section in document.sections:
        parts.extend(p.text for p in section.header.paragraphs)
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def xlsx_text(data: bytes) -> str:
    """Every cell that holds a value, on every sheet."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(
        str(cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    )


def pdf_text(data: bytes, work: Path) -> str:
    """The text pdftotext finds (Debian's poppler-utils)."""
    path = work / "document.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return result.stdout.decode()
