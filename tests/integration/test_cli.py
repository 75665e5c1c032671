"""The ``benchdocs`` command as a person runs it: real process, real exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pptx import Presentation
from sqlalchemy import func, select

from service.cli.local_cluster import WorkerProcess, settings_environment
from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT, SAMPLE_PROGRAMME

pytestmark = pytest.mark.integration


def run_cli(
    settings: Settings, *args: str, timeout: float = CHILD_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **settings_environment(settings)}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def networks(settings: Settings) -> int:
    from service.database.session import make_engine

    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(m.Network))
    engine.dispose()
    return int(count or 0)


def sample_with(change: Callable[[dict[str, object]], None]) -> bytes:
    document = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    change(document)
    return json.dumps(document, ensure_ascii=False).encode()


def test_import_stores_the_sample_and_says_what_it_stored(migrated: Settings) -> None:
    result = run_cli(migrated, "import", str(SAMPLE_PROGRAMME))

    assert result.returncode == 0, result.stderr
    assert "8 organisations, 27 participants, 3 meetings, 2 assessment rounds" in result.stdout
    assert networks(migrated) == 1


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.json", "{}")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "$: not valid JSON: Expecting value at line 1 column 1"),
        (b'{"network": ', "$: not valid JSON"),
        (b"\xff\xfe\x00garbage", "$: not UTF-8 text: byte 0xff at 0"),
        (_zip_bytes(), "$: a zip archive (such as an Office file), not JSON text"),
        (b"[1, 2]", "$: Input should be a valid dictionary"),
        (
            sample_with(lambda d: d["organisations"][0].update(name="Hedemora\x1b[31m")),
            "$.organisations[0].name: Value error, contains control character U+001B",
        ),
        (
            sample_with(
                lambda d: d["self_assessments"][0]["scores"]["askersund"].__setitem__(3, 7)
            ),
            "$.self_assessments[0].scores.askersund[3]: score 7 is outside the scale 1–3",
        ),
        (
            sample_with(lambda d: d["meetings"][1].update(date="2019-02-30")),
            "$.meetings[1].date: Input should be a valid date",
        ),
        (
            sample_with(lambda d: d["participants"][0].update(organisation_id="nowhere")),
            "$.participants[0].organisation_id: unknown organisation 'nowhere'",
        ),
    ],
)
def test_a_bad_import_file_exits_2_naming_the_place_and_stores_nothing(
    migrated: Settings, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "programme.json"
    path.write_bytes(content)

    result = run_cli(migrated, "import", str(path))

    assert result.returncode == 2, result.stdout + result.stderr
    assert "nothing was stored" in result.stderr
    assert expected in result.stderr
    assert networks(migrated) == 0


def test_an_oversized_or_missing_import_file_is_refused(migrated: Settings, tmp_path: Path) -> None:
    small = migrated.model_copy(update={"max_import_bytes": 1000})

    too_big = run_cli(small, "import", str(SAMPLE_PROGRAMME))
    missing = run_cli(migrated, "import", str(tmp_path / "nope.json"))

    assert too_big.returncode == 2 and "the limit is 1000" in too_big.stderr
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert networks(migrated) == 0


def test_a_bad_setting_stops_the_command_naming_the_variable(migrated: Settings) -> None:
    env_settings = migrated.model_copy(update={"task_time_limit_seconds": 1})

    result = run_cli(env_settings, "resend")

    assert result.returncode == 1
    assert "BENCHDOCS_TASK_TIME_LIMIT_SECONDS" in result.stderr


def test_generate_writes_every_document_of_the_meeting_and_exits_0(
    runtime: Runtime,
    pipeline_settings: Settings,
    tmp_path: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    assert run_cli(pipeline_settings, "import", str(SAMPLE_PROGRAMME)).returncode == 0
    start_worker()

    result = run_cli(
        pipeline_settings, "generate", "--meeting", "bm2", "--out", str(tmp_path / "out")
    )

    assert result.returncode == 0, result.stdout + result.stderr
    written = sorted((tmp_path / "out").iterdir())
    expected = sum(8 if spec.per_organisation else 1 for spec in CATALOGUE.values())
    assert len(written) == expected
    decks = sorted((tmp_path / "out").glob("Presentation - *.pptx"))
    assert len(decks) == 8
    kalmar = next(p for p in decks if "Kalmar" in p.name)
    title = Presentation(str(kalmar)).slides[0].shapes
    assert any("Kalmar kommun" in s.text_frame.text for s in title if s.has_text_frame)


def test_generate_exits_3_and_names_the_failed_documents(
    runtime: Runtime,
    pipeline_settings: Settings,
    tmp_path: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "deck_benchmarking.pptx").write_bytes(b"not a presentation")
    broken = pipeline_settings.model_copy(update={"templates_dir": templates})
    assert run_cli(broken, "import", str(SAMPLE_PROGRAMME)).returncode == 0
    start_worker(broken)

    result = run_cli(broken, "generate", "--meeting", "bm2", "--kind", "deck")

    assert result.returncode == 3
    assert "8 document(s) failed" in result.stderr
    assert "deck_benchmarking.pptx: not a readable pptx file" in result.stderr
    assert result.stderr.count("failed: document") == 8


def test_generate_for_an_unknown_meeting_exits_2(migrated: Settings) -> None:
    result = run_cli(migrated, "generate", "--meeting", "bm9")

    assert result.returncode == 2
    assert "--meeting: no meeting with id or ref 'bm9'" in result.stderr
