"""Templates loaded and parsed once per process, reloaded only when the file changes.

A kind renders with its active uploaded version (``ActiveTemplate``) when it has one, else with
the built-in file in the templates directory. Workers are separate processes, so which version
is active is read from the database at every render (one small query); the parsed template is
cached by version, its parse by the bytes' sha256.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.documents import swedish
from service.documents.catalogue import CATALOGUE, spec_for
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.kinds import DocumentKind
from service.engines.interface import OfficeTemplate
from service.engines.pptx_engine.fitting import TableLayout
from service.engines.registry import parse_template
from service.errors import NotFoundError, TemplateError, TransientError
from service.pdf.fonts import installed_fonts
from service.storage.file_store import FileStore

log = logging.getLogger(__name__)
# How long a template file being saved is waited for before the previous good one is used.
STABLE_READ_SECONDS = 3.0
_STABLE_READ_PAUSE = 0.05


class TemplateBeingWrittenError(TemplateError, TransientError):
    """A template file was not a complete, stable package for as long as we waited: a
    passing cause (an editor saving it), so a render retries it."""


@dataclass(frozen=True)
class StableRead:
    """A template file's bytes, read while it did not change, and their parse."""

    data: bytes
    sha256: str
    template: OfficeTemplate
    stamp: tuple[int, int]


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def is_complete_package(data: bytes) -> bool:
    """Whether bytes are a whole zip (an Office package): its central directory is there
    and every member's checksum holds. A file an editor is still writing is not."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return package.testzip() is None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return False


_ZIP_START = b"PK\x03\x04"


def read_stable(path: Path, *, name: str, wait_seconds: float = STABLE_READ_SECONDS) -> StableRead:
    """Read and parse a template file that an editor may be saving over in place.

    Read only while its size and mtime stay the same, accepted only as a complete package
    the engine loads, and stat again after parsing: a half-written file is never taken for
    a template. TemplateBeingWrittenError when it did not settle within ``wait_seconds``;
    TemplateError at once for a complete, stable file the engine refuses (a broken template),
    and at the deadline for a stable file that does not even start like a package.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            before = _stamp(path)
            data = path.read_bytes()
            after = _stamp(path)
        except FileNotFoundError as exc:
            raise TemplateError(f"template {name!r} not found in {path.parent}") from exc
        if before == after and len(data) == after[1] and is_complete_package(data):
            try:
                template = parse_document_template(data, name=name)
            except TemplateError:
                if _stamp(path) == after:
                    raise  # complete and unchanged: the template itself is broken
            else:
                if _stamp(path) == after:
                    sha256 = hashlib.sha256(data).hexdigest()
                    return StableRead(data, sha256, template, after)
        if time.monotonic() >= deadline:
            if before == after and data and not data.startswith(_ZIP_START):
                # Not even the start of a package, and not changing: a broken file, not one
                # being saved (an editor writes a package from its first bytes).
                raise TemplateError(
                    f"{name}: not a readable {path.suffix.lstrip('.')} file (not an Office package)"
                )
            raise TemplateBeingWrittenError(
                f"template {name!r} is being written (not a complete, stable file "
                f"after {wait_seconds:.0f} s)"
            )
        time.sleep(_STABLE_READ_PAUSE)


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


@dataclass(frozen=True)
class VersionFile:
    """Where an uploaded template version's bytes are and what they must hash to."""

    id: int
    kind: DocumentKind
    number: int
    file_name: str
    file_key: str
    sha256: str

    @classmethod
    def of(cls, row: m.TemplateVersion) -> VersionFile:
        """The file of a stored version."""
        return cls(row.id, row.kind, row.number, row.file_name, row.file_key, row.sha256)


def active_version(session: Session, kind: DocumentKind) -> VersionFile | None:
    """The kind's active uploaded version, or None when it renders with its built-in file."""
    version = m.TemplateVersion
    row = session.execute(
        select(
            version.id,
            version.kind,
            version.number,
            version.file_name,
            version.file_key,
            version.sha256,
        )
        .join(m.ActiveTemplate, m.ActiveTemplate.template_version_id == version.id)
        .where(m.ActiveTemplate.kind == kind)
    ).first()
    return VersionFile(*row) if row is not None else None


