"""``benchdocs mail``: build, list, show, send, hold and cancel messages, the daily run without a
worker (messages land in the outbox folder), and message templates; hostile input included.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from service.cli.local_cluster import settings_environment
from service.database import models as m
from service.database.session import make_engine, make_session_factory
from service.domain.kinds import MessageKind, MessageState
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT

pytestmark = pytest.mark.integration

# Two weeks before Benchmarking 2 (26 September 2019): its invitations are due.
INVITATION_DAY = "2019-09-12T08:00+02:00"


@pytest.fixture
def mail_settings(sample_imported: Settings, broker_url: str, tmp_path: Path) -> Settings:
    """The sample, the tests' Redis (the daily run's lock) and an outbox folder of its own."""
    return sample_imported.model_copy(
        update={"redis_url": broker_url, "mail_outbox_dir": tmp_path / "outbox"}
    )


def mail(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
        "COLUMNS": "300",
        **settings_environment(settings),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "mail", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def messages(settings: Settings) -> list[m.OutboxMessage]:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(m.OutboxMessage).order_by(m.OutboxMessage.id)))
    finally:
        engine.dispose()


def outbox(settings: Settings) -> list[Path]:
    folder = settings.mail_outbox_dir
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_the_daily_run_writes_the_invitations_to_the_outbox_once(mail_settings: Settings) -> None:
    first = mail(mail_settings, "daily", "--now", INVITATION_DAY)
    second = mail(mail_settings, "daily", "--now", INVITATION_DAY)

    assert first.returncode == 0, first.stderr
    assert "daily run for 2019-09-12" in first.stdout
    assert "built 28 new message(s); 0 already there" in first.stdout
    assert "sent 28 of 28 message(s) to folder" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "built 0 new message(s); 28 already there" in second.stdout
    files = outbox(mail_settings)
    assert len(files) == 28
    stored = messages(mail_settings)
    assert {row.state for row in stored} == {MessageState.SENT}
    jonas = next(row for row in stored if row.recipient_email == "jonas.berg@askersund.example")
    [file] = [f for f in files if jonas.message_id.strip("<>").split("@")[0] in f.name]
    parsed = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Inbjudan till Benchmarking 2 den 26 september 2019"
    assert "Jonas Berg" in parsed["To"]
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None and "http://127.0.0.1:8000/lank/bdt_" in text.get_content()
    assert "text/calendar" in [part.get_content_type() for part in parsed.walk()]
    assert "/lank/bdt_…" in jonas.body_text  # the stored copy keeps no live link


def test_messages_are_built_held_shown_sent_and_cancelled_by_hand(
    mail_settings: Settings, tmp_path: Path
) -> None:
    built = mail(
        mail_settings, "build", "--meeting", "bm2", "--kinds", "invitation,late_uploads",
        "--hold", "--now", INVITATION_DAY,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "built 29 new message(s); 0 already there" in built.stdout
    assert outbox(mail_settings) == []
    listing = mail(mail_settings, "list", "--meeting", "bm2", "--state", "held")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("held (Väntar på dig)") == 29
    stored = messages(mail_settings)
    invitation = next(r for r in stored if r.kind is MessageKind.INVITATION)
    late = next(r for r in stored if r.kind is MessageKind.LATE_UPLOADS)

    eml = tmp_path / "inbjudan.eml"
    shown = mail(mail_settings, "show", str(invitation.id), "--eml", str(eml))
    assert shown.returncode == 0, shown.stderr
    assert f"Subject: {invitation.subject}" in shown.stdout
    assert "Calendar: yes" in shown.stdout
    assert "/lank/bdt_" in shown.stdout
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == invitation.message_id
    html = mail(mail_settings, "show", str(invitation.id), "--html")
    assert '<html lang="sv">' in html.stdout

    sent = mail(mail_settings, "send", str(invitation.id))
    assert sent.returncode == 0, sent.stderr
    assert f"message {invitation.id}: sent (Skickad)" in sent.stdout
    assert len(outbox(mail_settings)) == 1
    again = mail(mail_settings, "send", str(invitation.id))
    assert again.returncode == 1
    assert f"Meddelande {invitation.id} kan inte skickas: det är redan skickat" in again.stderr
    assert len(outbox(mail_settings)) == 1

    held = mail(mail_settings, "hold", str(late.id))
    assert held.returncode == 1
    assert "kan inte hållas kvar" in held.stderr
    cancelled = mail(mail_settings, "cancel", str(late.id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled (Stoppad)" in cancelled.stdout
    assert mail(mail_settings, "send", str(late.id)).returncode == 1
    states = {row.id: row.state for row in messages(mail_settings)}
    assert states[invitation.id] is MessageState.SENT
    assert states[late.id] is MessageState.CANCELLED


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (
            ["build", "--meeting", "bm2", "--kinds", "spam,invitation"],
            2,
            "--kinds: unknown kind 'spam'",
        ),
        (["build", "--meeting", "bm2", "--kinds", ","], 2, "--kinds: unknown kind none given"),
        (["build", "--meeting", "bm2", "--now", "i morgon"], 2, "--now: not an ISO 8601 time"),
        (["build", "--meeting", "bm99"], 2, "--meeting: no meeting with id or ref 'bm99'"),
        (["list", "--meeting", "bm2", "--state", "gone"], 2, "'--state'"),
        (["show", str(2**31)], 1, f"message {2**31} not found"),
        (["send", str(2**63)], 1, "not found"),
        (["hold", "--", "-1"], 1, "message -1 not found"),
        (["cancel", "abc"], 2, "Invalid value for 'message_id'"),
        (["template", "show", "spam"], 2, "Invalid value for 'kind'"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(
    mail_settings: Settings, args: list[str], code: int, words: str
) -> None:
    answer = mail(mail_settings, *args)

    assert answer.returncode == code, answer.stdout + answer.stderr
    assert words in " ".join(answer.stderr.split()), answer.stderr
    assert messages(mail_settings) == []


def test_a_template_is_shown_set_from_a_file_and_reset(
    mail_settings: Settings, tmp_path: Path
) -> None:
    shown = mail(mail_settings, "template", "show", "letter_ready")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Ämne: ")
    assert "the built-in text" in shown.stderr
    file = tmp_path / "klart.txt"
    file.write_text(
        "Ämne: Brevet till {{ organisation.name }} är klart\n\nHej {{ recipient.name }}!\n\n"
        "{{ link }}\n",
        encoding="utf-8",
    )

    saved = mail(mail_settings, "template", "set", "letter_ready", "--file", str(file))

    assert saved.returncode == 0, saved.stderr
    again = mail(mail_settings, "template", "show", "letter_ready")
    assert again.stdout.startswith("Ämne: Brevet till {{ organisation.name }} är klart")
    assert "edited by an organiser" in again.stderr
    from_stdin = mail(
        mail_settings, "template", "set", "letter_ready",
        stdin="Ämne: Klart, {{ recipient.name }}\n\nSe {{ link }}\n",
    )  # fmt: skip
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert mail(mail_settings, "template", "show", "letter_ready").stdout.startswith(
        "Ämne: Klart, {{ recipient.name }}"
    )
    reset = mail(mail_settings, "template", "reset", "letter_ready")
    assert reset.returncode == 0
    assert mail(mail_settings, "template", "show", "letter_ready").stdout == shown.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("Ämne: Hej\n\nHej {{ recipient.nam }}".encode(), "texten: unknown variable"),
        ("Ämne: Hej\n\n{{ ''.__class__ }}".encode(), "texten: '….__class__'"),
        ("Ämne: Hej {{ \n\nHej".encode(), "ämnesraden"),
        ("Ämne: Hej\x01\n\nHej".encode(), "ämnesraden: ämnesraden innehåller ett osynligt"),
        ("Ämne: Hej\n\n".encode() + b"x" * 20_001, "texten: texten är längre än 20000"),
        (b"Subject: Hej\n\nHej", "--file: the first line must be 'Ämne: '"),
        (b"\xff\xfe\x00\x00", "--file: not UTF-8 text (byte 0)"),
        (b"x" * (300 * 1024), "--file: larger than 256 KiB"),
    ],
)
def test_a_bad_template_file_is_refused_and_nothing_is_stored(
    mail_settings: Settings, tmp_path: Path, content: bytes, words: str
) -> None:
    file = tmp_path / "mall.txt"
    file.write_bytes(content)

    answer = mail(mail_settings, "template", "set", "invitation", "--file", str(file))

    assert answer.returncode == 2, answer.stderr
    assert "rejected: nothing was stored" in answer.stderr
    assert words in answer.stderr
    assert "the built-in text" in mail(mail_settings, "template", "show", "invitation").stderr


def test_a_missing_template_file_is_named(mail_settings: Settings, tmp_path: Path) -> None:
    answer = mail(
        mail_settings, "template", "set", "invitation", "--file", str(tmp_path / "saknas.txt")
    )

    assert answer.returncode == 2
    assert "--file: no such file" in answer.stderr
