"""Where generated files and uploads are kept: a small protocol and the local directory."""
