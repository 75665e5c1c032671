"""The portal's doors, in a real browser: signing in, personal links, and the defences.

Journeys are walked with the keyboard; every page met is checked with axe-core (WCAG 2.1 AA).
"""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from service.access.portal_sessions import cookie_digest
from service.access.tokens import revoke_token
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from tests.integration.portal.conftest import (
    ORGANISER_PASSWORD,
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)

pytestmark = pytest.mark.integration


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def _session_cookie(page: Any) -> str | None:
    for cookie in page.context.cookies():
        if cookie["name"] == "benchdocs_session":
            return str(cookie["value"])
    return None


def test_the_start_page_is_swedish_accessible_and_begins_with_a_skip_link(
    portal: Portal, page: Any
) -> None:
    page.goto(portal.url("/"))
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert page.locator("h1").inner_text() == "Dokument till benchmarkingträffarna"
    check_accessibility(page, "start page")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.innerText") == "Hoppa till innehållet"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "innehall"
    screenshot(page, "start")


def test_an_organiser_signs_in_with_the_keyboard_and_comes_back_to_the_page_asked_for(
    portal: Portal, page: Any
) -> None:
    username, password = portal.add_organiser()
    page.goto(portal.url("/arrangor"))
    assert page.url == portal.url("/logga-in?nasta=%2Farrangor")
    check_accessibility(page, "login form")
    press_tab_until(page, "^Användarnamn$")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/arrangor?klart=inloggad"))
    assert page.get_by_role("status").inner_text() == "Du är inloggad."
    check_accessibility(page, "organiser start")
    # Signing out ends the session on the server, not only in the browser.
    cookie = _session_cookie(page)
    assert cookie is not None
    press_tab_until(page, "^Logga ut$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/?klart=utloggad"))
    with portal.runtime.sessions() as session:
        row = session.scalars(
            select(m.PortalSession).where(m.PortalSession.cookie_sha256 == cookie_digest(cookie))
        ).one()
        assert row.ended_at is not None
    with httpx.Client(base_url=portal.base_url, cookies={"benchdocs_session": cookie}) as client:
        assert client.get("/arrangor").status_code == 303


def test_a_wrong_password_says_so_in_swedish_and_repeated_failures_are_slowed_down(
    portal: Portal, page: Any
) -> None:
    portal.add_organiser()
    page.goto(portal.url("/logga-in"))
    page.get_by_label("Användarnamn").fill("arrangor")
    page.get_by_label("Lösenord").fill("fel lösenord")
    page.get_by_role("button", name="Logga in").click()
    alert = page.get_by_role("alert")
    assert "Fel användarnamn eller lösenord" in alert.inner_text()
    check_accessibility(page, "login error")
    with httpx.Client(base_url=portal.base_url) as client:
        for _ in range(4):
            form = client.get("/logga-in")
            answer = client.post(
                "/logga-in",
                data={
                    "csrf_token": _csrf(form.text),
                    "anvandarnamn": "arrangor",
                    "losenord": "gissning",
                },
            )
            assert answer.status_code == 401
        # Five failures in the window: even the right password now waits.
        form = client.get("/logga-in")
        answer = client.post(
            "/logga-in",
            data={
                "csrf_token": _csrf(form.text),
                "anvandarnamn": "arrangor",
                "losenord": ORGANISER_PASSWORD,
            },
        )
    assert answer.status_code == 429
    assert "För många misslyckade inloggningar" in answer.text
    assert int(answer.headers["Retry-After"]) == 15 * 60


def test_forms_without_their_token_or_from_another_site_change_nothing(
    portal: Portal, page: Any
) -> None:
    username, password = portal.add_organiser()
    with httpx.Client(base_url=portal.base_url) as client:
        form = client.get("/logga-in")
        token = _csrf(form.text)
        credentials = {"anvandarnamn": username, "losenord": password}
        missing = client.post("/logga-in", data=credentials)
        wrong = client.post("/logga-in", data={**credentials, "csrf_token": "x" * 43})
        foreign = client.post(
            "/logga-in",
            data={**credentials, "csrf_token": token},
            headers={"Origin": "https://angripare.example"},
        )
    for answer in (missing, wrong, foreign):
        assert answer.status_code == 403
        assert "Formuläret kunde inte skickas" in answer.text
        assert "benchdocs_session" not in answer.headers.get("set-cookie", "")
    with portal.runtime.sessions() as session:
        assert session.scalar(select(func.count(m.PortalSession.id))) == 0
        assert session.scalar(select(func.count(m.LoginAttempt.id))) == 0


def test_a_session_cookie_planted_before_sign_in_never_becomes_a_signed_in_one(
    portal: Portal, page: Any
) -> None:
    """Session fixation: the login makes a new cookie and ends the browser's old session."""
    username, password = portal.add_organiser()
    participant_link = portal.participant_link("askersund")
    page.goto(participant_link)
    planted = _session_cookie(page)
    assert planted is not None
    page.goto(portal.url("/logga-in"))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(r".*/arrangor\?klart=inloggad$"))
    current = _session_cookie(page)
    assert current is not None and current != planted
    with httpx.Client(base_url=portal.base_url, cookies={"benchdocs_session": planted}) as client:
        assert client.get("/mina-dokument").status_code == 401
        assert client.get("/arrangor").status_code == 303


