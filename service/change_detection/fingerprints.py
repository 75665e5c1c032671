"""Fingerprints: one digest of everything a document was made from, and why two differ.

A document's fingerprint is sha256 over four inputs: the template file's bytes (as a digest),
the context it was rendered with (as canonical JSON), the renderer (benchdocs' version and
``RENDERER_REVISION``, the versions of the libraries that write the bytes, and for a PDF the
converter) and the file format. Equal fingerprints mean equal bytes (the renderers are
reproducible), so a document whose fingerprint has not changed need not be rendered again.

The digests are kept beside the fingerprint (``GeneratedDocument.inputs``), with one short
digest per top-level context key, so that a change can be explained: ``template changed``,
``renderer changed``, ``data changed: scores, movement``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import service
from service.engines import RENDERER_REVISION
from service.pdf.libreoffice import DEFAULT_LOCALE, PDF_EXPORT_OPTIONS, installed_libreoffice

# The libraries whose versions can change the bytes of a rendered document.
RENDERING_LIBRARIES = (
    "python-pptx",
    "docxtpl",
    "python-docx",
    "openpyxl",
    "XlsxWriter",
    "lxml",
    "Jinja2",
    "MarkupSafe",
)
# Stored per context key: enough to tell which parts changed, short enough for 10,000 rows.
PART_DIGEST_LENGTH = 16

REASON_NEW = "new"
REASON_TEMPLATE = "template changed"
REASON_RENDERER = "renderer changed"
REASON_DATA = "data changed"
REASON_UNKNOWN = "made before fingerprints were recorded"


# -- canonical JSON ---------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no whitespace; every non-JSON type is tagged explicitly.

    Tagged values are one-key objects whose key starts with ``$`` (``{"$date": "2019-11-28"}``);
    a ``$`` at the start of an ordinary key is doubled, so data can never pass for a tag. Ints
    and floats stay apart (``1`` and ``1.0`` print differently), as do tuples and lists, dates
    and strings. A value of any other type is a TypeError naming where it was.
    """
    try:
        plain = _fast(value)
    except TypeError:
        plain = _plain(value)  # the careful walk says where the value that cannot be is
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _fast(value: Any) -> Any:
    """``_plain`` for what contexts are made of (strings, numbers, lists, dicts with plain
    string keys), one call per value; anything else goes the careful way (``_plain``)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        for key in value:
            if type(key) is not str or key[:1] == "$":
                return _plain(value)
        return {key: _fast(item) for key, item in value.items()}
    if kind is list:
        return [_fast(item) for item in value]
    if kind is tuple:
        return {"$tuple": [_fast(item) for item in value]}
    if kind is float:
        return {"$float": repr(value)}
    return _plain(value)


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def value_digest(value: Any) -> str:
    """The hex sha256 of a value's canonical JSON."""
    return sha256_hex(canonical_json(value))


def _plain(value: Any) -> Any:
    """The value as JSON-native types, tagged where JSON has no type of its own."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is dict:
        return _mapping(value)
    if kind is list:
        return [_at(index, item) for index, item in enumerate(value)]
    if kind is float:
        # repr is the shortest text that reads back as the same float; it also spells nan, inf.
        return {"$float": repr(value)}
    if kind is tuple:
        return {"$tuple": [_at(index, item) for index, item in enumerate(value)]}
    # Enums first: a StrEnum is a str and an IntEnum an int, but they print differently.
    if isinstance(value, enum.Enum):
        return {"$enum": [_type_name(kind), _at("value", value.value)]}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return {"$float": repr(float(value))}
    # datetime before date: a datetime is a date too.
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$timedelta": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, decimal.Decimal):
        # str keeps the exponent: 1.50 and 1.5 print differently.
        return {"$decimal": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        items = [_plain(item) for item in value]
        return {"$set": sorted(items, key=_sort_key)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"$dataclass": [_type_name(kind), _mapping(fields)]}
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, (list, tuple)):
        return _plain(list(value) if isinstance(value, list) else tuple(value))
    raise TypeError(f"cannot fingerprint a value of type {_type_name(kind)}")


def _at(where: object, value: Any) -> Any:
    try:
        return _plain(value)
    except TypeError as exc:
        raise TypeError(f"[{where!r}]{_path_of(exc)}") from None


def _path_of(exc: TypeError) -> str:
    text = str(exc)
    return text if text.startswith("[") else f": {text}"


def _mapping(value: Mapping[Any, Any]) -> Any:
    if all(type(key) is str for key in value):
        return {
            ("$" + key if key.startswith("$") else key): _at(key, v) for key, v in value.items()
        }
    # Non-string keys (1 and "1" are different keys) become sorted [key, value] pairs.
    pairs = [[_at(key, key), _at(key, v)] for key, v in value.items()]
    return {"$map": sorted(pairs, key=lambda pair: _sort_key(pair[0]))}


def _sort_key(plain: Any) -> str:
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


# -- the inputs of a document -----------------------------------------------------------------


@dataclass(frozen=True)
class ContextDigest:
    """A context's digest and one digest per top-level key (full length)."""

    sha256: str
    parts: dict[str, str]

    def short_parts(self) -> dict[str, str]:
        """The part digests as stored: shortened to ``PART_DIGEST_LENGTH`` hex digits."""
        return {key: digest[:PART_DIGEST_LENGTH] for key, digest in self.parts.items()}


