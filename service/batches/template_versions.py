"""Organisers' template versions: upload and check, preview, activate, roll back.

An uploaded file passes the upload gate (macros, zip bombs, wrong types refused; its format is
the kind's built-in template's), is checked by the template checker against the sample
programme's contexts, and is kept in the file store with the checker's report. Versions are
numbered per kind (1, 2, ...). Only a version whose report has no errors can be activated;
rolling back activates an earlier version, or the built-in file (no version). Renders read the
active version through ``TemplateLibrary.for_kind``, and since the template's sha256 is part of
each document's fingerprint, regeneration sees the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.batches.document_maker import DocumentMaker
from service.batches.template_checking import check_template
from service.batches.template_library import LoadedTemplate, TemplateLibrary, VersionFile
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.domain.kinds import DocumentKind
from service.errors import (
    BenchdocsError,
    ConfigurationError,
    ConflictError,
    GenerationError,
    NotFoundError,
)
from service.file_safety.file_inspection import FileType, UploadLimits, inspect_upload
from service.pdf.converter import PdfConverter
from service.pdf.previews import render_previews
from service.storage.file_store import FileStore

log = logging.getLogger(__name__)

ERROR = "error"
_NUMBER_ATTEMPTS = 3
WARNING = "warning"


class ActivationRefusedError(ConflictError):
    """The version's report lists errors: documents made with it would break."""


@dataclass(frozen=True)
class KindTemplates:
    """One kind's templates: which renders now, and every uploaded version (newest first)."""

    spec: DocumentSpec
    active: m.TemplateVersion | None  # None: the built-in file
    activated_at: dt.datetime | None
    activated_by: str | None
    versions: list[m.TemplateVersion]


@dataclass(frozen=True)
class Preview:
    """A document rendered with a candidate template for one sample organisation."""

    data: bytes
    file_name: str
    file_key: str
    png_key: str | None
    organisation: str | None
    meeting: str


def spec_of(kind: str | DocumentKind) -> DocumentSpec:
    """The catalogue entry of a kind that has a template; NotFoundError otherwise."""
    try:
        return CATALOGUE[DocumentKind(kind)]
    except (ValueError, KeyError):
        raise NotFoundError(f"no document kind {kind!r} with a template") from None


def has_errors(report: list[dict[str, Any]]) -> bool:
    """Whether a stored report holds a problem that forbids activation."""
    return any(item.get("severity", ERROR) == ERROR for item in report)


def overview(session: Session) -> list[KindTemplates]:
    """Every kind in catalogue order, with its active template and its versions."""
    actives = {row.kind: row for row in session.scalars(select(m.ActiveTemplate))}
    versions: dict[DocumentKind, list[m.TemplateVersion]] = {kind: [] for kind in CATALOGUE}
    for version in session.scalars(
        select(m.TemplateVersion).order_by(m.TemplateVersion.kind, m.TemplateVersion.number.desc())
    ):
        versions.setdefault(version.kind, []).append(version)
    result = []
    for kind, spec in CATALOGUE.items():
        active = actives.get(kind)
        result.append(
            KindTemplates(
                spec=spec,
                active=active.version if active is not None else None,
                activated_at=active.activated_at if active is not None else None,
                activated_by=active.activated_by if active is not None else None,
                versions=versions[kind],
            )
        )
    return result


def kind_templates(session: Session, kind: str | DocumentKind) -> KindTemplates:
    """One kind's templates; NotFoundError for an unknown kind."""
    spec = spec_of(kind)
    return next(entry for entry in overview(session) if entry.spec.kind is spec.kind)


def get_version(session: Session, kind: str | DocumentKind, number: int) -> m.TemplateVersion:
    """A kind's version by number; NotFoundError if it has none of that number."""
    spec = spec_of(kind)
    version = session.scalars(
        select(m.TemplateVersion).where(
            m.TemplateVersion.kind == spec.kind, m.TemplateVersion.number == number
        )
    ).one_or_none()
    if version is None:
        raise NotFoundError(f"{spec.kind.value} has no template version {number}")
    return version


