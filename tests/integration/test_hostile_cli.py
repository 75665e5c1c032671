"""The hostile corpus through the three upload commands: ``upload checklist``, ``upload deck``
and ``roster --apply``, in-process against ``service.cli.main.app`` on both databases.

A hostile file must end the command with exit 2, its reason's message on stderr next to
``file:``, and nothing stored; a benign one passes the gate (stored, or its content refused as
BENIGN in test_hostile_uploads says). The outcomes are the API's, from the same table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from service.cli.local_cluster import settings_environment
from service.cli.main import app
from service.intake.sample import SAMPLE_MEETING_REF, SAMPLE_NETWORK_REF
from service.runtime import Runtime
from service.settings import get_settings
from tests.conftest import Databases
from tests.hostile.corpus import HostileCase, endpoints_for, hostile_cases
from tests.integration.test_hostile_uploads import (
    ROSTER_EXAMPLE,
    Servers,
    assert_stored_as_sent,
    case_data,
    expected_outcome,
    stored,
)

pytestmark = pytest.mark.integration

ORGANISATION = "askersund"
COMMANDS = {
    "checklist": ["upload", "checklist", "--organisation", ORGANISATION],
    "deck": ["upload", "deck", "--organisation", ORGANISATION, "--meeting", SAMPLE_MEETING_REF],
    "roster": ["roster", "--network", SAMPLE_NETWORK_REF, "--apply"],
}
RUNS = [
    pytest.param(case.id, endpoint, id=f"{case.id}-{endpoint}")
    for case in hostile_cases(Path())
    for endpoint in endpoints_for(case)
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, databases: Databases) -> Iterator[Servers]:
    found = Servers(tmp_path_factory.mktemp("hostile-cli"), databases)
    yield found
    found.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def sample_runtime(
    request: pytest.FixtureRequest, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """A database holding the sample programme, and the CLI's settings pointing at it."""
    runtime = servers.get(request.param).runtime
    for name, value in settings_environment(runtime.settings).items():
        monkeypatch.setenv(name, value)
    # The plain names win over the prefixed ones in Settings.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield runtime
    get_settings.cache_clear()


def run(endpoint: str, file: Path) -> Result:
    """The endpoint's command on the file, as an organiser types it."""
    command = COMMANDS[endpoint]
    at = 2 if command[0] == "upload" else 1  # the file comes right after the command's name
    return CliRunner().invoke(app, [*command[:at], str(file), *command[at:]])


@pytest.mark.parametrize(("case_id", "endpoint"), RUNS)
def test_every_upload_command_gives_each_case_its_outcome(
    sample_runtime: Runtime,
    corpus: dict[str, HostileCase],
    tmp_path: Path,
    case_id: str,
    endpoint: str,
) -> None:
    case = corpus[case_id]
    file = tmp_path / case.file_name
    data = case_data(case)
    file.write_bytes(data)
    expected = expected_outcome(
        case, endpoint, max_upload_bytes=sample_runtime.settings.max_upload_bytes
    )
    before = stored(sample_runtime)

    result = run(endpoint, file)

    after = stored(sample_runtime)
    if expected.reason is None:
        assert result.exit_code == 0, result.stderr
        if endpoint == "roster":
            assert "applied" in result.stdout
        else:
            assert_stored_as_sent(sample_runtime, before, after, data)
        return
    assert result.exit_code == 2, result.output
    assert "rejected: nothing was stored" in result.stderr
    assert any(
        line.strip().startswith(f"{expected.location}: ") and expected.fragment in line
        for line in result.stderr.splitlines()
    ), result.stderr
    assert after == before


def test_a_command_still_works_after_a_refused_file(
    sample_runtime: Runtime, corpus: dict[str, HostileCase], tmp_path: Path
) -> None:
    bomb = tmp_path / "checklista.xlsx"
    bomb.write_bytes(corpus["zeros-bomb-2gib"].data())
    roster = tmp_path / ROSTER_EXAMPLE.name
    roster.write_bytes(ROSTER_EXAMPLE.read_bytes())

    refused = run("roster", bomb)
    applied = run("roster", roster)

    assert refused.exit_code == 2
    assert "file: the file would unpack to 2,147.5 MB" in refused.stderr
    assert applied.exit_code == 0, applied.stderr
    assert "applied" in applied.stdout
