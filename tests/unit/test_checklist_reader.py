"""Reading a filled checklist back: real generated workbooks, typed into as Excel would write."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from service.documents.checklist import (
    LAYOUT_ID,
    ChecklistDocFacts,
    ChecklistRoundFacts,
    build_checklist_context,
)
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
)
from service.domain.movement import QuestionRef, Scale
from service.engines.xlsx_engine import XlsxTemplate
from service.errors import FileRejectedError, Problem, RejectionReason
from service.messages import Language
from service.settings import PROJECT_ROOT
from service.uploads.checklist_reader import (
    ChecklistFile,
    ExpectedChecklist,
    ReadScore,
    RoundSheet,
)

TEMPLATE = PROJECT_ROOT / "doc_templates" / "checklist.xlsx"
SAMPLE = PROJECT_ROOT / "service" / "data" / "sample-programme.json"
SHEET = "BM 2"
FIRST_ROW = 9  # Q01's row on a round sheet as generated
HINT = "write a whole number 1–3, or leave the cell empty"

Edit = Callable[[Any], None]


# -- builders -------------------------------------------------------------------------------


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def question_refs() -> tuple[str, ...]:
    return tuple(q["id"] for a in sample()["checklist"]["areas"] for q in a["questions"])


def sample_round(index: int, organisation: str) -> ChecklistRoundFacts:
    data = sample()
    assessment = data["self_assessments"][index]
    meeting = next(m for m in data["meetings"] if m["id"] == assessment["meeting_id"])
    return ChecklistRoundFacts(
        label=assessment["round_label"],
        ref=assessment["id"],
        meeting_ref=meeting["id"],
        meeting_title=meeting["title"],
        meeting_date=dt.date.fromisoformat(meeting["date"]),
        assessed_on=dt.date.fromisoformat(assessment["assessed_on"]),
        scores=dict(
            zip(assessment["question_order"], assessment["scores"][organisation], strict=True)
        ),
        comments=assessment.get("comments", {}).get(organisation, {}),
    )


def checklist_facts(organisation: str = "askersund", *, meeting: int = 2) -> ChecklistDocFacts:
    """An organisation's checklist for Benchmarking ``meeting`` of the sample programme."""
    data = sample()
    c = data["checklist"]
    org = next(o for o in data["organisations"] if o["id"] == organisation)
    held = data["meetings"][meeting - 1]
    date = dt.date.fromisoformat(held["date"])
    rounds = [sample_round(i, organisation) for i in range(meeting)]
    return ChecklistDocFacts(
        network_name=data["network"]["name"],
        project_platform=data["network"]["project_platform"],
        organisation=OrganisationFacts(
            name=org["name"],
            delegation=tuple(
                PersonFacts(p["name"], p["role"], p.get("title"))
                for p in data["participants"]
                if p["organisation_id"] == organisation
            ),
        ),
        organisation_ref=organisation,
        meeting=MeetingFacts(
            title=held["title"],
            number=held["number"],
            date=date,
            upload_deadline=date - dt.timedelta(days=7),
        ),
        meeting_ref=held["id"],
        checklist=ChecklistFacts(
            scale=Scale(c["scale"]["min"], c["scale"]["max"]),
            areas=tuple(AreaFacts(a["id"], a["name"]) for a in c["areas"]),
            questions=tuple(
                QuestionRef(q["id"], a["id"]) for a in c["areas"] for q in a["questions"]
            ),
            question_texts={q["id"]: q["text"] for a in c["areas"] for q in a["questions"]},
        ),
        checklist_title=c["title"],
        scale_labels={int(k): v for k, v in c["scale"]["labels"].items()},
        earlier_rounds=tuple(rounds[:-1]),
        current_round=rounds[-1],
    )


def expected(**changes: Any) -> ExpectedChecklist:
    """What the database holds for Askersund's BM 2 round, with ``changes``."""
    fields: dict[str, Any] = {
        "round_ref": "sa_bm2",
        "organisation_ref": "askersund",
        "scale_min": 1,
        "scale_max": 3,
        "question_refs": question_refs(),
    }
    return ExpectedChecklist(**{**fields, **changes})


