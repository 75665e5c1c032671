"""How long entered values may be: one number per kind of field.

The database columns are declared with these lengths and the import formats, the roster and
the API check them, so a value that passes the door always fits the column (PostgreSQL
enforces the length, SQLite does not).
"""

from __future__ import annotations

REF = 100  # a record's id in an import file: "askersund", "p07", "Q14"
SHORT_TEXT = 300  # names, titles, places, organisers
MEDIUM_TEXT = 500  # an initiative's title, an indicator's name
LABEL = 100  # a county, a level, a status, a round's label
CODE = 50  # an organisation type, a phone number, a unit, a PDSA phase
EMAIL = 320  # RFC 5321: 64 for the local part, 1 for @, 255 for the domain
URL = 2_000  # a web address: a digital meeting link, a film
LONG_TEXT = 10_000  # free text: notes, goals, reflections
