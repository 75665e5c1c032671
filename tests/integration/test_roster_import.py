"""A roster spreadsheet against the sample network: preview, apply, refuse, over the real API."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from service.api.app import create_app
from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.cli.local_cluster import settings_environment
from service.database import models as m
from service.domain.kinds import DocumentKind
from service.intake.sample import SAMPLE_NETWORK_REF
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT, TEST_API_KEY, RecordingQueue

pytestmark = pytest.mark.integration

API = "/api/v1"
HEADER = [
    "Organisation",
    "Typ",
    "Län",
    "Roll i programmet",
    "Grupp",
    "Namn",
    "Roll",
    "Titel",
    "E-post",
]
ASKERSUND = ["Askersunds kommun", "kommun", "Örebro län", "benchmarkingorganisation", "G1"]
LINDESBERG = [
    "Lindesbergs kommun",
    "kommun",
    "Örebro län",
    "benchmarkingorganisation",
    "Grupp Bergslagen",
]
# Askersund as stored, but Maria Sandberg has a new e-mail address; Lindesberg is new.
ROSTER = [
    [*ASKERSUND, "Jonas Berg", "politiker", "kommunalråd", "jonas.berg@askersund.example"],
    [*ASKERSUND, "Maria Sandberg", "chef", "socialchef", "maria.sandberg@askersund.se"],
    [
        *ASKERSUND,
        "Sofia Lindqvist",
        "strateg",
        "utvecklingsstrateg, jämställdhet",
        "sofia.lindqvist@askersund.example",
    ],
    [
        *ASKERSUND,
        "Ahmed Karimi",
        "controller",
        "controller, ekonomiavdelningen",
        "ahmed.karimi@askersund.example",
    ],
    [
        *LINDESBERG,
        "Åsa Öberg",
        "Politiker",
        "kommunstyrelsens ordförande",
        "asa@lindesberg.example",
    ],
    [*LINDESBERG, "Nils Ärlig", "Chef", "kommundirektör", "nils.arlig@lindesberg.example"],
    [*LINDESBERG, "Amira Haddad", "Strateg", "jämställdhetsstrateg", "amira@lindesberg.example"],
]

Rows = Sequence[Sequence[object]]


# -- files ------------------------------------------------------------------------------------


def as_csv(rows: Rows, *, delimiter: str = ";", encoding: str = "utf-8-sig") -> bytes:
    """A CSV file as Excel saves one (Swedish Excel: ';' and a BOM, or Windows-1252)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([HEADER, *rows] if rows and rows[0] != HEADER else rows)
    return out.getvalue().encode(encoding)


