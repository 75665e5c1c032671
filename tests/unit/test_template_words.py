"""The template checker's findings, worded in Swedish for organisers."""

from __future__ import annotations

import pytest

from service.api.portal.pages.templates import swedish_location, swedish_problem


@pytest.mark.parametrize(
    ("english", "swedish"),
    [
        (
            "unknown variable 'organisation.nme': 'organisation' has no 'nme' "
            "(did you mean 'name'?)",
            "Okänd variabel ”organisation.nme”: ”organisation” har ingen del som heter ”nme” "
            "(menade du ”name”?)",
        ),
        ("unknown variable 'x'", "Okänd variabel ”x”"),
        ("unknown filter 'foo'", "Okänt filter ”foo”"),
        ("the file is the same as version 3", "Filen är likadan som version 3"),
    ],
)
def test_known_findings_are_said_in_swedish(english: str, swedish: str) -> None:
    assert swedish_problem(english) == (swedish, True)


def test_an_unknown_finding_stays_as_it_is_and_says_so() -> None:
    assert swedish_problem("chart data has 3 series") == ("chart data has 3 series", False)


def test_locations_are_said_in_swedish() -> None:
    assert swedish_location("word/document.xml, table 2 row 3, cell 1") == (
        "brödtexten, tabell 2 rad 3, cell 1"
    )
    assert swedish_location("slide 3, shape 'Titel 1', paragraph 2") == (
        "bild 3, form 'Titel 1', stycke 2"
    )
