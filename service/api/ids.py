"""Integer ids from the path and the query, checked once against the columns' range.

Every table's id is a 32-bit ``INTEGER``: PostgreSQL refuses a larger number in a comparison
with an error, which reached clients as 500. The check runs as an app-wide dependency, before
any route's own, so no route can forget it: a path id that cannot exist answers 404 (the same
as one that does not), a query id out of range 422.
"""

from __future__ import annotations

import re

from fastapi import Request

from service.errors import InvalidInputError, NotFoundError, Problem
from service.intake.entities import MAX_ID

# ``42``, ``-1``, ``+7``: what FastAPI's int parsing would accept as a number.
_INTEGER = re.compile(r"\s*[-+]?[0-9]+\s*")


def is_id_name(name: str) -> bool:
    """Whether a parameter names a row id (``meeting_id``, ``organisation_ids``, ``id``)."""
    return name == "id" or name.endswith(("_id", "_ids"))


def fits_id(value: object) -> bool:
    """Whether ``value`` is no integer (left to validation), or an integer in the id range."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return 1 <= value <= MAX_ID
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        text = value.strip().lstrip("+-")
        # Bounded before converting: a 5,000-digit "id" costs nothing to refuse.
        if len(text.lstrip("0")) > len(str(MAX_ID)):
            return False
        return 1 <= int(value) <= MAX_ID
    return True


def ids_in_range(request: Request) -> None:
    """Refuse ids no row can have before any route queries with them."""
    for name, value in request.path_params.items():
        if is_id_name(name) and not fits_id(value):
            raise NotFoundError(f"{name.removesuffix('_id')} {str(value)[:20]} not found")
    problems = [
        Problem(name, f"an id is a whole number from 1 to {MAX_ID}")
        for name, value in request.query_params.multi_items()
        if is_id_name(name) and not fits_id(value)
    ]
    if problems:
        raise InvalidInputError(problems)
