"""Participants' links in a real browser: issue by keyboard, shown once, copy, last used, revoke."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from service.database import models as m
from tests.integration.portal.conftest import (
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)
from tests.integration.portal.test_letters import sign_in

pytestmark = pytest.mark.integration

LABEL = "Delegationen åäö 🎉 {{ 7*7 }} <b>fet</b>"


def _token_count(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.AccessToken)) or 0


def test_a_link_is_made_by_keyboard_shown_once_works_shows_its_last_use_and_is_revoked(
    portal: Portal, page: Any, browser: Any
) -> None:
    askersund = portal.organisation_id("askersund")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.base_url)
    sign_in(portal, page, f"/arrangor/lankar?organisation={askersund}")
    assert page.locator("h2", has_text="Askersunds kommun").count() == 1
    assert page.locator("h2", has_text="Kalmar kommun").count() == 0
    check_accessibility(page, "links of one organisation")

    press_tab_until(page, r"^Skapa ny länk\s+för Askersunds kommun$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url(f"/arrangor/lankar/ny/{askersund}"))
    check_accessibility(page, "new link form")
    press_tab_until(page, "^Vem länken är till$")
    page.keyboard.type(LABEL)
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ny-lank")

    link = page.locator("#ny-lank").input_value()
    assert re.fullmatch(re.escape(portal.url("/lank/")) + r"bdt_[A-Za-z0-9_-]{43}", link)
    assert page.locator("#ny-lank").get_attribute("readonly") is not None
    assert "Den visas inte igen." in page.locator("main").inner_text()
    assert f"Personlig länk till {LABEL}" in page.locator("label[for=ny-lank]").inner_text()
    check_accessibility(page, "the new link, shown once")
    press_tab_until(page, "^Kopiera$")
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Länken är kopierad.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    check_accessibility(page, "the link copied")
    screenshot(page, "organiser-links")

    # It is never shown again.
    page.goto(portal.url(f"/arrangor/lankar?organisation={askersund}"))
    token = link.rsplit("/", 1)[1]
    assert token not in page.content()
    row = page.get_by_role("row", name=LABEL)
    assert "aktiv" in row.inner_text()
    assert "aldrig" in row.inner_text()

    # The link opens Askersund's documents in a fresh browser; the list then shows its use.
    fresh = browser.new_context(locale="sv-SE")
    try:
        participant = fresh.new_page()
        participant.goto(link)
        assert participant.url == portal.url("/mina-dokument")
    finally:
        fresh.close()
    page.reload()
    row = page.get_by_role("row", name=LABEL)
    assert "aldrig" not in row.inner_text()
    assert re.search(r"\d{4} kl\. \d{2}\.\d{2}", row.inner_text())
    check_accessibility(page, "links with a used one")

    # Revoking asks first, then the link stops working.
    row.get_by_role("link", name=re.compile("^Återkalla")).click()
    assert page.locator("h1").inner_text() == f"Återkalla länken till {LABEL}?"
    check_accessibility(page, "revoke confirmation")
    page.get_by_role("button", name="Ja, återkalla länken").click()
    page.wait_for_url(re.compile(r"klart=lank-aterkallad"))
    assert (
        page.get_by_role("status").inner_text() == "Länken är återkallad. Den fungerar inte längre."
    )
    row = page.get_by_role("row", name=LABEL)
    assert "återkallad" in row.inner_text()
    assert row.get_by_role("link", name=re.compile("^Återkalla")).count() == 0
    check_accessibility(page, "links with a revoked one")
    fresh = browser.new_context(locale="sv-SE")
    try:
        participant = fresh.new_page()
        response = participant.goto(link)
        assert response.status == 403
        assert "Länken har återkallats." in participant.locator("main").inner_text()
    finally:
        fresh.close()


def test_a_new_link_without_javascript_is_still_selectable(portal: Portal, browser: Any) -> None:
    askersund = portal.organisation_id("askersund")
    context = browser.new_context(locale="sv-SE", java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(portal, page, f"/arrangor/lankar/ny/{askersund}")
        page.get_by_label("Vem länken är till").fill("Kontaktpersonen")
        page.get_by_role("button", name="Skapa länken").click()
        link = page.locator("#ny-lank").input_value()
        assert "/lank/bdt_" in link
        # The copy button needs JavaScript: without it, it stays hidden.
        assert page.get_by_role("button", name="Kopiera").count() == 0
    finally:
        context.close()


@pytest.mark.parametrize(
    ("label", "days", "message"),
    [
        ("", "30", "Fyll i ”Vem länken är till”, till exempel ”Delegationen”."),
        ("Dele\x01gationen", "30", "”Vem länken är till” innehåller ett osynligt styrtecken"),
        ("å" * 201, "30", "”Vem länken är till” får vara högst 200 tecken."),
        ("Delegationen", "0", "”Giltig i antal dagar” ska vara ett heltal från 1 till {max}."),
        ("Delegationen", "{over}", "”Giltig i antal dagar” ska vara ett heltal från 1 till {max}."),
        ("Delegationen", "tio", "”Giltig i antal dagar” ska vara ett heltal från 1 till {max}."),
    ],
)
def test_a_wrong_link_form_is_refused_in_swedish_and_nothing_is_stored(
    portal: Portal, page: Any, label: str, days: str, message: str
) -> None:
    askersund = portal.organisation_id("askersund")
    sign_in(portal, page, f"/arrangor/lankar/ny/{askersund}")
    before = _token_count(portal)
    max_days = portal.runtime.settings.token_valid_days
    days = days.format(over=max_days + 1)
    message = message.format(max=max_days)
    # Past the browser's own checks (maxlength, min, max), as a script would send it.
    page.evaluate(
        """([label, days]) => {
            const form = document.querySelector('form[action^="/arrangor/lankar/ny/"]');
            form.noValidate = true;
            form.querySelector('#etikett').removeAttribute('maxlength');
            form.querySelector('#dagar').type = 'text';
            form.querySelector('#etikett').value = label;
            form.querySelector('#dagar').value = days;
            form.submit();
        }""",
        [label, days],
    )
    page.wait_for_selector("[role=alert]")
    assert message in page.get_by_role("alert").inner_text()
    check_accessibility(page, "refused link form")
    assert _token_count(portal) == before


def test_links_of_unknown_organisations_and_tokens_are_not_found(portal: Portal, page: Any) -> None:
    sign_in(portal, page, "/arrangor/lankar")
    check_accessibility(page, "all links")
    for path in (
        "/arrangor/lankar/ny/999999",
        "/arrangor/lankar/999999/aterkalla",
        "/arrangor/lankar/99999999999999999999/aterkalla",
    ):
        response = page.goto(portal.url(path))
        assert response.status == 404, path


def test_the_link_begins_with_the_configured_participant_address(portal: Portal, page: Any) -> None:
    settings = portal.runtime.settings
    portal.runtime.settings = settings.model_copy(
        update={"participant_url": "https://deltagare.example.se/"}
    )
    try:
        askersund = portal.organisation_id("askersund")
        sign_in(portal, page, f"/arrangor/lankar/ny/{askersund}")
        page.get_by_label("Vem länken är till").fill("Kontaktpersonen")
        page.get_by_role("button", name="Skapa länken").click()
        link = page.locator("#ny-lank").input_value()
        assert re.fullmatch(r"https://deltagare\.example\.se/lank/bdt_[A-Za-z0-9_-]{43}", link)
    finally:
        portal.runtime.settings = settings
