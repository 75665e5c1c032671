"""Relational storage: ORM models, engine and sessions, fact loaders and read models."""
