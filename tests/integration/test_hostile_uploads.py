"""Every file of the hostile corpus through every upload endpoint of the API, on both databases.

Each case goes to each endpoint that accepts one of its types (tests/hostile/README.md), sent
as a participant would send it: multipart ``file`` with the case's name, with a participant's
token for checklists and decks and the organiser's key for rosters (preview, then apply). A
hostile file must be refused with its reason's status and message at ``file`` and leave the
database and the file store exactly as they were; the API must then still answer /health and
take a valid upload. A benign file must pass the gate: it is stored, or its content is refused
for what it is (see BENIGN).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, text

from service.access.tokens import issue_token
from service.api.app import create_app
from service.database import models as m
from service.database.session import unit_of_work
from service.errors import RejectionReason
from service.file_safety.zip_guard import describe_size
from service.intake.sample import SAMPLE_MEETING_REF, SAMPLE_NETWORK_REF
from service.runtime import Runtime, build_runtime
from service.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_API_KEY, Databases, RecordingQueue, absent, settings_for
from tests.hostile.corpus import (
    HostileCase,
    endpoints_for,
    generated,
    hostile_cases,
)
from tests.swedish import english_in

pytestmark = pytest.mark.integration

API = "/api/v1"
ORGANISATION = "askersund"
ROSTER_EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "roster-example.csv"

# What the API answers for each refusal reason (service/api/app.py), written out on purpose.
STATUS = {
    RejectionReason.TOO_LARGE: 413,
    RejectionReason.ZIP_BOMB: 413,
    RejectionReason.WRONG_TYPE: 415,
    RejectionReason.MACROS: 415,
    RejectionReason.ENCRYPTED: 415,
    RejectionReason.EMPTY: 422,
    RejectionReason.CORRUPT: 422,
    RejectionReason.XML_ATTACK: 422,
    RejectionReason.CONTENT: 422,
}


@dataclass(frozen=True)
class Outcome:
    """What an endpoint does with a file: store it, or refuse it with a problem."""

    reason: RejectionReason | None  # None: accepted and stored (or planned, for a roster)
    location: str = "file"
    fragment: str = ""


ACCEPTED = Outcome(None)
NOT_A_ROSTER = Outcome(
    RejectionReason.CONTENT, "file", "no header row in the first 10 rows of the sheet 'Instruktion'"
)
# The corpus's CSV rows have no role column: decoded and read, then refused for that.
ROSTER_WITHOUT_ROLES = Outcome(RejectionReason.CONTENT, "row 1", "the column 'Roll' is missing")

# Benign files pass the gate; what each endpoint then does with their content.
BENIGN: dict[tuple[str, str], Outcome] = {
    ("template-checklist.xlsx", "checklist"): Outcome(
        RejectionReason.CONTENT, "file", "sheet '{{ current.tab }}' is for round"
    ),
    ("template-checklist.xlsx", "roster"): NOT_A_ROSTER,
    ("template-deck_benchmarking.pptx", "deck"): ACCEPTED,
    ("template-organiser_checklist.pptx", "deck"): ACCEPTED,
    ("generated-checklist", "checklist"): ACCEPTED,
    ("generated-checklist", "roster"): NOT_A_ROSTER,
    ("generated-deck-with-embedded-workbook", "deck"): ACCEPTED,
    ("deck-with-images", "deck"): ACCEPTED,
    ("libreoffice-resaved-xlsx", "checklist"): ACCEPTED,
    ("libreoffice-resaved-xlsx", "roster"): NOT_A_ROSTER,
    ("libreoffice-resaved-pptx", "deck"): ACCEPTED,
    ("csv-utf8-bom", "roster"): ROSTER_WITHOUT_ROLES,
    ("csv-aao-and-emoji", "roster"): ROSTER_WITHOUT_ROLES,
    ("csv-semicolons-windows-1252", "roster"): ROSTER_WITHOUT_ROLES,
    ("csv-utf16-with-bom", "roster"): ROSTER_WITHOUT_ROLES,
}


def size_refusal(max_bytes: int) -> Outcome:
    """Both entry points refuse an oversized file from its length, before the gate sees it."""
    limit = describe_size(max_bytes)
    return Outcome(RejectionReason.TOO_LARGE, "file", f"more than the upload limit of {limit}")


def expected_outcome(case: HostileCase, endpoint: str, *, max_upload_bytes: int) -> Outcome:
    """The outcome the case must have at the endpoint (API and CLI alike)."""
    if case.reason is None:
        return BENIGN[(case.id, endpoint)]
    if case.reason is RejectionReason.TOO_LARGE:
        return size_refusal(max_upload_bytes)
    return Outcome(case.reason, "file", case.message_fragment)


# Builders are lazy: listing the cases to parametrize builds nothing.
CASES = hostile_cases(Path())
RUNS = [(case.id, endpoint) for case in CASES for endpoint in endpoints_for(case)]
# The whole corpus on both databases takes about 35 s on two shared cores.
DATABASES_AND_RUNS = [
    pytest.param(database, case_id, endpoint, id=f"{database}-{case_id}-{endpoint}")
    for database in ("sqlite", "postgresql")
    for case_id, endpoint in RUNS
]


# -- what is stored ---------------------------------------------------------------------------

STORED_TABLES = ("upload", "score", "score_snapshot", "organisation", "participant")


@dataclass(frozen=True)
class Stored:
    """Every row of the tables an upload can touch, and every file in the store."""

    rows: dict[str, list[tuple[Any, ...]]]
    files: dict[str, str]


def stored(runtime: Runtime) -> Stored:
    """What the database and the file store hold now (plain SQL, every column)."""
    with runtime.engine.connect() as connection:
        rows = {
            table: [
                tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table in STORED_TABLES
        }
    root = runtime.settings.file_store_dir
    files = {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (root.rglob("*") if root.exists() else [])
        if path.is_file()
    }
    return Stored(rows=rows, files=files)


def new_uploads(before: Stored, after: Stored) -> list[tuple[Any, ...]]:
    """Upload rows that were not there before."""
    return [row for row in after.rows["upload"] if row not in before.rows["upload"]]


# -- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    """The API on one database holding the sample programme, with a participant's token."""

    runtime: Runtime
    organiser: TestClient
    participant: TestClient
    urls: dict[str, str]
    # The same participant without Accept-Language: answered in Swedish.
    swedish: TestClient


