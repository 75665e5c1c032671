"""E-mail in a real browser: a meeting's messages (build now, send, hold, stop), one message
with its calendar event and .eml, the message template editor, and a participant's opt-out.

Every page state met is checked with axe-core (WCAG 2.1 AA); the build form and the opt-out
are used with the keyboard.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from typing import Any

import httpx2 as httpx
import pytest
import redis
from sqlalchemy import select

from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageKind, MessageState
from service.mail.building import build_settings, build_upload_reminders
from service.task_queue import MAIL_QUEUE
from tests.integration.portal.conftest import (
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)

pytestmark = pytest.mark.integration


def sign_in(portal: Portal, page: Any, path: str) -> None:
    """An organiser signs in through the form and lands on ``path``."""
    username, password = portal.add_organiser()
    page.goto(portal.url(path))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(re.escape(portal.url(path)) + r"[?&]klart=inloggad$"))


def meeting_id(portal: Portal, ref: str = "bm2") -> int:
    with portal.runtime.sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def messages_to(portal: Portal, name: str) -> list[m.OutboxMessage]:
    with portal.runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.OutboxMessage)
                .where(m.OutboxMessage.recipient_name == name)
                .order_by(m.OutboxMessage.id)
            )
        )


def mail_tasks(portal: Portal) -> int:
    client = redis.Redis.from_url(portal.runtime.settings.redis_url)
    try:
        return int(client.llen(MAIL_QUEUE))
    finally:
        client.close()


def test_an_organiser_builds_reviews_and_sends_a_meetings_invitations(
    portal: Portal, page: Any
) -> None:
    bm2 = meeting_id(portal)
    with unit_of_work(portal.runtime.sessions) as session:
        jonas = session.scalars(select(m.Participant).where(m.Participant.name == "Jonas Berg"))
        jonas.one().email = None
    sign_in(portal, page, f"/arrangor/moten/{bm2}/utskick")
    assert page.locator("h1").inner_text() == "Utskick – Benchmarking 2"
    assert "Inga utskick har skapats" in page.locator("main").inner_text()
    check_accessibility(page, "a meeting without messages")

    # Nothing chosen: refused in Swedish, the summary's link leads to the choices.
    page.get_by_label("Inbjudan", exact=True).uncheck()
    page.get_by_role("button", name="Skapa utskick").click()
    alert = page.get_by_role("alert")
    assert "Välj minst ett slags utskick att skapa." in alert.inner_text()
    check_accessibility(page, "build refused")
    alert.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "slag-invitation"

    # With the keyboard: choose invitations, keep "wait for me", create.
    page.keyboard.press("Space")
    assert page.get_by_label("Vänta på mig innan de skickas").is_checked()
    press_tab_until(page, "^Skapa utskick$")
    page.keyboard.press("Enter")
    report = page.get_by_role("status")
    assert "27 nya utskick" in report.inner_text()
    assert "Jonas Berg (Askersunds kommun) har ingen e-postadress." in report.inner_text()
    assert "Inbjudan (27)" in page.locator("main").inner_text()
    check_accessibility(page, "invitations built")
    screenshot(page, "organiser-messages")
    assert mail_tasks(portal) == 0

    row = page.get_by_role("row", name=re.compile("Maria Sandberg"))
    assert "Väntar på dig" in row.inner_text()
    row.get_by_role("button", name="Skicka – till Maria Sandberg").click()
    page.wait_for_url(re.compile(r"\?klart=utskick-skickas#utskick-\d+$"))
    assert page.get_by_role("status").inner_text() == "Utskicket skickas nu."
    [maria] = messages_to(portal, "Maria Sandberg")
    assert maria.state == MessageState.QUEUED
    assert mail_tasks(portal) == 1  # handed to the workers after the commit
    row = page.get_by_role("row", name=re.compile("Maria Sandberg"))
    row.get_by_role("button", name="Håll kvar – till Maria Sandberg").click()
    page.wait_for_url(re.compile(r"\?klart=utskick-kvar"))
    row = page.get_by_role("row", name=re.compile("Maria Sandberg"))
    row.get_by_role("button", name="Stoppa – till Maria Sandberg").click()
    page.wait_for_url(re.compile(r"\?klart=utskick-stoppat"))
    row = page.get_by_role("row", name=re.compile("Maria Sandberg"))
    assert "Stoppad" in row.inner_text()
    assert row.get_by_role("button").count() == 0
    check_accessibility(page, "a stopped message")

    # The start page says what waits, and leads here.
    page.goto(portal.url("/arrangor"))
    card = page.locator(f"#mote-{bm2}")
    assert "26 utskick väntar på att du skickar dem." in card.inner_text()
    card.get_by_role("link", name=re.compile("^Granska och skicka")).click()
    page.wait_for_url(portal.url(f"/arrangor/moten/{bm2}/utskick"))

    # One message: its event, its text with the personal link, its .eml.
    page.get_by_role("link", name=re.compile("till Sofia Lindqvist$")).click()
    page.wait_for_url(re.compile(r"/arrangor/utskick/\d+$"))
    facts = page.locator("main").inner_text()
    assert "Kalenderinbjudan" in facts
    assert "26 september 2019 kl." in facts
    assert "Första inbjudan" in facts
    assert "/lank/bdt_" in page.locator(".message-text").inner_text()
    check_accessibility(page, "one message")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Ladda ner hela utskicket (.eml)").click()
    parsed = email.message_from_bytes(
        download_info.value.path().read_bytes(), policy=email.policy.default
    )
    [sofia] = messages_to(portal, "Sofia Lindqvist")
    assert parsed["Subject"] == sofia.subject
    assert parsed["Message-ID"] == sofia.message_id
    assert "sofia.lindqvist@askersund.example" in parsed["To"]
    types = [part.get_content_type() for part in parsed.walk()]
    assert "text/calendar" in types and "text/html" in types
    page.get_by_role("button", name="Skicka").click()
    page.wait_for_url(re.compile(r"/arrangor/utskick/\d+\?klart=utskick-skickas$"))
    assert "Köad" in page.locator("dl.facts").first.inner_text()
    assert page.get_by_role("button", name="Skicka").count() == 0

    # Every one that waits, at once.
    page.goto(portal.url(f"/arrangor/moten/{bm2}/utskick"))
    page.get_by_role("button", name=re.compile("^Skicka alla 25 som väntar")).click()
    page.wait_for_url(re.compile(r"klart=utskick-alla-skickas"))
    with portal.runtime.sessions() as session:
        states = session.scalars(
            select(m.OutboxMessage.state).where(m.OutboxMessage.meeting_id == bm2)
        ).all()
    assert sorted(states) == sorted([MessageState.CANCELLED] + [MessageState.QUEUED] * 26)
    check_accessibility(page, "all sent")


def test_a_message_id_past_the_database_and_another_page_are_not_found(
    portal: Portal, page: Any
) -> None:
    sign_in(portal, page, "/arrangor/meddelandemallar")
    for path in (
        f"/arrangor/utskick/{2**31}",
        f"/arrangor/utskick/{2**63}.eml",
        "/arrangor/utskick/abc",
        f"/arrangor/moten/{2**31}/utskick",
        "/arrangor/meddelandemallar/spam",
    ):
        answer = page.goto(portal.url(path))
        assert answer.status == 404, path
        assert page.locator("h1").inner_text() == "Sidan finns inte"


def template_rows(portal: Portal) -> list[m.MessageTemplate]:
    with portal.runtime.sessions() as session:
        return list(session.scalars(select(m.MessageTemplate)))


def test_an_organiser_edits_previews_saves_and_resets_a_message_template(
    portal: Portal, page: Any
) -> None:
    sign_in(portal, page, "/arrangor/meddelandemallar")
    assert page.locator("h1").inner_text() == "Meddelandemallar"
    check_accessibility(page, "the message templates")
    page.get_by_role("link", name="Påminnelse om uppladdning").click()
    page.wait_for_url(portal.url("/arrangor/meddelandemallar/upload_reminder"))
    assert "{{ recipient.name }}" in page.locator("dl.template-names").inner_text()
    assert "Anna Andersson" in page.locator("dl.template-names").inner_text()
    assert (
        "Påminnelse: ladda upp senast 11 mars 2027" in page.locator(".preview-subject").inner_text()
    )
    check_accessibility(page, "a message template")

    # An unknown name: refused in Swedish, the summary leads to the text.
    page.get_by_label("Text", exact=True).fill("Hej {{ recipient.nam }}!")
    page.get_by_role("button", name="Spara").click()
    alert = page.get_by_role("alert")
    assert "Texten kunde inte sparas" in alert.inner_text()
    assert "menade du ”name”" in alert.inner_text()
    check_accessibility(page, "a refused template")
    alert.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "text"
    assert page.get_by_label("Text", exact=True).input_value() == "Hej {{ recipient.nam }}!"

    # A sandbox escape and a control character in the subject are refused too.
    page.get_by_label("Text", exact=True).fill("{{ ''.__class__.__mro__ }}")
    page.get_by_role("button", name="Spara").click()
    assert "namn som börjar med _ går inte att läsa" in page.get_by_role("alert").inner_text()
    page.get_by_label("Ämnesrad").fill("Hej\x07")
    page.get_by_label("Text", exact=True).fill("Hej")
    page.get_by_role("button", name="Förhandsgranska").click()
    alert = page.get_by_role("alert")
    assert "Texten kunde inte förhandsgranskas" in alert.inner_text()
    assert "Ämnesrad: ämnesraden innehåller ett osynligt styrtecken" in alert.inner_text()
    alert.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "amne"
    assert template_rows(portal) == []

    # A preview changes nothing; saving does, and the preview then shows the new text.
    page.get_by_label("Ämnesrad").fill("Glöm inte, {{ recipient.name }}")
    page.get_by_label("Text", exact=True).fill(
        "Hej {{ recipient.name }}!\n\nVi saknar:\n{% for thing in missing %}\n- {{ thing }}\n"
        "{% endfor %}\n\n{{ link }}\n\nAvsluta påminnelser: {{ opt_out_link }}"
    )
    page.get_by_role("button", name="Förhandsgranska").click()
    assert page.locator(".preview-subject").inner_text() == "Glöm inte, Anna Andersson"
    assert "inte sparad än" in page.locator("#forhandsgranskning").locator("..").inner_text()
    assert "- den ifyllda självskattningen" in page.locator(".preview-text").inner_text()
    check_accessibility(page, "an unsaved preview")
    assert template_rows(portal) == []
    page.get_by_role("button", name="Spara").click()
    page.wait_for_url(re.compile(r"\?klart=meddelandemall-sparad$"))
    assert page.get_by_role("status").inner_text() == "Texten är sparad. Nya utskick görs med den."
    assert page.locator(".preview-subject").inner_text() == "Glöm inte, Anna Andersson"
    [row] = template_rows(portal)
    assert row.subject == "Glöm inte, {{ recipient.name }}"
    assert row.updated_by == "Anna Arrangör"
    check_accessibility(page, "a saved template")
    screenshot(page, "organiser-message-template")

    page.get_by_role("button", name="Återställ till standardtexten").click()
    page.wait_for_url(re.compile(r"\?klart=meddelandemall-aterstalld$"))
    assert "Standardtext" in page.locator("main").inner_text()
    assert page.get_by_label("Ämnesrad").input_value().startswith("Påminnelse: ladda upp")
    assert template_rows(portal) == []
    check_accessibility(page, "a reset template")


def _reminders(portal: Portal) -> list[m.OutboxMessage]:
    settings = build_settings(portal.runtime.settings, by="test", now=utcnow(), hold=True)
    with unit_of_work(portal.runtime.sessions) as session:
        report = build_upload_reminders(session, meeting_id(portal), settings)
    with portal.runtime.sessions() as session:
        return [session.get_one(m.OutboxMessage, message_id) for message_id in report.added]


def opted_out(portal: Portal) -> set[int]:
    with portal.runtime.sessions() as session:
        return set(session.scalars(select(m.ReminderOptOut.participant_id)))


def test_a_participant_opts_out_of_reminders_by_the_link_and_by_one_click(
    portal: Portal, page: Any
) -> None:
    first, second, *_ = _reminders(portal)
    assert first.opt_out_url is not None and second.opt_out_url is not None
    path = "/" + first.opt_out_url.split("/", 3)[3]

    # A mail scanner's GET changes nothing.
    assert httpx.get(portal.url(path)).status_code == 200
    page.goto(portal.url(path))
    assert page.locator("h1").inner_text() == "Avsluta påminnelser"
    assert first.recipient_email in page.locator("main").inner_text()
    check_accessibility(page, "the opt-out question")
    assert opted_out(portal) == set()

    press_tab_until(page, "^Ja, avsluta påminnelserna$")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Påminnelserna är avslutade"
    check_accessibility(page, "opted out")
    assert opted_out(portal) == {first.participant_id}
    [stopped] = [r for r in messages_to(portal, str(first.recipient_name))]
    assert stopped.state == MessageState.CANCELLED

    # A mail client's RFC 8058 one-click POST: no session, no CSRF token, the key is enough.
    one_click = httpx.post(
        second.opt_out_url.replace("http://127.0.0.1:8000", portal.base_url),
        data={"List-Unsubscribe": "One-Click"},
    )
    assert one_click.status_code == 200
    assert opted_out(portal) == {first.participant_id, second.participant_id}
    assert one_click.headers["Referrer-Policy"] == "no-referrer"

    # Unknown, malformed and hostile keys: the same 404, nothing recorded.
    for key in ("x" * 32, "kort", "a" * 5000, "..%2F..%2Fetc", "%00" * 30, "<script>"):
        for method in ("GET", "POST"):
            answer = httpx.request(method, portal.url(f"/e-post/avsluta/{key}"))
            assert answer.status_code == 404, (method, key)
            # A key with a slash in it is another address, which does not exist either.
            assert "Länken fungerar inte" in answer.text or "Sidan finns inte" in answer.text
    assert opted_out(portal) == {first.participant_id, second.participant_id}

    # The next reminders skip them, saying so; the key never reached the access log.
    with unit_of_work(portal.runtime.sessions) as session:
        session.execute(select(m.OutboxMessage)).all()
        for row in session.scalars(
            select(m.OutboxMessage).where(m.OutboxMessage.kind == MessageKind.UPLOAD_REMINDER)
        ):
            row.purpose += ":förra"
    settings = build_settings(
        portal.runtime.settings, by="test", now=utcnow() + dt.timedelta(days=1), hold=True
    )
    with unit_of_work(portal.runtime.sessions) as session:
        report = build_upload_reminders(session, meeting_id(portal), settings)
    assert f"{first.recipient_name} " in " ".join(report.skipped)
    assert any(s.endswith("har avslutat påminnelser.") for s in report.skipped)
    key = path.rsplit("/", 1)[1]
    assert not any(key in line for line in portal.access_log)


def test_hostile_forms_are_refused_in_swedish_and_store_nothing(portal: Portal, page: Any) -> None:
    bm2 = meeting_id(portal)
    sign_in(portal, page, "/arrangor/meddelandemallar/invitation")
    token = page.locator("input[name=csrf_token]").first.input_value()

    def post(path: str, form: dict[str, Any]) -> Any:
        return page.request.post(portal.url(path), form={"csrf_token": token, **form})

    # Kinds that do not exist, alone or beside a real one: nothing is built.
    for kinds in ("spam", "invitation&slag=../../etc"):
        answer = post(f"/arrangor/moten/{bm2}/utskick", {"slag": kinds, "vanta": "ja"})
        assert answer.status == 422
        assert "Välj minst ett slags utskick att skapa." in answer.text()
    assert post("/arrangor/moten/1/utskick/skicka-alla", {"slag": "spam"}).status == 404
    # A template far too long for the form, just too long for a letter, and with a NUL.
    too_long = post("/arrangor/meddelandemallar/invitation", {"amne": "Hej", "text": "x" * 200_001})
    assert too_long.status == 422
    assert "Det gäller fältet: text." in too_long.text()
    letter_sized = post(
        "/arrangor/meddelandemallar/invitation", {"amne": "Hej", "text": "x" * 20_001}
    )
    assert letter_sized.status == 422
    assert "texten är längre än 20000 tecken" in letter_sized.text()
    nul = post("/arrangor/meddelandemallar/invitation", {"amne": "Hej", "text": "a\x00b"})
    assert nul.status == 422
    assert "styrtecken (U+0000)" in nul.text()
    # Without the form's token nothing happens at all.
    forged = page.request.post(
        portal.url("/arrangor/meddelandemallar/invitation/aterstall"), form={"csrf_token": "x"}
    )
    assert forged.status == 403
    with portal.runtime.sessions() as session:
        assert session.scalars(select(m.OutboxMessage)).all() == []
    assert template_rows(portal) == []