def test_a_personal_link_opens_a_session_and_leaves_no_token_behind(
    portal: Portal, page: Any
) -> None:
    link = portal.participant_link("askersund", label="Delegationen i Askersund")
    token = link.rsplit("/", 1)[1]
    referers: list[str] = []
    page.on("request", lambda request: referers.append(request.headers.get("referer", "")))
    page.goto(link)
    assert page.url == portal.url("/mina-dokument")
    assert "Askersund" in page.locator("h1").inner_text()
    check_accessibility(page, "participant documents")
    # The tab's history holds the blank page it started on and the clean address only.
    assert page.evaluate("history.length") == 2
    page.go_back()
    assert page.url == "about:blank"
    page.go_forward()
    assert page.url == portal.url("/mina-dokument")
    assert all(token not in referer for referer in referers)
    assert any("/lank/[redacted]" in line for line in portal.access_log)
    assert not any(token in line for line in portal.access_log)
    with httpx.Client(base_url=portal.base_url) as client:
        answer = client.get(f"/lank/{token}")
    assert answer.status_code == 303
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_revoked_link_ends_its_sessions_and_says_why(portal: Portal, page: Any) -> None:
    link = portal.participant_link("askersund")
    page.goto(link)
    assert page.url == portal.url("/mina-dokument")
    with unit_of_work(portal.runtime.sessions) as session:
        token_id = session.scalars(select(m.AccessToken.id)).one()
        revoke_token(session, token_id, now=utcnow())
    page.goto(portal.url("/mina-dokument"))
    assert page.locator("h1").inner_text() == "Öppna din personliga länk"
    check_accessibility(page, "link required")
    page.goto(link)
    assert page.locator("h1").inner_text() == "Länken fungerar inte"
    assert "Länken har återkallats." in page.locator("main").inner_text()
    check_accessibility(page, "refused link")


def test_a_participant_session_is_refused_on_organiser_pages(portal: Portal, page: Any) -> None:
    page.goto(portal.participant_link("askersund"))
    answer = page.goto(portal.url("/arrangor"))
    assert answer is not None and answer.status == 403
    assert page.locator("h1").inner_text() == "Sidan är till för arrangörer"
    check_accessibility(page, "organiser only")


def test_pages_forbid_framing_and_inline_scripts(portal: Portal, page: Any) -> None:
    answer = page.goto(portal.url("/logga-in"))
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    inline = page.evaluate("[...document.scripts].filter(s => !s.src).length")
    assert inline == 0
    # An inline script slipped into the page does not run.
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.ran = true'; document.body.append(s); }"""
    )
    assert page.evaluate("window.ran === true") is False
    page.wait_for_timeout(100)
    assert any("script-src" in text for text in page.csp_refusals)
    page.csp_refusals.clear()  # provoked on purpose
    # Framed by another site, the page stays empty.
    page.goto("about:blank")
    page.set_content(f'<iframe title="ram" src="{portal.url("/logga-in")}"></iframe>')
    frame = page.frames[-1]
    page.wait_for_timeout(300)
    content = frame.content() if frame.url.startswith(portal.base_url) else ""
    assert "Logga in som arrangör" not in content


def test_the_accessibility_statement_takes_a_report_and_names_the_supervisor(
    portal: Portal, page: Any
) -> None:
    page.goto(portal.url("/"))
    press_tab_until(page, "^Tillgänglighetsredogörelse$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/tillganglighet"))
    text = page.locator("main").inner_text()
    assert "WCAG 2.1" in text and "Myndigheten för digital förvaltning" in text
    check_accessibility(page, "accessibility statement")
    page.get_by_role("button", name="Skicka rapporten").click()
    # The browser's own check stops an empty required field; without it the server does.
    with httpx.Client(base_url=portal.base_url) as client:
        form = client.get("/tillganglighet")
        refused = client.post(
            "/tillganglighet/rapport",
            data={"csrf_token": _csrf(form.text), "beskrivning": " ", "kontakt": "inte en adress"},
        )
    assert refused.status_code == 422
    assert "Beskriv problemet" in refused.text and "namn@exempel.se" in refused.text
    page.get_by_label("Beskriv problemet").fill("Knappen 🙂 syns dåligt med 200 % zoom – åäö")
    page.get_by_label("Vilken sida gäller det?").fill("<script>alert(1)</script>")
    page.get_by_role("button", name="Skicka rapporten").click()
    assert page.get_by_role("status").inner_text() == "Tack! Vi har tagit emot din rapport."
    check_accessibility(page, "report sent")
    with portal.runtime.sessions() as session:
        report = session.scalars(select(m.AccessibilityReport)).one()
    assert report.description == "Knappen 🙂 syns dåligt med 200 % zoom – åäö"
    assert report.page == "<script>alert(1)</script>"


