"""Signed-in browsers: server-side sessions found by the hash of a random cookie.

The cookie holds 256 random bits and nothing else; the database keeps its sha256, the role
and whose session it is, so a session ends on the server (logout, revoked link, disabled
account, idle or too old) whatever the browser keeps. A new cookie is made at every sign-in,
so a cookie planted before (session fixation) never becomes a signed-in one. Each session
has its own CSRF token, which forms and htmx requests send back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access.tokens import TokenStatus, aware, resolve_token, token_status
from service.database import models as m
from service.domain.kinds import PortalRole

# Written at most this often, so page views do not all become writes.
_SEEN_GRANULARITY = dt.timedelta(minutes=1)
_COOKIE_BYTES = 32


@dataclass(frozen=True)
class SessionRules:
    """How long a session lasts at most, and how long it may sit idle."""

    lifetime: dt.timedelta
    idle: dt.timedelta


@dataclass(frozen=True)
class OpenedSession:
    """A new session: the cookie value is given to the browser once and never stored."""

    row: m.PortalSession
    cookie: str


@dataclass(frozen=True)
class PortalCaller:
    """Whose browser this is: an organiser's account or one organisation through a link."""

    session_id: int
    role: PortalRole
    csrf_token: str
    user_id: int | None
    user_name: str | None
    organisation_id: int | None
    access_token_id: int | None

    @property
    def is_organiser(self) -> bool:
        """Whether an organiser signed in (sees every organisation)."""
        return self.role is PortalRole.ORGANISER


def cookie_digest(cookie: str) -> str:
    """The stored form of a session cookie."""
    return hashlib.sha256(cookie.encode()).hexdigest()


def _open(
    session: Session,
    *,
    role: PortalRole,
    rules: SessionRules,
    now: dt.datetime,
    user_id: int | None = None,
    access_token_id: int | None = None,
    replacing: str | None = None,
) -> OpenedSession:
    if replacing:
        end_session(session, replacing, now=now)
    cookie = secrets.token_urlsafe(_COOKIE_BYTES)
    row = m.PortalSession(
        cookie_sha256=cookie_digest(cookie),
        role=role,
        user_id=user_id,
        access_token_id=access_token_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + rules.lifetime,
    )
    session.add(row)
    session.flush()
    return OpenedSession(row=row, cookie=cookie)


def open_organiser_session(
    session: Session,
    user: m.OrganiserUser,
    *,
    rules: SessionRules,
    now: dt.datetime,
    replacing: str | None = None,
) -> OpenedSession:
    """A new session for a signed-in organiser; the browser's old one (if any) ends."""
    return _open(
        session,
        role=PortalRole.ORGANISER,
        rules=rules,
        now=now,
        user_id=user.id,
        replacing=replacing,
    )


def open_participant_session(
    session: Session,
    token: str,
    *,
    rules: SessionRules,
    now: dt.datetime,
    replacing: str | None = None,
) -> OpenedSession | None:
    """A new session for the organisation of a live link's token; None for any other token.

    The session never outlives its token.
    """
    row = resolve_token(session, token, now=now)
    if row is None:
        return None
    opened = _open(
        session,
        role=PortalRole.PARTICIPANT,
        rules=rules,
        now=now,
        access_token_id=row.id,
        replacing=replacing,
    )
    opened.row.expires_at = min(opened.row.expires_at, aware(row.expires_at))
    row.last_used_at = now
    return opened


def resolve_session(
    session: Session, cookie: str | None, *, rules: SessionRules, now: dt.datetime
) -> PortalCaller | None:
    """The caller a cookie stands for; None when it is unknown, ended, idle or too old."""
    if not cookie or len(cookie) > 100:
        return None
    row = session.scalar(
        select(m.PortalSession).where(m.PortalSession.cookie_sha256 == cookie_digest(cookie))
    )
    if row is None or row.ended_at is not None:
        return None
    if aware(row.expires_at) <= now or aware(row.last_seen_at) + rules.idle <= now:
        row.ended_at = now
        return None
    user_name = None
    organisation_id = None
    if row.role is PortalRole.ORGANISER:
        if row.user is None or row.user.disabled_at is not None:
            row.ended_at = now
            return None
        user_name = row.user.display_name
    else:
        token = row.access_token
        if token is None or token_status(token, now=now) is not TokenStatus.LIVE:
            row.ended_at = now
            return None
        organisation_id = token.organisation_id
        if token.last_used_at is None or aware(token.last_used_at) < now - _SEEN_GRANULARITY:
            token.last_used_at = now
    if aware(row.last_seen_at) < now - _SEEN_GRANULARITY:
        row.last_seen_at = now
    return PortalCaller(
        session_id=row.id,
        role=row.role,
        csrf_token=row.csrf_token,
        user_id=row.user_id,
        user_name=user_name,
        organisation_id=organisation_id,
        access_token_id=row.access_token_id,
    )


def end_session(session: Session, cookie: str, *, now: dt.datetime) -> None:
    """Sign a browser out: its session is over on the server, whatever the cookie does."""
    if len(cookie) > 100:
        return
    row = session.scalar(
        select(m.PortalSession).where(m.PortalSession.cookie_sha256 == cookie_digest(cookie))
    )
    if row is not None and row.ended_at is None:
        row.ended_at = now
