"""Access tokens without a database: their shape, status, lifetime and label rules."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from service.access.tokens import (
    MAX_LABEL_LENGTH,
    TOKEN_PREFIX,
    TokenStatus,
    check_label,
    looks_like_token,
    resolve_token,
    token_digest,
    token_lifetime,
    token_status,
)
from service.api.dependencies import Caller
from service.database import models as m
from service.errors import InvalidInputError, NotFoundError
from service.observability.log_redaction import install_token_redaction, redact_tokens

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
WELL_FORMED = TOKEN_PREFIX + "A" * 43


class UntouchableSession:
    """A session that fails the test if anything asks the database."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was asked ({name}) for a malformed token")


def token_row(**fields: Any) -> m.AccessToken:
    values: dict[str, Any] = {
        "organisation_id": 1,
        "token_sha256": token_digest(WELL_FORMED),
        "created_at": NOW - dt.timedelta(days=1),
        "expires_at": NOW + dt.timedelta(days=1),
    }
    return m.AccessToken(**(values | fields))


def test_only_the_exact_shape_of_an_issued_token_is_looked_up() -> None:
    assert looks_like_token(WELL_FORMED)
    assert looks_like_token(TOKEN_PREFIX + "abc-_" * 8 + "xyz")

    for hostile in (
        "",
        TOKEN_PREFIX,
        WELL_FORMED + "A",
        WELL_FORMED[:-1],
        WELL_FORMED + "\n",
        " " + WELL_FORMED,
        "bdt_' OR '1'='1' --" + "A" * 24,
        TOKEN_PREFIX + "å" * 43,
        TOKEN_PREFIX + "\x00" * 43,
        TOKEN_PREFIX + "\ud800" * 43,
        TOKEN_PREFIX + "A" * 100_000,
        "BDT_" + "A" * 43,
    ):
        assert not looks_like_token(hostile), repr(hostile[:60])


@pytest.mark.parametrize(
    "hostile",
    ["", "x" * 1_000_000, "bdt_\x00\x01\x1f", "bdt_\ud800\udfff", "bdt_😀" * 10, "1; DROP TABLE x"],
)
def test_a_malformed_token_resolves_to_nobody_without_asking_the_database(hostile: str) -> None:
    assert resolve_token(UntouchableSession(), hostile, now=NOW) is None  # type: ignore[arg-type]


def test_the_stored_digest_is_the_sha256_of_the_clear_text() -> None:
    digest = token_digest(WELL_FORMED)

    assert len(digest) == 64
    assert WELL_FORMED not in digest
    assert digest == token_digest(WELL_FORMED)
    assert digest != token_digest(WELL_FORMED[:-1] + "B")


def test_a_token_is_live_until_it_expires_and_revoked_whatever_its_expiry() -> None:
    assert token_status(token_row(), now=NOW) is TokenStatus.LIVE
    assert token_status(token_row(expires_at=NOW), now=NOW) is TokenStatus.EXPIRED
    assert token_status(token_row(revoked_at=NOW), now=NOW) is TokenStatus.REVOKED
    expired_and_revoked = token_row(expires_at=NOW - dt.timedelta(days=9), revoked_at=NOW)
    assert token_status(expired_and_revoked, now=NOW) is TokenStatus.REVOKED


def test_a_naive_stored_time_is_read_as_utc() -> None:
    naive_future = (NOW + dt.timedelta(minutes=1)).replace(tzinfo=None)

    assert token_status(token_row(expires_at=naive_future), now=NOW) is TokenStatus.LIVE


def test_the_lifetime_defaults_to_the_configured_days_and_may_not_exceed_them() -> None:
    assert token_lifetime(None, max_days=120, location="$.valid_days") == dt.timedelta(days=120)
    assert token_lifetime(7, max_days=120, location="$.valid_days") == dt.timedelta(days=7)

    with pytest.raises(InvalidInputError, match=r"\$.valid_days: must be between 1 and 120"):
        token_lifetime(121, max_days=120, location="$.valid_days")
    with pytest.raises(InvalidInputError, match="--days: must be between 1 and 120"):
        token_lifetime(0, max_days=120, location="--days")


@pytest.mark.parametrize(
    "label", ["Anna Öberg, strateg", "Ärende 12 – Åsa 😀", "x" * MAX_LABEL_LENGTH]
)
def test_labels_in_any_language_and_with_emoji_are_kept(label: str) -> None:
    assert check_label(label, location="--label") == label


def test_a_label_is_trimmed_and_may_be_left_out() -> None:
    assert check_label("  Kalle  ", location="--label") == "Kalle"
    assert check_label(None, location="--label") is None


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("Anna\x00", "contains control character U+0000 at position 4"),
        ("tab\x1bescape", "contains control character U+001B at position 3"),
        ("x" * (MAX_LABEL_LENGTH + 1), f"at most {MAX_LABEL_LENGTH} characters"),
        ("   ", "at least 1 character"),
    ],
)
def test_a_bad_label_is_refused_naming_the_option(label: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_label(label, location="--label")

    (problem,) = caught.value.problems
    assert problem.location == "--label"
    assert message in problem.message
    assert not problem.message.startswith("Value error")


def test_a_participant_sees_only_its_own_organisation_and_the_organiser_everything() -> None:
    participant = Caller(label="Anna", organisation_id=7, token_id=3)
    organiser = Caller(label="organiser")

    participant.require_organisation(7, "document", 1)
    organiser.require_organisation(8, "document", 2)
    organiser.require_organisation(None, "document", 3)
    assert organiser.is_organiser and not participant.is_organiser
    with pytest.raises(NotFoundError, match="document 4 not found"):
        participant.require_organisation(8, "document", 4)
    with pytest.raises(NotFoundError, match="document 5 not found"):
        participant.require_organisation(None, "document", 5)


def test_an_access_log_line_never_shows_a_token_from_a_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_token_redaction("test.access")
    install_token_redaction("test.access")
    log = logging.getLogger("test.access")

    with caplog.at_level(logging.INFO, logger="test.access"):
        log.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/api/v1/documents/7/file?x=1&token={WELL_FORMED}&y=2",
            "1.1",
            200,
        )

    (line,) = caplog.messages
    assert WELL_FORMED not in line
    assert "file?x=1&token=[redacted]&y=2" in line and line.endswith(" 200")
    assert len(logging.getLogger("test.access").filters) == 1
    assert redact_tokens(f"/a?token={WELL_FORMED}") == "/a?token=[redacted]"
    assert redact_tokens("/a?tokens=1&mytoken=2") == "/a?tokens=1&mytoken=2"
