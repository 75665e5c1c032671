"""The organisers' start page and a meeting's page, in a real browser with the sample.

The sample's meetings lie in 2019, so every upload deadline has passed: organisations without
a deck are late. A failed document, a draft letter, uploads on time and late, and an
accessibility report are added to see each attention item and each cell of the grid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select

from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus, UploadKind
from tests.integration.portal.conftest import Portal, check_accessibility, screenshot

pytestmark = pytest.mark.integration

DECK_BYTES = b"PK\x03\x04 a deck from Askersund, stored as it came"
CHECKLIST_BYTES = b"PK\x03\x04 a checklist from Askersund"


def sign_in(portal: Portal, page: Any, path: str = "/arrangor") -> None:
    """Sign the sample's organiser in through the login form, then open ``path``."""
    username, password = portal.add_organiser()
    page.goto(portal.url(f"/logga-in?nasta={path.replace('/', '%2F')}"))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(r".*klart=inloggad$"))


def _meeting(session: Any, ref: str) -> m.Meeting:
    return session.scalars(select(m.Meeting).where(m.Meeting.ref == ref)).one()


def _org(session: Any, ref: str) -> m.Organisation:
    return session.scalars(select(m.Organisation).where(m.Organisation.ref == ref)).one()


def _upload(
    portal: Portal,
    session: Any,
    *,
    org: m.Organisation,
    kind: UploadKind,
    at: dt.datetime,
    data: bytes,
    name: str,
    meeting_id: int | None = None,
    round_id: int | None = None,
) -> m.Upload:
    row = m.Upload(
        organisation_id=org.id,
        kind=kind,
        meeting_id=meeting_id,
        round_id=round_id,
        file_key="",
        file_name=name,
        content_type="application/octet-stream",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=at,
        uploaded_by="Delegationen",
    )
    session.add(row)
    session.flush()
    row.file_key = f"uploads/organisations/{org.id}/{row.id}/{name}"
    portal.runtime.files.put(row.file_key, data)
    return row


def make_attention(portal: Portal) -> dict[str, int]:
    """A failed document, a draft letter, decks on time and late, a checklist, a report."""
    with unit_of_work(portal.runtime.sessions) as session:
        bm2 = _meeting(session, "bm2")
        askersund, hedemora, kalmar = (
            _org(session, ref) for ref in ("askersund", "hedemora", "kalmar")
        )
        batch = m.Batch(meeting_id=bm2.id, requested_kinds=["organisation_agenda"])
        session.add(batch)
        session.flush()
        session.add(
            m.GeneratedDocument(
                batch_id=batch.id,
                meeting_id=bm2.id,
                organisation_id=kalmar.id,
                kind=DocumentKind.ORGANISATION_AGENDA,
                format="docx",
                status=DocumentStatus.FAILED,
                error="LibreOffice svarade inte",
            )
        )
        session.add(
            m.FeedbackLetter(
                meeting_id=bm2.id, organisation_id=askersund.id, noted="Bra analys", ideas=[]
            )
        )
        round_id = session.scalars(
            select(m.AssessmentRound.id).where(m.AssessmentRound.meeting_id == bm2.id)
        ).one()
        deck = _upload(
            portal,
            session,
            org=askersund,
            kind=UploadKind.DECK,
            at=dt.datetime(2019, 9, 10, 8, tzinfo=dt.UTC),
            data=DECK_BYTES,
            name="Askersund BM2.pptx",
            meeting_id=bm2.id,
        )
        late = _upload(
            portal,
            session,
            org=hedemora,
            kind=UploadKind.DECK,
            at=dt.datetime(2019, 9, 24, 8, tzinfo=dt.UTC),
            data=b"PK\x03\x04 late",
            name="Hedemora.pptx",
            meeting_id=bm2.id,
        )
        checklist = _upload(
            portal,
            session,
            org=askersund,
            kind=UploadKind.CHECKLIST,
            at=dt.datetime(2019, 9, 12, 8, tzinfo=dt.UTC),
            data=CHECKLIST_BYTES,
            name="checklista.xlsx",
            round_id=round_id,
        )
        session.add(
            m.AccessibilityReport(
                description="Tabellen <b>går</b> inte att läsa med skärmläsare 🙂",
                page="/arrangor",
            )
        )
        return {
            "bm2": bm2.id,
            "deck": deck.id,
            "late": late.id,
            "checklist": checklist.id,
        }


