"""Reading a roster file: headers found and matched, cells checked, every problem placed."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence

import pytest
from openpyxl import Workbook

from service.errors import FileRejectedError, RejectionReason
from service.intake.roster_columns import Col, header_key
from service.intake.roster_format import MAX_ROWS, Roster, parse_roster, read_table

HEADER = "Organisation;Namn;Roll;E-post;Telefon"


def csv_roster(*lines: str, encoding: str = "utf-8") -> Roster:
    return parse_roster(read_table("\n".join(lines).encode(encoding), file_type="csv"))


def xlsx_bytes(rows: Sequence[Sequence[object]], *, sheet: str = "Deltagare") -> bytes:
    """A workbook whose sheet holds these rows; a str starting with '=' becomes a formula."""
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_roster(rows: Sequence[Sequence[object]], *, sheet: str = "Deltagare") -> Roster:
    return parse_roster(read_table(xlsx_bytes(rows, sheet=sheet), file_type="xlsx"))


def problems_of(roster: Roster) -> list[tuple[str, str]]:
    return [(f.problem.location, f.problem.message) for f in roster.problems]


def refused(*lines: str) -> list[tuple[str, str]]:
    with pytest.raises(FileRejectedError) as caught:
        csv_roster(*lines)
    return [(p.location, p.message) for p in caught.value.problems]


# -- headers ----------------------------------------------------------------------------------


def test_headers_match_whatever_the_case_spacing_diacritics_or_notes() -> None:
    assert header_key("E-post") == header_key("e post") == header_key("EPOST") == "epost"
    assert header_key("Län") == header_key("lan")
    assert header_key("Organisation-id (ref)") == header_key("organisation id")

    roster = csv_roster(
        "ORGANISATION;namn ;ROLL;e post;Lan;Deltagar-ID (om ni har);Roll i programmet",
        "Askersunds kommun;Jonas Berg;politiker;jonas@askersund.example;Örebro län;p04;Mentor",
    )

    assert roster.columns == {
        Col.ORGANISATION,
        Col.NAME,
        Col.ROLE,
        Col.EMAIL,
        Col.COUNTY,
        Col.PARTICIPANT_REF,
        Col.PROGRAMME_ROLE,
    }
    assert roster.organisations[0].fields[Col.COUNTY] == "Örebro län"
    assert roster.organisations[0].fields[Col.PROGRAMME_ROLE] == "mentor"
    assert roster.participants[0].ref == "p04"


def test_english_headers_are_accepted_too() -> None:
    roster = csv_roster(
        "Organization,Name,Role,Email,Phone,Title,Group,County",
        "Kalmar kommun,Ulf Persson,politician,ulf@kalmar.example,0480-450000,kommunalråd,G2,"
        "Kalmar län",
    )

    assert roster.participants[0].fields[Col.ROLE] == "politiker"
    assert roster.organisations[0].fields[Col.GROUP] == "G2"


def test_the_header_row_is_found_below_a_title_within_the_first_ten_rows() -> None:
    roster = csv_roster(
        "Deltagarlista Modellkommuner 2019",
        "",
        HEADER,
        "Askersunds kommun;Jonas Berg;politiker;;",
    )

    assert [p.row for p in roster.participants] == [4]


def test_no_header_in_the_first_ten_rows_refuses_the_file() -> None:
    lines = ["bara text"] * 10 + [HEADER, "Askersunds kommun;Jonas Berg;politiker;;"]

    problems = refused(*lines)

    assert len(problems) == 1
    assert problems[0][0] == "file"
    assert "no header row in the first 10 rows" in problems[0][1]


def test_a_missing_required_column_is_named_with_the_headers_it_accepts() -> None:
    problems = refused("Organisation;Namn;E-post", "Askersunds kommun;Jonas Berg;j@a.example")

    assert problems == [
        (
            "row 1",
            "the column 'Roll' is missing (also accepted: Deltagarroll, Roll i delegationen, Role)",
        )
    ]


def test_unknown_columns_are_warned_about_and_not_read() -> None:
    roster = csv_roster(
        "Organisation;Namn;Roll;Kommentar",
        "Askersunds kommun;Jonas Berg;politiker;ring efter lunch",
    )

    assert roster.problems == ()
    assert [(w.problem.location, w.problem.message) for w in roster.warnings] == [
        ("row 1: column 'Kommentar'", "column 'Kommentar' is not a roster column; it is not read")
    ]


def test_two_columns_for_the_same_field_are_refused() -> None:
    problems = refused("Organisation;Namn;Roll;E-post;Mejl", "Askersunds kommun;Jonas;chef;;")

    assert problems == [
        (
            "row 1: column 'Mejl'",
            "column 'Mejl' holds the same field as row 1: column 'E-post'; keep one",
        )
    ]


def test_first_and_last_name_columns_make_the_name() -> None:
    roster = csv_roster("Organisation;Förnamn;Efternamn;Roll", "Askersunds kommun;Jonas;Berg;chef")

    assert roster.participants[0].name == "Jonas Berg"


# -- CSV dialects and encodings ---------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    roster = csv_roster(
        delimiter.join(["Organisation", "Namn", "Roll", "Titel"]),
        delimiter.join(["Askersunds kommun", "Jonas Berg", "politiker", '"kommunalråd; KS"']),
    )

    assert roster.participants[0].fields[Col.TITLE] == "kommunalråd; KS"
    assert roster.problems == ()


@pytest.mark.parametrize(
    ("prefix", "encoding", "described"),
    [
        (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
        (b"", "utf-8", "UTF-8"),
        (b"", "cp1252", "Windows-1252"),
    ],
)
def test_utf8_with_or_without_bom_and_windows_1252_read_the_same(
    prefix: bytes, encoding: str, described: str
) -> None:
    text = "Organisation;Län;Namn;Roll\nÖstra Göinge kommun;Skåne län;Åsa Öberg;kommunikatör\n"

    roster = parse_roster(read_table(prefix + text.encode(encoding), file_type="csv"))

    assert described in roster.description
    assert roster.organisations[0].name == "Östra Göinge kommun"
    assert roster.participants[0].name == "Åsa Öberg"
    assert roster.participants[0].fields[Col.ROLE] == "kommunikatör"


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused() -> None:
    with pytest.raises(FileRejectedError) as caught:
        read_table(b"Organisation;Namn;Roll\n\x81\x8d;x;chef\n", file_type="csv")

    assert caught.value.reason == RejectionReason.CORRUPT
    assert caught.value.problems[0].location == "file"


def test_a_quoted_field_may_hold_newlines_and_rows_count_as_excel_shows_them() -> None:
    roster = csv_roster(
        "Organisation;Namn;Roll;Titel",
        'Askersunds kommun;Jonas Berg;politiker;"kommunalråd,\nordförande KS"',
        "Askersunds kommun;Maria Sandberg;chef;socialchef",
    )

    assert [p.row for p in roster.participants] == [2, 3]
    assert roster.participants[0].fields[Col.TITLE] == "kommunalråd, ordförande KS"


def test_text_that_looks_like_a_formula_is_kept_verbatim() -> None:
    roster = csv_roster(
        "Organisation;Namn;Roll;Titel;Telefon",
        "Askersunds kommun;=cmd|' /C calc'!A0;chef;=HYPERLINK(\"http://x\");+46 70 123 45 67",
        "Askersunds kommun;@handle;chef;-;+46701234567",
    )

    first, second = roster.participants
    assert roster.problems == ()
    assert first.name == "=cmd|' /C calc'!A0"
    assert first.fields[Col.TITLE] == '=HYPERLINK("http://x")'
    assert first.fields[Col.PHONE] == "+46 70 123 45 67"
    assert second.name == "@handle"
    assert second.fields[Col.TITLE] == "-"


def test_aao_and_emoji_survive_and_decomposed_letters_are_composed() -> None:
    decomposed = "A\u030asa O\u0308berg"  # as a Mac may write "Åsa Öberg"

    roster = csv_roster("Organisation;Namn;Roll", f"Älvdalens kommun 🌲;{decomposed} 🎉;chef")

    assert roster.organisations[0].name == "Älvdalens kommun 🌲"
    assert roster.participants[0].name == "Åsa Öberg 🎉"


# -- cell rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Kommunikatör", "kommunikatör"),
        ("kommunikator", "kommunikatör"),
        ("POLITIKER", "politiker"),
        ("Förtroendevald", "politiker"),
        ("Övrig", "övrig"),
        ("manager", "chef"),
    ],
)
def test_role_spellings(typed: str, stored: str) -> None:
    roster = csv_roster("Organisation;Namn;Roll", f"Askersunds kommun;Jonas Berg;{typed}")

    assert roster.participants[0].fields[Col.ROLE] == stored
    assert roster.warnings == ()


def test_a_role_with_a_note_in_brackets_is_read_and_the_note_is_warned_about() -> None:
    roster = csv_roster("Organisation;Namn;Roll", "Askersunds kommun;Jonas;Politiker (ordförande)")

    assert roster.participants[0].fields[Col.ROLE] == "politiker"
    assert [w.problem.location for w in roster.warnings] == ["row 2: column 'Roll'"]
    assert "(ordförande) is not stored" in roster.warnings[0].problem.message


def test_every_bad_cell_is_reported_with_its_row_and_column() -> None:
    roster = csv_roster(
        "Organisation;Namn;Roll;E-post;Telefon;Organisation-id",
        "Askersunds kommun;Jonas Berg;kung;anna@;+46 70 123 45 67;askersund",
        "Askersunds kommun;;chef;maria@askersund.example;ring mig;askersund",
        ";Eva Nordin;chef;;;",
        "Fagersta kommun;Anders Lund;chef;;;fagersta kommun",
        f"Fagersta kommun;{'x' * 301};chef;;;",
    )

    assert problems_of(roster) == [
        (
            "row 2: column 'Roll'",
            "'kung' is not a role: use one of politiker, chef, strateg, controller, "
            "statistiker, kommunikatör, övrig",
        ),
        ("row 2: column 'E-post'", "'anna@' is not an e-mail address"),
        ("row 3: column 'Namn'", "the participant's name is empty"),
        ("row 3: column 'Telefon'", "'ring mig' is not a phone number (6–15 digits, optionally +)"),
        (
            "row 4: column 'Organisation'",
            "the organisation's name is empty (fill it on every row; merged cells count on "
            "their first row only)",
        ),
        (
            "row 5: column 'Organisation-id'",
            "'fagersta kommun' is not an id: use letters a–z, digits and _ . - only",
        ),
        ("row 6: column 'Namn'", "is 301 characters long; at most 300 fit"),
    ]


def test_a_row_with_only_organisation_columns_is_an_organisation_without_participant() -> None:
    roster = csv_roster("Organisation;Län;Namn;Roll", "Lindesbergs kommun;Örebro län;;")

    assert [o.name for o in roster.organisations] == ["Lindesbergs kommun"]
    assert roster.participants == ()
    assert roster.problems == ()


def test_conflicting_organisation_fields_name_both_rows() -> None:
    roster = csv_roster(
        "Organisation-id;Organisation;Län;Namn;Roll",
        "askersund;Askersunds kommun;Örebro län;Jonas Berg;politiker",
        "askersund;Askersunds kommun;;Maria Sandberg;chef",  # blank: not stated, no conflict
        "askersund;Askersunds kommun;Dalarnas län;Sofia Lindqvist;strateg",
    )

    assert problems_of(roster) == [
        (
            "row 4: column 'Län'",
            "'Dalarnas län' differs from 'Örebro län' in row 2: column 'Län' for the same "
            "organisation",
        )
    ]


def test_rows_without_an_id_join_the_organisation_whose_id_another_row_gives() -> None:
    roster = csv_roster(
        "Organisation-id;Organisation;Namn;Roll",
        "askersund;Askersunds kommun;Jonas Berg;politiker",
        ";askersunds  KOMMUN;Maria Sandberg;chef",
    )

    assert [(o.key, o.rows) for o in roster.organisations] == [("askersund", (2, 3))]


def test_a_participant_twice_in_one_organisation_names_both_rows() -> None:
    roster = csv_roster(
        "Organisation;Namn;Roll;E-post",
        "Askersunds kommun;Jonas Berg;politiker;jonas@askersund.example",
        "Askersunds kommun;Jonas Berg;chef;",
        "Askersunds kommun;J. Berg;politiker;JONAS@askersund.example",
        "Fagersta kommun;Jonas Berg;chef;",  # another organisation: another person
    )

    assert problems_of(roster) == [
        (
            "row 4: column 'E-post'",
            "the same participant as row 2 (same e-mail address 'JONAS@askersund.example' in "
            "the same organisation)",
        )
    ]


def test_more_rows_than_the_limit_refuse_the_file() -> None:
    rows = ["Askersunds kommun;Person {i};chef" for i in range(MAX_ROWS + 1)]

    problems = refused("Organisation;Namn;Roll", *rows)

    assert problems == [("file", f"has more than {MAX_ROWS} rows of data; split it")]


def test_more_columns_than_the_limit_refuse_the_file() -> None:
    header = ";".join(["Organisation", "Namn", "Roll", *(f"Extra {i}" for i in range(60))])

    problems = refused(header, "Askersunds kommun;Jonas Berg;chef")

    assert ("row 1", "has 63 columns; at most 50") in problems


# -- xlsx -------------------------------------------------------------------------------------


def test_a_formula_cell_is_refused_with_its_cell_and_never_evaluated() -> None:
    with_formula = [
        ["Organisation", "Namn", "Roll"],
        ["Askersunds kommun", '=CONCATENATE("Jonas"," Berg")', "politiker"],
        ["Askersunds kommun", "Maria Sandberg", "=B2"],
    ]

    roster = xlsx_roster(with_formula)

    assert problems_of(roster) == [
        ("Deltagare!B2", 'a formula (\'=CONCATENATE("Jonas"," Berg")\'); type the value instead'),
        ("Deltagare!C3", "a formula ('=B2'); type the value instead"),
    ]


def test_numbers_and_dates_excel_typed_into_text_columns_become_text() -> None:
    roster = xlsx_roster(
        [
            ["Organisation", "Namn", "Roll", "Telefon", "Titel", "Deltagar-id"],
            ["Askersunds kommun", "Jonas Berg", "politiker", 46701234567, dt.date(2019, 11, 28), 7],
            ["Askersunds kommun", "Maria Sandberg", "chef", 701234567, None, 8.0],
        ]
    )

    jonas, maria = roster.participants
    assert jonas.fields[Col.PHONE] == "+46701234567"
    assert maria.fields[Col.PHONE] == "0701234567"
    assert jonas.fields[Col.TITLE] == "2019-11-28"
    assert (jonas.ref, maria.ref) == ("7", "8")
    assert [w.problem.location for w in roster.warnings] == [
        "Deltagare!D2",
        "Deltagare!E2",
        "Deltagare!D3",
    ]


def test_the_sheet_named_deltagare_is_read_and_others_are_mentioned() -> None:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Instruktion"
    first.append(["Organisation", "Namn", "Roll"])
    first.append(["Fel kommun", "Fel person", "chef"])
    roster_sheet = workbook.create_sheet("Deltagare")
    roster_sheet.append(["Organisation", "Namn", "Roll"])
    roster_sheet.append(["Askersunds kommun", "Jonas Berg", "politiker"])
    out = io.BytesIO()
    workbook.save(out)

    roster = parse_roster(read_table(out.getvalue(), file_type="xlsx"))

    assert [p.name for p in roster.participants] == ["Jonas Berg"]
    assert roster.warnings[0].problem.location == "file"
    assert "'Instruktion'" in roster.warnings[0].problem.message


def test_a_sheet_name_with_spaces_is_quoted_in_places() -> None:
    roster = xlsx_roster(
        [["Organisation", "Namn", "Roll"], ["Askersunds kommun", "Jonas", "kung"]],
        sheet="Min lista",
    )

    assert problems_of(roster)[0][0] == "'Min lista'!C2"


def test_blank_rows_between_data_keep_the_row_numbers_of_the_sheet() -> None:
    roster = xlsx_roster(
        [
            ["Organisation", "Namn", "Roll"],
            ["Askersunds kommun", "Jonas Berg", "politiker"],
            [],
            [],
            ["Askersunds kommun", "Maria Sandberg", "kung"],
        ]
    )

    assert problems_of(roster)[0][0] == "Deltagare!C5"


def test_an_error_value_is_refused_with_its_cell() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Deltagare"
    sheet.append(["Organisation", "Namn", "Roll", "E-post"])
    sheet.append(["Askersunds kommun", "Jonas Berg", "politiker", "#N/A"])
    sheet["D2"].data_type = "e"
    out = io.BytesIO()
    workbook.save(out)

    roster = parse_roster(read_table(out.getvalue(), file_type="xlsx"))

    assert problems_of(roster) == [
        ("Deltagare!D2", "an error value '#N/A'; type the value instead")
    ]


def test_a_workbook_whose_sheet_is_broken_xml_is_refused_as_corrupt() -> None:
    whole = xlsx_bytes([["Organisation", "Namn", "Roll"], ["Askersunds kommun", "Jonas", "chef"]])
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(whole)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]  # cut off in the middle of a row
            target.writestr(item, content)

    with pytest.raises(FileRejectedError) as caught:
        parse_roster(read_table(broken.getvalue(), file_type="xlsx"))

    assert caught.value.reason == RejectionReason.CORRUPT
    assert caught.value.problems[0].location == "file"


def test_a_broken_workbook_is_refused_as_corrupt() -> None:
    with pytest.raises(FileRejectedError) as caught:
        read_table(b"PK\x03\x04 not really a zip", file_type="xlsx")

    assert caught.value.reason == RejectionReason.CORRUPT
