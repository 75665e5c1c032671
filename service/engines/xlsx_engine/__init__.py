"""A pure xlsx template engine working on the workbook's XML parts.

Why XML and not openpyxl: openpyxl drops the charts and images of a workbook it loads and saves,
and rewrites what it does not model (x14 extensions, some drawing and print settings). An
organiser's template must come back with everything it had. So the engine parses the sheets,
drawings and charts once with lxml; ``render`` writes only the parts it changes (the sheets, their
drawings and charts, the workbook, its relationships and content types); every other member is
copied byte for byte. The price is reference shifting done here: one A1-reference scanner serves
cell formulas, conditional formats, validations, defined names, merged cells and chart series.

Template conventions (all evaluated in a sandboxed, strict Jinja environment):

- ``{{ expr }}`` in any text cell. A cell that is exactly one tag gets the value's type: numbers
  stay numbers, dates and times become date serials (format the cell as a date), booleans stay
  booleans, None leaves the cell empty with its style. Any other text renders to a string.
  Values are always written as text cells, never as formulas, and never parsed as templates.
- Row loop: a row whose first non-empty cell reads ``{%tr for x in items %}`` and a row whose
  first cell reads ``{%tr endfor %}``; the rows between repeat per item and both marker rows
  vanish. Column loop: a cell whose text starts with ``{%tc for x in items %}`` and a cell in the
  same row whose text ends with ``{%tc endfor %}`` (the same cell is fine); those columns repeat
  per item over the whole sheet and the markers are removed from the text. Loops on one axis do
  not nest; a cell may sit in one row loop and one column loop.
- Sheet loop: a row whose first cell reads ``{%sheet for x in items %}`` repeats its sheet per
  item (the row vanishes; no items removes the sheet). A tag in a sheet's tab name (such as
  ``{{ x.tab }}``) names it from data; names are cleaned to Excel's rules and made unique.
- Rows and columns that loops insert or remove move everything after them, as inserting rows in
  Excel would: formulas on every sheet, conditional formatting, data validation, merged cells,
  hyperlinks, defined names (print titles, named ranges), frozen panes, drawing anchors and
  chart series. A range that spans a loop, its marker rows included (``=SUM(D7:D9)`` around
  body row 8), grows with it; a reference from inside a repeated row to the same row stays in
  the copy. A single-cell reference into a loop from outside points at the first copy; what an
  empty loop removes becomes ``#REF!``.
- A chart series whose values lie in a repeated column (or row) is repeated per item; the last
  copy keeps the series' colours and earlier ones get lighter shades of them. Chart titles and
  a drawing's alt text (``descr``) may hold tags.
- Tags also work in data-validation messages (cut to Excel's 255/32 characters), in the print
  header and footer (``&`` in values is escaped), in the tab name, and in the text of the core
  document properties (``docProps/core.xml``: title, subject, language, created).
- A sheet's local names ``bd_chart_min`` and ``bd_chart_max`` (cells that may hold tags) set
  the value axis bounds of that sheet's charts, e.g. to the scale from data.
- Drawings and charts are written with Excel's prefixes (``xdr:``, ``c:``, ``a:``, ``r:``):
  strict readers such as ExcelJS refuse a drawing in a default namespace.
- Rows whose height was not set by hand get one that fits their wrapped text (estimated from
  the font size and column width): Excel and LibreOffice keep stored heights when opening.
- Not supported: Excel tables (ListObjects) in sheets with loops (a TemplateError), formulas
  that are themselves templated, 3-D references, comments or notes moving with rows, and
  charts on chart sheets following loops (chart sheets are copied as they are).

Formula results are not computed: the workbook is marked for full recalculation on load, so
Excel and LibreOffice show them; chart caches are rebuilt from the rendered values. Static
cells keep their shared strings; rendered text is written as inline strings. ``render`` gives
the same bytes for the same context: member order is stable and zip times are fixed.

The package, in the order a template goes through it: ``workbook`` reads the parts,
``scanning`` finds the template text (and hands it to the checker as ``xlsx_spots``),
``compiling`` compiles it into plans, and ``rendering`` fills a copy per render with the help
of ``instances`` (the output sheets and references among them), ``sheet`` (rows and cells),
``ranges`` (everything else naming cells), ``charts`` (drawings and charts), ``formulas``
(A1 references) and ``axes`` (where rows and columns land).
"""

from service.engines.xlsx_engine.scanning import xlsx_spots
from service.engines.xlsx_engine.template import XlsxTemplate

__all__ = ["XlsxTemplate", "xlsx_spots"]
