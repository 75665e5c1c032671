"""Swedish formatting, safe file names and the local file store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service.documents import swedish
from service.documents.catalogue import safe_file_name
from service.errors import NotFoundError
from service.storage.file_store import LocalFileStore


def test_dates_are_written_the_swedish_way() -> None:
    assert swedish.long_date(dt.date(2019, 11, 28)) == "28 november 2019"
    assert swedish.weekday(dt.date(2019, 11, 28)) == "torsdag"
    assert swedish.clock(dt.time(9, 30)) == "09.30"
    assert swedish.long_date(None) == ""


def test_numbers_use_comma_and_non_breaking_thousands() -> None:
    assert swedish.number(1234.5) == "1\u00a0234,5"
    assert swedish.number(1.6667, decimals=2) == "1,67"
    assert swedish.number(None) == "–"
    assert swedish.signed(3) == "+3"
    assert swedish.signed(-0.25, decimals=2) == "\u22120,25"
    assert swedish.signed(0) == "±0"
    assert (swedish.measure(38.0), swedish.measure(7.9)) == ("38", "7,9")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Presentation - Benchmarking 2 - Askersunds kommun",
            "Presentation - Benchmarking 2 - Askersunds kommun",
        ),
        ("../../etc/passwd", "etcpasswd"),
        ('a<b>c:"d"|e?*f\x00\x1b', "abcdef"),
        ("Åbo & Söner 🚀", "Åbo & Söner 🚀"),
        ("   ...   ", "dokument"),
    ],
)
def test_file_names_are_safe_and_keep_swedish_letters(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_the_file_store_writes_atomically_and_refuses_escaping_keys(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)

    stored = store.put("meetings/1/a.pptx", b"first")
    store.put("meetings/1/a.pptx", b"second")

    assert store.get("meetings/1/a.pptx") == b"second"
    assert stored.size_bytes == 5 and len(stored.sha256) == 64
    assert [p.name for p in (tmp_path / "meetings" / "1").iterdir()] == ["a.pptx"]
    for bad in ("../x", "/etc/passwd", "a/../../b", "a\\b"):
        with pytest.raises(ValueError, match="unsafe file key"):
            store.put(bad, b"x")
    with pytest.raises(NotFoundError):
        store.get("missing.pptx")
