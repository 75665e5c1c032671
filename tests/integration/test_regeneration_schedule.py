"""The nightly regeneration runs once a night: a lock in real Redis, a unique run key."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.regeneration.schedule import (
    LOCK_KEY,
    NIGHTLY_TASK,
    NightlyResult,
    RunLock,
    RunOutcome,
    refresh_unfinished_runs,
)
from service.runtime import Runtime
from service.settings import Settings
from service.task_queue import celery_config
from tests.integration.conftest import batch_complete, wait_until
from tests.integration.use_cases import nightly

pytestmark = pytest.mark.integration

# Benchmarking 3 of the sample is on 2019-11-21: the night of the 30th still keeps it current.
NIGHT = dt.datetime(2019, 11, 30, 2, 0, 3, tzinfo=ZoneInfo("Europe/Stockholm"))
NIGHT_KEY = "nightly:2019-11-30"
SKIPPED = {NightlyResult.SKIPPED_LOCKED, NightlyResult.SKIPPED_ALREADY_RAN}


@pytest.fixture
def redis_client(broker_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(broker_url)
    yield client
    client.close()


@pytest.fixture
def made_documents(runtime: Runtime, bm3_made: list[int]) -> list[int]:
    """Benchmarking 3's agenda and decks, rendered; then Askersund's scores change."""
    return bm3_made


def expire_now(client: redis.Redis) -> None:
    """The lock runs out now, as once its expiry passes (Redis's clock cannot be moved)."""
    client.pexpire(LOCK_KEY, 1)
    wait_until(lambda: not client.exists(LOCK_KEY), timeout=5, what="the lock to expire")


def runs_of(runtime: Runtime, run_key: str) -> list[m.RegenerationRun]:
    with runtime.sessions() as session:
        return list(
            session.scalars(select(m.RegenerationRun).where(m.RegenerationRun.run_key == run_key))
        )


def run_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.RegenerationRun)) or 0


