"""Template engines for pptx, docx and xlsx: pure functions from (template, context) to bytes."""

# Part of every document's fingerprint: bump it whenever a change in this package changes the
# bytes a template and context render to, so the next regeneration renders every document again.
RENDERER_REVISION = 1