def row_of(ref: str) -> int:
    return FIRST_ROW + question_refs().index(ref)


def edited(data: bytes, *edits: Edit, sheet: str = SHEET) -> bytes:
    """The workbook after ``edits`` on one sheet, saved again as openpyxl (or a script) would."""
    book = load_workbook(io.BytesIO(data))
    for edit in edits:
        edit(book[sheet])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def typed(cells: dict[str, Any], *, as_text: bool = False) -> Edit:
    """Values typed into cells; "=..." is a formula unless ``as_text`` (a cell typed as text)."""

    def edit(ws: Worksheet) -> None:
        for ref, value in cells.items():
            ws[ref].value = value
            if as_text and isinstance(value, str):
                ws[ref].data_type = "s"

    return edit


def scores(**by_question: Any) -> Edit:
    return typed({f"D{row_of(ref)}": value for ref, value in by_question.items()})


def comments(**by_question: Any) -> Edit:
    return typed({f"E{row_of(ref)}": value for ref, value in by_question.items()}, as_text=True)


def rejection(data: bytes, wanted: ExpectedChecklist | None = None) -> FileRejectedError:
    with pytest.raises(FileRejectedError) as caught:
        ChecklistFile.open(data).read_scores(wanted or expected())
    return caught.value


def only_problem(data: bytes, wanted: ExpectedChecklist | None = None) -> Problem:
    error = rejection(data, wanted)
    assert error.reason == RejectionReason.CONTENT
    (problem,) = error.problems
    return problem


def by_ref(read: list[ReadScore]) -> dict[str, ReadScore]:
    return {s.question_ref: s for s in read}


@pytest.fixture(scope="module")
def template() -> XlsxTemplate:
    return XlsxTemplate.from_bytes(TEMPLATE.read_bytes(), name="checklist.xlsx")


@pytest.fixture(scope="module")
def generated(template: XlsxTemplate) -> bytes:
    """Askersund's checklist for Benchmarking 2: BM 1 prefilled and locked, BM 2 to fill in."""
    return template.render(build_checklist_context(checklist_facts()))


# -- the round sheets -----------------------------------------------------------------------


def test_each_round_sheet_is_found_with_its_hidden_identity(generated: bytes) -> None:
    workbook = ChecklistFile.open(generated)

    assert workbook.rounds == [
        RoundSheet("BM 1", LAYOUT_ID, "sa_bm1", "askersund", "bm1", 1, 3, is_last=False),
        RoundSheet("BM 2", LAYOUT_ID, "sa_bm2", "askersund", "bm2", 1, 3, is_last=True),
    ]


def test_a_first_meeting_has_one_round_sheet_and_it_is_the_last(template: XlsxTemplate) -> None:
    data = template.render(build_checklist_context(checklist_facts(meeting=1)))

    workbook = ChecklistFile.open(data)

    assert [(r.sheet, r.round_ref, r.is_last) for r in workbook.rounds] == [
        ("BM 1", "sa_bm1", True)
    ]


# -- reading what was typed -----------------------------------------------------------------


def test_the_prefilled_scores_read_back_unchanged(generated: bytes) -> None:
    stored = sample_round(1, "askersund")

    read = ChecklistFile.open(generated).read_scores(expected())

    assert [s.question_ref for s in read] == list(question_refs())
    assert {s.question_ref: s.value for s in read} == stored.scores
    assert {s.question_ref: s.comment for s in read if s.comment} == stored.comments
    assert [s.cell for s in read[:2]] == [f"{SHEET}!D9", f"{SHEET}!D10"]
    assert read[-1].cell == f"{SHEET}!D32"


