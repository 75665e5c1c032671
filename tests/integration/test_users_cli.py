"""``benchdocs user``: organisers' accounts from the command line, hostile input included."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from service.access.organisers import LoginLimits, LoginRefusedError, authenticate
from service.cli.local_cluster import settings_environment
from service.clock import utcnow
from service.database import models as m
from service.database.session import make_engine, make_session_factory
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT

pytestmark = pytest.mark.integration
LIMITS = LoginLimits(per_account=100, per_client=100, window=dt.timedelta(days=1))


def user_cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **settings_environment(settings)}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "user", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def _users(settings: Settings) -> list[m.OrganiserUser]:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(m.OrganiserUser)))
    finally:
        engine.dispose()


def _login(settings: Settings, username: str, password: str) -> bool:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            try:
                authenticate(
                    session,
                    username=username,
                    password=password,
                    client="test",
                    limits=LIMITS,
                    now=utcnow(),
                )
            except LoginRefusedError:
                return False
            return True
    finally:
        engine.dispose()


def test_an_account_is_added_hashed_and_can_sign_in_and_be_disabled(migrated: Settings) -> None:
    added = user_cli(
        migrated, "add", "Anna.Andersson", "--name", "Anna Andersson 🙂", "--password-stdin",
        stdin="Jämställdhet genom hela kedjan\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "created organiser 'anna.andersson'" in added.stdout
    [user] = _users(migrated)
    assert user.username == "anna.andersson" and user.display_name == "Anna Andersson 🙂"
    assert user.password_hash.startswith("$argon2id$")
    assert "Jämställdhet" not in user.password_hash
    assert _login(migrated, "ANNA.andersson", "Jämställdhet genom hela kedjan")
    assert not _login(migrated, "anna.andersson", "jämställdhet genom hela kedjan")

    again = user_cli(migrated, "add", "anna.andersson", "--password-stdin", stdin="x" * 20)
    assert again.returncode != 0
    assert "already exists" in again.stderr

    changed = user_cli(
        migrated, "password", "anna.andersson", "--password-stdin", stdin="ett nytt långt lösen\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert _login(migrated, "anna.andersson", "ett nytt långt lösen")

    disabled = user_cli(migrated, "disable", "anna.andersson")
    assert disabled.returncode == 0
    assert not _login(migrated, "anna.andersson", "ett nytt långt lösen")
    listed = user_cli(migrated, "list")
    assert "anna.andersson" in listed.stdout and "disabled" in listed.stdout


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("a", "ett tillräckligt långt lösen", "username"),
        ("<script>alert(1)</script>", "ett tillräckligt långt lösen", "username"),
        ("{{ 7*7 }}", "ett tillräckligt långt lösen", "username"),
        ("åsa", "ett tillräckligt långt lösen", "username"),
        ("x" * 101, "ett tillräckligt långt lösen", "username"),
        ("anna", "kort", "password"),
        ("anna", "lösenord med \x07 klocka", "password"),
        ("anna", "y" * 1001, "password"),
    ],
    ids=["short", "markup", "template", "non-ascii", "long", "short-pw", "control-pw", "long-pw"],
)
def test_hostile_names_and_passwords_are_refused_naming_the_field(
    migrated: Settings, username: str, password: str, field: str
) -> None:
    refused = user_cli(migrated, "add", username, "--password-stdin", stdin=password + "\n")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "nothing was stored" in refused.stderr
    assert f"  {field}: " in refused.stderr
    assert _users(migrated) == []
    engine = make_engine(migrated.database_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count(m.OrganiserUser.id))) == 0
    engine.dispose()
