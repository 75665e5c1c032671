"""Make one document's bytes: facts from the database, context, template, optional PDF.

Shared by the worker's render job, the previews and the benchmark, so there is one way
a document is made. Building the context and rendering it are separate steps, so the render
job can fingerprint the context and skip rendering when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.batches.template_library import LoadedTemplate, TemplateLibrary
from service.batches.template_snapshots import pinned_template
from service.database.facts.loaders import LOADERS
from service.database.facts.shared import SharedFacts
from service.documents.catalogue import spec_for
from service.domain.kinds import DocumentKind
from service.errors import RenderError
from service.pdf.converter import PdfConverter


@dataclass(frozen=True)
class MadeDocument:
    """A document's bytes and the template they came from."""

    data: bytes
    template: LoadedTemplate


@dataclass
class DocumentMaker:
    """Makes documents with the process's parsed templates and PDF converter."""

    sessions: sessionmaker[Session]
    templates: TemplateLibrary
    pdf: PdfConverter | None = None

    def template(self, kind: DocumentKind, *, pinned: int | None = None) -> LoadedTemplate:
        """The kind's parsed template now: its active uploaded version, else the built-in file.

        Which version is active is read from the database (workers are separate processes).
        ``pinned``: the ``DocumentTemplate`` snapshot the document's batch started with
        (``template_snapshots``), used instead when it is kept.
        """
        if pinned is not None:
            snapshot = pinned_template(self.sessions, self.templates, pinned)
            if snapshot is not None:
                return snapshot
        with self.sessions() as session:
            return self.templates.for_kind(session, kind)

    def context(
        self,
        kind: DocumentKind,
        *,
        meeting_id: int,
        organisation_id: int | None,
        session: Session | None = None,
        shared: SharedFacts | None = None,
    ) -> dict[str, Any]:
        """The context the kind's template is rendered with, from the database.

        With ``session``, the facts are read in it (the render job reads a stamp and the
        facts in one snapshot); otherwise in a session of its own. ``shared`` keeps the
        network-wide facts between documents: only with a session that has written nothing
        and reads one snapshot (``stamps.consistent_read``).
        """
        spec = spec_for(kind)
        if session is not None:
            facts = LOADERS[kind](
                session, meeting_id=meeting_id, organisation_id=organisation_id, shared=shared
            )
        else:
            with self.sessions() as own:
                facts = LOADERS[kind](own, meeting_id=meeting_id, organisation_id=organisation_id)
        return spec.build_context(facts)

    def render(
        self,
        kind: DocumentKind,
        context: dict[str, Any],
        *,
        file_format: str | None = None,
        template: LoadedTemplate | None = None,
    ) -> MadeDocument:
        """Render a context in the Office format, or as PDF when ``file_format`` is ``pdf``.

        ``template`` pins the parsed template (the one whose digest was fingerprinted);
        by default the kind's template as its file is now.
        """
        loaded = template if template is not None else self.template(kind)
        data = loaded.template.render(context)
        if file_format == "pdf":
            if self.pdf is None:
                raise RenderError("PDF conversion is not available here")
            data = self.pdf.convert(data, source_format=spec_for(kind).office_format)
        return MadeDocument(data=data, template=loaded)

    def make(
        self,
        kind: DocumentKind,
        *,
        meeting_id: int,
        organisation_id: int | None,
        file_format: str | None = None,
    ) -> MadeDocument:
        """The document in its Office format, or as PDF when ``file_format`` is ``pdf``."""
        loaded = self.template(kind)
        context = self.context(kind, meeting_id=meeting_id, organisation_id=organisation_id)
        return self.render(kind, context, file_format=file_format, template=loaded)
