"""`benchdocs previews`: one file per kind for a sample organisation, and a PNG per page."""

from __future__ import annotations

from pathlib import Path

import pytest
from pptx import Presentation
from typer.testing import CliRunner

from service.cli.main import app
from service.documents.catalogue import CATALOGUE

pytestmark = pytest.mark.integration


@pytest.mark.needs_tools("soffice", "pdftoppm")
def test_previews_make_every_kind_and_one_png_per_page(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["previews", "--organisation", "kalmar", "--out", str(tmp_path), "--resolution", "20"]
    )

    assert result.exit_code == 0, result.output
    office = sorted(p for p in tmp_path.iterdir() if p.suffix in {".pptx", ".docx", ".xlsx"})
    assert len(office) == len(CATALOGUE)
    deck = next(p for p in office if p.name.startswith("Presentation"))
    assert "Kalmar kommun" in deck.name
    slides = len(Presentation(str(deck)).slides)
    assert len(list(tmp_path.glob(f"{deck.name}-*.png"))) == slides
    for path in office:
        assert list(tmp_path.glob(f"{path.name}-*.png")), f"no pages for {path.name}"
