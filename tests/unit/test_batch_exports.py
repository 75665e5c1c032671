"""A batch's zip: written as it is sent, with unique names, and readable by zip tools."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from service.batches.exports import ZipMember, _unique, stream_zip
from service.storage.file_store import LocalFileStore


def test_names_stay_unique_whatever_their_case_and_keep_their_extension() -> None:
    taken: set[str] = set()

    names = [
        _unique(name, taken)
        for name in (
            "Askersunds kommun/Agenda.docx",
            "askersunds kommun/agenda.docx",
            "Askersunds kommun/Agenda.docx",
            "Gemensamt för träffen",
            "Gemensamt för träffen",
        )
    ]

    assert names == [
        "Askersunds kommun/Agenda.docx",
        "askersunds kommun/agenda (2).docx",
        "Askersunds kommun/Agenda (3).docx",
        "Gemensamt för träffen",
        "Gemensamt för träffen (2)",
    ]


def test_a_streamed_zip_holds_every_stored_file_and_skips_a_missing_one(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    store.put("a/1.docx", b"first" * 1000)
    store.put("a/2.pptx", bytes(range(256)) * 2000)  # larger than one piece
    members = [
        ZipMember("Hedemora kommun/Agenda – Benchmarking 2.docx", "a/1.docx", None),
        ZipMember("Gemensamt för träffen/Saknas.docx", "a/missing.docx", None),
        ZipMember("Hedemora kommun/Presentation.pptx", "a/2.pptx", dt.datetime(2026, 12, 7, 9, 30)),
    ]

    pieces = list(stream_zip(members, store))

    assert len(pieces) > 2  # sent as it was written, not in one piece at the end
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [
            "Hedemora kommun/Agenda – Benchmarking 2.docx",
            "Hedemora kommun/Presentation.pptx",
        ]
        assert archive.read("Hedemora kommun/Agenda – Benchmarking 2.docx") == b"first" * 1000
        assert archive.read("Hedemora kommun/Presentation.pptx") == bytes(range(256)) * 2000
        assert archive.getinfo("Hedemora kommun/Presentation.pptx").date_time[:5] == (
            2026,
            12,
            7,
            9,
            30,
        )
