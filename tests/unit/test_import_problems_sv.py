"""The import page's problems in Swedish: places by JSON path, row or cell, and the texts."""

from __future__ import annotations

import json

import pytest

from service.api.portal.pages.imports import ShownProblem, swedish_place, swedish_problem
from service.errors import ImportRejectedError, Problem
from service.intake.programme_import import parse_programme
from service.intake.sample import SAMPLE_PROGRAMME
from service.messages import Language, message
from tests.swedish import english_in


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("row 7: column 'Roll'", "Rad 7, kolumn ”Roll”"),
        ("row 7: column 3", "Rad 7, kolumn ”3”"),
        ("row 12", "Rad 12"),
        ("Deltagare!C4", "Fliken Deltagare, cell C4"),
        ("$", "Filen"),
        ("$.meetings[1].date", "$.meetings[1].date"),
    ],
)
def test_places_read_as_a_person_reads_them(location: str, shown: str) -> None:
    assert swedish_place(location) == shown


def test_the_usual_programme_problems_are_said_in_swedish() -> None:
    document = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    document["meetings"][0]["date"] = "2019-13-40"
    del document["organisations"][1]["name"]
    document["participants"][1]["role"] = "astronaut"
    document["participants"][2]["email"] = "inte-en-adress"
    document["participants"][3]["name"] = "Namn\x01"
    document["meetings"][1]["extra"] = "{{ 7*7 }}"
    with pytest.raises(ImportRejectedError) as refused:
        parse_programme(json.dumps(document).encode(), max_bytes=10_000_000)
    shown = {p.where: p.what for p in map(swedish_problem, refused.value.problems)}
    assert shown["$.meetings[0].date"] == "Ska vara ett datum (ÅÅÅÅ-MM-DD)."
    assert shown["$.organisations[1].name"] == "Uppgiften saknas."
    assert shown["$.participants[2].email"] == "”inte-en-adress” är ingen e-postadress."
    assert "U+0001" in shown["$.participants[3].name"]
    assert shown["$.meetings[1].extra"] == "Fältet finns inte i formatet."
    assert " eller " in shown["$.participants[1].role"]
    for text in shown.values():
        assert english_in(text) is None, text


def test_a_problem_with_a_swedish_text_keeps_it() -> None:
    problem = Problem.of("file", message("upload.missing_file"))
    assert swedish_problem(problem) == ShownProblem("Filen", problem.render(Language.SV))
