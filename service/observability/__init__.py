"""What an operator sees of a running benchdocs: readiness, Prometheus metrics, structured logs.

``metrics`` and ``log_context`` sit low (the work they count and label calls them);
``collectors``, ``readiness``, ``logs`` and ``probe_server`` sit above the adapters they read.
"""
