"""``benchdocs token issue|list|revoke``: participants' per-organisation access tokens."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
