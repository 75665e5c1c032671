"""SpreadsheetML names the xlsx engine reads and writes, and Excel's limits."""

from __future__ import annotations

from service.engines.opc import RELATIONSHIP_TYPES

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
M = f"{{{MAIN_NS}}}"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
R_ID = f"{{{R_NS}}}id"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
# The prefixes Excel writes drawings and charts with (strict readers expect them).
DRAWING_PREFIXES = {
    XDR[1:-1]: "xdr",
    A[1:-1]: "a",
    C[1:-1]: "c",
    R_NS: "r",
}
XM = "{http://schemas.microsoft.com/office/excel/2006/main}"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

_REL = RELATIONSHIP_TYPES
RT_EXTENDED_PROPERTIES = _REL + "extended-properties"
RT_CORE_PROPERTIES = (
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
)
RT_WORKSHEET = _REL + "worksheet"
RT_SHARED_STRINGS = _REL + "sharedStrings"
RT_STYLES = _REL + "styles"
RT_CALC_CHAIN = _REL + "calcChain"
RT_DRAWING = _REL + "drawing"
RT_CHART = _REL + "chart"
RT_TABLE = _REL + "table"
# Parts a sheet owns: a copied sheet gets copies of them. Others (images, styles) are shared.
OWNED_RELTYPES = frozenset(
    {
        RT_DRAWING,
        RT_CHART,
        _REL + "comments",
        _REL + "vmlDrawing",
        _REL + "printerSettings",
        _REL + "chartUserShapes",
        _REL + "themeOverride",
        "http://schemas.microsoft.com/office/2011/relationships/chartStyle",
        "http://schemas.microsoft.com/office/2011/relationships/chartColorStyle",
    }
)


MAX_ROW = 1_048_576
MAX_COL = 16_384
MAX_CELL_TEXT = 32_767
# Excel's limits for data-validation texts (MS-OI29500 2.1.613).
DV_TEXT_LIMITS = {"prompt": 255, "promptTitle": 32, "error": 224, "errorTitle": 32}
HEADER_FOOTER_TAGS = tuple(
    M + tag
    for tag in ("oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter")
)