def test_the_start_page_lists_meetings_and_what_needs_attention(portal: Portal, page: Any) -> None:
    ids = make_attention(portal)
    sign_in(portal, page)
    assert page.locator("h1").inner_text() == "Start"
    check_accessibility(page, "organiser start with attention")
    network = page.get_by_role("region", name="Minikommunernas")
    card = page.locator(f"#mote-{ids['bm2']}")
    text = card.inner_text()
    assert "26 september 2019" in text and "Södertälje" in text and "Södertälje kommun" in text
    assert "dagar sedan" in text
    assert "Behöver åtgärd" in text
    # Six of eight organisations lack a deck (Askersund and Hedemora sent one).
    assert "6 organisationer har inte skickat in allt" in text
    assert "1 dokument kunde inte skapas." in text
    assert "1 återkopplingsbrev väntar på att släppas" in text
    assert (
        card.get_by_role("link", name=re.compile("^Till dokumenten")).get_attribute("href")
        == f"/arrangor/moten/{ids['bm2']}/generera"
    )
    assert (
        card.get_by_role("link", name=re.compile("^Till breven")).get_attribute("href")
        == f"/arrangor/moten/{ids['bm2']}/brev"
    )
    card.get_by_text("Visa vilka", exact=False).first.click()
    assert "Kalmar kommun: presentation saknas" in card.inner_text()
    check_accessibility(page, "organiser start, details open")
    del network
    # The first meeting lacks facts its agenda needs: named as the documents would print them.
    first = page.locator(".organiser-meeting", has_text="Benchmarking 1")
    assert "uppgifter om mötet saknas" in first.inner_text()
    first.get_by_text(re.compile(r"^Visa vilka \(3\)$")).click()
    assert first.inner_text().count("[Fyll i") == 3
    assert (
        first.get_by_role("link", name=re.compile("^Se vilka dokument"))
        .get_attribute("href")
        .endswith("/generera")
    )
    # The report shows as text (not markup) and can be marked handled.
    reports = page.get_by_role("table", name="Rapporter som inte är hanterade")
    assert "Tabellen <b>går</b> inte att läsa med skärmläsare 🙂" in reports.inner_text()
    screenshot(page, "organiser-start")
    reports.get_by_role("button", name=re.compile("^Markera som hanterad")).click()
    page.wait_for_url(portal.url("/arrangor?klart=rapport-hanterad"))
    assert page.get_by_role("status").inner_text() == "Rapporten är markerad som hanterad."
    assert "Inga rapporter väntar." in page.locator("main").inner_text()
    check_accessibility(page, "report handled")
    with portal.runtime.sessions() as session:
        report = session.scalars(select(m.AccessibilityReport)).one()
        assert report.handled_at is not None


def test_the_meeting_page_shows_facts_delegations_and_the_grid(portal: Portal, page: Any) -> None:
    ids = make_attention(portal)
    sign_in(portal, page, f"/arrangor/moten/{ids['bm2']}")
    assert page.locator("h1").inner_text().startswith("Benchmarking 2")
    check_accessibility(page, "meeting page")
    facts = page.locator("dl.facts").inner_text()
    assert "26 september 2019" in facts and "09.30–16.30" in facts
    assert "Södertälje kommun" in facts and "19 september 2019" in facts
    grid = page.get_by_role("table", name="Checklistor och presentationer per organisation")

    def cells(org: str) -> list[str]:
        row = grid.get_by_role("row", name=re.compile(org))
        return [c.inner_text() for c in row.get_by_role("cell").all()]

    askersund = cells("Askersunds kommun")
    assert askersund[0].startswith("Inkommen 12 september 2019")
    assert askersund[1].startswith("Inkommen 10 september 2019")
    hedemora = cells("Hedemora kommun")
    assert hedemora[0].startswith("Inkommen (registrerad av arrangör)")
    assert hedemora[1].startswith("Inkommen för sent 24 september 2019")
    kalmar = cells("Kalmar kommun")
    assert kalmar[1] == "Saknas – sista dagen har passerat"
    assert grid.locator("tr[data-org=hedemora] .status--warn").count() == 1
    assert grid.locator("tr[data-org=kalmar] .status--bad").count() == 1
    # The delegations with their roles.
    delegation = page.get_by_role("table", name="Delegationen från Hedemora kommun")
    assert "Karin Ek" in delegation.inner_text() and "politiker" in delegation.inner_text()
    for name, href in (
        ("Skapa dokument", f"/arrangor/moten/{ids['bm2']}/generera"),
        ("Återkopplingsbrev", f"/arrangor/moten/{ids['bm2']}/brev"),
        ("Deltagarlänkar", "/arrangor/lankar"),
    ):
        assert page.get_by_role("main").get_by_role("link", name=name).get_attribute("href") == href
    screenshot(page, "organiser-meeting")
    # What they sent downloads as it was stored.
    with page.expect_download() as download_info:
        grid.get_by_role("link", name=re.compile("presentationen från Askersunds")).click()
    download = download_info.value
    assert download.suggested_filename == "Askersund BM2.pptx"
    with open(download.path(), "rb") as handle:
        assert handle.read() == DECK_BYTES


def test_unknown_meetings_and_uploads_answer_a_swedish_404(portal: Portal, page: Any) -> None:
    make_attention(portal)
    sign_in(portal, page)
    for path in ("/arrangor/moten/999999", "/arrangor/inskickat/999999/fil", "/arrangor/moten/x"):
        answer = page.goto(portal.url(path))
        assert answer is not None and answer.status == 404, path
        assert page.locator("h1").inner_text() == "Sidan finns inte"
    page.goto(portal.url("/arrangor/moten/999999"))
    check_accessibility(page, "meeting 404")
    # Without an organiser's session nothing is served.
    with httpx.Client(base_url=portal.base_url) as client:
        assert client.get("/arrangor/inskickat/1/fil").status_code == 303
    page.context.clear_cookies()
    page.goto(portal.participant_link("askersund"))
    answer = page.goto(portal.url("/arrangor/inskickat/1/fil"))
    assert answer is not None and answer.status == 403
