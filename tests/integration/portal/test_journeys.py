"""The issue's organiser journey across the portal, with a real worker, by keyboard:

sign in → import a roster → make the meeting's letters and watch them → download the zip →
write and release Askersund's letter → Askersund's participant, by their link, sees and
downloads the released letter (made anew by the release, no manual run in between).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from docx import Document
from sqlalchemy import select

from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from tests.integration.portal.conftest import (
    ORGANISER_NAME,
    ORGANISER_PASSWORD,
    Portal,
    check_accessibility,
    press_tab_until,
)

pytestmark = pytest.mark.integration

ROSTER = (
    "Organisation-id;Organisation;Typ;Län;Roll i programmet;Grupp;Deltagar-id;Namn;Roll;Titel;"
    "E-post;Telefon\n"
    "askersund;Askersunds kommun;kommun;Örebro län;benchmarkingorganisation;G1;p98;"
    "Åke Ärlig;strateg;jämställdhetsstrateg;ake.arlig@askersund.example;\n"
).encode()
NOTED = "Ni visade tydligt hur styrningen ändrats – särskilt budgetdialogen 🙂."


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def _download(page: Any, link_name: str | re.Pattern[str]) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    assert path is not None
    return bytes(path.read_bytes())


def _summary(page: Any) -> str:
    return str(page.locator("#batch-summary").inner_text())


@pytest.mark.timeout(300)
def test_an_organiser_imports_generates_downloads_and_releases_a_letter_the_participant_reads(
    portal: Portal,
    page: Any,
    browser: Any,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    portal.add_organiser()
    start_worker()
    with portal.runtime.sessions() as session:
        bm2 = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()

    # Sign in by keyboard.
    page.goto(portal.url("/arrangor"))
    press_tab_until(page, "^Användarnamn$")
    page.keyboard.type(ORGANISER_NAME)
    page.keyboard.press("Tab")
    page.keyboard.type(ORGANISER_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/arrangor?klart=inloggad"))

    # Import a roster: a new participant for Askersund, previewed, then confirmed.
    press_tab_until(page, "^Importera program eller deltagarlista$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/arrangor/import"))
    press_tab_until(page, "^Vad vill du importera\\?$")
    page.keyboard.press("ArrowDown")
    press_tab_until(page, "^Fil$")
    page.locator("#fil").set_input_files(
        {"name": "deltagare.csv", "mimeType": "text/csv", "buffer": ROSTER}
    )
    press_tab_until(page, "^Förhandsgranska$")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Förhandsgranska importen").wait_for()
    press_tab_until(page, "^Bekräfta och importera$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/arrangor?klart=lista-importerad"))

    # Make Benchmarking 2's feedback letters for everyone, watched live.
    page.goto(portal.url(f"/arrangor/moten/{bm2}/generera"))
    press_tab_until(page, "^Återkopplingsbrev$")
    page.keyboard.press("Space")
    if page.locator("#starta_anda").count():
        press_tab_until(page, "^Starta ändå$")
        page.keyboard.press("Space")
    press_tab_until(page, "^Skapa dokumenten$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/arrangor/batchar/\d+\?klart=startad$"))
    page.wait_for_function(
        "() => document.getElementById('batch-summary').innerText.startsWith('Klart')",
        timeout=120_000,
    )
    check_accessibility(page, "letters made")
    archive = zipfile.ZipFile(io.BytesIO(_download(page, "Alla klara dokument (zip)")))
    names = archive.namelist()
    assert len(names) == 8
    askersund_letter = next(n for n in names if n.startswith("Askersunds kommun/"))
    draft = _docx_text(archive.read(askersund_letter))
    assert "Askersunds kommun" in draft and "Utkast" in draft

    # The participant does not see the draft letter.
    participant_context = browser.new_context(locale="sv-SE")
    participant = participant_context.new_page()
    participant.goto(portal.participant_link("askersund"))
    assert participant.locator("main").get_by_text("Återkopplingsbrev").count() == 0

    # Write and release Askersund's letter.
    page.goto(portal.url(f"/arrangor/moten/{bm2}/brev"))
    page.get_by_role("link", name="Askersunds kommun").click()
    page.get_by_label("Er presentation – det vi särskilt noterade").fill(NOTED)
    page.get_by_role("button", name="Spara texterna").click()
    page.wait_for_url(re.compile(r"\?klart=brev-sparat$"))
    press_tab_until(page, "^Släpp brevet till Askersunds kommun$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?klart=brev-slappt$"))
    assert "skapas nu på nytt" in page.get_by_role("status").inner_text()
    check_accessibility(page, "letter released")

    # The release made the letter anew; the participant sees and downloads it.
    letter_link = participant.get_by_role(
        "link", name=re.compile(r"^Word-fil\s*: Återkopplingsbrev$")
    )
    for _ in range(120):
        participant.reload()
        if letter_link.count():
            break
        participant.wait_for_timeout(500)
    else:
        pytest.fail(
            "the released letter never reached the participant's page:\n"
            + participant.locator("main").inner_text()
        )
    check_accessibility(participant, "participant sees the letter")
    letter = _download(participant, re.compile(r"^Word-fil\s*: Återkopplingsbrev$"))
    text = _docx_text(letter)
    assert NOTED in text and "Utkast" not in text
    participant_context.close()
