"""``benchdocs user add|list|password|disable``: organisers' accounts for the portal.

Passwords are asked for at a hidden prompt (twice), or read from standard input with
``--password-stdin`` for scripts; never taken as an argument, where they would stay in the
shell's history and the process list.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from service.access.organisers import add_user, disable_user, find_user, set_password
from service.cli.base import console, fail, open_runtime
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.errors import BenchdocsError

users_app = typer.Typer(help="Organisers' accounts for the portal.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from standard input (one line), for scripts."
    ),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(users_app, name="user")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: a–z, digits and . _ @ -.")],
    name: Annotated[str | None, typer.Option(help="Name shown in the portal.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address (for the record).")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an organiser's account (password at least 12 characters)."""
    password = _password(password_stdin)
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            user = add_user(
                session, username=username, password=password, display_name=name, email=email
            )
            created = user.username
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(f"created organiser {created!r}; they sign in at /logga-in")


@users_app.command("list")
def list_users() -> None:
    """Every organiser account, with its last login."""
    runtime = open_runtime()
    try:
        with runtime.sessions() as session:
            users = list(
                session.scalars(select(m.OrganiserUser).order_by(m.OrganiserUser.username))
            )
            rows = [
                (
                    u.username,
                    u.display_name,
                    u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never",
                    "disabled" if u.disabled_at else "active",
                )
                for u in users
            ]
    finally:
        runtime.close()
    table = Table(title="Organisers")
    for column in ("username", "name", "last login", "state"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@users_app.command("password")
def password(
    username: Annotated[str, typer.Argument(help="The account's login name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password; the account's open sessions end."""
    new_password = _password(password_stdin)
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            set_password(session, find_user(session, username), new_password)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print("password changed; the account's sessions have ended")


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The account's login name.")]) -> None:
    """Close an account: no more logins, and its open sessions end now."""
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            disable_user(session, find_user(session, username), now=utcnow())
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print("account disabled")
