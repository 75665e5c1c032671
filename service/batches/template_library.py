"""Templates loaded and parsed once per process, reloaded only when the file changes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from service.documents.swedish_filters import SWEDISH_FILTERS
from service.engines.docx_engine import DocxTemplate
from service.engines.pptx_engine import PptxTemplate
from service.engines.xlsx_engine import XlsxTemplate
from service.errors import TemplateError


class OfficeTemplate(Protocol):
    """A parsed template of any Office format."""

    def render(self, context: Mapping[str, Any]) -> bytes: ...


# One engine per file format; each parses a template's bytes once.
ENGINES: dict[str, Callable[..., OfficeTemplate]] = {
    ".pptx": PptxTemplate.from_bytes,
    ".docx": DocxTemplate.from_bytes,
    ".xlsx": XlsxTemplate.from_bytes,
}


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
            engine = ENGINES.get(path.suffix.lower())
            if engine is None:
                raise TemplateError(f"template {file_name!r}: no engine for {path.suffix!r}")
            data = path.read_bytes()
            loaded = LoadedTemplate(
                file_name=file_name,
                sha256=hashlib.sha256(data).hexdigest(),
                template=engine(data, name=file_name, filters=SWEDISH_FILTERS),
            )
            self._loaded[file_name] = (stamp, loaded)
            return loaded
