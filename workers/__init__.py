"""Celery worker and beat: thin adapters over ``service.generation``."""
