"""``benchdocs upload checklist|deck`` and ``benchdocs status``: what participants sent back."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
