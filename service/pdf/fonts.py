"""Glyph widths from the font files installed for LibreOffice, for the pptx engine's tables.

The pptx engine continues a table on a copy of its slide when its rows do not fit; it measures
text through a ``FontBook`` (``service.engines.pptx_engine.fitting``). This adapter reads the
font files: Microsoft's own when installed, else their metric-compatible stand-ins Carlito
(for Calibri) and Caladea (for Cambria), which LibreOffice substitutes when it renders the PDF.
A typeface with no file found is measured as Calibri, and without any file at all the engine's
deterministic approximation is used, so a render never depends on a font being present.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PIL import ImageFont

from service.engines.pptx_engine.fitting import APPROXIMATE_FONTS, FontBook

# Where Debian and most Linux distributions keep fonts (fontconfig's default directories).
FONT_DIRECTORIES = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

# Typeface (lower case) -> file names of its regular and bold faces, best first: the Office
# font, then its metric-compatible stand-in.
_FACES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "calibri": (("calibri.ttf", "calibrib.ttf"), ("Carlito-Regular.ttf", "Carlito-Bold.ttf")),
    "carlito": (("Carlito-Regular.ttf", "Carlito-Bold.ttf"),),
    "cambria": (("cambria.ttc", "cambriab.ttf"), ("Caladea-Regular.ttf", "Caladea-Bold.ttf")),
    "caladea": (("Caladea-Regular.ttf", "Caladea-Bold.ttf"),),
}
_DEFAULT_FACE = "calibri"
# Glyphs are measured at this many pixels per em and scaled: enough for sub-point precision.
_UNITS_PER_EM = 2048


class OutlineFonts:
    """A FontBook measuring with TrueType files (regular and bold per typeface)."""

    def __init__(self, files: Mapping[tuple[str, bool], Path], *, fallback: FontBook) -> None:
        self._files = dict(files)
        self._fallback = fallback

    @property
    def files(self) -> Mapping[tuple[str, bool], Path]:
        """The font file measured for each (typeface in lower case, bold)."""
        return self._files

    def text_width(self, text: str, *, typeface: str, size: float, bold: bool) -> float:
        """The advance width of ``text`` in points."""
        face = typeface.lower()
        path = self._files.get((face, bold)) or self._files.get((_DEFAULT_FACE, bold))
        if path is None:
            return self._fallback.text_width(text, typeface=typeface, size=size, bold=bold)
        return float(_font(path).getlength(text)) * size / _UNITS_PER_EM


@functools.lru_cache(maxsize=32)
def _font(path: Path) -> Any:
    return ImageFont.truetype(str(path), _UNITS_PER_EM)


def find_font_files(directories: Iterable[Path]) -> dict[tuple[str, bool], Path]:
    """The best file found for each known typeface and weight under ``directories``."""
    present: dict[str, Path] = {}
    for directory in directories:
        for root, _dirs, names in sorted(os.walk(directory)):
            for name in sorted(names):
                present.setdefault(name.lower(), Path(root) / name)
    files: dict[tuple[str, bool], Path] = {}
    for face, choices in _FACES.items():
        for regular, bold in choices:
            if regular.lower() in present and bold.lower() in present:
                files[(face, False)] = present[regular.lower()]
                files[(face, True)] = present[bold.lower()]
                break
    return files


@functools.cache
def installed_fonts() -> FontBook:
    """The fonts of this machine, looked up once per process; the approximation if none."""
    files = find_font_files(FONT_DIRECTORIES)
    if not files:
        return APPROXIMATE_FONTS
    return OutlineFonts(files, fallback=APPROXIMATE_FONTS)
