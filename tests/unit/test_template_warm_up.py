"""A worker process parses every built-in template as it starts (``TemplateLibrary.warm_up``):
its first documents then find them parsed, and a batch's snapshot of the same bytes too."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import pytest

from service.batches.template_library import TemplateLibrary
from service.batches.template_snapshots import snapshot_key
from service.documents.catalogue import CATALOGUE, spec_for
from service.domain.kinds import DocumentKind
from service.settings import PROJECT_ROOT
from service.storage.file_store import LocalFileStore

TEMPLATES = PROJECT_ROOT / "doc_templates"
BUILT_IN = sorted({spec.template_file for spec in CATALOGUE.values()})


def test_every_built_in_template_is_parsed_once_and_shared_with_its_snapshot(
    tmp_path: Path,
) -> None:
    files = LocalFileStore(tmp_path / "files")
    library = TemplateLibrary(TEMPLATES, files=files)

    assert library.warm_up() == len(BUILT_IN)

    deck = spec_for(DocumentKind.DECK)
    parsed = library.built_in(DocumentKind.DECK)
    assert library.get(deck.template_file).template is parsed.template  # not parsed again
    data = (TEMPLATES / deck.template_file).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    assert parsed.sha256 == sha256
    key = snapshot_key(sha256, deck.office_format)
    files.put(key, data)
    snapshot = library.snapshot(
        key, file_name=deck.template_file, sha256=sha256, suffix=f".{deck.office_format}"
    )
    assert snapshot.template is parsed.template


def test_a_template_that_does_not_parse_is_named_and_the_rest_are_parsed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "templates"
    shutil.copytree(TEMPLATES, directory)
    broken = spec_for(DocumentKind.FEEDBACK_LETTER).template_file
    (directory / broken).write_bytes(b"PK\x03\x04 not a whole package")
    library = TemplateLibrary(directory)

    with caplog.at_level(logging.WARNING):
        assert library.warm_up() == len(BUILT_IN) - 1

    assert broken in caplog.text
    assert library.built_in(DocumentKind.DECK).sha256
