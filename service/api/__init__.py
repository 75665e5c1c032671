"""The intake and generation HTTP API (FastAPI), a thin layer over the use cases."""
