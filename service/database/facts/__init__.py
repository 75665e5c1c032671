"""Each document kind's facts, loaded from the database (the pure context builders use them)."""
