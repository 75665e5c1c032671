"""Relational storage: ORM models, engine and sessions."""
