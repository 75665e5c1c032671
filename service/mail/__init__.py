"""E-mail use cases: the outbox, building messages for a meeting, sending, the daily run."""
