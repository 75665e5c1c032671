"""Make one document's bytes: facts from the database, context, template, optional PDF.

Shared by the worker's render job, the previews and the benchmark, so there is one way
a document is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from service.database.models import DocumentKind
from service.documents.catalogue import spec_for
from service.errors import RenderError
from service.generation.loaders import LOADERS
from service.generation.pdf import PdfConverter
from service.generation.templates import LoadedTemplate, TemplateLibrary


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

    def make(
        self,
        kind: DocumentKind,
        *,
        meeting_id: int,
        organisation_id: int | None,
        file_format: str | None = None,
    ) -> MadeDocument:
        """The document in its Office format, or as PDF when ``file_format`` is ``pdf``."""
        spec = spec_for(kind)
        loaded = self.templates.get(spec.template_file)
        with self.sessions() as session:
            facts = LOADERS[kind](session, meeting_id=meeting_id, organisation_id=organisation_id)
        data = loaded.template.render(spec.build_context(facts))
        if file_format == "pdf":
            if self.pdf is None:
                raise RenderError("PDF conversion is not available here")
            data = self.pdf.convert(data, source_format=spec.office_format)
        return MadeDocument(data=data, template=loaded)