def start_server(settings: Settings) -> Server:
    """On a database holding the sample programme: issue Askersund a token, start the app."""
    runtime = build_runtime(settings, queue=RecordingQueue())
    with unit_of_work(runtime.sessions) as session:
        organisation_id = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == ORGANISATION)
        ).one()
        meeting_id = session.scalars(
            select(m.Meeting.id).where(m.Meeting.ref == SAMPLE_MEETING_REF)
        ).one()
        network_id = session.scalars(
            select(m.Network.id).where(m.Network.ref == SAMPLE_NETWORK_REF)
        ).one()
        token = issue_token(
            session,
            organisation_id=organisation_id,
            valid_for=dt.timedelta(days=30),
            label="delegationen i Askersund",
            now=dt.datetime.now(dt.UTC),
        ).token
    app = create_app(runtime)
    return Server(
        runtime=runtime,
        organiser=TestClient(app, headers={"X-API-Key": TEST_API_KEY}),
        # No organiser key here: it would win over the token.
        participant=TestClient(
            app, headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        ),
        urls={
            "checklist": f"{API}/organisations/{organisation_id}/checklist-uploads",
            "deck": f"{API}/organisations/{organisation_id}/meetings/{meeting_id}/deck",
            "roster-preview": f"{API}/networks/{network_id}/roster/preview",
            "roster-apply": f"{API}/networks/{network_id}/roster/apply",
        },
        swedish=TestClient(app, headers={"Authorization": f"Bearer {token}"}),
    )


class Servers:
    """One server per database, started on first use and shared by the module's tests."""

    def __init__(self, tmp_dir: Path, databases: Databases) -> None:
        self.tmp_dir = tmp_dir
        self.databases = databases
        self.started: dict[str, Server] = {}

    def get(self, backend: str) -> Server:
        if backend not in self.started:
            work_dir = self.tmp_dir / backend
            url = self.databases.create(backend, work_dir, start=self.databases.sample(backend))
            self.started[backend] = start_server(settings_for(url, work_dir / "files"))
        return self.started[backend]

    def close(self) -> None:
        for server in self.started.values():
            server.organiser.close()
            server.participant.close()
            server.swedish.close()
            server.runtime.close()
            self.databases.drop(server.runtime.settings.database_url)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, databases: Databases) -> Iterator[Servers]:
    found = Servers(tmp_path_factory.mktemp("hostile-api"), databases)
    yield found
    found.close()


def case_data(case: HostileCase) -> bytes:
    """The case's bytes, or a skip (a failure under CI) when its tool is missing."""
    if (missing := case.missing_tool()) is not None:
        absent(f"{case.id}: {missing}")
    return case.data()


# -- sending ---------------------------------------------------------------------------------


def send(server: Server, endpoint: str, file_name: str, data: bytes) -> Response:
    """The file as a participant's browser sends it (organiser's key for rosters)."""
    client = server.organiser if endpoint.startswith("roster") else server.participant
    return client.post(
        server.urls[endpoint], files={"file": (file_name, data, "application/octet-stream")}
    )


def routes_of(endpoint: str) -> list[str]:
    """A roster goes to preview and to apply; the others have one route."""
    return ["roster-preview", "roster-apply"] if endpoint == "roster" else [endpoint]


def problems(response: Response) -> list[tuple[str, str]]:
    return [(e["path"], e["message"]) for e in response.json().get("errors", [])]


def assert_refused(response: Response, expected: Outcome) -> None:
    """The status and detail of the reason, and a problem at the location with the fragment."""
    assert expected.reason is not None
    assert response.status_code == STATUS[expected.reason], response.text
    assert response.json()["detail"] == f"the file was refused ({expected.reason.value})"
    assert any(
        path == expected.location and expected.fragment in message
        for path, message in problems(response)
    ), response.text


