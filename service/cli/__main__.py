"""``python -m service.cli``: the same as the ``benchdocs`` command."""

from service.cli.main import main

main()