def test_pages_fit_a_phone_without_sideways_scrolling(portal: Portal, browser: Any) -> None:
    context = browser.new_context(
        locale="sv-SE", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        portal.add_organiser()
        for path in ("/", "/logga-in", "/tillganglighet"):
            phone.goto(portal.url(path))
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
        phone.goto(portal.participant_link("askersund"))
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        check_accessibility(phone, "participant documents on a phone")
        screenshot(phone, "participant-phone")
    finally:
        context.close()


def test_a_part_of_a_page_asked_for_after_the_session_ended_sends_the_tab_to_login(
    portal: Portal,
) -> None:
    """htmx polling with an expired session: the whole tab goes to the login form."""
    with httpx.Client(base_url=portal.base_url) as client:
        answer = client.get(
            "/arrangor",
            headers={"HX-Request": "true", "HX-Current-URL": portal.url("/arrangor/batchar/7")},
        )
    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"] == "/logga-in?nasta=%2Farrangor%2Fbatchar%2F7"


def test_unreadable_addresses_and_forms_get_swedish_pages_not_machine_answers(
    portal: Portal, page: Any
) -> None:
    portal.add_organiser()
    with httpx.Client(base_url=portal.base_url) as client:
        form = client.get("/logga-in")
        client.post(
            "/logga-in",
            data={
                "csrf_token": _csrf(form.text),
                "anvandarnamn": "arrangor",
                "losenord": ORGANISER_PASSWORD,
            },
        )
        for path in ("/arrangor/moten/abc", "/arrangor/moten/99999999999999999999"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "Sidan finns inte" in answer.text
        statement = client.get("/tillganglighet")
        too_long = client.post(
            "/tillganglighet/rapport",
            data={"csrf_token": _csrf(statement.text), "beskrivning": "x", "sida": "å" * 5000},
        )
    assert too_long.status_code == 422
    assert "Uppgifterna kunde inte tas emot" in too_long.text
    assert "Det gäller fältet: sida." in too_long.text
    with portal.runtime.sessions() as session:
        assert session.scalar(select(func.count(m.AccessibilityReport.id))) == 0
    page.goto(portal.url("/finns/inte"))
    assert page.locator("h1").inner_text() == "Sidan finns inte"
    check_accessibility(page, "404 page")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("<script>alert(1)</script>", "x"),
        ("{{ 7*7 }}", "{% raw %}"),
        ("anna\x00\x07", "lösen\x1b[31m"),
        ("åsa 🙂", "🙂" * 300),
        ("a" * 150, "b" * 1500),
    ],
    ids=["markup", "template", "control", "emoji", "long"],
)
def test_hostile_logins_are_refused_in_swedish_and_shown_escaped(
    portal: Portal, username: str, password: str
) -> None:
    with httpx.Client(base_url=portal.base_url) as client:
        form = client.get("/logga-in")
        answer = client.post(
            "/logga-in",
            data={"csrf_token": _csrf(form.text), "anvandarnamn": username, "losenord": password},
        )
    assert answer.status_code == 401
    assert "Fel användarnamn eller lösenord" in answer.text
    assert "<script>alert(1)</script>" not in answer.text
    assert "49" not in answer.text.split("<main", 1)[1]
    with portal.runtime.sessions() as session:
        assert session.scalar(select(func.count(m.PortalSession.id))) == 0


def test_a_nul_character_in_any_organiser_form_field_is_answered_never_a_server_error(
    portal: Portal,
) -> None:
    """PostgreSQL refuses NUL in text: every form must refuse it first, in Swedish."""
    portal.add_organiser()
    askersund = portal.organisation_id("askersund")
    with portal.runtime.sessions() as session:
        bm2 = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
    nul = "före\x00efter"
    forms = {
        f"/arrangor/lankar/ny/{askersund}": {"etikett": nul, "dagar": nul},
        f"/arrangor/moten/{bm2}/brev/{askersund}": {"noted": nul, "ideas": nul},
        f"/arrangor/moten/{bm2}/generera": {
            "sort": nul, "omfattning": nul, "organisation": nul, "pdf": nul, "starta_anda": nul,
        },
        "/arrangor/regenerering": {"atgard": nul, "mote": nul},
        "/tillganglighet/rapport": {"beskrivning": nul, "sida": nul, "kontakt": nul},
    }  # fmt: skip
    with httpx.Client(base_url=portal.base_url) as client:
        form = client.get("/logga-in")
        client.post(
            "/logga-in",
            data={
                "csrf_token": _csrf(form.text),
                "anvandarnamn": "arrangor",
                "losenord": ORGANISER_PASSWORD,
            },
        )
        token = _csrf(client.get("/arrangor").text)
        for target, fields in forms.items():
            answer = client.post(target, data={"csrf_token": token, **fields})
            assert answer.status_code < 500, f"{target}: {answer.status_code}"
            assert answer.status_code in (303, 404, 422), f"{target}: {answer.status_code}"
    with portal.runtime.sessions() as session:
        assert session.scalar(select(func.count(m.AccessibilityReport.id))) == 0
        assert session.scalar(select(func.count(m.Batch.id))) == 0
        letter = session.scalars(select(m.FeedbackLetter)).first()
        assert letter is None or letter.noted is None
