"""Organisers' letters in a real browser: edit, preview, release; the participant then sees it.

Hostile text (markup, template syntax, emoji) is stored as written and shown escaped; control
characters are refused in Swedish, naming the field, and nothing is stored.
"""

from __future__ import annotations

import io
import re
from typing import Any

import docx
import httpx2 as httpx
import pytest
from sqlalchemy import select

from service.access.letters import LetterReview, letter_state, put_letter
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from tests.integration.conftest import render_meeting_documents, wait_until
from tests.integration.portal.conftest import Portal, check_accessibility, screenshot

pytestmark = pytest.mark.integration

HOSTILE = "Åsa såg {{ 7*7 }} och <b>fet</b> <script>alert(1)</script> 🎉 – öäå\nRad två."
NOTED_FIELD = "Er presentation – det vi särskilt noterade"


def sign_in(portal: Portal, page: Any, path: str) -> None:
    """Sign an organiser in through the login form and land on ``path``."""
    username, password = portal.add_organiser()
    page.goto(portal.url(path))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(re.escape(portal.url(path)) + r"[?&]klart=inloggad$"))


def meeting_id(portal: Portal, ref: str) -> int:
    with portal.runtime.sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def _state(portal: Portal, meeting: int, organisation: int) -> Any:
    with portal.runtime.sessions() as session:
        return letter_state(session, meeting, organisation)


