"""Per-organisation access tokens: issued once in clear, stored as a hash, revocable, expiring.

A token is ``bdt_`` followed by 43 URL-safe characters (256 random bits). Only its sha256 is
stored, so a database dump does not hand out access; a lost token is revoked and a new one
issued. A token lets a participant see (and upload for) one organisation, never another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import InvalidInputError, NotFoundError, Problem
from service.intake.entities import MAX_ID
from service.intake.text_rules import reject_control_characters

# Recognisable in logs and secret scanners; the rest is 256 bits from the OS.
TOKEN_PREFIX = "bdt_"  # noqa: S105 (a prefix, not a secret)
# What issue_token makes; anything else is refused before hashing or touching the database.
_TOKEN_SHAPE = re.compile(r"bdt_[A-Za-z0-9_-]{43}")
MAX_LABEL_LENGTH = 200

TokenLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL_LENGTH),
    AfterValidator(reject_control_characters),
]


class TokenRequest(BaseModel):
    """What the organiser may say about a new token; both fields are optional."""

    model_config = ConfigDict(extra="forbid")
    label: TokenLabel | None = Field(
        default=None, description="Who holds the token, in words (shown in lists and uploads)."
    )
    valid_days: int | None = Field(
        default=None,
        ge=1,
        description="Days until the token expires; default and maximum: the configured "
        "BENCHDOCS_TOKEN_VALID_DAYS.",
    )


class TokenStatus(StrEnum):
    """Whether a token still opens anything."""

    LIVE = "live"
    EXPIRED = "expired"
    REVOKED = "revoked"


def token_digest(token: str) -> str:
    """The stored form of a token (a fast hash is enough for 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """Whether text has the exact shape of an issued token (cheap, before any lookup)."""
    return _TOKEN_SHAPE.fullmatch(token) is not None


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the clear text is shown once and never stored."""

    row: m.AccessToken
    token: str


def token_lifetime(valid_days: int | None, *, max_days: int, location: str) -> dt.timedelta:
    """The lifetime asked for, the configured one by default; longer than that is refused."""
    days = max_days if valid_days is None else valid_days
    if not 1 <= days <= max_days:
        raise InvalidInputError(
            [Problem(location, f"must be between 1 and {max_days} days (got {days})")]
        )
    return dt.timedelta(days=days)


def check_label(label: str | None, *, location: str) -> str | None:
    """A label from a non-JSON entry point (the CLI), held to the API's rules."""
    try:
        return TokenRequest(label=label).label
    except ValidationError as exc:
        raise InvalidInputError(
            [Problem(location, e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
        ) from exc


def issue_token(
    session: Session,
    *,
    organisation_id: int,
    valid_for: dt.timedelta,
    label: str | None,
    now: dt.datetime,
) -> IssuedToken:
    """A new token for one organisation, valid from ``now`` for ``valid_for``."""
    _require_organisation(session, organisation_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = m.AccessToken(
        organisation_id=organisation_id,
        token_sha256=token_digest(token),
        label=label,
        created_at=now,
        expires_at=now + valid_for,
    )
    session.add(row)
    session.flush()
    return IssuedToken(row=row, token=token)


def resolve_token(session: Session, token: str, *, now: dt.datetime) -> m.AccessToken | None:
    """The live token row for a clear-text token; None if unknown, revoked or expired."""
    # Hostile input (huge, control characters, lone surrogates, SQL) never reaches the hash.
    if not looks_like_token(token):
        return None
    row = session.scalar(
        select(m.AccessToken).where(m.AccessToken.token_sha256 == token_digest(token))
    )
    if row is None or token_status(row, now=now) is not TokenStatus.LIVE:
        return None
    return row


def token_status_of(session: Session, token: str, *, now: dt.datetime) -> TokenStatus | None:
    """Why a token is refused: expired or revoked; None when no such token was issued."""
    if not looks_like_token(token):
        return None
    row = session.scalar(
        select(m.AccessToken).where(m.AccessToken.token_sha256 == token_digest(token))
    )
    return None if row is None else token_status(row, now=now)


def token_status(row: m.AccessToken, *, now: dt.datetime) -> TokenStatus:
    """Live, expired or revoked (a revoked token says so even after it would have expired)."""
    if row.revoked_at is not None:
        return TokenStatus.REVOKED
    if aware(row.expires_at) <= now:
        return TokenStatus.EXPIRED
    return TokenStatus.LIVE


def list_tokens(session: Session, organisation_id: int) -> list[m.AccessToken]:
    """Every token ever issued for an organisation, oldest first."""
    _require_organisation(session, organisation_id)
    return list(
        session.scalars(
            select(m.AccessToken)
            .where(m.AccessToken.organisation_id == organisation_id)
            .order_by(m.AccessToken.id)
        )
    )


def revoke_token(session: Session, token_id: int, *, now: dt.datetime) -> m.AccessToken:
    """Revoke a token at once; revoking twice keeps the first time."""
    row = session.get(m.AccessToken, token_id) if 1 <= token_id <= MAX_ID else None
    if row is None:
        raise NotFoundError(f"access token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def _require_organisation(session: Session, organisation_id: int) -> None:
    # An id beyond the column's range is simply not there (PostgreSQL would refuse the query).
    if not 1 <= organisation_id <= MAX_ID or session.get(m.Organisation, organisation_id) is None:
        raise NotFoundError(f"organisation {organisation_id} not found")


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime (SQLite gives naive ones back)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
