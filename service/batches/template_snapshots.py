"""Templates are snapshots: a batch renders with its templates as they were when it started.

When a batch (an organiser's, or a nightly regeneration's) is created, each kind's template
(its active uploaded version, else the built-in file) is read once (``read_stable``: a file an
editor is saving over is waited for, never read half-written), kept in the file store under a
content-addressed key, and registered as a ``DocumentTemplate`` row (kind, file name, sha256).
Every row of the batch points at that row (``template_id``) before it is queued; the render job
renders with the snapshot it points at, so saving over a template in place mid-batch changes
nothing for that batch, and a finished document records the template it was made with.

A template that does not settle in time keeps the kind's previous good snapshot. Session
factories built by ``service.runtime`` carry their process's template library
(``bind_library``); a session without one creates batches that render the live file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.batches.template_library import (
    LoadedTemplate,
    TemplateBeingWrittenError,
    TemplateLibrary,
    active_version,
    read_stable,
)
from service.database import models as m
from service.documents.catalogue import CATALOGUE, spec_for
from service.domain.kinds import DocumentKind
from service.errors import NotFoundError, TemplateError
from service.storage.file_store import FileStore

log = logging.getLogger(__name__)
LIBRARY = "benchdocs.template_library"


def bind_library(sessions: sessionmaker[Session], library: TemplateLibrary) -> None:
    """Let batches created in these sessions snapshot their templates with ``library``."""
    info = sessions.kw.setdefault("info", {})
    info[LIBRARY] = library


def snapshot_key(sha256: str, office_format: str) -> str:
    """Where a template snapshot is kept: named by its content, so it never changes."""
    return f"templates/snapshots/{sha256}.{office_format}"


def snapshot_templates(session: Session, kinds: Iterable[DocumentKind]) -> dict[DocumentKind, int]:
    """The ``DocumentTemplate`` id of each kind's template snapshot taken now, for a batch's
    rows to point at; {} for a session factory built without the runtime's template library
    (its rows render the live file, as before)."""
    library = session.info.get(LIBRARY)
    if not isinstance(library, TemplateLibrary) or library.files is None:
        return {}
    return take_snapshots(session, library, library.files, [k for k in kinds if k in CATALOGUE])


def pin_batch_templates(session: Session, batch: m.Batch) -> dict[DocumentKind, int]:
    """Snapshot the templates of a batch's documents and point each pending row at its own.

    Returns the ``DocumentTemplate`` id per kind. A kind whose template cannot be
    snapshotted now (no previous good snapshot either) is left unpinned: its rows render
    the live file, and fail or retry there as before.
    """
    library = session.info.get(LIBRARY)
    if not isinstance(library, TemplateLibrary) or library.files is None:
        return {}
    kinds = {doc.kind for doc in batch.documents if doc.kind in CATALOGUE}
    pinned = take_snapshots(session, library, library.files, kinds)
    for doc in batch.documents:
        template_id = pinned.get(doc.kind)
        if template_id is not None and doc.template_id is None:
            doc.template_id = template_id
    session.flush()
    return pinned


def take_snapshots(
    session: Session, library: TemplateLibrary, files: FileStore, kinds: Iterable[DocumentKind]
) -> dict[DocumentKind, int]:
    """The ``DocumentTemplate`` id of each kind's template as it is now, its bytes kept."""
    pinned: dict[DocumentKind, int] = {}
    for kind in sorted(kinds, key=lambda k: k.value):
        try:
            pinned[kind] = _snapshot(session, library, files, kind)
        except TemplateBeingWrittenError as exc:
            previous = _previous_snapshot(session, files, kind)
            if previous is None:
                log.warning("no snapshot of %s's template: %s", kind.value, exc)
                continue
            log.warning("%s; the previous snapshot of %s is used", exc, kind.value)
            pinned[kind] = previous
        except TemplateError as exc:
            log.warning("no snapshot of %s's template: %s", kind.value, exc)
    return pinned


def _snapshot(
    session: Session, library: TemplateLibrary, files: FileStore, kind: DocumentKind
) -> int:
    spec = spec_for(kind)
    version = active_version(session, kind)
    if version is not None:
        file_name, sha256 = version.file_name, version.sha256
        key = snapshot_key(sha256, spec.office_format)
        if not files.exists(key):
            try:
                files.put(key, files.get(version.file_key))
            except NotFoundError as exc:
                raise TemplateError(f"{kind.value} version {version.number} is missing") from exc
    else:
        file_name = spec.template_file
        # The library's parse is kept while the file is unchanged: usually one stat here.
        sha256 = library.get(file_name).sha256
        key = snapshot_key(sha256, spec.office_format)
        if not files.exists(key):
            read = read_stable(library.directory / file_name, name=file_name)
            sha256, key = read.sha256, snapshot_key(read.sha256, spec.office_format)
            files.put(key, read.data)
    return template_row_id(session, kind, file_name, sha256)


def _previous_snapshot(session: Session, files: FileStore, kind: DocumentKind) -> int | None:
    """The kind's latest registered template whose snapshot is kept: the last good one."""
    office_format = spec_for(kind).office_format
    rows = session.execute(
        select(m.DocumentTemplate.id, m.DocumentTemplate.sha256)
        .where(m.DocumentTemplate.kind == kind)
        .order_by(m.DocumentTemplate.id.desc())
        .limit(20)
    ).all()
    for row in rows:
        if files.exists(snapshot_key(row.sha256, office_format)):
            return int(row.id)
    return None


def template_row_id(session: Session, kind: DocumentKind, file_name: str, sha256: str) -> int:
    """The ``DocumentTemplate`` row of a file name and content, made if new."""
    query = select(m.DocumentTemplate.id).where(
        m.DocumentTemplate.file_name == file_name, m.DocumentTemplate.sha256 == sha256
    )
    existing = session.scalar(query)
    if existing is not None:
        return existing
    try:
        # Two batches may meet a new template at once: the unique key decides.
        with session.begin_nested():
            row = m.DocumentTemplate(kind=kind, file_name=file_name, sha256=sha256)
            session.add(row)
        return row.id
    except IntegrityError:
        return session.scalars(query).one()


def pinned_template(
    sessions: sessionmaker[Session], library: TemplateLibrary, template_id: int
) -> LoadedTemplate | None:
    """The snapshot a row was pinned to, parsed; None when it has no kept snapshot (a row
    pinned before snapshots were kept, or its file lost): the caller renders the live one."""
    with sessions() as session:
        row = session.get(m.DocumentTemplate, template_id)
        if row is None:
            return None
        kind, file_name, sha256 = row.kind, row.file_name, row.sha256
    office_format = spec_for(kind).office_format
    key = snapshot_key(sha256, office_format)
    if library.files is None or not library.files.exists(key):
        return None
    return library.snapshot(key, file_name=file_name, sha256=sha256, suffix=f".{office_format}")