def at_once(*calls: Callable[[], RunOutcome]) -> list[RunOutcome]:
    """Start every call at the same moment, each in its own thread; their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[RunOutcome | BaseException] = [RuntimeError("did not finish")] * len(calls)

    def run(index: int, call: Callable[[], RunOutcome]) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [o for o in outcomes if isinstance(o, RunOutcome)]


def test_two_beats_at_once_run_once(
    runtime: Runtime, broker_url: str, made_documents: list[int]
) -> None:
    clients = [redis.Redis.from_url(broker_url) for _ in range(2)]

    outcomes = at_once(*(lambda c=client: nightly(runtime, c, now=NIGHT) for client in clients))

    results = sorted(o.result for o in outcomes)
    assert results.count(NightlyResult.RAN) == 1
    assert set(results) - {NightlyResult.RAN} <= SKIPPED
    [run] = runs_of(runtime, NIGHT_KEY)
    ran = next(o for o in outcomes if o.result == NightlyResult.RAN)
    assert ran.run_id == run.id
    assert run.trigger == "nightly"
    assert run.checked == 9
    assert [c["description"] for c in run.changes] == [
        "deck (pptx) for Askersunds kommun, Benchmarking 3"
    ]
    assert clients[0].get(LOCK_KEY) is None, "the lock was released"
    for client in clients:
        client.close()


def test_a_run_while_another_holds_the_lock_is_skipped_and_records_nothing(
    runtime: Runtime, redis_client: redis.Redis, made_documents: list[int]
) -> None:
    other = RunLock(redis_client, expire_seconds=60)
    token = other.acquire()
    assert token is not None

    while_held = nightly(runtime, redis_client, now=NIGHT)
    other.release(token)
    after = nightly(runtime, redis_client, now=NIGHT)

    assert while_held == RunOutcome(NightlyResult.SKIPPED_LOCKED, NIGHT_KEY)
    assert after.result == NightlyResult.RAN
    assert run_count(runtime) == 1


def test_a_crashed_runs_lock_expires_and_the_night_runs_later(
    runtime: Runtime, redis_client: redis.Redis, made_documents: list[int]
) -> None:
    crashed = RunLock(redis_client, expire_seconds=1)
    assert crashed.acquire() is not None  # and never released
    assert 0 < redis_client.pttl(LOCK_KEY) <= 1000
    assert nightly(runtime, redis_client, now=NIGHT).result == NightlyResult.SKIPPED_LOCKED

    expire_now(redis_client)
    later = nightly(runtime, redis_client, now=NIGHT + dt.timedelta(minutes=20))

    assert later.result == NightlyResult.RAN
    assert later.run_key == NIGHT_KEY


def test_the_lock_is_taken_for_the_configured_time_and_released_only_by_its_holder(
    runtime: Runtime, redis_client: redis.Redis
) -> None:
    seconds = runtime.settings.regeneration_lock_seconds
    first = RunLock(redis_client, expire_seconds=1)
    first_token = first.acquire()
    assert first_token is not None
    assert 0 < redis_client.pttl(LOCK_KEY) <= 1000
    expire_now(redis_client)
    second = RunLock(redis_client, expire_seconds=seconds)
    second_token = second.acquire()
    assert second_token is not None

    released_by_first = first.release(first_token)

    assert released_by_first is False
    assert second.holder() == second_token
    assert seconds - 2 <= redis_client.ttl(LOCK_KEY) <= seconds
    assert second.release(second_token) is True
    assert second.holder() is None


def test_a_night_that_ran_is_skipped_even_after_its_lock_was_released(
    runtime: Runtime, redis_client: redis.Redis, made_documents: list[int]
) -> None:
    first = nightly(runtime, redis_client, now=NIGHT)

    again = nightly(runtime, redis_client, now=NIGHT + dt.timedelta(hours=3))

    assert first.result == NightlyResult.RAN
    assert again == RunOutcome(NightlyResult.SKIPPED_ALREADY_RAN, NIGHT_KEY, first.run_id)
    assert run_count(runtime) == 1


def test_the_next_night_runs_with_its_own_key(
    runtime: Runtime, redis_client: redis.Redis, made_documents: list[int]
) -> None:
    first = nightly(runtime, redis_client, now=NIGHT)

    next_night = nightly(runtime, redis_client, now=NIGHT + dt.timedelta(days=1))

    assert first.result == next_night.result == NightlyResult.RAN
    assert next_night.run_key == "nightly:2019-12-01"
    [run] = runs_of(runtime, "nightly:2019-12-01")
    # The first night's re-render of Askersund's deck is still queued (no worker here).
    assert run.changes == []
    assert run.status == "finished"


def sender(settings: Settings) -> Celery:
    app = Celery("test-sender")
    app.conf.update(celery_config(settings))
    return app


_TASK_DONE = re.compile(r"Task benchdocs\.regenerate_nightly\[[^\]]+\] succeeded in [^:]+: '(\w+)'")


def nightly_task_results(log_file: Path) -> list[str]:
    text = log_file.read_text(encoding="utf-8", errors="replace")
    return _TASK_DONE.findall(text)


def test_the_nightly_task_sent_twice_to_a_real_worker_runs_once(
    runtime: Runtime,
    pipeline_settings: Settings,
    made_documents: list[int],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    start_worker(concurrency=2)
    app = sender(pipeline_settings)

    for _ in range(2):
        app.send_task(NIGHTLY_TASK, kwargs={"now": NIGHT.isoformat()})
    app.close()

    log_file = tmp_path / "worker0.log"
    wait_until(lambda: len(nightly_task_results(log_file)) == 2, what="both nightly tasks")
    results = sorted(nightly_task_results(log_file))
    assert results[0] == NightlyResult.RAN
    assert results[1] in SKIPPED
    [run] = runs_of(runtime, NIGHT_KEY)
    assert run.batch_id is not None
    wait_until(batch_complete(runtime, run.batch_id), what="the run's re-render")
    assert refresh_unfinished_runs(runtime.sessions) == 0
    [run] = runs_of(runtime, NIGHT_KEY)
    assert (run.status, run.rerendered, run.failed) == ("finished", 1, 0)
    assert run.finished_at is not None
