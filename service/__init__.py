"""benchdocs: documents for SKR's benchmarking meetings, generated from templates."""

__version__ = "0.1.0"
