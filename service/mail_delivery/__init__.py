"""Handing finished MIME messages to an SMTP server, or to an outbox folder (embedded default)."""
