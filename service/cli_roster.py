"""``benchdocs roster FILE``: organisations and participants from a spreadsheet, previewed first."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
