"""The pptx engine renders from a presentation parsed once: the bytes are those of a render
from the file opened anew, and nothing of one render reaches the next."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.util import Inches
from sqlalchemy import select

from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.engines.opc import fix_zip_timestamps
from service.engines.pptx_engine import PptxTemplate
from service.engines.pptx_engine.rendering import fill_presentation
from service.intake.sample import find_id, sample_database
from tests.unit.test_pptx_engine import (
    HOSTILE_VALUES,
    PNG_PIXEL,
    _tiny_jpeg,
    all_texts,
    blank_slide,
    build_hostile_deck,
    build_initiative_deck,
    reopen,
    table_rows,
    template_of,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"
PPTX_SPECS = [spec for spec in CATALOGUE.values() if spec.office_format == "pptx"]


def rendered_fresh(template: PptxTemplate, context: Mapping[str, Any]) -> bytes:
    """The render as the engine made it before it kept a parsed presentation: the file opened
    anew by python-pptx, filled by the same plans, saved by python-pptx, times fixed."""
    prs = Presentation(io.BytesIO(template._data))
    fill_presentation(
        prs, name=template.name, plans=template._plans, context=context, layout=template._layout
    )
    out = io.BytesIO()
    prs.save(out)
    return fix_zip_timestamps(out.getvalue())


@pytest.fixture(scope="module")
def sample_contexts() -> Iterator[dict[DocumentSpec, list[Mapping[str, Any]]]]:
    """Each pptx kind's contexts at Benchmarking 2 of the sample: one per organisation for
    the per-organisation kinds (every organisation of the sample), else the meeting's."""
    with sample_database() as sessions, sessions() as session:
        meeting = find_id(session, m.Meeting, "bm2")
        organisations = session.scalars(select(m.Organisation.id).order_by(m.Organisation.id))
        ids = list(organisations)
        yield {
            spec: [
                spec.build_context(
                    LOADERS[spec.kind](session, meeting_id=meeting, organisation_id=org)
                )
                for org in (ids if spec.per_organisation else [None])
            ]
            for spec in PPTX_SPECS
        }


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(TEMPLATES)


@pytest.mark.parametrize("spec", PPTX_SPECS, ids=lambda spec: spec.kind.value)
def test_every_sample_pptx_kind_renders_the_bytes_of_a_freshly_opened_template(
    spec: DocumentSpec,
    sample_contexts: dict[DocumentSpec, list[Mapping[str, Any]]],
    library: TemplateLibrary,
) -> None:
    template = library.get(spec.template_file).template
    assert isinstance(template, PptxTemplate)
    contexts = sample_contexts[spec]
    assert contexts

    for context in contexts:
        expected = rendered_fresh(template, context)
        assert template.render(context) == expected
        assert template.render(context) == expected  # twice in a row


def test_a_deck_rendered_between_two_others_leaks_nothing_into_them(
    sample_contexts: dict[DocumentSpec, list[Mapping[str, Any]]], library: TemplateLibrary
) -> None:
    deck = next(spec for spec in PPTX_SPECS if spec.per_organisation)
    template = library.get(deck.template_file).template
    first, second = sample_contexts[deck][:2]

    a = template.render(first)
    b = template.render(second)
    a_again = template.render(first)

    assert a != b
    assert a_again == a
    assert b == rendered_fresh(template, second)


def test_slides_and_pictures_one_render_adds_are_gone_from_the_next() -> None:
    def build(prs: Any) -> None:
        build_initiative_deck(prs)
        picture = blank_slide(prs).shapes.add_picture(io.BytesIO(PNG_PIXEL), 0, 0, Inches(2))
        picture.name = "image:picture"

    template = template_of(build)
    many = {
        "title": "Många",
        "initiatives": [{"title": str(n), "steps": ["a", "b"]} for n in range(5)],
        "picture": _tiny_jpeg(),
    }
    few = {"title": "Få", "initiatives": [], "picture": None}

    first = template.render(many)
    small = template.render(few)
    again = template.render(many)

    assert again == first
    assert small == rendered_fresh(template, few)
    assert len(reopen(small).slides) == 3
    assert len(reopen(first).slides) == 8
    jpegs = [
        name
        for name in _members(first)
        if name.startswith("ppt/media/") and name.endswith((".jpg", ".jpeg"))
    ]
    assert jpegs
    assert not [
        name
        for name in _members(small)
        if name.startswith("ppt/media/") and name.endswith((".jpg", ".jpeg"))
    ]
    assert reopen(small).slides[-1].shapes[0].image.blob == PNG_PIXEL


def test_hostile_values_are_still_escaped_and_stay_out_of_later_renders() -> None:
    template = template_of(build_hostile_deck)
    hostile = {"values": {**HOSTILE_VALUES, "control": "a\x00b"}, "rows": list(HOSTILE_VALUES)}
    plain = {"values": dict.fromkeys(HOSTILE_VALUES, "x") | {"control": "y"}, "rows": ["r"]}

    bad = template.render(hostile)
    calm = template.render(plain)

    assert bad == rendered_fresh(template, hostile)
    texts = all_texts(reopen(bad))
    for key, value in HOSTILE_VALUES.items():
        assert f"{key}: {value}" in texts
    assert "kontroll: ab" in texts
    assert calm == rendered_fresh(template, plain)
    calm_texts = all_texts(reopen(calm))
    assert not [t for t in calm_texts if any(v in t for v in HOSTILE_VALUES.values())]
    assert table_rows(reopen(calm).slides[0]) == [["r", "fast"]]
    assert template.render(hostile) == bad


def test_copies_share_the_layouts_and_masters_and_own_their_slides() -> None:
    template = template_of(build_initiative_deck)
    one, two = template._parsed.fresh(), template._parsed.fresh()

    assert one.slide_layouts[0].part is two.slide_layouts[0].part
    assert one.slide_master.part is two.slide_master.part
    assert one.part is not two.part
    assert one.slides[0].part is not two.slides[0].part
    assert one.slides[0]._element is not two.slides[0]._element


def _members(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()
