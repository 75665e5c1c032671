"""Per-organisation access tokens: issued once in clear, stored as a hash, revocable, expiring."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import NotFoundError

# Recognisable in logs and secret scanners; the rest is 256 bits from the OS.
TOKEN_PREFIX = "bdt_"  # noqa: S105 (a prefix, not a secret)


def token_digest(token: str) -> str:
    """The stored form of a token (a fast hash is enough for 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the clear text is shown once and never stored."""

    row: m.AccessToken
    token: str


def issue_token(
    session: Session,
    *,
    organisation_id: int,
    valid_for: dt.timedelta,
    label: str | None,
    now: dt.datetime,
) -> IssuedToken:
    """A new token for one organisation, valid from ``now`` for ``valid_for``."""
    if session.get(m.Organisation, organisation_id) is None:
        raise NotFoundError(f"organisation {organisation_id} not found")
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
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(
        select(m.AccessToken).where(m.AccessToken.token_sha256 == token_digest(token))
    )
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
        return None
    return row


def revoke_token(session: Session, token_id: int, *, now: dt.datetime) -> m.AccessToken:
    """Revoke a token at once; revoking twice keeps the first time."""
    row = session.get(m.AccessToken, token_id)
    if row is None:
        raise NotFoundError(f"access token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
