"""The ``Content-Disposition`` of a downloaded file: its (Swedish, UTF-8) name, safely."""

from __future__ import annotations

from urllib.parse import quote


def header_safe(name: str) -> str:
    """The plain ``filename=`` parameter: printable ASCII without quote or backslash.

    Everything else is in ``filename*=``, which clients prefer.
    """
    return "".join(c for c in name if " " <= c <= "~" and c not in '"\\')


def content_disposition(name: str, default: str) -> str:
    """An attachment named ``name``: ASCII for old clients (``default`` if none), else UTF-8."""
    ascii_name = header_safe(name) or default
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