def test_what_a_participant_typed_is_read_exactly(generated: bytes) -> None:
    data = edited(
        generated,
        scores(Q01=2, Q02="3", Q03="  2 ", Q04=3.0, Q05=None, Q06="", Q07=" ", Q08="+1"),
        comments(
            Q01="Vi har börjat – men inte överallt.",
            Q02="Jämställdhetsbokslut 2019 ✅ 👩‍💼👨‍💼",
            Q03='=HYPERLINK("https://example.org";"länk")',
            Q04="  indragen text med radbrytning\nrad två  ",
            Q05=42,
            Q14=None,
        ),
    )

    read = by_ref(ChecklistFile.open(data).read_scores(expected()))

    assert [(read[q].value, read[q].comment) for q in ("Q01", "Q02", "Q03", "Q04")] == [
        (2, "Vi har börjat – men inte överallt."),
        (3, "Jämställdhetsbokslut 2019 ✅ 👩‍💼👨‍💼"),
        (2, '=HYPERLINK("https://example.org";"länk")'),
        (3, "indragen text med radbrytning\nrad två"),
    ]
    assert [(read[q].value, read[q].comment) for q in ("Q05", "Q06", "Q07", "Q08", "Q14")] == [
        (None, "42"),
        (None, None),
        (None, None),
        (1, None),
        (3, None),  # the stored comment was deleted
    ]
    assert all(type(s.value) is int for s in read.values() if s.value is not None)


def test_a_formula_typed_into_a_comment_is_kept_as_its_text(generated: bytes) -> None:
    data = edited(generated, typed({f"E{row_of('Q01')}": '=HYPERLINK("https://x.example")'}))
    assert load_workbook(io.BytesIO(data))[SHEET][f"E{row_of('Q01')}"].data_type == "f"

    read = by_ref(ChecklistFile.open(data).read_scores(expected()))

    assert read["Q01"].comment == '=HYPERLINK("https://x.example")'


def test_carriage_returns_excel_escapes_in_comments_become_plain_line_breaks(
    generated: bytes,
) -> None:
    data = edited(generated, comments(Q01="rad ett_x000D_\nrad två\r\nrad tre"))

    read = by_ref(ChecklistFile.open(data).read_scores(expected()))

    assert read["Q01"].comment == "rad ett\nrad två\nrad tre"


def test_a_comment_of_the_longest_allowed_length_is_read(generated: bytes) -> None:
    data = edited(generated, comments(Q01="å" * 10_000))

    read = by_ref(ChecklistFile.open(data).read_scores(expected()))

    assert read["Q01"].comment == "å" * 10_000


def test_only_the_requested_round_is_read(generated: bytes) -> None:
    bm1_stored = sample_round(0, "askersund")
    data = edited(
        edited(generated, scores(Q01="tre")),  # BM 2 broken ...
        typed({"D9": 2, "E9": "Ändrad i efterhand"}),
        sheet="BM 1",
    )

    bm1 = ChecklistFile.open(data).read_scores(expected(round_ref="sa_bm1"))

    assert [s.cell for s in bm1][:1] == ["BM 1!D9"]
    assert by_ref(bm1)["Q01"].value == 2
    assert by_ref(bm1)["Q01"].comment == "Ändrad i efterhand"
    assert {s.question_ref: s.value for s in bm1[1:]} == {
        ref: value for ref, value in bm1_stored.scores.items() if ref != "Q01"
    }
    # ... and BM 2 refused on its own, whatever BM 1 holds.
    assert only_problem(data).location == f"{SHEET}!D9"


# -- problems with one score ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tre", f"'tre' is not a score: {HINT}"),
        (2.5, f"2.5 is not a whole number: {HINT}"),
        ("2,5", f"'2,5' is not a whole number: {HINT}"),
        (0, f"0 is outside the scale 1–3: {HINT}"),
        (4, f"4 is outside the scale 1–3: {HINT}"),
        (-2, f"-2 is outside the scale 1–3: {HINT}"),
        ("4", f"4 is outside the scale 1–3: {HINT}"),
        (True, f"TRUE is a yes/no value, not a score: {HINT}"),
        (dt.date(2019, 3, 1), "2019-03-01 is a date or time, not a score"),
        (dt.datetime(2019, 3, 1, 12, 30), "2019-03-01T12:30:00 is a date or time"),
        ("=1+2", "'=1+2' is a formula; type the number itself (1–3), or leave the cell empty"),
        ("=SUM(D9:D10)", "'=SUM(D9:D10)' is a formula; type the number itself"),
        ("#REF!", f"the error value #REF! is not a score: {HINT}"),
        ("#N/A", "the error value #N/A is not a score"),
        ("ganska bra, typ 2 eller 3", "'ganska bra, typ 2 eller 3' is not a score"),
    ],
)
def test_a_bad_score_is_refused_with_its_cell(generated: bytes, value: Any, message: str) -> None:
    data = edited(generated, scores(Q04=value))

    problem = only_problem(data)

    assert problem.location == f"{SHEET}!D12"
    assert message in problem.message


