"""The upload gate's messages: each in Swedish and English, sizes and numbers as each reads them."""

from __future__ import annotations

import pytest

from service.messages import CATALOGUE, Language, Size, describe_size, message
from tests.swedish import english_in

GATE_CODES = sorted(
    code
    for code in CATALOGUE
    if code.startswith(("gate.", "filetype.", "upload.", "access.organiser"))
)
# Texts that are the same in both languages.
SAME = {"filetype.text"}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "X"


@pytest.mark.parametrize("code", GATE_CODES)
def test_every_message_of_the_gate_has_a_swedish_text_with_no_english_left(code: str) -> None:
    texts = CATALOGUE[code]
    swedish = texts[Language.SV].format_map(_Blank())

    assert english_in(swedish) is None, swedish
    assert code in SAME or texts[Language.SV] != texts[Language.EN]


def test_sizes_and_counts_are_written_as_each_language_writes_them() -> None:
    bomb = message(
        "gate.unpacks_too_much",
        total=Size(2_147_483_648),
        packed=Size(2_083_000),
        limit=Size(300_000_000),
    )
    parts = message("gate.too_many_parts", count=100_000, max=5_000)

    assert describe_size(2_147_483_648, Language.SV) == "2\u00a0147,5 MB"
    assert describe_size(2_147_483_648) == "2,147.5 MB"
    assert [describe_size(n, Language.SV) for n in (1, 812, 812_000, 50_000_000)] == [
        "1 byte",
        "812 byte",
        "812 kB",
        "50 MB",
    ]
    assert [describe_size(n) for n in (1, 812)] == ["1 byte", "812 bytes"]
    assert bomb.render(Language.SV).startswith(
        "Filen skulle packas upp till 2\u00a0147,5 MB (från 2,1 MB packat), mer än gränsen på "
        "300 MB"
    )
    assert bomb.render(Language.EN) == (
        "the file would unpack to 2,147.5 MB (from 2.1 MB packed), more than the limit of 300 MB"
    )
    assert "Filen har 100\u00a0000 delar" in parts.render(Language.SV)
    assert "the file has 100,000 parts" in parts.render(Language.EN)


def test_what_is_wanted_names_every_accepted_type_in_either_language() -> None:
    either = message(
        "filetype.either", first=message("filetype.xlsx"), second=message("filetype.csv")
    )

    assert either.render(Language.SV) == "en Excel-arbetsbok (.xlsx) eller en CSV-fil (.csv)"
    assert either.render(Language.EN) == "an Excel workbook (.xlsx) or a CSV file (.csv)"
