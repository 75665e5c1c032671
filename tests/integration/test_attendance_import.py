"""An attendance list from a spreadsheet, held to the roster's rules; and the CLI of issue 10.

Hostile input: a broken file, formulas, control characters, åäö and emoji, a row naming
nobody (named by its row). Each refusal stores nothing.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select, update

from service.api.app import create_app
from service.cli.local_cluster import settings_environment
from service.database import models as m
from service.database.session import unit_of_work
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.task_queue import MAIL_QUEUE
from tests.conftest import CHILD_TIMEOUT, TEST_API_KEY, RecordingQueue

pytestmark = pytest.mark.integration

API = "/api/v1"
ORGANISER = {"X-API-Key": TEST_API_KEY}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(sample_imported: Settings) -> Iterator[tuple[Runtime, TestClient, int]]:
    runtime = build_runtime(sample_imported, queue=RecordingQueue())
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
    with TestClient(create_app(runtime)) as client:
        yield runtime, client, meeting_id
    runtime.close()


def workbook(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Närvaro"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send(client: TestClient, meeting_id: int, data: bytes, name: str = "närvaro.xlsx") -> object:
    kind = XLSX if name.endswith("xlsx") else "text/csv"
    return client.post(
        f"{API}/meetings/{meeting_id}/attendance/import",
        files={"file": (name, data, kind)},
        headers=ORGANISER,
    )


def stored(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    with runtime.sessions() as session:
        return [
            (row.participant.name, row.status.value, row.special_needs)
            for row in session.scalars(select(m.Attendance).order_by(m.Attendance.id))
        ]


HEADER = ["Namn", "Organisation", "E-post", "Status", "Särskilda behov"]


def test_an_attendance_list_records_who_came(world: tuple[Runtime, TestClient, int]) -> None:
    runtime, client, meeting_id = world
    data = workbook(
        ["Närvarolista Benchmarking 2"],
        HEADER,
        ["Jonas Berg", "Askersunds kommun", None, "Deltog", None],
        ["sofia lindqvist", "Askersund", None, "deltog", "Vegetarisk kost 🌱"],
        [None, None, "maria.sandberg@askersund.example", "Förhinder", None],
        [None, None, None, None, None],
        ["Leila Haddad", None, None, "anmäld", "Hörslinga"],
    )

    response = send(client, meeting_id, data)

    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.json()["counts"] == {"anmäld": 1, "deltog": 2, "förhinder": 1}  # type: ignore[attr-defined]
    assert stored(runtime) == [
        ("Jonas Berg", "deltog", None),
        ("Sofia Lindqvist", "deltog", "Vegetarisk kost 🌱"),
        ("Maria Sandberg", "förhinder", None),
        ("Leila Haddad", "anmäld", "Hörslinga"),
    ]


def test_a_csv_list_without_status_means_everyone_listed_came(
    world: tuple[Runtime, TestClient, int],
) -> None:
    runtime, client, meeting_id = world
    text = "Namn;Organisation\nJohanna Åberg;Norrtälje kommun\nKarin Ek;Hedemora kommun\n"

    response = send(client, meeting_id, text.encode("utf-8"), "narvaro.csv")

    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert stored(runtime) == [("Johanna Åberg", "deltog", None), ("Karin Ek", "deltog", None)]


@pytest.mark.parametrize(
    ("rows", "where", "message"),
    [
        (
            [HEADER, ["Okänd Person", "Askersunds kommun", None, "deltog", None]],
            "Närvaro row 2",
            "no participant 'Okänd Person' in the meeting's network",
        ),
        (
            [HEADER, ['=HYPERLINK("http://evil.example")', None, None, "deltog", None]],
            "Närvaro!A2",
            "a formula; type the value instead",
        ),
        (
            [HEADER, ["Jonas Berg", None, None, "kanske", None]],
            "Närvaro!D2",
            "'kanske' is not a status: use deltog, anmäld or förhinder",
        ),
        (
            [
                HEADER,
                ["Jonas Berg", None, None, "deltog", None],
                ["Jonas Berg", None, None, None, None],
            ],
            "Närvaro row 3",
            "Jonas Berg is already listed on row 2",
        ),
    ],
)
def test_a_bad_row_is_refused_by_its_place_and_nothing_is_stored(
    world: tuple[Runtime, TestClient, int], rows: list[list[object]], where: str, message: str
) -> None:
    runtime, client, meeting_id = world

    response = send(client, meeting_id, workbook(*rows))

    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    errors = response.json()["errors"]  # type: ignore[attr-defined]
    assert [e["path"] for e in errors] == [where]
    assert message in errors[0]["message"]
    assert stored(runtime) == []


def test_a_control_character_is_refused_with_its_row_and_column(
    world: tuple[Runtime, TestClient, int],
) -> None:
    runtime, client, meeting_id = world
    text = "Namn;Särskilda behov\nJonas Berg;Hörslinga\x07\n"

    response = send(client, meeting_id, text.encode("utf-8"), "narvaro.csv")

    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert "U+0007" in response.text  # type: ignore[attr-defined]
    assert "line 2" in response.text  # type: ignore[attr-defined]  (the upload gate refuses it)
    assert stored(runtime) == []


def test_a_broken_or_foreign_file_is_refused_and_nothing_is_stored(
    world: tuple[Runtime, TestClient, int],
) -> None:
    runtime, client, meeting_id = world
    broken = workbook(HEADER)[:400]

    truncated = send(client, meeting_id, broken)
    pdf = send(client, meeting_id, b"%PDF-1.4 not a list", "närvaro.xlsx")
    empty = send(client, meeting_id, b"", "närvaro.csv")
    headless = send(client, meeting_id, b"a;b\n1;2\n", "närvaro.csv")

    assert truncated.status_code in (415, 422)  # type: ignore[attr-defined]
    assert pdf.status_code == 415  # type: ignore[attr-defined]
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert headless.status_code == 422  # type: ignore[attr-defined]
    assert "no heading row with a Namn" in headless.text  # type: ignore[attr-defined]
    assert stored(runtime) == []


# -- the CLI -----------------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
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


def test_generate_prints_the_missing_facts_and_refuses_without_allow_placeholders(
    sample_imported: Settings,
) -> None:
    runtime = build_runtime(sample_imported, queue=RecordingQueue())
    with unit_of_work(runtime.sessions) as session:
        session.execute(update(m.Meeting).where(m.Meeting.ref == "bm2").values(venue_address=None))
    runtime.close()

    preflight = run_cli(sample_imported, "preflight", "--meeting", "bm2")
    generate = run_cli(sample_imported, "generate", "--meeting", "bm2", "--kind", "agenda")

    assert preflight.returncode == 2
    assert "agenda: would print [Fyll i besöksadress]; enter meeting venue_address" in (
        preflight.stderr
    )
    assert "organisation_agenda of Askersunds kommun: would print [Fyll i besöksadress]" in (
        preflight.stderr
    )
    assert generate.returncode == 2, generate.stdout
    assert "agenda: would print [Fyll i besöksadress]" in generate.stderr
    assert "--allow-placeholders" in generate.stderr
    assert "queued" not in generate.stdout


def test_the_letter_commands_edit_list_and_release(
    sample_imported: Settings, broker_url: str
) -> None:
    # Releasing hands "your letter is ready" to the workers: through the tests' own broker.
    sample_imported = sample_imported.model_copy(update={"redis_url": broker_url})
    release_early = run_cli(
        sample_imported, "letters", "release", "--meeting", "bm2", "--organisation", "fagersta"
    )
    edit = run_cli(
        sample_imported,
        "letters",
        "edit",
        "--meeting",
        "bm2",
        "--organisation",
        "fagersta",
        "--noted",
        "Tydlig koppling mellan KKB och budget.",
        "--idea",
        "Kvalitetsgranska KKB",
    )
    release = run_cli(
        sample_imported, "letters", "release", "--meeting", "bm2", "--organisation", "fagersta"
    )
    listing = run_cli(sample_imported, "letters", "list", "--meeting", "bm2")

    assert release_early.returncode == 2
    assert "the letter's noted text" in release_early.stderr
    assert edit.returncode == 0, edit.stderr
    assert release.returncode == 0, release.stderr
    assert "released" in release.stdout
    assert "messages: 3 new" in release.stdout
    assert redis.Redis.from_url(broker_url).llen(MAIL_QUEUE) == 3
    assert "Fagersta kommun" in listing.stdout
    assert listing.stdout.count("draft") == 7
