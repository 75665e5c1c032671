"""Drills: benchdocs run as an operator would, then broken on purpose (``make drills``)."""
