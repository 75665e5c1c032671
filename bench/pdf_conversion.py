"""Benchmark: seconds per PDF through a cold LibreOffice per file against one warm LibreOffice.

Run with ``python -m bench.pdf_conversion``. Converts the same documents of each format with
both converters and prints the median per PDF and the ratio, measured in the same run; the
machine is shared and noisy, so compare ratios rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import docx
import openpyxl
from pptx import Presentation
from pptx.util import Cm

from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import ColdLibreOfficeConverter, WarmLibreOfficeConverter
from service.settings import PROJECT_ROOT

AREAS = ["Styrning", "Kunskap", "Verksamhet", "Uppföljning", "Resultat", "Samverkan"]
DECK_TEMPLATE = PROJECT_ROOT / "doc_templates" / "deck_benchmarking.pptx"


def make_deck(n: int) -> bytes:
    """A deck shaped like ours: a title, one slide per area with a table, a plan."""
    presentation = Presentation()
    title = presentation.slides.add_slide(presentation.slide_layouts[0])
    title.shapes.title.text = f"Benchmarking 2 – Organisation {n} åäö"
    for area in AREAS:
        slide = presentation.slides.add_slide(presentation.slide_layouts[5])
        slide.shapes.title.text = f"{area}: förflyttning sedan förra omgången"
        rows = slide.shapes.add_table(5, 3, Cm(2), Cm(5), Cm(20), Cm(6)).table
        for row in range(5):
            for column in range(3):
                rows.cell(row, column).text = f"{area} {row}.{column} – {n}"
    plan = presentation.slides.add_slide(presentation.slide_layouts[1])
    plan.shapes.title.text = "Fortsättningsplan"
    plan.placeholders[1].text_frame.text = "\n".join(
        f"Steg {i}: jämställd service" for i in range(6)
    )
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def make_letter(n: int) -> bytes:
    """A two-page feedback letter."""
    document = docx.Document()
    document.add_heading(f"Återkoppling till organisation {n}", level=1)
    for area in AREAS:
        document.add_heading(area, level=2)
        for _ in range(3):
            document.add_paragraph(
                f"Inom {area.lower()} har organisationen {n} tagit flera steg framåt. " * 4
            )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_checklist(n: int) -> bytes:
    """A checklist workbook: one sheet per area, sixty rows each."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for area in AREAS[:3]:
        sheet = workbook.create_sheet(area)
        sheet.append(["Fråga", "Svar", "Kommentar"])
        for row in range(60):
            sheet.append([f"{area} fråga {row} ({n})", row % 5, "Åtgärd planerad"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def seconds_per_pdf(converter: PdfConverter, documents: list[bytes], source_format: str) -> float:
    """Median wall time of one conversion, in seconds."""
    times = []
    for data in documents:
        started = time.perf_counter()
        converter.convert(data, source_format=source_format)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=10, help="documents per format")
    args = parser.parse_args()

    builders: dict[str, Callable[[int], bytes]] = {
        "pptx": make_deck,
        "docx": make_letter,
        "xlsx": make_checklist,
    }
    workloads = [
        (f"{fmt} ({args.documents} generated)", fmt, [build(n) for n in range(args.documents)])
        for fmt, build in builders.items()
    ]
    if DECK_TEMPLATE.is_file():
        workloads.append(
            ("pptx (deck template)", "pptx", [DECK_TEMPLATE.read_bytes()] * args.documents)
        )

    cold = ColdLibreOfficeConverter(timeout_seconds=300)
    with WarmLibreOfficeConverter(timeout_seconds=300, restart_after=10_000) as warm:
        started = time.perf_counter()
        warm.convert(workloads[0][2][0], source_format=workloads[0][1])
        first = time.perf_counter() - started
        rows = []
        for label, fmt, documents in workloads:
            warm_s = seconds_per_pdf(warm, documents, fmt)
            cold_s = seconds_per_pdf(cold, documents, fmt)
            rows.append((label, cold_s, warm_s))

    print(f"\nPDF conversion, median seconds per PDF (warm start + first PDF: {first:.2f} s)")
    print(f"{'documents':<26} {'cold':>8} {'warm':>8} {'cold/warm':>10}")
    for label, cold_s, warm_s in rows:
        print(f"{label:<26} {cold_s:>8.3f} {warm_s:>8.3f} {cold_s / warm_s:>9.1f}x")


if __name__ == "__main__":
    main()
