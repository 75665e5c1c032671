"""Celery worker and beat: thin adapters over the batch and regeneration use cases."""