class TemplateLibrary:
    """The process's parsed templates: built-in files by name, uploaded versions by id.

    ``files`` is the file store uploaded versions are kept in; without one, a kind with an
    active uploaded version cannot be rendered (TemplateError).
    """

    def __init__(self, directory: Path, *, files: FileStore | None = None) -> None:
        self._directory = directory
        self._files = files
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple[int, int], LoadedTemplate]] = {}
        self._versions: dict[int, LoadedTemplate] = {}
        self._parsed: dict[str, OfficeTemplate] = {}

    @property
    def directory(self) -> Path:
        """Where the template files are."""
        return self._directory

    @property
    def files(self) -> FileStore | None:
        """The file store uploaded versions and snapshots are kept in."""
        return self._files

    def get(self, file_name: str) -> LoadedTemplate:
        """The parsed template; parsed again only if its size or mtime changed.

        A file being saved over is waited for (``read_stable``); one that does not settle
        leaves the previous good parse in use, if this process has one.
        """
        path = self._directory / file_name
        try:
            stamp = _stamp(path)
        except FileNotFoundError as exc:
            raise TemplateError(f"template {file_name!r} not found in {self._directory}") from exc
        with self._lock:
            cached = self._loaded.get(file_name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            try:
                read = read_stable(path, name=file_name)
            except TemplateBeingWrittenError:
                if cached is None:
                    raise
                log.warning("%s is being written: the previous version is used", file_name)
                return cached[1]
            loaded = LoadedTemplate(file_name=file_name, sha256=read.sha256, template=read.template)
            self._loaded[file_name] = (read.stamp, loaded)
            # A batch's snapshot of this file (the same bytes) is this parse too.
            self._parsed.setdefault(read.sha256, read.template)
            return loaded

    def warm_up(self) -> int:
        """Parse every built-in template now (a worker process as it starts), so the first
        documents of a batch do not wait for it; how many were parsed. A template that does
        not parse is left for its documents to report."""
        parsed = 0
        for file_name in sorted({spec.template_file for spec in CATALOGUE.values()}):
            try:
                self.get(file_name)
            except TemplateError as exc:
                log.warning("template %s not parsed ahead: %s", file_name, exc)
                continue
            parsed += 1
        return parsed

    def snapshot(self, key: str, *, file_name: str, sha256: str, suffix: str) -> LoadedTemplate:
        """A template snapshot kept in the file store under a content-addressed ``key``
        (``template_snapshots``), parsed once per sha256."""
        with self._lock:
            template = self._parsed.get(sha256)
            if template is not None:
                return LoadedTemplate(file_name=file_name, sha256=sha256, template=template)
        if self._files is None:
            raise TemplateError(f"no file store to read template snapshot {key} from")
        try:
            data = self._files.get(key)
        except NotFoundError as exc:
            raise TemplateError(f"template snapshot {key} is missing from the file store") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise TemplateError(f"template snapshot {key} changed in the file store")
        parsed = parse_document_template(data, name=file_name, suffix=suffix)
        with self._lock:
            template = self._parsed.setdefault(sha256, parsed)
        return LoadedTemplate(file_name=file_name, sha256=sha256, template=template)

    def built_in(self, kind: DocumentKind) -> LoadedTemplate:
        """The kind's built-in template, from the templates directory."""
        return self.get(spec_for(kind).template_file)

    def for_kind(self, session: Session, kind: DocumentKind) -> LoadedTemplate:
        """The template the kind renders with now: its active version, else the built-in."""
        version = active_version(session, kind)
        return self.built_in(kind) if version is None else self.version(version)

    def version(self, version: VersionFile) -> LoadedTemplate:
        """An uploaded version, read from the file store and parsed once per sha256."""
        with self._lock:
            cached = self._versions.get(version.id)
            if cached is not None and cached.sha256 == version.sha256:
                return cached
        if self._files is None:
            raise TemplateError(
                f"template version {version.number} of {version.kind.value} is active, "
                "but this process has no file store to read it from"
            )
        try:
            data = self._files.get(version.file_key)
        except NotFoundError as exc:
            raise TemplateError(
                f"template version {version.number} of {version.kind.value} is missing "
                f"from the file store ({version.file_key})"
            ) from exc
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 != version.sha256:
            raise TemplateError(
                f"template version {version.number} of {version.kind.value} changed in the "
                f"file store (sha256 {sha256[:12]}, recorded {version.sha256[:12]})"
            )
        suffix = f".{spec_for(version.kind).office_format}"
        with self._lock:
            template = self._parsed.get(sha256)
            if template is None:
                template = parse_document_template(data, name=version.file_name, suffix=suffix)
                self._parsed[sha256] = template
            loaded = LoadedTemplate(file_name=version.file_name, sha256=sha256, template=template)
            self._versions[version.id] = loaded
            return loaded