def check_report(data: bytes, *, file_name: str, spec: DocumentSpec) -> list[dict[str, Any]]:
    """The checker's problems as stored: location, message and severity (all errors)."""
    suffix = f".{spec.office_format}"
    try:
        problems = check_template(
            data, name=file_name, spec=spec, loader=LOADERS[spec.kind], suffix=suffix
        )
    except BenchdocsError as exc:
        text = str(exc).removeprefix(f"{file_name}: ")
        return [{"location": file_name, "message": text, "severity": ERROR}]
    return [
        {"location": problem.location, "message": problem.message, "severity": ERROR}
        for problem in problems
    ]


def upload_version(
    session: Session,
    *,
    files: FileStore,
    templates_dir: Path,
    kind: str | DocumentKind,
    data: bytes,
    file_name: str | None,
    uploaded_by: str,
    limits: UploadLimits,
    now: dt.datetime,
) -> m.TemplateVersion:
    """Check and keep a new version of a kind's template (not active yet).

    FileRejectedError (nothing stored) when the gate refuses the file or its format is not the
    kind's; otherwise the version is stored with the checker's report, errors or not.
    """
    spec = spec_of(kind)
    wanted = FileType(spec.office_format)
    default_name = f"mall.{spec.office_format}"
    inspected = inspect_upload(
        data, file_name=file_name or default_name, accepted={wanted}, limits=limits
    )
    name = inspected.file_name[:200]
    if not name.casefold().endswith(f".{spec.office_format}"):
        name = f"{name}.{spec.office_format}"
    report = check_report(data, file_name=name, spec=spec)
    sha256 = hashlib.sha256(data).hexdigest()
    same = session.scalars(
        select(m.TemplateVersion.number)
        .where(m.TemplateVersion.kind == spec.kind, m.TemplateVersion.sha256 == sha256)
        .order_by(m.TemplateVersion.number)
    ).first()
    if same is not None:
        report.append(_warning(name, f"the file is the same as version {same}"))
    built_in = templates_dir / spec.template_file
    if built_in.is_file() and hashlib.sha256(built_in.read_bytes()).hexdigest() == sha256:
        report.append(_warning(name, "the file is the same as the built-in template"))
    # Two uploads at once may pick the same number: the unique key decides, the loser goes on.
    for attempt in range(_NUMBER_ATTEMPTS):
        number = 1 + (
            session.scalar(
                select(func.max(m.TemplateVersion.number)).where(
                    m.TemplateVersion.kind == spec.kind
                )
            )
            or 0
        )
        key = f"templates/{spec.kind.value}/{number}-{sha256[:16]}.{spec.office_format}"
        stored = files.put(key, data)
        version = m.TemplateVersion(
            kind=spec.kind,
            number=number,
            file_name=name,
            file_key=stored.key,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_at=now,
            uploaded_by=uploaded_by,
            report=report,
            activated_at=None,
        )
        try:
            with session.begin_nested():
                session.add(version)
        except IntegrityError:
            if attempt == _NUMBER_ATTEMPTS - 1:
                raise ConflictError(f"no free version number for {spec.kind.value}") from None
            continue
        return version
    raise AssertionError("unreachable")


def _warning(location: str, text: str) -> dict[str, Any]:
    return {"location": location, "message": text, "severity": WARNING}


def activate(
    session: Session,
    *,
    kind: str | DocumentKind,
    number: int | None,
    activated_by: str,
    now: dt.datetime,
) -> m.TemplateVersion | None:
    """Make a version (``None``: the built-in file) the one the kind renders with.

    Rolling back is activating an earlier version or the built-in. ActivationRefusedError if
    the version's report lists errors; NotFoundError for an unknown kind or number.
    """
    spec = spec_of(kind)
    version = None if number is None else get_version(session, spec.kind, number)
    if version is not None and has_errors(version.report):
        raise ActivationRefusedError(
            f"{spec.kind.value} version {version.number} has errors and cannot be activated"
        )
    row = session.get(m.ActiveTemplate, spec.kind, with_for_update=True)
    if row is None:
        row = m.ActiveTemplate(kind=spec.kind, activated_by=activated_by)
        session.add(row)
    row.template_version_id = version.id if version is not None else None
    row.version = version
    row.activated_at = now
    row.activated_by = activated_by
    if version is not None:
        version.activated_at = now
    session.flush()
    return version


