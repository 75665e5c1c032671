"""Fingerprints: canonical JSON is stable, tells apart what prints differently, explains changes."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from service.batches.template_checking import sample_contexts
from service.change_detection.fingerprints import (
    DocumentInputs,
    _plain,
    canonical_json,
    context_digest,
    document_inputs,
    explain,
    fingerprint,
    pdf_converter_identity,
    renderer_identity,
    stored_fingerprint,
    value_digest,
)
from service.database.facts.loaders import LOADERS
from service.documents.catalogue import CATALOGUE
from service.engines import RENDERER_REVISION


class Colour(enum.Enum):
    RED = "red"


class Shade(enum.StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Person:
    name: str
    age: int


def make_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "organisation": {"name": "Askersunds kommun", "delegation": ["Jonas Berg", "Maria"]},
        "meeting": {"date": dt.date(2019, 9, 26), "start": dt.time(9, 30)},
        "scores": {"Q01": 3, "Q02": None},
        "movement": [{"area": "A1", "change": 0.5}],
    }
    context.update(overrides)
    return context


def make_inputs(context: dict[str, Any] | None = None, **overrides: Any) -> DocumentInputs:
    arguments: dict[str, Any] = {
        "template_sha256": "a" * 64,
        "context": context if context is not None else make_context(),
        "file_format": "pptx",
        "stamp": None,
        "renderer": "benchdocs test",
    }
    arguments.update(overrides)
    return document_inputs(**arguments)


# -- canonical JSON ---------------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    value = {"b": [1, 2.5, "å"], "a": {"y": None, "x": True}}

    assert (
        canonical_json(value) == '{"a":{"x":true,"y":null},"b":[1,{"$float":"2.5"},"å"]}'.encode()
    )


def test_the_order_of_keys_does_not_matter_but_the_order_of_a_list_does() -> None:
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})
    assert canonical_json([1, 2]) != canonical_json([2, 1])


def test_a_context_gives_the_same_bytes_every_time() -> None:
    first = canonical_json(make_context())

    assert all(canonical_json(make_context()) == first for _ in range(3))
    assert value_digest(make_context()) == value_digest(make_context())


def test_every_supported_type_has_an_explicit_encoding() -> None:
    value = {
        "date": dt.date(2019, 9, 26),
        "time": dt.time(9, 30),
        "naive": dt.datetime(2019, 9, 26, 9, 30),
        "aware": dt.datetime(2019, 9, 26, 9, 30, tzinfo=dt.UTC),
        "delta": dt.timedelta(days=1, seconds=2),
        "decimal": Decimal("1.50"),
        "float": 0.1,
        "tuple": (1, 2),
        "set": {"b", "a"},
        "bytes": b"\x00\xff",
        "enum": Colour.RED,
        "person": Person("Maria", 45),
        "by_number": {1: "ett"},
    }

    assert canonical_json(value).decode() == (
        '{"aware":{"$datetime":"2019-09-26T09:30:00+00:00"},'
        '"by_number":{"$map":[[1,"ett"]]},'
        '"bytes":{"$bytes":"AP8="},'
        '"date":{"$date":"2019-09-26"},'
        '"decimal":{"$decimal":"1.50"},'
        '"delta":{"$timedelta":[1,2,0]},'
        '"enum":{"$enum":["tests.unit.test_fingerprints.Colour","red"]},'
        '"float":{"$float":"0.1"},'
        '"naive":{"$datetime":"2019-09-26T09:30:00"},'
        '"person":{"$dataclass":["tests.unit.test_fingerprints.Person",{"age":45,"name":"Maria"}]},'
        '"set":{"$set":["a","b"]},'
        '"time":{"$time":"09:30:00"},'
        '"tuple":{"$tuple":[1,2]}}'
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (1, 1.0),
        (1, "1"),
        (1, True),
        (0, None),
        ("", None),
        (0.0, -0.0),
        (Decimal("1.5"), Decimal("1.50")),
        (Decimal("1.5"), 1.5),
        (dt.date(2019, 9, 26), "2019-09-26"),
        (dt.date(2019, 9, 26), dt.datetime(2019, 9, 26)),
        (dt.datetime(2019, 9, 26, 9), dt.datetime(2019, 9, 26, 9, tzinfo=dt.UTC)),
        (dt.time(9, 30), "09:30:00"),
        ([1, 2], (1, 2)),
        ([1, 2], {1, 2}),
        (b"ab", "ab"),
        (Colour.RED, "red"),
        (Shade.RED, "red"),
        (Colour.RED, Shade.RED),
        (Person("Maria", 45), {"name": "Maria", "age": 45}),
        ({1: "ett"}, {"1": "ett"}),
        ({"$date": "2019-09-26"}, dt.date(2019, 9, 26)),
        ({"$float": "1.0"}, 1.0),
        ({"a": None}, {}),
        (["a,b"], ["a", "b"]),
    ],
    ids=repr,
)
def test_values_that_can_print_differently_get_different_digests(one: Any, other: Any) -> None:
    assert canonical_json(one) != canonical_json(other)
    assert value_digest(one) != value_digest(other)


def test_a_set_is_encoded_in_a_fixed_order() -> None:
    assert canonical_json({"c", "a", "b"}) == canonical_json({"b", "c", "a"})
    assert canonical_json(frozenset({3, 1})) == canonical_json({1, 3})


def test_floats_json_cannot_spell_are_encoded_too() -> None:
    assert canonical_json(float("nan")) == b'{"$float":"nan"}'
    assert canonical_json(float("-inf")) == b'{"$float":"-inf"}'


def test_a_value_of_an_unknown_type_is_refused_with_where_it_was() -> None:
    with pytest.raises(TypeError, match=r"\['rows'\]\[1\]\['cell'\]: cannot fingerprint .*object"):
        canonical_json({"rows": [{"cell": 1}, {"cell": object()}]})


# -- context, fingerprint ---------------------------------------------------------------------


def test_a_changed_key_changes_only_its_part_digest() -> None:
    before = context_digest(make_context())
    after = context_digest(make_context(scores={"Q01": 2, "Q02": None}))

    assert before.sha256 != after.sha256
    assert {k for k in before.parts if before.parts[k] != after.parts[k]} == {"scores"}


def test_the_fingerprint_changes_with_each_input_and_with_nothing_else() -> None:
    base = make_inputs()

    variants = [
        make_inputs(template_sha256="b" * 64),
        make_inputs(renderer="benchdocs other"),
        make_inputs(file_format="pdf"),
        make_inputs(make_context(movement=[{"area": "A1", "change": 1.5}])),
    ]

    assert make_inputs().fingerprint == base.fingerprint
    assert make_inputs(stamp="s" * 64).fingerprint == base.fingerprint  # a stamp is no input
    assert len({base.fingerprint, *(v.fingerprint for v in variants)}) == 5


def test_stored_inputs_give_back_the_fingerprint() -> None:
    inputs = make_inputs(stamp="s" * 64)

    stored = inputs.to_json()

    assert stored_fingerprint(stored) == inputs.fingerprint
    assert stored["stamp"] == "s" * 64 and set(stored["parts"]) == set(make_context())
    assert stored_fingerprint({"template": "x"}) is None
    assert stored_fingerprint(None) is None
    assert inputs.fingerprint == fingerprint(
        template=inputs.template,
        context=inputs.context,
        renderer=inputs.renderer,
        file_format=inputs.format,
    )


# -- explanations -----------------------------------------------------------------------------


def test_explain_names_what_changed() -> None:
    old = make_inputs().to_json()

    assert explain(None, make_inputs()) == ("new",)
    assert explain(old, make_inputs(template_sha256="b" * 64)) == ("template changed",)
    assert explain(old, make_inputs(renderer="benchdocs 2")) == ("renderer changed",)
    assert explain(old, make_inputs(make_context(scores={"Q01": 1}, movement=[], extra="x"))) == (
        "data changed: extra, movement, scores",
    )
    assert explain(old, make_inputs(make_context(scores={"Q01": 1}), template_sha256="c" * 64)) == (
        "template changed",
        "data changed: scores",
    )


def test_explain_a_document_made_before_fingerprints() -> None:
    assert explain({}, make_inputs()) == ("made before fingerprints were recorded",)


# -- the renderer -----------------------------------------------------------------------------


def test_the_renderer_names_benchdocs_its_revision_and_the_libraries() -> None:
    office = renderer_identity("docx")

    assert f"+r{RENDERER_REVISION};" in office
    for library in ("python-pptx", "docxtpl", "openpyxl", "lxml", "Jinja2"):
        assert f"{library} " in office
    assert renderer_identity("pptx") == office
    assert "LibreOffice" not in office


def test_a_pdf_renderer_adds_the_converter() -> None:
    pdf = renderer_identity("pdf")

    assert pdf.startswith(renderer_identity("docx") + "; ")
    assert pdf.endswith(pdf_converter_identity())
    assert "LibreOffice" in pdf_converter_identity() and "options" in pdf_converter_identity()


def test_the_quick_walk_gives_the_careful_walks_bytes_for_every_sample_context() -> None:
    """``canonical_json`` walks plain values quickly; it must print what ``_plain`` prints."""
    contexts = {
        (spec.kind, label): context
        for spec in CATALOGUE.values()
        for label, context in sample_contexts(spec, LOADERS[spec.kind]).items()
    }
    assert len(contexts) >= 8
    for (kind, label), context in contexts.items():
        careful = json.dumps(
            _plain(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        assert canonical_json(context) == careful, (kind, label)
    mixed = {"$key": [1, 1.5, (2, "tre"), {"a": dt.date(2019, 9, 26)}], "b": {1: Colour.RED}}
    assert (
        canonical_json(mixed)
        == json.dumps(
            _plain(mixed), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
