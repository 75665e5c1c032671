"""Files participants and organisers send in: checked before parsing, then read into data."""
