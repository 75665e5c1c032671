"""The portal: Swedish pages for organisers and participants, on the API's FastAPI app.

Server-rendered (Jinja2), working without JavaScript; htmx (vendored, see ``static/vendor``)
refreshes parts of a page such as a batch's progress. Participants arrive by their
organisation's personal link and see only that organisation; organisers sign in with an
account (``benchdocs user add``). Sessions, CSRF and security headers: ``security.py``.
"""