def context_digest(context: Mapping[str, Any]) -> ContextDigest:
    """Digest a context part by part; the whole is the digest of the parts' digests."""
    parts = {str(key): value_digest(value) for key, value in context.items()}
    return ContextDigest(sha256=value_digest(parts), parts=parts)


@dataclass(frozen=True)
class DocumentInputs:
    """What a document was made from, as digests; stored as ``GeneratedDocument.inputs``."""

    template: str  # sha256 of the template file's bytes
    renderer: str  # renderer_identity(format)
    context: str  # context_digest(...).sha256
    format: str
    parts: dict[str, str]  # short digest per top-level context key
    stamp: str | None = None  # the data stamp computed before the context (see stamps)

    @property
    def fingerprint(self) -> str:
        """sha256 over template, context, renderer and format: equal means equal bytes."""
        return fingerprint(
            template=self.template,
            context=self.context,
            renderer=self.renderer,
            file_format=self.format,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON stored beside the fingerprint."""
        return {
            "template": self.template,
            "renderer": self.renderer,
            "context": self.context,
            "format": self.format,
            "parts": dict(self.parts),
            "stamp": self.stamp,
        }


def document_inputs(
    *,
    template_sha256: str,
    context: Mapping[str, Any],
    file_format: str,
    stamp: str | None,
    renderer: str | None = None,
) -> DocumentInputs:
    """The inputs of a document about to be made from this template and context."""
    digest = context_digest(context)
    return DocumentInputs(
        template=template_sha256,
        renderer=renderer if renderer is not None else renderer_identity(file_format),
        context=digest.sha256,
        format=file_format,
        parts=digest.short_parts(),
        stamp=stamp,
    )


def fingerprint(*, template: str, context: str, renderer: str, file_format: str) -> str:
    """The fingerprint of a document made from these digests."""
    return value_digest(
        {"template": template, "context": context, "renderer": renderer, "format": file_format}
    )


def stored_fingerprint(inputs: Mapping[str, Any] | None) -> str | None:
    """The fingerprint recomputed from stored inputs; None when they are incomplete."""
    if not inputs:
        return None
    try:
        return fingerprint(
            template=str(inputs["template"]),
            context=str(inputs["context"]),
            renderer=str(inputs["renderer"]),
            file_format=str(inputs["format"]),
        )
    except KeyError:
        return None


def explain(old: Mapping[str, Any] | None, new: DocumentInputs) -> tuple[str, ...]:
    """Why a document made from ``new`` differs from one made from ``old`` (stored inputs).

    ``("new",)`` when there was no earlier document; otherwise one or more of ``template
    changed``, ``renderer changed`` and ``data changed: <context keys>``.
    """
    if old is None:
        return (REASON_NEW,)
    if stored_fingerprint(old) is None:
        return (REASON_UNKNOWN,)
    reasons = []
    if old.get("template") != new.template:
        reasons.append(REASON_TEMPLATE)
    if old.get("renderer") != new.renderer or old.get("format") != new.format:
        reasons.append(REASON_RENDERER)
    if old.get("context") != new.context:
        old_parts = old.get("parts")
        if isinstance(old_parts, Mapping):
            changed = sorted(
                key
                for key in set(old_parts) | set(new.parts)
                if old_parts.get(key) != new.parts.get(key)
            )
            reasons.append(f"{REASON_DATA}: {', '.join(changed)}" if changed else REASON_DATA)
        else:
            reasons.append(REASON_DATA)
    return tuple(reasons) or (REASON_DATA,)


# -- the renderer -----------------------------------------------------------------------------


def renderer_identity(file_format: str) -> str:
    """What turns template and context into this format's bytes, as one readable line."""
    office = _office_renderer()
    return f"{office}; {pdf_converter_identity()}" if file_format == "pdf" else office


@functools.cache
def _office_renderer() -> str:
    versions = "; ".join(f"{name} {_version(name)}" for name in RENDERING_LIBRARIES)
    return f"benchdocs {service.__version__}+r{RENDERER_REVISION}; {versions}"


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def pdf_converter_identity() -> str:
    """The installed LibreOffice and our export options, as one readable line.

    Read from the installation, not by starting LibreOffice, so the planner (which converts
    nothing) and the workers agree. Upgrading LibreOffice changes it, and every PDF is made
    again on the next regeneration.
    """
    options = value_digest({"export": PDF_EXPORT_OPTIONS, "locale": DEFAULT_LOCALE})[:12]
    installed = installed_libreoffice()
    if installed is None:
        return f"LibreOffice absent; options {options}"
    return f"{installed}; options {options}"


def template_sha256(path: Path) -> str:
    """The sha256 of a template file's bytes (what ``TemplateLibrary`` records too)."""
    return sha256_hex(path.read_bytes())
