"""One registry by file suffix for the engines, and the contract every parsed template keeps."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary, parse_document_template
from service.database import models as m
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.domain.kinds import DocumentKind
from service.engines.docx_engine import DocxTemplate
from service.engines.interface import TemplateEngine
from service.engines.pptx_engine import PptxTemplate
from service.engines.registry import engine_for, parse_template, template_spots
from service.engines.xlsx_engine import XlsxTemplate
from service.errors import TemplateError
from service.intake.sample import find_id, sample_database

TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"


@pytest.mark.parametrize(
    ("file_name", "engine"),
    [
        ("brev.docx", DocxTemplate),
        ("Presentation.PPTX", PptxTemplate),
        ("lista.xlsx", XlsxTemplate),
    ],
)
def test_the_suffix_chooses_the_engine_whatever_its_case(
    file_name: str, engine: TemplateEngine
) -> None:
    assert engine_for(file_name) is engine


def test_a_suffix_without_an_engine_is_a_template_error_naming_the_known_ones() -> None:
    with pytest.raises(
        TemplateError,
        match=r"^mall\.odp: no engine for '\.odp' files \(known: \.docx, \.pptx, \.xlsx\)$",
    ):
        parse_template(b"", name="mall.odp")


def test_a_given_suffix_wins_over_the_name() -> None:
    data = (TEMPLATES / "deck_benchmarking.pptx").read_bytes()

    template = parse_template(data, name="deck", suffix=".pptx")

    assert isinstance(template, PptxTemplate)
    assert template.name == "deck"
    assert template_spots(data, name="deck", suffix=".pptx") == PptxTemplate.spots(
        data, name="deck"
    )


@pytest.fixture(scope="module")
def sample_contexts() -> Iterator[dict[DocumentKind, Mapping[str, Any]]]:
    """Each kind's context for Askersund (or the meeting) at Benchmarking 2 of the sample."""
    with sample_database() as sessions:
        maker = DocumentMaker(sessions=sessions, templates=TemplateLibrary(TEMPLATES))
        with sessions() as session:
            meeting = find_id(session, m.Meeting, "bm2")
            organisation = find_id(session, m.Organisation, "askersund")
        yield {
            spec.kind: maker.context(
                spec.kind,
                meeting_id=meeting,
                organisation_id=organisation if spec.per_organisation else None,
            )
            for spec in CATALOGUE.values()
        }


@pytest.mark.parametrize("spec", list(CATALOGUE.values()), ids=lambda spec: spec.kind.value)
def test_every_template_reads_only_names_its_context_builder_provides(
    spec: DocumentSpec, sample_contexts: dict[DocumentKind, Mapping[str, Any]]
) -> None:
    data = (TEMPLATES / spec.template_file).read_bytes()
    context = sample_contexts[spec.kind]

    template = parse_document_template(data, name=spec.template_file)

    assert template.variables, "a template that reads nothing from its context"
    assert sorted(template.variables - context.keys()) == []
    assert template.render(context)