def test_every_problem_is_listed_in_sheet_order(generated: bytes) -> None:
    data = edited(
        generated,
        scores(Q01="tre", Q04=4, Q06=2.5, Q24=True),
        comments(Q06="ok", Q10="x" * 10_001),
    )

    error = rejection(data)

    assert [p.location for p in error.problems] == [
        f"{SHEET}!D9",
        f"{SHEET}!D12",
        f"{SHEET}!D14",
        f"{SHEET}!E18",
        f"{SHEET}!D32",
    ]


def test_a_scale_of_1_to_4_accepts_a_4(template: XlsxTemplate) -> None:
    facts = checklist_facts()
    wider = ChecklistFacts(
        scale=Scale(1, 4),
        areas=facts.checklist.areas,
        questions=facts.checklist.questions,
        question_texts=facts.checklist.question_texts,
    )
    data = template.render(build_checklist_context(replace(facts, checklist=wider)))

    read = ChecklistFile.open(edited(data, scores(Q01=4))).read_scores(expected(scale_max=4))

    assert by_ref(read)["Q01"].value == 4


# -- problems with comments -----------------------------------------------------------------


def test_a_control_character_in_a_comment_is_refused(generated: bytes) -> None:
    # Excel writes U+0007 as the escape _x0007_ in the file's XML.
    data = edited(generated, comments(Q02="ring_x0007_ klockan"))

    problem = only_problem(data)

    assert problem.location == f"{SHEET}!E10"
    assert "control character U+0007 at position 4" in problem.message


def test_a_comment_over_the_limit_is_refused_with_its_length(generated: bytes) -> None:
    data = edited(generated, comments(Q03="ä" * 10_001))

    problem = only_problem(data)

    assert problem.location == f"{SHEET}!E11"
    assert "10,001 characters long; at most 10,000" in problem.message


# -- problems with the sheet as a whole ------------------------------------------------------


def test_a_round_without_a_sheet_names_the_rounds_found(generated: bytes) -> None:
    problem = only_problem(generated, expected(round_ref="sa_bm3"))

    assert problem == Problem(
        "workbook", "no sheet for round 'sa_bm3' (found sheets for sa_bm1, sa_bm2)"
    )


def test_another_organisations_file_is_refused_naming_both_organisations(
    generated: bytes,
) -> None:
    names = {"askersund": "Askersunds kommun", "hallsberg": "Hallsbergs kommun"}
    typed_scores = edited(generated, scores(Q01=7))

    problem = only_problem(
        typed_scores, expected(organisation_ref="hallsberg", organisation_names=names)
    )

    assert problem.location == "workbook"  # not the hidden cell that says so
    assert problem.message.startswith(
        "the file is for Askersunds kommun, but it was uploaded for Hallsbergs kommun"
    )
    assert problem.render(Language.SV).startswith(
        "Filen gäller Askersunds kommun, men den laddades upp för Hallsbergs kommun."
    )


def test_another_layout_version_is_refused(generated: bytes) -> None:
    data = edited(generated, typed({"H1": "benchdocs-checklista/2"}))

    problem = only_problem(data)

    assert problem.location == f"{SHEET}!H1"
    assert "layout id 'benchdocs-checklista/2' is not the one this service reads" in (
        problem.message
    )
    assert ChecklistFile.open(data).rounds[-1].layout == "benchdocs-checklista/2"


