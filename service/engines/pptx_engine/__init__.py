"""A pure pptx template engine: Jinja text tags, table-row loops, slide loops, charts, images.

Template conventions (all evaluated in a sandboxed, strict Jinja environment):

- ``{{ expr }}`` and ``{% if %}``/``{% for %}`` work inside one paragraph of any text: shapes,
  group shapes, table cells and speaker notes. A tag may be split over several runs; the runs of
  a paragraph containing ``{`` are merged and the merged text takes the first run's formatting.
  Paragraphs without ``{`` are never touched.
- A newline in a rendered value becomes a line break (``a:br``) in the same paragraph, so the
  paragraph keeps its bullet, spacing and formatting.
- A paragraph whose text starts with a ``{% ... %}`` tag and renders to nothing (only white
  space) is removed, unless it is the last paragraph of its text frame or cell.
- Table row loop: a row whose first cell reads ``{%tr for x in items %}`` starts a loop and a row
  reading ``{%tr endfor %}`` ends it; the rows between are repeated per item, both marker rows
  are removed. Loops do not nest.
- Slide loop: a text box whose whole text is ``{%slide for x in items %}`` repeats its slide per
  item (the box itself is removed); no items removes the slide.
- A chart named ``chart:EXPR`` (Selection Pane) gets the category data EXPR evaluates to:
  ``{"categories": [str, ...], "series": [{"name": str, "values": [float | None, ...]}]}``,
  optionally with ``"value_axis": {"minimum", "maximum", "major_unit"}`` (numbers),
  ``"number_format"`` (of the values and data labels, such as ``"0.00"``) and
  ``"description"`` (the chart's alt text).
- A table a row loop made taller than the room below it on its slide continues on copies of
  the slide: the rows above the loop's rows repeat as a heading, whole loop items move, each
  copy's title gets a suffix (``" (forts.)"`` from benchdocs), and shapes standing above the
  table on the first slide are left out of the copies, the table moving up in their place;
  so is any shape whose name starts with ``first:`` (a prompt card beside the table).
  Rows are measured with the fonts of ``TableLayout`` (``fitting``), never counted.
- A picture (or picture placeholder) named ``image:EXPR`` shows the PNG/JPEG bytes EXPR gives;
  None keeps the template's picture.

Values are rendered once and never parsed as templates. Characters that XML 1.0 forbids are
removed from values; everything else is kept as typed.

``pptx_spots`` lists the same places, found by the same scan but not compiled, for the template
checker (``service.engines.template_check``).

The package: ``scanning`` finds the template text of each slide (and hands it to the checker
as ``pptx_spots``), ``compiling`` compiles it into one plan per slide, ``package`` opens the
presentation once and hands each render a copy (layouts, masters and themes shared, read
only) and writes it, and ``rendering`` fills the copy, copying slides for slide loops.
"""

from service.engines.pptx_engine.scanning import pptx_spots
from service.engines.pptx_engine.template import PptxTemplate

__all__ = ["PptxTemplate", "pptx_spots"]
