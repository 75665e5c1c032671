"""``benchdocs regenerate [--dry-run]``: redo the documents whose inputs changed."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
