"""Field types of the entity input models: ids, lists of text, and PATCH's non-null."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field

from service.intake.text_rules import LongText

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


T = TypeVar("T")


def _refuse_null(value: T) -> T:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


# A PATCH field that may be left out but not set to null (its column is NOT NULL).
NonNull = Annotated[T | None, AfterValidator(_refuse_null)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
TextList = Annotated[list[LongText], Field(max_length=100)]
