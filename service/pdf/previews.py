"""PNG previews of generated Office files: each converted to PDF, then rendered page by page."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from service.errors import ConfigurationError, RenderError, TransientError
from service.pdf.converter import PdfConverter

PDFTOPPM_TIMEOUT_SECONDS = 120.0


def render_previews(
    files: Sequence[Path], out_dir: Path, *, converter: PdfConverter, resolution: int = 60
) -> list[Path]:
    """PNG pages of each file, named ``<file name>-<page>.png`` in ``out_dir``, in order.

    Earlier previews of the same files are replaced, so a document that lost pages leaves no
    stale page behind.
    """
    if resolution < 1:
        raise ValueError(f"resolution must be positive, not {resolution}")
    names = [file.name for file in files]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"two files share a name, their previews would clash: {duplicates}")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise ConfigurationError("previews need pdftoppm (Debian: apt-get install poppler-utils)")
    out_dir.mkdir(parents=True, exist_ok=True)
    pages: list[Path] = []
    for file in files:
        pdf = converter.convert(file.read_bytes(), source_format=file.suffix.lstrip("."))
        pages.extend(_render_pages(pdf, file.name, out_dir, pdftoppm=pdftoppm, dpi=resolution))
    return pages


def _render_pages(pdf: bytes, name: str, out_dir: Path, *, pdftoppm: str, dpi: int) -> list[Path]:
    # One working directory per file: pdftoppm's output is only moved out once it is complete.
    with tempfile.TemporaryDirectory(prefix="benchdocs-preview-") as tmp:
        work = Path(tmp)
        (work / "document.pdf").write_bytes(pdf)
        try:
            subprocess.run(  # noqa: S603 - pdftoppm with our own arguments
                [pdftoppm, "-png", "-r", str(dpi), "document.pdf", "page"],
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PDFTOPPM_TIMEOUT_SECONDS,
                check=True,
            )
        except subprocess.TimeoutExpired:
            raise TransientError(f"pdftoppm did not render {name} in time") from None
        except subprocess.CalledProcessError as error:
            message = error.stderr.decode("utf-8", errors="replace").strip()
            raise RenderError(f"pdftoppm could not render {name}: {message}") from None
        rendered = sorted(work.glob("page-*.png"), key=_page_number)
        if not rendered:
            raise RenderError(f"the PDF of {name} has no pages")
        stale_page = re.compile(rf"{re.escape(name)}-\d+\.png")
        for stale in out_dir.iterdir():
            if stale_page.fullmatch(stale.name):
                stale.unlink()
        width = len(str(len(rendered)))
        pages = []
        for page in rendered:
            target = out_dir / f"{name}-{_page_number(page):0{width}d}.png"
            shutil.move(page, target)
            pages.append(target)
        return pages


def _page_number(png: Path) -> int:
    return int(png.stem.rsplit("-", 1)[1])
