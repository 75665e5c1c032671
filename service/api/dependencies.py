"""Request-scoped dependencies: the runtime, a database session, and who is calling."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from sqlalchemy.orm import Session

from service.access.tokens import resolve_token
from service.errors import NotFoundError
from service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed if the handler returns, rolled back if it raises."""
    with runtime.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def require_organiser(
    runtime: RuntimeDep,
    x_api_key: Annotated[str | None, Header(description="The organiser API key.")] = None,
) -> None:
    """Let the request through only with the organiser API key."""
    expected = runtime.settings.api_key.get_secret_value()
    if x_api_key is None or not secrets.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong X-API-Key header",
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

    def require_organisation(self, organisation_id: int | None, what: str) -> None:
        """Refuse anything outside the caller's organisation as if it did not exist (404)."""
        if not self.is_organiser and organisation_id != self.organisation_id:
            raise NotFoundError(f"{what} not found")


def require_caller(
    runtime: RuntimeDep,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header(description="The organiser API key.")] = None,
    authorization: Annotated[
        str | None, Header(description="`Bearer <token>`: an organisation's access token.")
    ] = None,
) -> Caller:
    """The organiser by API key, or a participant by a live organisation token; else 401."""
    if x_api_key is not None:
        require_organiser(runtime, x_api_key)
        return Caller(label="organiser")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        row = resolve_token(session, token.strip(), now=dt.datetime.now(dt.UTC))
        if row is not None:
            row.last_used_at = dt.datetime.now(dt.UTC)
            return Caller(
                label=row.label or f"token {row.id}",
                organisation_id=row.organisation_id,
                token_id=row.id,
            )
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="send the organiser X-API-Key header or a live organisation token "
        "as 'Authorization: Bearer <token>' (tokens expire and can be revoked)",
        headers={"WWW-Authenticate": "Bearer"},
    )


CallerDep = Annotated[Caller, Depends(require_caller)]