def test_an_organiser_writes_previews_and_releases_a_letter_the_participant_then_sees(
    portal: Portal, page: Any
) -> None:
    bm2 = meeting_id(portal, "bm2")
    askersund = portal.organisation_id("askersund")
    sign_in(portal, page, f"/arrangor/moten/{bm2}/brev")
    row = page.get_by_role("row", name=re.compile("Askersunds kommun"))
    assert "Utkast, inte klart" in row.inner_text()
    assert "Fyll i ”Er presentation" in row.inner_text()
    check_accessibility(page, "the meeting's letters")

    row.get_by_role("link", name="Askersunds kommun").click()
    page.wait_for_url(portal.url(f"/arrangor/moten/{bm2}/brev/{askersund}"))
    assert page.locator("h1").inner_text() == "Brev till Askersunds kommun"
    check_accessibility(page, "a draft letter")

    # Release is refused while the noted text is missing, in Swedish, naming the field.
    page.get_by_role("button", name="Släpp brevet till Askersunds kommun").click()
    alert = page.get_by_role("alert")
    assert "Brevet kan inte släppas ännu" in alert.inner_text()
    assert f"Fyll i ”{NOTED_FIELD}” innan brevet släpps." in alert.inner_text()
    check_accessibility(page, "release refused")
    alert.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "noted"
    assert _state(portal, bm2, askersund).released_at is None

    # A control character is refused, naming the field; nothing is stored.
    page.get_by_label(NOTED_FIELD).fill("Bra\x07 analys")
    page.get_by_role("button", name="Spara texterna").click()
    alert = page.get_by_role("alert")
    assert "Brevet kunde inte sparas" in alert.inner_text()
    assert f"”{NOTED_FIELD}” innehåller ett osynligt styrtecken" in alert.inner_text()
    check_accessibility(page, "control character refused")
    assert _state(portal, bm2, askersund).noted is None

    # Markup, template syntax, åäö and emoji are stored as written and shown escaped.
    page.get_by_label(NOTED_FIELD).fill(HOSTILE)
    page.get_by_label("Idéer att ta med hem").fill("Idé ett 💡\n\n  Idé <i>två</i>  ")
    page.get_by_role("button", name="Spara texterna").click()
    page.wait_for_url(re.compile(r"\?klart=brev-sparat"))
    assert page.get_by_role("status").inner_text() == "Brevet är sparat."
    stored = _state(portal, bm2, askersund)
    assert stored.noted == HOSTILE
    assert stored.ideas == ["Idé ett 💡", "Idé <i>två</i>"]
    assert page.get_by_label(NOTED_FIELD).input_value() == HOSTILE
    preview = page.locator("article.letter-preview")
    preview_text = preview.inner_text()
    assert "Åsa såg {{ 7*7 }} och <b>fet</b> <script>alert(1)</script> 🎉 – öäå" in preview_text
    assert "Rad två." in preview_text
    assert "49" not in preview_text
    assert preview.locator("b, script, i").count() == 0
    assert "Idé <i>två</i>" in preview_text
    assert "Utkast – inte skickat ännu" in preview_text
    check_accessibility(page, "a letter with hostile text")
    screenshot(page, "organiser-letter")

    page.get_by_role("button", name="Släpp brevet till Askersunds kommun").click()
    page.wait_for_url(re.compile(r"\?klart=brev-slappt"))
    assert "Släppt" in page.locator("dl.facts").first.inner_text()
    assert page.get_by_role("button", name=re.compile("^Släpp brevet")).count() == 0
    check_accessibility(page, "a released letter")
    assert _state(portal, bm2, askersund).released_at is not None

    # Rendered after the release, the letter reaches Askersund's participant.
    render_meeting_documents(portal.runtime, "bm2", [DocumentKind.FEEDBACK_LETTER])
    token = portal.participant_link("askersund").rsplit("/", 1)[1]
    listed = httpx.get(
        portal.url("/api/v1/documents"), headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200
    letters = [d for d in listed.json() if d["kind"] == "feedback_letter"]
    assert [d["organisation_id"] for d in letters] == [askersund]

    # The organiser opens the generated file from the letter's page: the text as written.
    page.reload()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Hämta brevet som Word").click()
    data = download_info.value.path().read_bytes()
    paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    assert any("Åsa såg {{ 7*7 }} och <b>fet</b>" in p for p in paragraphs)
    assert not any("Utkast" in p for p in paragraphs)
    check_accessibility(page, "a released letter with its file")


def test_release_all_releases_only_the_letters_that_lack_nothing(portal: Portal, page: Any) -> None:
    bm2 = meeting_id(portal, "bm2")
    ready = [portal.organisation_id(ref) for ref in ("askersund", "kalmar")]
    with unit_of_work(portal.runtime.sessions) as session:
        for organisation in ready:
            put_letter(
                session, bm2, organisation, LetterReview(noted="Tydlig analys."), now=utcnow()
            )
    sign_in(portal, page, f"/arrangor/moten/{bm2}/brev")
    assert "2 brev är klara att släppa." in page.locator("main").inner_text()
    page.get_by_role("button", name="Släpp alla som är klara").click()
    page.wait_for_url(re.compile(r"\?klart=brev-alla-slappta"))
    assert page.get_by_role("status").inner_text() == (
        "Alla brev som var klara har släppts och skapas nu på nytt. Organisationerna ser dem "
        "så snart de är klara."
    )
    check_accessibility(page, "after releasing all")
    with portal.runtime.sessions() as session:
        released = {
            org
            for org, at in session.execute(
                select(m.FeedbackLetter.organisation_id, m.FeedbackLetter.released_at).where(
                    m.FeedbackLetter.meeting_id == bm2
                )
            )
            if at is not None
        }
    assert released == set(ready)
    assert "Inga brev är klara att släppa just nu." in page.locator("main").inner_text()

    # The released letters are queued to be made anew (and only they).
    def queued() -> list[Any]:
        with portal.runtime.sessions() as session:
            return sorted(
                session.execute(
                    select(m.GeneratedDocument.kind, m.GeneratedDocument.organisation_id)
                ).all()
            )

    wait_until(lambda: bool(queued()), what="the released letters' batch")
    assert queued() == sorted((DocumentKind.FEEDBACK_LETTER, org) for org in ready)


def test_letters_of_unknown_meetings_and_foreign_organisations_are_not_found(
    portal: Portal, page: Any
) -> None:
    bm2 = meeting_id(portal, "bm2")
    sign_in(portal, page, f"/arrangor/moten/{bm2}/brev")
    for path in (
        "/arrangor/moten/999999/brev",
        f"/arrangor/moten/{bm2}/brev/999999",
        f"/arrangor/moten/{bm2}/brev/99999999999999999999",
        f"/arrangor/moten/{bm2}/brev/{portal.organisation_id('askersund')}/dokument/999999",
    ):
        response = page.goto(portal.url(path))
        assert response.status == 404, path
        assert page.locator("h1").inner_text() == "Sidan finns inte"
    # A participant's session is refused on the organisers' letters.
    participant = page.context.browser.new_context()
    try:
        tab = participant.new_page()
        tab.goto(portal.participant_link("askersund"))
        response = tab.goto(portal.url(f"/arrangor/moten/{bm2}/brev"))
        assert response.status == 403
    finally:
        participant.close()


def test_an_oversized_text_is_refused_in_swedish_and_nothing_is_stored(
    portal: Portal, page: Any
) -> None:
    bm2 = meeting_id(portal, "bm2")
    askersund = portal.organisation_id("askersund")
    sign_in(portal, page, f"/arrangor/moten/{bm2}/brev/{askersund}")
    page.get_by_label(NOTED_FIELD).fill("å" * 10_001)
    page.get_by_role("button", name="Spara texterna").click()
    alert = page.get_by_role("alert")
    assert f"”{NOTED_FIELD}” får vara högst 10 000 tecken." in alert.inner_text()
    check_accessibility(page, "oversized text refused")
    assert _state(portal, bm2, askersund).noted is None
    with portal.runtime.sessions() as session:
        assert session.scalar(select(m.FeedbackLetter.id)) is None
