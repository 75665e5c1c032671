"""Log lines, readiness verdicts and scrubbing, without any server."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from service.errors import StoreUnavailableError
from service.observability.log_context import current_ids, log_ids
from service.observability.logs import configure_logging
from service.observability.readiness import (
    ComponentCheck,
    ReadinessChecker,
    scrub,
    secret_words,
)

TOKEN = "bdt_" + "a1B2-_" * 8


@pytest.fixture
def log_to() -> Iterator[tuple[logging.Logger, dict[str, io.StringIO]]]:
    """A logger and the buffer configure_logging writes to; the root restored after."""
    root = logging.getLogger()
    level = root.level
    buffers: dict[str, io.StringIO] = {}
    handlers = []

    def configure(log_format: str) -> None:
        buffers[log_format] = io.StringIO()
        handlers.append(
            configure_logging(log_format=log_format, level="INFO", stream=buffers[log_format])  # type: ignore[arg-type]
        )

    configure("json")
    yield logging.getLogger("benchdocs.test"), buffers
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def test_a_json_line_has_time_level_logger_message_and_the_known_ids(
    log_to: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, buffers = log_to

    with log_ids(request_id="r-1", batch_id=7):
        with log_ids(document_id=42):
            logger.info("made document %d of %s", 42, "Askersund")
        logger.warning("after")
    logger.info("outside")

    made, after, outside = (json.loads(line) for line in buffers["json"].getvalue().splitlines())
    assert set(made) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "batch_id",
        "document_id",
    }
    assert made["message"] == "made document 42 of Askersund"
    assert (made["level"], made["logger"]) == ("INFO", "benchdocs.test")
    assert (made["request_id"], made["batch_id"], made["document_id"]) == ("r-1", 7, 42)
    assert made["time"].endswith("+00:00")
    assert "document_id" not in after and after["batch_id"] == 7
    assert set(outside) == {"time", "level", "logger", "message"}
    assert current_ids() == {}


def test_no_token_reaches_a_json_line_not_even_in_a_trace(
    log_to: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, buffers = log_to

    logger.info("link /lank/%s and ?token=%s&x=1", TOKEN, "opaque-value")
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        logger.exception("failed")

    text = buffers["json"].getvalue()
    first, second = (json.loads(line) for line in text.splitlines())
    assert TOKEN not in text and "opaque-value" not in text
    assert first["message"] == "link /lank/[redacted] and ?token=[redacted]&x=1"
    assert "ValueError: bad token [redacted]" in second["exception"]


def test_text_lines_stay_the_default_shape_with_ids_appended(
    log_to: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, _ = log_to
    stream = io.StringIO()
    handler = configure_logging(log_format="text", level="INFO", stream=stream)
    try:
        with log_ids(document_id=5):
            logger.info("token %s", TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)

    line = stream.getvalue().strip()
    assert line.endswith("INFO benchdocs.test: token [redacted] document_id=5")


def test_scrub_cuts_credentials_and_known_secrets_and_keeps_one_line() -> None:
    secrets = secret_words("postgresql://app:pa55word@db:5432/x", "redis://:r3dis-pw@cache/0")

    scrubbed = scrub(
        "could not reach postgresql://app:pa55word@db:5432/x (pa55word)\nsecond line r3dis-pw",
        secrets,
    )

    assert scrubbed == "could not reach postgresql://***@db:5432/x (***)"


def test_a_hung_check_is_given_up_and_not_started_twice() -> None:
    release = threading.Event()
    calls = []

    def hang() -> None:
        calls.append(1)
        release.wait(10)

    checker = ReadinessChecker(
        [ComponentCheck("broker", hang), ComponentCheck("database", lambda: None)],
        timeout_seconds=0.2,
    )
    started = time.monotonic()
    first = checker.check()
    second = checker.check()
    elapsed = time.monotonic() - started
    release.set()

    assert not first.ready
    assert first.to_json() == {
        "status": "not ready",
        "components": {"broker": "no answer within 0.2 s", "database": "ok"},
    }
    assert second.to_json()["components"] == {
        "broker": "the previous check has not answered yet (hung)",
        "database": "ok",
    }
    assert len(calls) == 1
    assert elapsed < 1.0


def test_a_failing_check_names_its_cause() -> None:
    def unusable() -> None:
        raise StoreUnavailableError("file store /data/files cannot be written: read-only")

    def refused() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    readiness = ReadinessChecker(
        [ComponentCheck("store", unusable), ComponentCheck("broker", refused)],
        timeout_seconds=1,
    ).check()

    assert [c.name for c in readiness.failing] == ["store", "broker"]
    assert readiness.to_json()["components"] == {
        "store": "file store /data/files cannot be written: read-only",
        "broker": "ConnectionRefusedError: [Errno 111] Connection refused",
    }
