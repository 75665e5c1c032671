"""``benchdocs token issue|list|revoke``: participants' per-organisation access tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from service.access.tokens import (
    check_label,
    issue_token,
    list_tokens,
    revoke_token,
    token_lifetime,
    token_status,
)
from service.cli.base import console, fail, open_runtime, resolve_organisation
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.errors import BenchdocsError, InvalidInputError, Problem

token_app = typer.Typer(
    help="Participants' access tokens: one organisation each, expiring, revocable.",
    no_args_is_help=True,
)

OrganisationOption = Annotated[
    str, typer.Option("--organisation", help="Organisation id, or its ref such as askersund.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(token_app, name="token")


@token_app.command("issue")
def issue(
    organisation: OrganisationOption,
    label: Annotated[
        str | None, typer.Option(help="Who holds it, e.g. 'Anna Svensson, strateg'.")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Days it is valid (default and most: the configured).")
    ] = None,
) -> None:
    """Issue a token for one organisation; it is printed once and never again."""
    runtime = open_runtime()
    try:
        problems: list[Problem] = []
        checked_label, lifetime, organisation_id = None, None, None
        try:
            checked_label = check_label(label, location="--label")
        except InvalidInputError as exc:
            problems.extend(exc.problems)
        try:
            lifetime = token_lifetime(
                days, max_days=runtime.settings.token_valid_days, location="--days"
            )
        except InvalidInputError as exc:
            problems.extend(exc.problems)
        try:
            organisation_id = resolve_organisation(runtime, organisation)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
        if problems or lifetime is None or organisation_id is None:
            raise InvalidInputError(problems)
        with unit_of_work(runtime.sessions) as session:
            issued = issue_token(
                session,
                organisation_id=organisation_id,
                valid_for=lifetime,
                label=checked_label,
                now=utcnow(),
            )
            name = session.get_one(m.Organisation, organisation_id).name
            token_id, expires_at = issued.row.id, issued.row.expires_at
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(
        f"token {token_id} for {name} (organisation {organisation_id}), "
        f"valid until {expires_at:%Y-%m-%d %H:%M} UTC",
        markup=False,
        highlight=False,
    )
    console.print("Store it now; it is not shown again:", markup=False)
    # The bare token on a line of its own (never wrapped by rich): scripts take the last line.
    typer.echo(issued.token)


@token_app.command("list")
def list_command(organisation: OrganisationOption) -> None:
    """List an organisation's tokens with their status (never their clear text)."""
    runtime = open_runtime()
    now = utcnow()
    try:
        organisation_id = resolve_organisation(runtime, organisation)
        with runtime.sessions() as session:
            rows = list_tokens(session, organisation_id)
            name = session.get_one(m.Organisation, organisation_id).name
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    table = Table(title=f"Tokens of {name}")
    for column in ("id", "label", "status", "created", "expires", "revoked", "last used"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.label or "",
            token_status(row, now=now).value,
            _minute(row.created_at),
            _minute(row.expires_at),
            _minute(row.revoked_at),
            _minute(row.last_used_at),
        )
    console.print(table)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see token list).")],
) -> None:
    """Revoke a token at once; revoking one that is already revoked changes nothing."""
    runtime = open_runtime()
    now = utcnow()
    try:
        with unit_of_work(runtime.sessions) as session:
            row = revoke_token(session, token_id, now=now)
            already = row.revoked_at is not now  # revoke_token keeps an earlier time
            revoked_at, organisation_id = row.revoked_at, row.organisation_id
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    state = "was already revoked" if already else "revoked"
    console.print(
        f"token {token_id} (organisation {organisation_id}) {state} at {_minute(revoked_at)} UTC",
        markup=False,
        highlight=False,
    )


def _minute(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"
