"""The same inputs give the same bytes, whenever the document is rendered."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import TypeVar

import pytest
import time_machine

from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.engines.opc import ZipEntry, ZipPrefix, fix_zip_timestamps, write_zip
from service.engines.pptx_engine import PptxTemplate
from service.intake.sample import find_id, sample_database
from tests.unit.test_deck_template import DECK_TEMPLATE, make_deck_context

TEMPLATES = DECK_TEMPLATE.parent
# Two moments far enough apart for every clock a library might read: zip member times (two-
# second steps), document properties (seconds), dates.
MORNING = dt.datetime(2019, 11, 21, 8, 0, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2021, 3, 14, 15, 9, 27, tzinfo=dt.UTC)
T = TypeVar("T")


def at(moment: dt.datetime, action: Callable[[], T]) -> T:
    """The action's result with the process's clocks (time, datetime) set to the moment."""
    with time_machine.travel(moment, tick=False):
        return action()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", "<a/>")
    return buffer.getvalue()


def test_the_clock_moves_what_a_plain_zip_writer_stamps() -> None:
    assert at(MORNING, plain_zip) != at(LATER, plain_zip)


def test_a_deck_rendered_at_two_different_times_is_byte_identical() -> None:
    template = PptxTemplate.from_bytes(DECK_TEMPLATE.read_bytes(), name="deck")

    first = at(MORNING, lambda: template.render(make_deck_context()))
    second = at(LATER, lambda: template.render(make_deck_context()))

    assert first == second


def test_different_data_still_gives_different_bytes() -> None:
    template = PptxTemplate.from_bytes(DECK_TEMPLATE.read_bytes(), name="deck")

    assert template.render(make_deck_context()) != template.render(
        make_deck_context(organisation={**make_deck_context()["organisation"], "name": "X"})
    )


def test_fixing_timestamps_keeps_every_member_and_its_content() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", "<a>å</a>")
        archive.writestr("dir/b.bin", bytes(range(256)) * 10)
    original = buffer.getvalue()

    fixed = fix_zip_timestamps(original)

    with zipfile.ZipFile(io.BytesIO(fixed)) as archive:
        assert archive.testzip() is None
        assert [(i.filename, i.date_time) for i in archive.infolist()] == [
            ("a.xml", (1980, 1, 1, 0, 0, 0)),
            ("dir/b.bin", (1980, 1, 1, 0, 0, 0)),
        ]
        assert archive.read("a.xml") == "<a>å</a>".encode()
    assert len(fixed) == len(original)


def test_the_zip_writer_writes_what_zipfile_writes_with_fixed_times() -> None:
    members = [
        ("[Content_Types].xml", b"<Types/>", zipfile.ZIP_DEFLATED),
        (
            "word/document.xml",
            "".join(f"<p>{n * 7919 % 9973}</p>" for n in range(5000)).encode(),
            zipfile.ZIP_DEFLATED,
        ),
        ("media/bild.png", bytes(range(256)) * 4, zipfile.ZIP_STORED),
        ("word/bilagor/å.xml", "<a>ö</a>".encode(), zipfile.ZIP_DEFLATED),
        ("empty.bin", b"", zipfile.ZIP_DEFLATED),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.create_system = 0  # MS-DOS, as Office writes
            archive.writestr(info, data)
    entries = [ZipEntry.of(name, data, method=method) for name, data, method in members]

    written = write_zip(entries[2:], prefix=ZipPrefix.of(entries[:2]))

    assert written == buffer.getvalue()
    assert write_zip(entries) == written


def test_something_that_is_not_a_zip_is_refused() -> None:
    with pytest.raises(ValueError, match="not a zip file"):
        fix_zip_timestamps(b"plain text")


def test_every_kind_renders_to_the_same_bytes_twice() -> None:
    with sample_database() as sessions:
        maker = DocumentMaker(sessions=sessions, templates=TemplateLibrary(TEMPLATES))
        with sessions() as session:
            meeting = find_id(session, m.Meeting, "bm2")
            organisation = find_id(session, m.Organisation, "sodertalje")

        def render_all() -> dict[str, bytes]:
            return {
                spec.kind.value: maker.make(
                    spec.kind,
                    meeting_id=meeting,
                    organisation_id=organisation if spec.per_organisation else None,
                ).data
                for spec in CATALOGUE.values()
            }

        first = at(MORNING, render_all)
        second = at(LATER, render_all)

    assert first.keys() == {k.value for k in CATALOGUE}
    assert [kind for kind in first if first[kind] != second[kind]] == []
