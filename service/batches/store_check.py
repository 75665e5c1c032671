"""``benchdocs storage check``: files without a row and rows without a file, and repairs.

Rows that name a file: generated documents, uploads and template versions; a template
snapshot (``templates/snapshots/<sha256>.<format>``) belongs to the ``document_template`` row
of that content, which may also have none (registered before snapshots). Keys the store
keeps on purpose without a row (converted decks of packs, template previews, programme
imports waiting for confirmation) are caches, never orphans. A file younger than
``min_age`` may belong to a transaction still under way and is left alone.

Repair removes orphan files and re-sends every finished document whose file is gone (it is
made again, as a lost task would be). An upload or template version whose file is gone
cannot be made again: it is reported for a person.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.batches.control import dispatch
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentStatus
from service.storage.file_store import FileStore
from service.task_queue import DocumentQueue

log = logging.getLogger(__name__)

# Kept without a row on purpose: caches and files waiting for a person's confirmation.
CACHE_PREFIXES = ("packs/converted/", "imports/pending/")
_PREVIEW = re.compile(r"^templates/[^/]+/\d+-preview\.[a-z]+$")
_DOCUMENT_KEY = re.compile(r"^meetings/\d+/documents/(\d+)/")
_SNAPSHOT_KEY = re.compile(r"^templates/snapshots/([0-9a-f]{64})\.[a-z]+$")


@dataclass(frozen=True)
class MissingFile:
    """A row that names a file the store does not have."""

    table: str
    row_id: int
    key: str

    def describe(self) -> str:
        """One line for a person."""
        return f"{self.table} {self.row_id}: {self.key}"


@dataclass
class StoreReport:
    """What ``check_store`` found."""

    files_seen: int = 0
    rows_seen: int = 0
    orphans: list[str] = field(default_factory=list)
    missing: list[MissingFile] = field(default_factory=list)
    young: int = 0  # files without a row yet, too young to judge

    @property
    def clean(self) -> bool:
        """Whether every file has a row and every row its file."""
        return not self.orphans and not self.missing


@dataclass
class RepairReport:
    """What ``repair_store`` did."""

    removed: list[str] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    left: list[MissingFile] = field(default_factory=list)  # a person must act


def _is_cache(key: str) -> bool:
    return key.startswith(CACHE_PREFIXES) or bool(_PREVIEW.match(key))


def _referenced(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Every key a row names, with the rows naming it."""
    named: dict[str, list[tuple[str, int]]] = {}
    doc = m.GeneratedDocument
    for row in session.execute(select(doc.id, doc.file_key).where(doc.file_key.is_not(None))):
        named.setdefault(row.file_key, []).append(("generated_document", row.id))
    for row in session.execute(select(m.Upload.id, m.Upload.file_key)):
        named.setdefault(row.file_key, []).append(("upload", row.id))
    version = m.TemplateVersion
    for row in session.execute(select(version.id, version.file_key)):
        named.setdefault(row.file_key, []).append(("template_version", row.id))
    return named


def _in_progress(session: Session, key: str) -> bool:
    """Whether the key is an unfinished document's own: its run is writing it now."""
    match = _DOCUMENT_KEY.match(key)
    if match is None:
        return False
    status = session.scalar(
        select(m.GeneratedDocument.status).where(m.GeneratedDocument.id == int(match.group(1)))
    )
    return status in (DocumentStatus.PENDING, DocumentStatus.QUEUED, DocumentStatus.RUNNING)


def check_store(
    sessions: sessionmaker[Session],
    files: FileStore,
    *,
    min_age: dt.timedelta = dt.timedelta(minutes=10),
    now: dt.datetime | None = None,
) -> StoreReport:
    """Compare the store's keys with the rows' keys; change nothing."""
    report = StoreReport()
    stored = set(files.list_keys())
    report.files_seen = len(stored)
    moment = now or utcnow()
    modified = getattr(files, "modified_at", None)
    with sessions() as session:
        named = _referenced(session)
        report.rows_seen = sum(len(rows) for rows in named.values())
        snapshots = set(session.scalars(select(m.DocumentTemplate.sha256)))
        for key in sorted(stored - named.keys()):
            if _is_cache(key):
                continue
            snapshot = _SNAPSHOT_KEY.match(key)
            if snapshot and snapshot.group(1) in snapshots:
                continue
            if _in_progress(session, key):
                report.young += 1
                continue
            if callable(modified):
                written = modified(key)
                if written is not None and written > moment - min_age:
                    report.young += 1
                    continue
            report.orphans.append(key)
        for key in sorted(named.keys() - stored):
            for table, row_id in named[key]:
                report.missing.append(MissingFile(table, row_id, key))
    return report


def repair_store(
    sessions: sessionmaker[Session],
    files: FileStore,
    queue: DocumentQueue,
    report: StoreReport,
) -> RepairReport:
    """Remove the report's orphans and re-send the documents whose file is gone."""
    repair = RepairReport()
    with sessions() as session:
        named = _referenced(session)
    for key in report.orphans:
        if key in named:  # a row took it meanwhile
            continue
        files.delete(key)
        repair.removed.append(key)
    documents = [f.row_id for f in report.missing if f.table == "generated_document"]
    repair.left = [f for f in report.missing if f.table != "generated_document"]
    doc = m.GeneratedDocument
    with unit_of_work(sessions) as session:
        for row in session.scalars(
            select(doc).where(doc.id.in_(documents)).order_by(doc.id).with_for_update()
        ):
            if row.file_key is None or files.exists(row.file_key):
                continue
            # Made again from scratch: its file and what it was made from are forgotten.
            row.status = DocumentStatus.PENDING
            row.file_key = None
            row.size_bytes = None
            row.sha256 = None
            row.fingerprint = None
            row.reused_from_id = None
            row.finished_at = None
            row.error = None
            row.lease_owner = None
            row.lease_expires_at = None
            repair.resent.append(row.id)
    if repair.resent:
        log.warning("re-sending %d document(s) whose file is gone", len(repair.resent))
        dispatch(sessions, queue, repair.resent)
    return repair
