"""Templates loaded and parsed once per process, reloaded only when the file changes."""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from service.documents import swedish
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.engines.interface import OfficeTemplate
from service.engines.pptx_engine.fitting import TableLayout
from service.engines.registry import parse_template
from service.errors import TemplateError
from service.pdf.fonts import installed_fonts


def parse_document_template(data: bytes, *, name: str, suffix: str | None = None) -> OfficeTemplate:
    """A template of benchdocs's documents: parsed by its format's engine, with Swedish filters.

    The format comes from ``name``'s suffix unless ``suffix`` is given; TemplateError if no
    engine reads it or the template is broken.
    """
    return parse_template(
        data, name=name, suffix=suffix, filters=SWEDISH_FILTERS, slide_tables=slide_tables()
    )


@functools.cache
def slide_tables() -> TableLayout:
    """How benchdocs's decks continue long tables: measured with this machine's fonts."""
    return TableLayout(fonts=installed_fonts(), continued_suffix=swedish.CONTINUED)


@dataclass(frozen=True)
class LoadedTemplate:
    """A parsed template and the hash of the bytes it was parsed from."""

    file_name: str
    sha256: str
    template: OfficeTemplate


class TemplateLibrary:
    """The process's parsed templates, keyed by file name under one directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple[int, int], LoadedTemplate]] = {}

    @property
    def directory(self) -> Path:
        """Where the template files are."""
        return self._directory

    def get(self, file_name: str) -> LoadedTemplate:
        """The parsed template; parsed again only if its size or mtime changed."""
        path = self._directory / file_name
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise TemplateError(f"template {file_name!r} not found in {self._directory}") from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._loaded.get(file_name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            data = path.read_bytes()
            loaded = LoadedTemplate(
                file_name=file_name,
                sha256=hashlib.sha256(data).hexdigest(),
                template=parse_document_template(data, name=file_name),
            )
            self._loaded[file_name] = (stamp, loaded)
            return loaded