def test_an_unknown_layout_in_the_named_cell_is_refused(generated: bytes) -> None:
    data = edited(generated, typed({"H1": "egen-mall/7"}))

    problem = only_problem(data)

    assert problem.location == f"{SHEET}!H1"
    assert "layout id 'egen-mall/7'" in problem.message


def test_a_scale_that_differs_from_the_database_is_refused(generated: bytes) -> None:
    problem = only_problem(generated, expected(scale_max=4))

    assert problem.location == f"{SHEET}!H6"
    assert "the scale in the file is 1–3 but the checklist's scale is 1–4" in problem.message


def test_two_sheets_for_one_round_are_refused(generated: bytes) -> None:
    book = load_workbook(io.BytesIO(generated))
    book.copy_worksheet(book[SHEET])
    out = io.BytesIO()
    book.save(out)

    problem = only_problem(out.getvalue())

    assert problem.location == "workbook"
    assert "2 sheets are for round 'sa_bm2' ('BM 2', 'BM 2 Copy')" in problem.message


# -- problems with the question rows --------------------------------------------------------


def test_a_missing_question_ref_is_refused_at_its_cell(generated: bytes) -> None:
    data = edited(generated, typed({"A12": None}))

    problem = only_problem(data)

    assert problem == Problem(
        f"{SHEET}!A12",
        "expected question 4 in this row, found an empty cell; 4 is not in column A at "
        "all: rows were inserted, deleted, moved or sorted; keep the rows as downloaded (or "
        "download the checklist again and copy your answers into it)",
    )


def test_a_question_the_checklist_does_not_have_is_refused(generated: bytes) -> None:
    fewer = expected(question_refs=question_refs()[:-1])

    problem = only_problem(generated, fewer)

    assert problem.location == f"{SHEET}!A32"
    assert "'24' is not a question of this checklist" in problem.message


def test_an_added_question_row_below_the_last_is_refused(generated: bytes) -> None:
    data = edited(generated, typed({"A33": 25, "D33": 3}))

    problem = only_problem(data)

    assert problem.location == f"{SHEET}!A33"
    assert "'25' is not a question of this checklist" in problem.message


def test_a_question_row_copied_below_the_last_is_refused(generated: bytes) -> None:
    data = edited(generated, typed({"A33": 1, "D33": 1}))

    problem = only_problem(data)

    assert problem == Problem(
        f"{SHEET}!A33", "question 1 appears a second time (first in A9); remove the added row"
    )
    assert problem.render(Language.SV).startswith("Påstående 1 finns en andra gång")


def test_sorted_rows_are_refused_with_where_each_question_went(generated: bytes) -> None:
    def swap_first_two(ws: Worksheet) -> None:
        for column in "ABCDE":
            first, second = ws[f"{column}9"], ws[f"{column}10"]
            first.value, second.value = second.value, first.value

    error = rejection(edited(generated, swap_first_two))

    assert [(p.location, p.message.split(":")[0]) for p in error.problems] == [
        (f"{SHEET}!A9", "expected question 1 in this row, found '2'; 1 is in A10 instead"),
        (f"{SHEET}!A10", "expected question 2 in this row, found '1'; 2 is in A9 instead"),
    ]


def test_a_row_inserted_between_questions_is_refused_not_misread(generated: bytes) -> None:
    def insert_note(ws: Worksheet) -> None:
        ws.insert_rows(15)
        ws["A15"] = "Anteckning"
        ws["D15"] = 3

    error = rejection(edited(generated, insert_note))

    (problem,) = error.problems  # not one for each of Q07 to Q24, all one row down
    assert problem.location == f"{SHEET}!A15"
    assert problem.message.startswith(
        "a row was added here ('Anteckning' is not a question of this checklist)"
    )
    assert problem.render(Language.SV).startswith(
        "Raden har lagts till (”Anteckning” är inte ett påstående i checklistan)"
    )