def preview(
    sessions: sessionmaker[Session],
    *,
    files: FileStore,
    templates: TemplateLibrary,
    kind: str | DocumentKind,
    number: int,
    converter: PdfConverter | None = None,
) -> Preview:
    """Render the kind's document with version ``number`` for the first organisation of the
    first network (and its first meeting), keep it in the file store, with a PNG of its first
    page when ``converter`` (LibreOffice) is given.

    The document is made in this process; nothing is recorded as a generated document.
    """
    spec = spec_of(kind)
    with sessions() as session:
        version = get_version(session, spec.kind, number)
        if has_errors(version.report):
            raise ActivationRefusedError(
                f"{spec.kind.value} version {number} has errors and cannot be previewed"
            )
        loaded = templates.version(VersionFile.of(version))
        target = preview_target(session, spec)
    meeting_id, meeting_title, organisation_id, organisation_name = target
    data = _render(sessions, templates, spec, loaded, meeting_id, organisation_id)
    file_name = spec.file_name(
        meeting_title=meeting_title,
        organisation_name=organisation_name,
        file_format=spec.office_format,
    )
    document_key, image_key = preview_keys(spec.kind, number)
    file_key = files.put(document_key, data).key
    png_key = None
    if converter is not None:
        try:
            png = first_page_png(data, spec.office_format, converter)
        except (ConfigurationError, GenerationError) as exc:
            log.warning("no picture of the preview of %s version %s: %s", spec.kind, number, exc)
        else:
            png_key = files.put(image_key, png).key
    return Preview(data, file_name, file_key, png_key, organisation_name, meeting_title)


def preview_target(session: Session, spec: DocumentSpec) -> tuple[int, str, int | None, str | None]:
    """Whom previews are made for: the first network's first meeting (by date) and, for a
    per-organisation kind, its first organisation, as (meeting id, title, organisation id, name).

    NotFoundError when there is no meeting (or organisation) to preview with.
    """
    network = session.scalars(select(m.Network).order_by(m.Network.id)).first()
    meeting = organisation = None
    if network is not None:
        meeting = session.scalars(
            select(m.Meeting)
            .where(m.Meeting.network_id == network.id)
            .order_by(m.Meeting.date, m.Meeting.id)
        ).first()
        organisation = session.scalars(
            select(m.Organisation)
            .where(m.Organisation.network_id == network.id)
            .order_by(m.Organisation.id)
        ).first()
    if meeting is None or (spec.per_organisation and organisation is None):
        raise NotFoundError("there is no meeting and organisation to preview with")
    if not spec.per_organisation or organisation is None:
        return meeting.id, meeting.title, None, None
    return meeting.id, meeting.title, organisation.id, organisation.name


def preview_keys(kind: DocumentKind, number: int) -> tuple[str, str]:
    """Where a version's preview document and the PNG of its first page are kept."""
    base = f"templates/{kind.value}/{number}-preview"
    return f"{base}.{spec_of(kind).office_format}", f"{base}.png"


def _render(
    sessions: sessionmaker[Session],
    templates: TemplateLibrary,
    spec: DocumentSpec,
    loaded: LoadedTemplate,
    meeting_id: int,
    organisation_id: int | None,
) -> bytes:
    maker = DocumentMaker(sessions=sessions, templates=templates)
    context = maker.context(spec.kind, meeting_id=meeting_id, organisation_id=organisation_id)
    return maker.render(spec.kind, context, template=loaded).data


def first_page_png(data: bytes, office_format: str, converter: PdfConverter) -> bytes:
    """A PNG of the document's first page (LibreOffice to PDF, then pdftoppm)."""
    with tempfile.TemporaryDirectory(prefix="benchdocs-template-preview-") as tmp:
        source = Path(tmp) / f"preview.{office_format}"
        source.write_bytes(data)
        pages = render_previews([source], Path(tmp) / "pages", converter=converter, resolution=50)
        return pages[0].read_bytes()
