"""Closed sets of values the programme uses, shared by the import format and the API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from service.intake.text_rules import ShortText

ProgrammeRole = Literal["mentor", "benchmarkingorganisation"]
PdsaPhase = Literal["Planera", "Göra", "Studera", "Agera"]
ActivityStatus = Literal["ej påbörjad", "pågående", "klar", "struken"]
ChecklistPhase = Literal["before", "during", "after"]
Email = Annotated[ShortText, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
