"""Organisers' portal accounts: argon2id password hashes, and a login that slows guessing.

A password is never stored or logged; only its argon2id hash (memory-hard, RFC 9106's
second recommended profile: 64 MiB, 3 passes) is. A login checks the hash even for an
unknown name, so the answer's timing does not tell which names exist. Failed attempts are
counted per account and per client address over a window (settings), in the database, so the
limit holds across API processes and restarts.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import BenchdocsError, ConflictError, InvalidInputError, NotFoundError, Problem
from service.intake.text_rules import reject_control_characters

_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# Checked against when the name is unknown, so both answers take as long.
_UNKNOWN_USER_HASH = _HASHER.hash("benchdocs: no such organiser")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,99}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1_000
# Attempts older than this are deleted when new ones are counted.
_KEEP_ATTEMPTS = dt.timedelta(days=1)


class LoginRefusedError(BenchdocsError):
    """Wrong name or password, or a disabled account: the same answer for each."""


class TooManyAttemptsError(BenchdocsError):
    """Too many failed logins for this account or this client: wait before trying again."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are allowed, per account and per client, within a window."""

    per_account: int
    per_client: int
    window: dt.timedelta


def normalise_username(username: str) -> str:
    """The stored form of a name: trimmed and lower-case."""
    return username.strip().lower()


def check_username(username: str, *, location: str = "username") -> str:
    """A new account's name, or InvalidInputError saying what is wrong with it."""
    name = normalise_username(username)
    if not _USERNAME.fullmatch(name):
        raise InvalidInputError(
            [
                Problem(
                    location,
                    "2–100 characters: letters a–z, digits and . _ @ - (starting with a "
                    "letter or digit)",
                )
            ]
        )
    return name


def check_password(password: str, *, location: str = "password") -> str:
    """A new password long enough to resist guessing, without control characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInputError(
            [
                Problem(
                    location,
                    f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long",
                )
            ]
        )
    try:
        reject_control_characters(password)
    except ValueError as exc:
        raise InvalidInputError([Problem(location, str(exc))]) from exc
    return password


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
) -> m.OrganiserUser:
    """A new organiser account; ConflictError if the name is taken."""
    name = check_username(username)
    check_password(password)
    if session.scalars(select(m.OrganiserUser.id).where(m.OrganiserUser.username == name)).first():
        raise ConflictError(f"an organiser named {name!r} already exists")
    user = m.OrganiserUser(
        username=name,
        display_name=(display_name or name).strip()[:300],
        email=email,
        password_hash=_HASHER.hash(password),
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> m.OrganiserUser:
    """The account of that name, or NotFoundError."""
    user = session.scalars(
        select(m.OrganiserUser).where(m.OrganiserUser.username == normalise_username(username))
    ).first()
    if user is None:
        raise NotFoundError(f"no organiser named {normalise_username(username)!r}")
    return user


def set_password(session: Session, user: m.OrganiserUser, password: str) -> None:
    """Replace an account's password and end its sessions (a stolen one stops working)."""
    user.password_hash = _HASHER.hash(check_password(password))
    _end_sessions_of(session, user)


def disable_user(session: Session, user: m.OrganiserUser, *, now: dt.datetime) -> None:
    """Close an account: no more logins, and its open sessions end now."""
    user.disabled_at = now
    _end_sessions_of(session, user)


def _end_sessions_of(session: Session, user: m.OrganiserUser) -> None:
    for portal_session in session.scalars(
        select(m.PortalSession).where(
            m.PortalSession.user_id == user.id, m.PortalSession.ended_at.is_(None)
        )
    ):
        portal_session.ended_at = portal_session.last_seen_at


def _printable(text: str) -> str:
    """Text with control characters (NUL included) and lone surrogates replaced by U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)


def _failures_since(session: Session, *column_matches: object, since: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count(m.LoginAttempt.id)).where(
                m.LoginAttempt.succeeded.is_(False),
                m.LoginAttempt.attempted_at >= since,
                *column_matches,  # type: ignore[arg-type]
            )
        )
        or 0
    )


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    client: str,
    limits: LoginLimits,
    now: dt.datetime,
) -> m.OrganiserUser:
    """The account if the password is right; records the attempt either way.

    Raises TooManyAttemptsError before checking anything when the account or the client has
    failed too often within the window, LoginRefusedError for a wrong name or password.
    """
    # Whatever was typed is kept for counting, but never a character a database refuses.
    name = _printable(normalise_username(username))[:100]
    client = _printable(client)[:100]
    since = now - limits.window
    session.execute(
        delete(m.LoginAttempt).where(m.LoginAttempt.attempted_at < now - _KEEP_ATTEMPTS)
    )
    by_account = _failures_since(session, m.LoginAttempt.username == name, since=since)
    by_client = _failures_since(session, m.LoginAttempt.client == client, since=since)
    if by_account >= limits.per_account or by_client >= limits.per_client:
        raise TooManyAttemptsError(limits.window)
    user = session.scalars(select(m.OrganiserUser).where(m.OrganiserUser.username == name)).first()
    stored = user.password_hash if user is not None else _UNKNOWN_USER_HASH
    try:
        right = len(password) <= MAX_PASSWORD_LENGTH and _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        right = False
    succeeded = right and user is not None and user.disabled_at is None
    session.add(m.LoginAttempt(username=name, client=client, attempted_at=now, succeeded=succeeded))
    if not succeeded or user is None:
        raise LoginRefusedError("wrong name or password")
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = now
    return user