def as_xlsx(rows: Rows, *, header: Sequence[str] = HEADER) -> bytes:
    """A workbook with the roster on a sheet named Deltagare (a str '=...' is a formula)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Deltagare"
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- API helpers ------------------------------------------------------------------------------


def network_id(client: TestClient) -> int:
    page = client.get(f"{API}/networks", params={"ref": SAMPLE_NETWORK_REF}).json()
    return int(page["items"][0]["id"])


def post_roster(
    client: TestClient,
    data: bytes,
    *,
    step: str = "preview",
    file_name: str = "deltagare.csv",
    network: int | None = None,
    **fields: str,
) -> Response:
    target = network if network is not None else network_id(client)
    return client.post(
        f"{API}/networks/{target}/roster/{step}",
        files={"file": (file_name, data, "application/octet-stream")},
        data=fields,
    )


def ok(response: Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def errors(response: Response) -> list[tuple[str, str]]:
    return [(e["path"], e["message"]) for e in response.json()["errors"]]


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


State = list[tuple[object, ...]]


def stored_state(client: TestClient) -> tuple[State, State]:
    """Every organisation and participant as stored, to compare before and after."""
    with runtime_of(client).sessions() as session:
        organisations: State = [
            (
                o.id,
                o.ref,
                o.name,
                o.type,
                o.county,
                o.programme_role,
                o.group_id,
                o.contact_participant_id,
            )
            for o in session.scalars(select(m.Organisation).order_by(m.Organisation.id))
        ]
        participants: State = [
            (p.id, p.organisation_id, p.ref, p.name, p.role, p.title, p.email, p.phone)
            for p in session.scalars(select(m.Participant).order_by(m.Participant.id))
        ]
    return organisations, participants


def organisation(client: TestClient, ref: str) -> dict[str, Any]:
    page = ok(client.get(f"{API}/networks/{network_id(client)}/organisations", params={"ref": ref}))
    assert page["total"] == 1, page
    found: dict[str, Any] = page["items"][0]
    return found


def participants(client: TestClient, ref: str) -> list[dict[str, Any]]:
    page = ok(client.get(f"{API}/organisations/{organisation(client, ref)['id']}/participants"))
    items: list[dict[str, Any]] = page["items"]
    return items


def group_id(client: TestClient, ref: str) -> int:
    page = ok(client.get(f"{API}/networks/{network_id(client)}/groups"))
    return next(int(g["id"]) for g in page["items"] if g["ref"] == ref)


def in_file(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in steps if s["action"] != "not_in_file"]


# -- preview and apply ------------------------------------------------------------------------


def test_preview_says_exactly_what_would_change_and_changes_nothing(
    imported_client: TestClient,
) -> None:
    client = imported_client
    before = stored_state(client)
    askersund = organisation(client, "askersund")
    people = {p["name"]: p["id"] for p in participants(client, "askersund")}

    plan = ok(post_roster(client, as_csv(ROSTER)))

    assert plan["applied"] is False
    assert plan["source"] == "CSV, UTF-8, delimiter ';'"
    assert in_file(plan["organisations"]) == [
        {
            "action": "unchanged",
            "ref": "askersund",
            "name": "Askersunds kommun",
            "id": askersund["id"],
            "rows": [2, 3, 4, 5],
            "changes": [],
        },
        {
            "action": "create",
            "ref": "lindesbergs-kommun",
            "name": "Lindesbergs kommun",
            "id": None,
            "rows": [6, 7, 8],
            "changes": [
                {"field": "name", "old": None, "new": "Lindesbergs kommun"},
                {"field": "type", "old": None, "new": "kommun"},
                {"field": "county", "old": None, "new": "Örebro län"},
                {"field": "programme_role", "old": None, "new": "benchmarkingorganisation"},
                {"field": "group", "old": None, "new": "G1"},
            ],
        },
    ]

    def unchanged(name: str, ref: str, row: int) -> dict[str, Any]:
        return {
            "action": "unchanged",
            "organisation_ref": "askersund",
            "ref": ref,
            "name": name,
            "id": people[name],
            "row": row,
            "matched_by": "email",
            "changes": [],
        }

    def created(name: str, ref: str, row: int, role: str, title: str, email: str) -> dict[str, Any]:
        return {
            "action": "create",
            "organisation_ref": "lindesbergs-kommun",
            "ref": ref,
            "name": name,
            "id": None,
            "row": row,
            "matched_by": None,
            "changes": [
                {"field": "name", "old": None, "new": name},
                {"field": "role", "old": None, "new": role},
                {"field": "title", "old": None, "new": title},
                {"field": "email", "old": None, "new": email},
            ],
        }

    assert plan["participants"] == [
        unchanged("Jonas Berg", "p04", 2),
        {
            "action": "update",
            "organisation_ref": "askersund",
            "ref": "p05",
            "name": "Maria Sandberg",
            "id": people["Maria Sandberg"],
            "row": 3,
            "matched_by": "name",
            "changes": [
                {
                    "field": "email",
                    "old": "maria.sandberg@askersund.example",
                    "new": "maria.sandberg@askersund.se",
                }
            ],
        },
        unchanged("Sofia Lindqvist", "p06", 4),
        unchanged("Ahmed Karimi", "p07", 5),
        created(
            "Åsa Öberg",
            "asa-oberg",
            6,
            "politiker",
            "kommunstyrelsens ordförande",
            "asa@lindesberg.example",
        ),
        created(
            "Nils Ärlig", "nils-arlig", 7, "chef", "kommundirektör", "nils.arlig@lindesberg.example"
        ),
        created(
            "Amira Haddad",
            "amira-haddad",
            8,
            "strateg",
            "jämställdhetsstrateg",
            "amira@lindesberg.example",
        ),
    ]
    assert plan["counts"] == {
        "organisations": {"create": 1, "update": 0, "unchanged": 1, "not_in_file": 7, "remove": 0},
        "participants": {"create": 3, "update": 1, "unchanged": 3, "not_in_file": 0, "remove": 0},
    }
    assert plan["warnings"] == []
    assert len(plan["digest"]) == 64
    assert stored_state(client) == before


def test_apply_stores_the_plan_and_a_second_apply_changes_nothing(
    imported_client: TestClient,
) -> None:
    client = imported_client
    roster = as_xlsx(ROSTER)
    preview = ok(post_roster(client, roster, file_name="deltagare.xlsx"))

    applied = ok(
        post_roster(
            client,
            roster,
            step="apply",
            file_name="deltagare.xlsx",
            expected_digest=preview["digest"],
        )
    )

    assert applied["applied"] is True
    assert applied["counts"] == preview["counts"]
    lindesberg = organisation(client, "lindesbergs-kommun")
    assert {k: lindesberg[k] for k in ("name", "type", "county", "programme_role", "group_id")} == {
        "name": "Lindesbergs kommun",
        "type": "kommun",
        "county": "Örebro län",
        "programme_role": "benchmarkingorganisation",
        "group_id": group_id(client, "G1"),
    }
    assert [
        (p["ref"], p["name"], p["role"], p["title"], p["email"], p["phone"])
        for p in participants(client, "lindesbergs-kommun")
    ] == [
        (
            "asa-oberg",
            "Åsa Öberg",
            "politiker",
            "kommunstyrelsens ordförande",
            "asa@lindesberg.example",
            None,
        ),
        (
            "nils-arlig",
            "Nils Ärlig",
            "chef",
            "kommundirektör",
            "nils.arlig@lindesberg.example",
            None,
        ),
        (
            "amira-haddad",
            "Amira Haddad",
            "strateg",
            "jämställdhetsstrateg",
            "amira@lindesberg.example",
            None,
        ),
    ]
    maria = next(p for p in participants(client, "askersund") if p["ref"] == "p05")
    assert maria["email"] == "maria.sandberg@askersund.se"

    again = ok(post_roster(client, roster, step="apply", file_name="deltagare.xlsx"))

    assert again["counts"]["organisations"] == {
        "create": 0,
        "update": 0,
        "unchanged": 2,
        "not_in_file": 7,
        "remove": 0,
    }
    assert again["counts"]["participants"] == {
        "create": 0,
        "update": 0,
        "unchanged": 7,
        "not_in_file": 0,
        "remove": 0,
    }


def test_every_file_form_gives_the_same_plan(imported_client: TestClient) -> None:
    files = {
        "utf-8 with BOM, ';'": (as_csv(ROSTER), "deltagare.csv"),
        "Windows-1252, ';'": (as_csv(ROSTER, encoding="cp1252"), "deltagare.csv"),
        "utf-8, ','": (as_csv(ROSTER, delimiter=",", encoding="utf-8"), "deltagare.csv"),
        "tab": (as_csv(ROSTER, delimiter="\t", encoding="utf-8"), "deltagare.csv"),
        "xlsx": (as_xlsx(ROSTER), "deltagare.xlsx"),
    }

    plans = {
        form: ok(post_roster(imported_client, data, file_name=name))
        for form, (data, name) in files.items()
    }

    digests = {form: plan["digest"] for form, plan in plans.items()}
    assert len(set(digests.values())) == 1, digests
    assert plans["Windows-1252, ';'"]["source"] == "CSV, Windows-1252, delimiter ';'"
    assert plans["xlsx"]["source"] == "sheet 'Deltagare'"
    names = [p["name"] for p in plans["Windows-1252, ';'"]["participants"]]
    assert "Åsa Öberg" in names and "Nils Ärlig" in names


def test_participants_missing_from_the_file_are_kept_unless_removal_is_asked_for(
    imported_client: TestClient,
) -> None:
    client = imported_client
    roster = as_csv(ROSTER[:2])  # Askersund with Jonas and Maria only
    sofia = next(p for p in participants(client, "askersund") if p["ref"] == "p06")
    assert organisation(client, "askersund")["contact_participant_id"] == sofia["id"]

    kept = ok(post_roster(client, roster))
    removing = ok(post_roster(client, roster, remove_missing="true"))

    assert [(p["ref"], p["action"]) for p in kept["participants"] if p["row"] is None] == [
        ("p06", "not_in_file"),
        ("p07", "not_in_file"),
    ]
    assert [(p["ref"], p["action"]) for p in removing["participants"] if p["row"] is None] == [
        ("p06", "remove"),
        ("p07", "remove"),
    ]
    assert removing["digest"] != kept["digest"]
    assert [w["message"] for w in removing["warnings"]] == [
        "participant 'p06' (Sofia Lindqvist) is removed and is the contact person of "
        "'askersund', which will have none",
        "participant 'p07' (Ahmed Karimi) is removed and is the owner of 1 improvement "
        "initiative and 1 plan activity, which will have none",
    ]

    ok(
        post_roster(
            client, roster, step="apply", remove_missing="true", expected_digest=removing["digest"]
        )
    )

    assert [p["ref"] for p in participants(client, "askersund")] == ["p04", "p05"]
    assert organisation(client, "askersund")["contact_participant_id"] is None


def test_apply_with_a_stale_digest_is_refused_and_stores_nothing(
    imported_client: TestClient,
) -> None:
    client = imported_client
    roster = as_csv(ROSTER)
    preview = ok(post_roster(client, roster))
    jonas = next(p for p in participants(client, "askersund") if p["ref"] == "p04")
    changed = client.patch(f"{API}/participants/{jonas['id']}", json={"title": "kommunråd"})
    assert changed.status_code == 200, changed.text
    before = stored_state(client)

    response = post_roster(client, roster, step="apply", expected_digest=preview["digest"])

    assert response.status_code == 409
    assert "preview again" in response.json()["detail"]
    assert stored_state(client) == before


def test_formula_like_text_is_stored_verbatim_and_stays_text_in_a_generated_checklist(
    imported_client: TestClient,
) -> None:
    client = imported_client
    evil = "=cmd|' /C calc'!A0"
    rows = [
        [
            evil,
            "kommun",
            "Örebro län",
            "",
            "G1",
            "+Anna Ek",
            "chef",
            '=HYPERLINK("http://x")',
            "anna@ek.example",
        ],
        [evil, "kommun", "Örebro län", "", "G1", evil, "politiker", "-", ""],
    ]

    ok(post_roster(client, as_csv(rows), step="apply"))

    stored = organisation(client, "cmd-c-calc-a0")
    assert stored["name"] == evil
    assert {(p["name"], p["title"]) for p in participants(client, "cmd-c-calc-a0")} == {
        ("+Anna Ek", '=HYPERLINK("http://x")'),
        (evil, "-"),
    }
    runtime = runtime_of(client)
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
    maker = DocumentMaker(
        sessions=runtime.sessions, templates=TemplateLibrary(runtime.settings.templates_dir)
    )
    made = maker.make(DocumentKind.CHECKLIST, meeting_id=meeting_id, organisation_id=stored["id"])
    workbook = load_workbook(io.BytesIO(made.data), data_only=False)
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    holding = [c for c in cells if isinstance(c.value, str) and "cmd|" in c.value]
    assert [c for c in holding if c.value == evil], "the organisation's name is in the checklist"
    assert all(c.data_type == "s" for c in holding), [(c.coordinate, c.data_type) for c in holding]


def test_aao_and_emoji_round_trip(imported_client: TestClient) -> None:
    rows = [[*LINDESBERG[:4], "", "Åsa Öberg 🎉", "kommunikatör", "Ärendehandläggare ✨", ""]]

    ok(post_roster(imported_client, as_csv(rows), step="apply"))

    (person,) = participants(imported_client, "lindesbergs-kommun")
    assert (person["name"], person["role"], person["title"]) == (
        "Åsa Öberg 🎉",
        "kommunikatör",
        "Ärendehandläggare ✨",
    )


# -- refusals ---------------------------------------------------------------------------------


def test_every_bad_row_is_listed_and_nothing_is_stored(imported_client: TestClient) -> None:
    client = imported_client
    rows = [
        [*ASKERSUND, "Jonas Berg", "politiker", "kommunalråd", "anna@"],
        [*LINDESBERG, "Åsa Öberg", "ordförande", "", ""],
        [*LINDESBERG[:4], "G7", "Nils Ärlig", "chef", "", ""],
        ["", "kommun", "", "", "", "Eva Ek", "chef", "", ""],
        [*LINDESBERG, "Bo Ek", "chef", "", "bo@lindesberg.example"],
        [*LINDESBERG, "Bo Ek", "strateg", "", "BO@lindesberg.example"],
        [*ASKERSUND[:1], "region", *ASKERSUND[2:], "Ny Person", "chef", "", ""],
    ]
    before = stored_state(client)

    response = post_roster(client, as_csv(rows))

    assert response.status_code == 422
    assert response.json()["detail"] == "the file was refused (content)"
    assert errors(response) == [
        ("row 2: column 'E-post'", "'anna@' is not an e-mail address"),
        (
            "row 3: column 'Roll'",
            "'ordförande' is not a role: use one of politiker, chef, strateg, controller, "
            "statistiker, kommunikatör, övrig",
        ),
        (
            "row 4: column 'Grupp'",
            "'G7' differs from 'Grupp Bergslagen' in row 3: column 'Grupp' for the same "
            "organisation",
        ),
        (
            "row 5: column 'Organisation'",
            "the organisation's name is empty (fill it on every row; merged cells count on "
            "their first row only)",
        ),
        (
            "row 7: column 'E-post'",
            "the same participant as row 6 (same e-mail address 'BO@lindesberg.example' in "
            "the same organisation)",
        ),
        (
            "row 8: column 'Typ'",
            "'region' differs from 'kommun' in row 2: column 'Typ' for the same organisation",
        ),
    ]
    assert stored_state(client) == before


def test_a_control_character_in_a_csv_is_refused_with_its_line(
    imported_client: TestClient,
) -> None:
    """The file-safety gate refuses it before the roster is read; nothing is stored."""
    client = imported_client
    before = stored_state(client)

    response = post_roster(client, as_csv([[*LINDESBERG, "Amira\x0bHaddad", "strateg", "", ""]]))

    assert response.status_code == 422
    assert response.json()["detail"] == "the file was refused (corrupt)"
    assert "U+000B" in response.json()["errors"][0]["message"]
    assert stored_state(client) == before


def test_two_rows_for_one_stored_participant_are_refused(imported_client: TestClient) -> None:
    header = ["Organisation-id", "Organisation", "Deltagar-id", "Namn", "Roll", "E-post"]
    rows = [
        ["askersund", "Askersunds kommun", "p04", "Jonas Berg", "politiker", ""],
        [
            "askersund",
            "Askersunds kommun",
            "",
            "J. Berg",
            "politiker",
            "jonas.berg@askersund.example",
        ],
    ]

    response = post_roster(imported_client, as_xlsx(rows, header=header), file_name="r.xlsx")

    assert response.status_code == 422
    assert errors(response) == [
        ("Deltagare!F3", "the same stored participant 'p04' (Jonas Berg) as row 2")
    ]


def test_an_address_known_in_another_organisation_makes_a_new_participant_with_a_warning(
    imported_client: TestClient,
) -> None:
    rows = [[*LINDESBERG, "Jonas Berg", "politiker", "", "jonas.berg@askersund.example"]]

    plan = ok(post_roster(imported_client, as_csv(rows)))

    assert [(p["action"], p["organisation_ref"]) for p in plan["participants"]] == [
        ("create", "lindesbergs-kommun")
    ]
    assert plan["warnings"] == [
        {
            "path": "row 2: column 'E-post'",
            "message": "is also the e-mail address of 'Jonas Berg' (p04) of organisation "
            "'askersund'; a new participant is made here",
        }
    ]


def test_an_unknown_group_is_named_with_the_groups_there_are(imported_client: TestClient) -> None:
    rows = [[*LINDESBERG[:4], "Grupp Norr", "Åsa Öberg", "chef", "", ""]]

    response = post_roster(imported_client, as_xlsx(rows), file_name="deltagare.xlsx")

    assert response.status_code == 422
    assert errors(response) == [
        (
            "Deltagare!E2",
            "unknown group 'Grupp Norr'; network 'mkmr_2019_exempel' has the groups "
            "G1 (Grupp Bergslagen), G2 (Grupp Stockholm–Kalmar), G3 (Grupp Regional utveckling)",
        )
    ]


def test_a_formula_cell_is_refused_with_its_cell(imported_client: TestClient) -> None:
    client = imported_client
    rows = [
        [*ASKERSUND, "Jonas Berg", "politiker", "kommunalråd", "jonas.berg@askersund.example"],
        [*ASKERSUND, '="Maria "&"Sandberg"', "chef", "socialchef", "maria@askersund.example"],
    ]
    before = stored_state(client)

    response = post_roster(client, as_xlsx(rows), step="apply", file_name="deltagare.xlsx")

    assert response.status_code == 422
    assert errors(response) == [
        ("Deltagare!F3", 'a formula (\'="Maria "&"Sandberg"\'); type the value instead')
    ]
    assert stored_state(client) == before


@pytest.fixture
def small_upload_client(
    sample_imported: Settings, recording_queue: RecordingQueue
) -> Iterator[TestClient]:
    """The API with a 4 kB upload limit, on a database holding the sample programme."""
    settings = sample_imported.model_copy(update={"max_upload_bytes": 4096})
    runtime = build_runtime(settings, queue=recording_queue)
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        yield client


def test_an_oversized_file_is_refused_with_413_and_nothing_is_stored(
    small_upload_client: TestClient,
) -> None:
    client = small_upload_client
    big = as_csv(ROSTER * 20)
    assert len(big) > 4096
    before = stored_state(client)

    response = post_roster(client, big, step="apply")

    assert response.status_code == 413
    assert errors(response) == [
        (
            "file",
            "the file is more than the upload limit of 4.1 kB: make it smaller "
            "(compress its pictures, say) and upload again",
        )
    ]
    assert stored_state(client) == before


def test_an_oversized_body_without_a_declared_length_is_cut_off(
    small_upload_client: TestClient,
) -> None:
    client = small_upload_client
    boundary = "roster-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * 200_000
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = client.post(
        f"{API}/networks/{network_id(client)}/roster/apply",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 413


def test_requests_without_a_file_for_a_missing_network_or_without_the_key(
    imported_client: TestClient,
) -> None:
    client = imported_client
    roster = as_csv(ROSTER)

    missing_file = client.post(
        f"{API}/networks/{network_id(client)}/roster/preview",
        files={"bilaga": ("r.csv", roster)},
        data={"remove_missing": "true"},
    )
    not_multipart = client.post(
        f"{API}/networks/{network_id(client)}/roster/preview",
        content=roster,
        headers={"Content-Type": "text/csv"},
    )
    missing_network = post_roster(client, roster, network=999_999)
    bad_fields = post_roster(
        client, roster, step="apply", remove_missing="kanske", expected_digest="abc"
    )
    without_key = client.post(
        f"{API}/networks/{network_id(client)}/roster/preview",
        files={"file": ("r.csv", roster)},
        headers={"X-API-Key": "wrong"},
    )

    assert missing_file.status_code == 422
    assert errors(missing_file) == [("$.file", "is required: the roster file")]
    assert not_multipart.status_code == 415
    assert missing_network.status_code == 404
    assert bad_fields.status_code == 422
    assert errors(bad_fields) == [
        ("$.remove_missing", "'kanske' is not true or false"),
        ("$.expected_digest", "is not a digest from a preview"),
    ]
    assert without_key.status_code == 401


# -- the command ------------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "COLUMNS": "200",
        **settings_environment(settings),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


@pytest.fixture
def sample_settings(sample_imported: Settings) -> Settings:
    return sample_imported


def organisation_refs(settings: Settings) -> list[str]:
    runtime = build_runtime(settings)
    try:
        with runtime.sessions() as session:
            return list(session.scalars(select(m.Organisation.ref).order_by(m.Organisation.id)))
    finally:
        runtime.close()


def test_the_command_previews_then_applies(sample_settings: Settings, tmp_path: Path) -> None:
    file = tmp_path / "deltagare.csv"
    file.write_bytes(as_csv(ROSTER))
    before = organisation_refs(sample_settings)

    preview = run_cli(sample_settings, "roster", str(file), "--network", SAMPLE_NETWORK_REF)

    assert preview.returncode == 0, preview.stderr
    assert "lindesbergs-kommun" in preview.stdout
    assert "participants: 3 create, 1 update, 3 unchanged" in preview.stdout
    assert "preview only, nothing was changed" in preview.stdout
    assert organisation_refs(sample_settings) == before
    digest = preview.stdout.split("digest: ")[1].split()[0]

    applied = run_cli(
        sample_settings,
        "roster",
        str(file),
        "--network",
        SAMPLE_NETWORK_REF,
        "--apply",
        "--expected-digest",
        digest,
    )

    assert applied.returncode == 0, applied.stderr
    assert "applied" in applied.stdout
    assert organisation_refs(sample_settings) == [*before, "lindesbergs-kommun"]


def test_the_command_lists_every_bad_row_and_exits_2(
    sample_settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "deltagare.csv"
    file.write_bytes(
        as_csv(
            [
                [*LINDESBERG, "Åsa Öberg", "kung", "", ""],
                [*LINDESBERG, "Nils Ärlig", "chef", "", "nils@"],
            ]
        )
    )
    before = organisation_refs(sample_settings)

    result = run_cli(
        sample_settings, "roster", str(file), "--network", SAMPLE_NETWORK_REF, "--apply"
    )

    assert result.returncode == 2
    assert "nothing was stored" in result.stderr
    assert "row 2: column 'Roll': 'kung' is not a role" in result.stderr
    assert "row 3: column 'E-post': 'nils@' is not an e-mail address" in result.stderr
    assert organisation_refs(sample_settings) == before
