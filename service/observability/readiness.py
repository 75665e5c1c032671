"""Readiness: can this process do its work? The database, the broker and the file store, checked.

Each check runs in a thread of its own and is given up after a short timeout, so a hung
component cannot hang the probe; while one check of a component is still hanging, the next
probe reports that instead of starting another (no pile of stuck threads). What a failed check
says is the error's first line with any credentials cut out: probes are unauthenticated.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from sqlalchemy import Engine, text

from service.errors import StoreFullError, StoreUnavailableError
from service.storage.file_store import FileStore

DATABASE = "database"
BROKER = "broker"
STORE = "store"

_CREDENTIALS_IN_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
_MAX_DETAIL = 300


@dataclass(frozen=True)
class ComponentStatus:
    """One component's answer: ``ok``, or why not."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Every component's status; ready when all are ok."""

    components: tuple[ComponentStatus, ...]

    @property
    def ready(self) -> bool:
        """Whether every component answered."""
        return all(c.ok for c in self.components)

    @property
    def failing(self) -> list[ComponentStatus]:
        """The components that did not answer."""
        return [c for c in self.components if not c.ok]

    def to_json(self) -> dict[str, object]:
        """The probe's body: ``status`` and each component's ``ok`` or reason."""
        return {
            "status": "ready" if self.ready else "not ready",
            "components": {c.name: "ok" if c.ok else c.detail for c in self.components},
        }


def secret_words(*urls: str | None) -> list[str]:
    """The passwords (and user names) in connection URLs, to be cut from any detail."""
    words = []
    for url in urls:
        if not url:
            continue
        parts = urlsplit(url)
        words += [w for w in (parts.password, parts.username) if w and len(w) > 2]
    return words


def scrub(detail: str, secrets: Iterable[str]) -> str:
    """One line of ``detail``, without credentials or any of ``secrets``, of bounded length."""
    lines = detail.strip().splitlines()
    line = _CREDENTIALS_IN_URL.sub(r"\1***@", lines[0] if lines else "")
    for secret in secrets:
        line = line.replace(secret, "***")
    return line[:_MAX_DETAIL] or "failed"


class ComponentCheck:
    """A named probe, run in its own thread with a timeout; one at a time per component."""

    def __init__(self, name: str, probe: Callable[[], None]) -> None:
        self.name = name
        self._probe = probe
        self._running: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, *, timeout_seconds: float, secrets: Sequence[str]) -> ComponentStatus:
        """Run the probe; its error (scrubbed) or a timeout is the reason it failed."""
        with self._lock:
            if self._running is not None and self._running.is_alive():
                return ComponentStatus(
                    self.name, False, "the previous check has not answered yet (hung)"
                )
            outcome: list[BaseException | None] = []

            def target() -> None:
                try:
                    self._probe()
                except BaseException as exc:  # reported as the reason, never raised
                    outcome.append(exc)
                else:
                    outcome.append(None)

            thread = threading.Thread(target=target, name=f"readiness-{self.name}", daemon=True)
            self._running = thread
            thread.start()
        thread.join(timeout_seconds)
        if not outcome:
            return ComponentStatus(self.name, False, f"no answer within {timeout_seconds:g} s")
        error = outcome[0]
        if error is None:
            return ComponentStatus(self.name, True, "ok")
        # The store names its own cause; anything else is named by its type.
        if isinstance(error, StoreUnavailableError):
            detail = str(error)
        else:
            detail = f"{type(error).__name__}: {error}"
        return ComponentStatus(self.name, False, scrub(detail, secrets))


class ReadinessChecker:
    """The checks of one process's components, built once and run on every probe."""

    def __init__(
        self,
        checks: Sequence[ComponentCheck],
        *,
        timeout_seconds: float,
        secrets: Sequence[str] = (),
    ) -> None:
        self._checks = list(checks)
        self._timeout = timeout_seconds
        self._secrets = list(secrets)

    def check(self) -> Readiness:
        """Every component, checked at once (the probe takes at most one timeout)."""
        results: dict[str, ComponentStatus] = {}
        threads = []
        for check in self._checks:

            def run(check: ComponentCheck = check) -> None:
                results[check.name] = check.run(
                    timeout_seconds=self._timeout, secrets=self._secrets
                )

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        return Readiness(tuple(results[check.name] for check in self._checks))


def database_check(engine: Engine) -> ComponentCheck:
    """The database answers a trivial query."""

    def probe() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ComponentCheck(DATABASE, probe)


def broker_check(client: redis.Redis) -> ComponentCheck:
    """The broker (Redis) answers PING."""

    def probe() -> None:
        client.ping()

    return ComponentCheck(BROKER, probe)


def store_check(files: FileStore, *, min_free_bytes: int = 0) -> ComponentCheck:
    """The file store takes a write (``FileStore.check``) and, if local, has room left.

    A local store with less than ``min_free_bytes`` free is reported full (StoreFullError):
    uploads would answer 507 and documents wait until space returns.
    """

    def probe() -> None:
        files.check()
        free_bytes = getattr(files, "free_bytes", None)
        if min_free_bytes > 0 and callable(free_bytes):
            free = int(free_bytes())
            if free < min_free_bytes:
                raise StoreFullError(
                    f"file store is full: {free} bytes free, below the "
                    f"{min_free_bytes} required (BENCHDOCS_STORE_MIN_FREE_BYTES)"
                )

    return ComponentCheck(STORE, probe)


def broker_client(redis_url: str, *, timeout_seconds: float) -> redis.Redis:
    """A Redis client for probes: short connect and read timeouts, no retries."""
    return redis.Redis.from_url(
        redis_url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        retry_on_timeout=False,
    )


def standard_checker(
    *,
    engine: Engine,
    files: FileStore,
    broker: redis.Redis,
    timeout_seconds: float,
    secrets: Sequence[str],
    extra: Sequence[ComponentCheck] = (),
    store_min_free_bytes: int = 0,
) -> ReadinessChecker:
    """The database, broker and store checks every benchdocs process needs, and ``extra``."""
    return ReadinessChecker(
        [
            database_check(engine),
            broker_check(broker),
            store_check(files, min_free_bytes=store_min_free_bytes),
            *extra,
        ],
        timeout_seconds=timeout_seconds,
        secrets=secrets,
    )