def assert_still_serving(server: Server, endpoint: str) -> None:
    """/health answers and a valid file is taken right after the hostile one."""
    health = server.organiser.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    if endpoint == "checklist":
        valid = send(server, "checklist", "checklista.xlsx", generated("checklist"))
        assert valid.status_code == 201, valid.text
        assert valid.json()["scores_read"] > 0
    elif endpoint == "deck":
        valid = send(server, "deck", "presentation.pptx", generated("deck"))
        assert valid.status_code == 201, valid.text
    else:
        valid = send(server, "roster-preview", ROSTER_EXAMPLE.name, ROSTER_EXAMPLE.read_bytes())
        assert valid.status_code == 200, valid.text
        assert valid.json()["counts"]["participants"]["create"] > 0


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize(("database", "case_id", "endpoint"), DATABASES_AND_RUNS)
def test_every_upload_endpoint_gives_each_case_its_outcome_and_keeps_serving(
    servers: Servers,
    corpus: dict[str, HostileCase],
    database: str,
    case_id: str,
    endpoint: str,
) -> None:
    case = corpus[case_id]
    data = case_data(case)
    server = servers.get(database)
    expected = expected_outcome(
        case, endpoint, max_upload_bytes=server.runtime.settings.max_upload_bytes
    )

    for route in routes_of(endpoint):
        before = stored(server.runtime)

        response = send(server, route, case.file_name, data)

        after = stored(server.runtime)
        if expected.reason is not None:
            assert_refused(response, expected)
            assert after == before
        elif route == "roster-preview":
            assert response.status_code == 200, response.text
            assert after == before
        elif route == "roster-apply":
            assert response.status_code == 200, response.text
            assert response.json()["applied"] is True
        else:
            assert response.status_code == 201, response.text
            assert_stored_as_sent(server.runtime, before, after, data)
        assert_still_serving(server, endpoint)


def assert_stored_as_sent(runtime: Runtime, before: Stored, after: Stored, data: bytes) -> None:
    """One new upload row whose file in the store holds exactly the bytes sent."""
    added = new_uploads(before, after)
    assert len(added) == 1
    with runtime.sessions() as session:
        row = session.get_one(m.Upload, added[0][0])
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert runtime.files.get(row.file_key) == data


def test_the_expectation_table_covers_every_benign_case_and_endpoint() -> None:
    benign_runs = {(c.id, e) for c in CASES if c.reason is None for e in endpoints_for(c)}

    assert set(BENIGN) == benign_runs


# -- in Swedish -------------------------------------------------------------------------------

# The Swedish detail for each reason (service/messages.py), written out on purpose.
SWEDISH_DETAIL = {
    RejectionReason.EMPTY: "Filen togs inte emot (den är tom)",
    RejectionReason.TOO_LARGE: "Filen togs inte emot (den är för stor)",
    RejectionReason.WRONG_TYPE: "Filen togs inte emot (fel filtyp)",
    RejectionReason.MACROS: "Filen togs inte emot (den innehåller makron)",
    RejectionReason.ENCRYPTED: "Filen togs inte emot (den är lösenordsskyddad)",
    RejectionReason.ZIP_BOMB: "Filen togs inte emot (den packas upp till för mycket)",
    RejectionReason.XML_ATTACK: "Filen togs inte emot (otillåten XML)",
    RejectionReason.CORRUPT: "Filen togs inte emot (den är skadad)",
    RejectionReason.CONTENT: "Filen togs inte emot (innehållet har fel)",
}
HOSTILE_IDS = [case.id for case in CASES if case.reason is not None]


@pytest.mark.parametrize("case_id", HOSTILE_IDS)
def test_a_participant_is_told_in_swedish_what_is_wrong_with_each_hostile_file(
    servers: Servers, corpus: dict[str, HostileCase], case_id: str
) -> None:
    """No Accept-Language: a participant's token is answered in Swedish, problem and place.

    CSV is only ever sent by the organiser (rosters); those cases ask for Swedish.
    """
    case = corpus[case_id]
    data = case_data(case)
    server = servers.get("sqlite")
    endpoints = endpoints_for(case)
    endpoint = next((e for e in endpoints if e in ("checklist", "deck")), "roster-preview")
    client, headers = (
        (server.swedish, {})
        if endpoint != "roster-preview"
        else (server.organiser, {"Accept-Language": "sv"})
    )
    before = stored(server.runtime)

    response = client.post(
        server.urls[endpoint],
        files={"file": (case.file_name, data, "application/octet-stream")},
        headers=headers,
    )

    assert case.reason is not None
    assert response.status_code == STATUS[case.reason], response.text
    body = response.json()
    assert body["detail"] == SWEDISH_DETAIL[case.reason]
    errors = body["errors"]
    assert errors, response.text
    for error in errors:
        assert error["path"] == "file"
        assert error["place"] == "Filen"
        assert error["code"].startswith(("gate.", "upload.")), error
        assert english_in(error["message"]) is None, error["message"]
    assert any(case.sv_fragment in error["message"] for error in errors), response.text
    assert stored(server.runtime) == before