def test_a_deleted_row_is_one_problem_naming_its_row_and_statement(generated: bytes) -> None:
    def delete_q07(ws: Worksheet) -> None:
        ws.delete_rows(row_of("Q07"))

    error = rejection(edited(generated, delete_q07))

    (problem,) = error.problems
    assert problem.location == f"{SHEET}!A15"
    assert problem.message.startswith("row 15 (statement 7, Q07) is missing")
    assert problem.render(Language.SV).startswith("Rad 15 (påstående 7) saknas")


def test_two_deleted_rows_are_two_problems(generated: bytes) -> None:
    def delete_two(ws: Worksheet) -> None:
        ws.delete_rows(row_of("Q10"))
        ws.delete_rows(row_of("Q03"))

    error = rejection(edited(generated, delete_two))

    assert [p.render(Language.SV).split(":")[0] for p in error.problems] == [
        "Rad 11 (påstående 3) saknas",
        "Rad 18 (påstående 10) saknas",
    ]


# -- files generated before statements were numbered: "Q14" in the Nr column -----------------


def old_format(ws: Worksheet) -> None:
    """The Nr column as files generated before numbering carry it: the internal refs."""
    for number, ref in enumerate(question_refs()):
        ws[f"A{FIRST_ROW + number}"] = ref


def test_the_nr_column_shows_numbers_that_stand_for_the_statements(generated: bytes) -> None:
    ws = load_workbook(io.BytesIO(generated))[SHEET]

    assert [ws[f"A{FIRST_ROW + i}"].value for i in range(24)] == list(range(1, 25))
    assert not any(str(ws[f"A{FIRST_ROW + i}"].value).startswith("Q") for i in range(24))


def test_a_file_generated_before_numbering_is_read_by_its_refs(generated: bytes) -> None:
    data = edited(generated, old_format, scores(Q01=1, Q14=2, Q24=None), comments(Q14="gammal"))

    read = by_ref(ChecklistFile.open(data).read_scores(expected()))

    assert load_workbook(io.BytesIO(data))[SHEET][f"A{row_of('Q14')}"].value == "Q14"
    assert (read["Q01"].value, read["Q14"].value, read["Q14"].comment) == (1, 2, "gammal")
    assert read["Q24"].value is None
    assert len(read) == 24


def test_sorted_rows_in_a_file_generated_before_numbering_are_refused(generated: bytes) -> None:
    def swap_first_two(ws: Worksheet) -> None:
        for column in "ABCDE":
            first, second = ws[f"{column}9"], ws[f"{column}10"]
            first.value, second.value = second.value, first.value

    error = rejection(edited(generated, old_format, swap_first_two))

    assert [(p.location, p.message.split(":")[0]) for p in error.problems] == [
        (f"{SHEET}!A9", "expected question Q01 in this row, found 'Q02'; Q01 is in A10 instead"),
        (f"{SHEET}!A10", "expected question Q02 in this row, found 'Q01'; Q02 is in A9 instead"),
    ]


def test_a_deleted_row_in_a_file_generated_before_numbering_is_one_problem(
    generated: bytes,
) -> None:
    error = rejection(edited(generated, old_format, lambda ws: ws.delete_rows(row_of("Q07"))))

    (problem,) = error.problems
    assert problem.location == f"{SHEET}!A15"
    assert problem.render(Language.SV).startswith("Rad 15 (påstående 7) saknas")


def test_refs_that_look_like_numbers_are_matched_as_refs(generated: bytes) -> None:
    # A checklist whose refs are numbers in another order: the column holds refs, not places.
    refs = tuple(str(n) for n in range(24, 0, -1))
    data = edited(generated, typed({f"A{FIRST_ROW + i}": ref for i, ref in enumerate(refs)}))

    problem_free = ChecklistFile.open(data).read_scores(expected(question_refs=refs))

    assert [s.question_ref for s in problem_free] == list(refs)
    assert problem_free[0].cell == f"{SHEET}!D{FIRST_ROW}"


# -- names lost or stale: the reader copes where it can be sure ------------------------------


