"""Charts keep their alt text in a presentation's PDF.

LibreOffice 7.4 tags a chart in an Impress PDF as a Figure but, unlike a picture, without the
chart's alt text (its ``p:cNvPr/@descr``): a screen reader meets an unnamed figure. After the
conversion, the Figure elements of each page that have no /Alt get the alt texts of that
slide's charts, in the slide's shape order. A page whose count of such figures differs from
its count of charts is left as LibreOffice wrote it rather than guessed at.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

import pikepdf
from defusedxml import DefusedXmlException, ElementTree

logger = logging.getLogger(__name__)

_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CHART_URI = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def chart_alt_texts(pptx: bytes) -> list[list[str]]:
    """Per slide the PDF shows (hidden ones left out), the alt texts of its charts in order.

    A package that cannot be read this way (it converted all the same) gives no alt texts.
    """
    try:
        return _chart_alt_texts(pptx)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, DefusedXmlException):
        logger.warning("could not read the charts' alt texts of a presentation", exc_info=True)
        return []


def _chart_alt_texts(pptx: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(pptx)) as package:
        presentation = _xml(package, "ppt/presentation.xml")
        targets = _relationship_targets(package, "ppt/_rels/presentation.xml.rels")
        pages: list[list[str]] = []
        for sld_id in presentation.iter(f"{{{_P}}}sldId"):
            target = targets.get(sld_id.get(f"{{{_R}}}id", ""))
            if target is None:
                continue
            slide = _xml(package, target[1:] if target.startswith("/") else f"ppt/{target}")
            if slide.get("show") == "0":
                continue
            pages.append(
                [
                    _descr(frame)
                    for frame in slide.iter(f"{{{_P}}}graphicFrame")
                    if frame.find(f".//{{{_A}}}graphicData[@uri='{_CHART_URI}']") is not None
                ]
            )
    return pages


def add_chart_alt_texts(pdf: bytes, pages: Sequence[Sequence[str]]) -> bytes:
    """``pdf`` with the charts' alt texts on its Figure elements that have none."""
    if not any(pages):
        return pdf
    try:
        with pikepdf.open(io.BytesIO(pdf)) as document:
            tree = document.Root.get("/StructTreeRoot")
            if tree is None:
                return pdf
            numbers = {page.obj.objgen: index for index, page in enumerate(document.pages)}
            unnamed: dict[int, list[Any]] = {}
            for element in _figures(tree.get("/K")):
                page = element.get("/Pg")
                if "/Alt" not in element and page is not None and page.objgen in numbers:
                    unnamed.setdefault(numbers[page.objgen], []).append(element)
            changed = False
            for number, alts in enumerate(pages):
                figures = unnamed.get(number, [])
                if not alts or len(figures) != len(alts):
                    continue
                for figure, alt in zip(figures, alts, strict=True):
                    if alt:
                        figure.Alt = pikepdf.String(alt)
                        changed = True
            if not changed:
                return pdf
            out = io.BytesIO()
            document.save(out, deterministic_id=True)
            return out.getvalue()
    except pikepdf.PdfError:
        logger.warning("could not add the charts' alt texts to a PDF", exc_info=True)
        return pdf


def _figures(kids: Any) -> Iterator[Any]:
    """The Figure structure elements below ``kids``, depth first in document order."""
    if isinstance(kids, pikepdf.Array):
        for kid in kids:
            yield from _figures(kid)
    elif isinstance(kids, pikepdf.Dictionary) and "/S" in kids:
        if kids.get("/S") == pikepdf.Name.Figure:
            yield kids
        yield from _figures(kids.get("/K"))


def _descr(frame: Any) -> str:
    c_nv_pr = frame.find(f"{{{_P}}}nvGraphicFramePr/{{{_P}}}cNvPr")
    return "" if c_nv_pr is None else str(c_nv_pr.get("descr", ""))


def _xml(package: zipfile.ZipFile, name: str) -> Any:
    # defusedxml: no entities, no external references (our own file, read defensively all the same).
    return ElementTree.fromstring(package.read(name))


def _relationship_targets(package: zipfile.ZipFile, name: str) -> dict[str, str]:
    rels = _xml(package, name)
    return {
        rel.get("Id", ""): rel.get("Target", "") for rel in rels.iter(f"{{{_REL}}}Relationship")
    }
