"""Rendering of document templates: pure functions from (template, context) to bytes."""