def test_rows_inserted_above_the_questions_by_a_script_are_followed(generated: bytes) -> None:
    # openpyxl does not move defined names with the rows: they now point one row too high.
    data = edited(
        generated,
        lambda ws: ws.insert_rows(FIRST_ROW),
        typed({"D10": 1, "E10": "efter infogad rad", "D33": 3}),
    )

    read = ChecklistFile.open(data).read_scores(expected())

    assert (read[0].question_ref, read[0].value, read[0].comment, read[0].cell) == (
        "Q01",
        1,
        "efter infogad rad",
        f"{SHEET}!D10",
    )
    assert (read[-1].question_ref, read[-1].value, read[-1].cell) == ("Q24", 3, f"{SHEET}!D33")


def test_a_row_inserted_at_the_top_moves_the_hidden_identity_too(generated: bytes) -> None:
    data = edited(generated, lambda ws: ws.insert_rows(1), typed({"D10": 2, "D11": 3}))

    workbook = ChecklistFile.open(data)
    read = by_ref(workbook.read_scores(expected()))

    assert workbook.rounds[-1].round_ref == "sa_bm2"
    assert workbook.rounds[-1].scale_max == 3
    assert (read["Q01"].value, read["Q01"].cell) == (2, f"{SHEET}!D10")
    assert (read["Q02"].value, read["Q02"].cell) == (3, f"{SHEET}!D11")
    assert (read["Q03"].value, read["Q03"].cell) == (1, f"{SHEET}!D12")  # as prefilled


def test_a_sheet_without_its_names_is_read_from_the_hidden_column(generated: bytes) -> None:
    def drop_names(ws: Worksheet) -> None:
        for name in list(ws.defined_names):
            del ws.defined_names[name]

    data = edited(generated, drop_names, scores(Q05=3), comments(Q05="utan namn"))

    workbook = ChecklistFile.open(data)
    read = by_ref(workbook.read_scores(expected()))

    assert workbook.rounds[-1] == RoundSheet(
        "BM 2", LAYOUT_ID, "sa_bm2", "askersund", "bm2", 1, 3, is_last=True
    )
    assert (read["Q05"].value, read["Q05"].comment, read["Q05"].cell) == (
        3,
        "utan namn",
        f"{SHEET}!D13",
    )


# -- files that are not a checklist ---------------------------------------------------------


def test_a_workbook_without_a_layout_id_is_not_a_checklist() -> None:
    book = Workbook()
    book.active["A1"] = "Q01"
    out = io.BytesIO()
    book.save(out)

    with pytest.raises(FileRejectedError) as caught:
        ChecklistFile.open(out.getvalue())

    assert caught.value.reason == RejectionReason.CONTENT
    assert caught.value.problems == [
        Problem(
            "workbook",
            "not a checklist made by benchdocs: no sheet carries the hidden layout id; "
            "download your organisation's checklist and fill that in",
        )
    ]


def test_a_workbook_of_very_many_sheets_is_refused_before_reading_them() -> None:
    book = Workbook()
    for index in range(100):
        book.create_sheet(f"Blad {index}")
    out = io.BytesIO()
    book.save(out)

    with pytest.raises(FileRejectedError) as caught:
        ChecklistFile.open(out.getvalue())

    assert caught.value.reason == RejectionReason.CONTENT
    assert caught.value.problems[0].message.startswith("the workbook has 101 sheets")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not a zip at all", id="not-a-zip"),
        pytest.param(
            lambda data: _replace_member(data, "xl/worksheets/sheet3.xml", b"<worksheet"),
            id="broken-sheet-xml",
        ),
        pytest.param(lambda data: _replace_member(data, "xl/workbook.xml", None), id="no-workbook"),
    ],
)
def test_a_damaged_file_is_refused_as_corrupt(
    generated: bytes, damage: Callable[[bytes], bytes]
) -> None:
    with pytest.raises(FileRejectedError) as caught:
        ChecklistFile.open(damage(generated))

    assert caught.value.reason == RejectionReason.CORRUPT
    (problem,) = caught.value.problems
    assert problem.location == "workbook"
    assert problem.message.startswith("the file cannot be read as an Excel workbook")


def _replace_member(data: bytes, name: str, content: bytes | None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
            elif content is not None:
                target.writestr(info, content)
    return out.getvalue()
