"""Template engines for pptx, docx and xlsx: pure functions from (template, context) to bytes.

``interface`` declares what every engine offers and ``registry`` finds the engine for a file
by its suffix; the engines are ``docx_engine``, ``pptx_engine`` and ``xlsx_engine``. They share
``opc`` (reading Office packages, writing reproducible zips), ``jinja_env`` (the one sandboxed
Jinja environment factory; the caller passes its filters), ``tags`` (compiled expressions and
loops, shared by pptx and xlsx) and ``safe_text``; ``docx_values`` says what a value becomes
in each place of a docx tag and is the docx engine's seam for objects: images (``docx_media``)
and sub-documents (``docx_subdoc``) register there, and ``docx_tables`` fixes table grids.
``template_check`` checks the template text an engine's ``spots`` find (``inspection``)
against example data. Nothing here knows about the
database, settings, the documents' language or any other part of benchdocs.
"""

# Part of every document's fingerprint: bump it whenever a change in this package changes the
# bytes a template and context render to, so the next regeneration renders every document again.
# 2: docx tabs, \a, \f as docxtpl; notes, comments, properties; table grids after {%tc%}
RENDERER_REVISION = 2
