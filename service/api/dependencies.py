"""Request-scoped dependencies: the runtime, a database session, and who is calling."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Query, Request, status
from sqlalchemy.orm import Session

from service.access.tokens import TokenStatus, aware, resolve_token, token_status_of
from service.api.language import request_language
from service.change_detection.revision_cache import RevisionCache
from service.clock import utcnow
from service.errors import NotFoundError
from service.messages import message
from service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_answer_cache(request: Request) -> RevisionCache[bytes]:
    """This process's answers kept by data revision (``change_detection.revision_cache``)."""
    cache: RevisionCache[bytes] = request.app.state.answer_cache
    return cache


AnswerCacheDep = Annotated[RevisionCache[bytes], Depends(get_answer_cache)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed if the handler returns, rolled back if it raises."""
    with runtime.sessions() as session, session.begin():
        yield session


# Committed before the response is sent (scope "function"): a client that follows a redirect
# at once (a new session, a created row) must find what the answer promised, and a failed
# commit must fail the request instead of vanishing after a success was sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def require_organiser(
    request: Request,
    runtime: RuntimeDep,
    x_api_key: Annotated[str | None, Header(description="The organiser API key.")] = None,
) -> None:
    """Let the request through only with the organiser API key."""
    expected = runtime.settings.api_key.get_secret_value()
    if x_api_key is None or not secrets.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=message("access.organiser_key").render(request_language(request)),
            headers={"WWW-Authenticate": "X-API-Key"},
        )


OrganiserDep = Depends(require_organiser)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the organiser (sees every organisation) or one organisation's token."""

    label: str
    organisation_id: int | None = None
    token_id: int | None = None

    @property
    def is_organiser(self) -> bool:
        """Whether the caller came with the organiser API key."""
        return self.organisation_id is None

    def require_organisation(
        self,
        organisation_id: int | None,
        kind: Literal["organisation", "document", "upload"],
        entity_id: int,
    ) -> None:
        """Refuse anything outside the caller's organisation as if it did not exist (404)."""
        if not self.is_organiser and organisation_id != self.organisation_id:
            raise not_found(kind, entity_id)


def not_found(kind: Literal["organisation", "document", "upload"], entity_id: int) -> NotFoundError:
    """The 404 of an entity a participant may not see or that does not exist (the same)."""
    return NotFoundError(
        f"{kind} {entity_id} not found",
        text=message(f"access.{kind}_not_found", id=str(entity_id)),
    )


# A token's last use is written at most this often, so reads do not all become writes.
_LAST_USED_GRANULARITY = dt.timedelta(minutes=1)
_REFUSED_TOKEN = {
    None: "access.unknown_token",
    TokenStatus.EXPIRED: "access.expired_token",
    TokenStatus.REVOKED: "access.revoked_token",
}


def _token_caller(session: Session, token: str) -> Caller | None:
    """The participant a live token stands for; None for anything else, however odd."""
    now = utcnow()
    row = resolve_token(session, token, now=now)
    if row is None:
        return None
    if row.last_used_at is None or aware(row.last_used_at) < now - _LAST_USED_GRANULARITY:
        row.last_used_at = now
    return Caller(
        label=row.label or f"token {row.id}",
        organisation_id=row.organisation_id,
        token_id=row.id,
    )


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _unauthorised(request: Request, session: Session, token: str | None) -> HTTPException:
    """401, saying whether the token was missing, unknown, expired or revoked.

    Telling expired from revoked helps only whoever holds the token, who may know it.
    """
    if token is None:
        code = "access.no_token"
    else:
        code = _REFUSED_TOKEN.get(
            token_status_of(session, token, now=utcnow()), "access.unknown_token"
        )
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message(code).render(request_language(request)),
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_caller(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header(description="The organiser API key.")] = None,
    authorization: Annotated[
        str | None, Header(description="`Bearer <token>`: an organisation's access token.")
    ] = None,
) -> Caller:
    """The organiser by API key, or a participant by a live organisation token; else 401."""
    if x_api_key is not None:
        require_organiser(request, runtime, x_api_key)
        return Caller(label="organiser")
    token = _bearer(authorization)
    caller = _token_caller(session, token) if token else None
    if caller is None:
        raise _unauthorised(request, session, token)
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]


def require_file_reader(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header(description="The organiser API key.")] = None,
    authorization: Annotated[
        str | None, Header(description="`Bearer <token>`: an organisation's access token.")
    ] = None,
    token: Annotated[
        str | None,
        Query(
            # No length limit here: a hostile value must get 401 like any wrong token.
            description="An organisation's access token, for links in e-mails. Accepted only "
            "on file downloads; prefer the Authorization header.",
        ),
    ] = None,
) -> Caller:
    """Like ``require_caller``, and also a token in ``?token=``: only for GET file downloads.

    A link must work when clicked in a mail client, which cannot send headers. The token in
    the URL can end up in browser history and proxy logs, so it is accepted nowhere else
    (never on a write, never on a listing), and the response carries ``Referrer-Policy:
    no-referrer`` and ``Cache-Control: private, no-store``. Headers win over the query.
    """
    if x_api_key is not None or authorization is not None:
        return require_caller(request, runtime, session, x_api_key, authorization)
    caller = _token_caller(session, token) if token else None
    if caller is None:
        raise _unauthorised(request, session, token)
    return caller


FileReaderDep = Annotated[Caller, Depends(require_file_reader)]


def require_organiser_caller(request: Request, caller: CallerDep) -> Caller:
    """The organiser only: a participant's live token is known but not enough (403)."""
    if not caller.is_organiser:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=message("access.organiser_only").render(request_language(request)),
        )
    return caller


OrganiserCallerDep = Annotated[Caller, Depends(require_organiser_caller)]
