"""Pure message content: templates, calendar events and MIME messages (no IO)."""
