"""Tools for developers that are not tests themselves (run with ``python -m tests.tools.…``)."""
