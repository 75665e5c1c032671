"""What the workbook builders share: font properties in the order Excel writes them."""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# The order Excel writes a font's children in (and the Open XML SDK expects). ECMA-376 allows
# any order; openpyxl writes name first, which strict validators report.
FONT_ORDER = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign",
              "sz", "color", "name", "family", "charset", "scheme")  # fmt: skip


def font_children_in_excel_order(content: bytes) -> bytes:
    """``xl/styles.xml`` with every font's children sorted as Excel writes them."""
    root = etree.fromstring(content)
    for font in root.iter(f"{MAIN}font"):
        children = list(font)
        children.sort(key=lambda e: FONT_ORDER.index(etree.QName(e).localname))
        for child in children:
            font.append(child)  # appending moves it: the children end up sorted
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))
