"""Generating a meeting's documents in the browser, with real workers.

Choose with the keyboard, see the pre-flight list, be refused until "Starta ändå" is ticked,
watch the batch finish without reloading, retry what failed once its template is mended, and
open the zips the page offers. Every page state met is checked with axe-core.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from docx import Document
from pptx import Presentation
from pptx.util import Inches
from sqlalchemy import func, select, update

from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentStatus
from service.settings import Settings
from tests.integration.conftest import forget_snapshots
from tests.integration.portal.conftest import (
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)
from tests.swedish import english_in

pytestmark = pytest.mark.integration
REAL_TEMPLATES = Path(__file__).resolve().parents[3] / "doc_templates"
SUMMARY = "#batch-summary"


def sign_in(portal: Portal, page: Any, path: str) -> None:
    """An organiser signs in through the form and lands on ``path``."""
    username, password = portal.add_organiser()
    page.goto(portal.url(path))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(re.escape(portal.url(path)) + r"\?klart=inloggad$"))


def meeting_id(portal: Portal, ref: str = "bm2") -> int:
    with portal.runtime.sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def batch_count(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return session.scalar(select(func.count(m.Batch.id))) or 0


def broken_templates(tmp_path: Path) -> Path:
    """The real templates, but the deck asks for a field that does not exist."""
    templates = tmp_path / "templates"
    shutil.copytree(REAL_TEMPLATES, templates)
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    box.text_frame.text = "{{ organisation.nme }}"
    deck.save(str(templates / "deck_benchmarking.pptx"))
    return templates


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(c.text for row in table.rows for c in row.cells)
    return "\n".join(parts)


def download(page: Any, link_name: str, tmp_path: Path) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name, exact=True).click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(str(saved))
    return info.value.suggested_filename, saved.read_bytes()


def summary(page: Any) -> str:
    return str(page.locator(SUMMARY).inner_text())


def wait_for_summary(page: Any, prefix: str, *, timeout: float = 90_000) -> None:
    page.wait_for_function(
        "(prefix) => document.getElementById('batch-summary').innerText.startsWith(prefix)",
        arg=prefix,
        timeout=timeout,
    )


def row_of(page: Any, organisation: str, kind: str) -> Any:
    return (
        page.locator("table.batch-table tbody tr")
        .filter(has=page.locator("td", has_text=re.compile(f"^{re.escape(organisation)}$")))
        .filter(has=page.locator("td", has_text=re.compile(f"^{re.escape(kind)}$")))
    )


@pytest.mark.timeout(240)  # two rounds of a real worker, with its start
def test_an_organiser_generates_with_the_keyboard_watches_retries_and_downloads_the_zips(
    portal: Portal,
    page: Any,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    bm2 = meeting_id(portal)
    with unit_of_work(portal.runtime.sessions) as session:
        session.execute(
            update(m.Meeting)
            .where(m.Meeting.id == bm2)
            .values(venue_address=None, digital_link=None)
        )
    templates = broken_templates(tmp_path)
    sign_in(portal, page, f"/arrangor/moten/{bm2}/generera")

    # The pre-flight list names the missing facts and the documents that would show them.
    preflight = page.locator("section.generate-preflight")
    assert "Besöksadress saknas i: Agenda för träffen; Agenda för organisationen (alla 8" in (
        preflight.inner_text()
    )
    assert "Länk om digitalt deltagande erbjuds saknas i" in preflight.inner_text()
    check_accessibility(page, "generate form with its pre-flight list")
    assert english_in(page.locator("main").inner_text()) is None
    screenshot(page, "organiser-generate")

    # Keyboard only: two kinds for two organisations, without "Starta ändå" first.
    press_tab_until(page, "^Presentation$")
    page.keyboard.press("Space")
    press_tab_until(page, "^Agenda för organisationen$")
    page.keyboard.press("Space")
    press_tab_until(page, "^Alla organisationer i nätverket")
    page.keyboard.press("ArrowDown")
    assert page.locator("#omfattning-valda").is_checked()
    press_tab_until(page, "^Askersunds kommun$")
    page.keyboard.press("Space")
    press_tab_until(page, "^Hedemora kommun$")
    page.keyboard.press("Space")
    press_tab_until(page, "^Skapa dokumenten$")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    alert = page.get_by_role("alert")
    assert "Kryssa i Starta ändå" in alert.inner_text() or "kryssa i Starta ändå" in (
        alert.inner_text()
    )
    assert "Besöksadress: Agenda för organisationen (Askersunds kommun, Hedemora kommun)" in (
        alert.inner_text()
    )
    assert batch_count(portal) == 0
    # The choices are kept.
    assert page.locator("#sort-deck").is_checked()
    assert page.locator("#sort-organisation_agenda").is_checked()
    assert not page.locator("#sort-checklist").is_checked()
    assert page.locator("#omfattning-valda").is_checked()
    check_accessibility(page, "generate form refused for placeholders")
    press_tab_until(page, "^Starta ändå$")
    page.keyboard.press("Space")
    press_tab_until(page, "^Skapa dokumenten$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/arrangor/batchar/\d+\?klart=startad$"))

    # Queued, no worker yet: the page says so, then follows the workers without a reload.
    assert summary(page) == "Pågår: 0 av 4 dokument är klara, 0 misslyckades."
    assert page.locator("table.batch-table tbody tr").count() == 4
    assert page.get_by_role("link", name="Uppdatera").count() == 1
    assert page.locator("meta[http-equiv]").count() == 0
    check_accessibility(page, "batch page, queued")
    page.evaluate("() => { window.stayedOnThePage = true; }")
    # The batch pinned the portal's (good) templates; without their snapshots the worker reads
    # its own, broken, deck.
    batch = re.search(r"/batchar/(\d+)", page.url)
    assert batch is not None
    forget_snapshots(portal.runtime, int(batch.group(1)))
    start_worker(pipeline_settings.model_copy(update={"templates_dir": templates}))
    wait_for_summary(page, "Färdigt")
    assert summary(page) == "Färdigt: 2 av 4 dokument är klara och 2 misslyckades."
    assert page.evaluate("() => window.stayedOnThePage === true"), "the page was reloaded"
    assert page.get_by_role("link", name="Uppdatera").count() == 0  # polling has stopped
    assert page.locator("#batch-progress").get_attribute("hx-trigger") is None
    for organisation in ("Askersunds kommun", "Hedemora kommun"):
        deck = row_of(page, organisation, "Presentation")
        assert "Misslyckad" in deck.inner_text()
        assert "Mallen för dokumentet har ett fel" in deck.inner_text()
        assert "Klar" in row_of(page, organisation, "Agenda för organisationen").inner_text()
    check_accessibility(page, "batch page after htmx updates, with failures")
    # The live region holds the short summary only; the cause reads in Swedish (the worker's
    # own words wait behind "Teknisk beskrivning").
    assert page.locator("[aria-live] table, [role=status] table").count() == 0
    assert english_in(page.locator("main").inner_text()) is None
    page.locator("details.failure-detail summary").first.click()
    assert "nme" in page.locator("details.failure-detail code").first.inner_text()
    screenshot(page, "organiser-batch-progress")

    # The template is mended; the failed documents are sent again.
    shutil.copy(REAL_TEMPLATES / "deck_benchmarking.pptx", templates / "deck_benchmarking.pptx")
    page.get_by_role("button", name="Försök igen med de misslyckade").click()
    page.wait_for_url(re.compile(r"/arrangor/batchar/\d+\?klart=skickade-igen$"))
    wait_for_summary(page, "Klart")
    assert summary(page) == "Klart: alla 4 dokument är skapade."
    assert page.locator("table.batch-table").inner_text().count("Klar") == 4
    check_accessibility(page, "batch page, all done after the retry")

    # The whole batch as one zip: a folder per organisation, Swedish names.
    name, data = download(page, "Alla klara dokument (zip)", tmp_path)
    assert name == "Benchmarking 2 - alla dokument.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == [
            "Askersunds kommun/Agenda - Benchmarking 2 - Askersunds kommun.docx",
            "Askersunds kommun/Presentation - Benchmarking 2 - Askersunds kommun.pptx",
            "Hedemora kommun/Agenda - Benchmarking 2 - Hedemora kommun.docx",
            "Hedemora kommun/Presentation - Benchmarking 2 - Hedemora kommun.pptx",
        ]
        hedemora = archive.read("Hedemora kommun/Agenda - Benchmarking 2 - Hedemora kommun.docx")
    assert "Hedemora kommun" in docx_text(hedemora)

    # One organisation's zip: its own documents only.
    name, data = download(page, "Askersunds kommun (zip, 2 dokument)", tmp_path)
    assert name == "Benchmarking 2 - Askersunds kommun.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [
            "Agenda - Benchmarking 2 - Askersunds kommun.docx",
            "Presentation - Benchmarking 2 - Askersunds kommun.pptx",
        ]
        agenda = archive.read("Agenda - Benchmarking 2 - Askersunds kommun.docx")
        deck_data = archive.read("Presentation - Benchmarking 2 - Askersunds kommun.pptx")
    assert "Askersunds kommun" in docx_text(agenda)
    deck_text = "\n".join(
        shape.text_frame.text
        for slide in Presentation(io.BytesIO(deck_data)).slides
        for shape in slide.shapes
        if shape.has_text_frame
    )
    assert "Askersunds kommun" in deck_text


def test_without_javascript_the_page_reloads_by_link_and_a_single_file_downloads(
    portal: Portal,
    browser: Any,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    context = browser.new_context(locale="sv-SE", java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    try:
        bm2 = meeting_id(portal)
        sign_in(portal, page, f"/arrangor/moten/{bm2}/generera")
        assert "Inga uppgifter saknas" in page.locator("section.generate-preflight").inner_text()
        assert page.locator("#starta_anda").count() == 0
        page.get_by_label("Agenda för träffen").check()
        page.get_by_role("button", name="Skapa dokumenten").click()
        page.wait_for_url(re.compile(r"/arrangor/batchar/\d+\?klart=startad$"))
        assert summary(page) == "Pågår: 0 av 1 dokument är klara, 0 misslyckades."
        start_worker()
        for _ in range(120):
            page.get_by_role("link", name="Uppdatera").click()
            page.wait_for_load_state()
            if summary(page).startswith("Klart"):
                break
            page.wait_for_timeout(500)
        assert summary(page) == "Klart: dokumentet är skapat."
        # (axe needs the page's JavaScript; the same page was checked with it above.)
        name, data = download(page, "Ladda ner Agenda för träffen, Hela träffen, Word", tmp_path)
        assert name == "Agenda - Benchmarking 2.docx"
        assert "Benchmarking 2" in docx_text(data)
    finally:
        context.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def _session_cookie(page: Any) -> str:
    for cookie in page.context.cookies():
        if cookie["name"] == "benchdocs_session":
            return str(cookie["value"])
    raise AssertionError("no session cookie")


HOSTILE = [
    (
        {"sort": "{{ 7*7 }}", "omfattning": "alla"},
        "Dokument: ett av de valda dokumenten finns inte",
    ),
    ({"sort": "<script>alert(1)</script>", "omfattning": "alla"}, "Dokument:"),
    ({"sort": "deck\x00\x1b", "omfattning": "alla"}, "Dokument:"),
    ({"sort": "åäö 🎉", "omfattning": "alla"}, "Dokument:"),
    ({"sort": "deck" * 5000, "omfattning": "alla"}, "Dokument:"),
    ({"omfattning": "alla"}, "Dokument: välj minst ett dokument att skapa."),
    ({"sort": "deck", "omfattning": "{{ 7*7 }}"}, "Organisationer: välj Alla organisationer"),
    ({"sort": "deck", "omfattning": "valda"}, "Organisationer: kryssa i minst en organisation"),
    (
        {"sort": "deck", "omfattning": "valda", "organisation": "<script>"},
        "Organisationer: en av de valda organisationerna finns inte i nätverket",
    ),
    (
        {"sort": "deck", "omfattning": "valda", "organisation": "99999999999999"},
        "Organisationer: en av de valda organisationerna finns inte i nätverket",
    ),
    (
        {"sort": "deck", "omfattning": "alla", "organisation": "ASKERSUND"},
        "Organisationer: du har kryssat i organisationer men valt Alla organisationer",
    ),
    ({"sort": "deck", "omfattning": "alla", "pdf": "{{ 7*7 }}"}, "PDF: rutan skickade ett värde"),
    ({"sort": "deck", "omfattning": "alla", "starta_anda": "🎉"}, "Starta ändå: rutan skickade"),
]


def test_hostile_forms_get_swedish_messages_naming_the_field_and_store_nothing(
    portal: Portal, page: Any
) -> None:
    bm2 = meeting_id(portal)
    sign_in(portal, page, f"/arrangor/moten/{bm2}/generera")
    cookie = _session_cookie(page)
    with httpx.Client(base_url=portal.base_url, cookies={"benchdocs_session": cookie}) as client:
        form = client.get(f"/arrangor/moten/{bm2}/generera")
        token = _csrf(form.text)
        askersund = str(portal.organisation_id("askersund"))
        for fields, expected in HOSTILE:
            sent = {k: askersund if v == "ASKERSUND" else v for k, v in fields.items()}
            answer = client.post(
                f"/arrangor/moten/{bm2}/generera", data={"csrf_token": token, **sent}
            )
            assert answer.status_code == 422, (fields, answer.text[:300])
            assert expected in answer.text.replace("&#34;", '"'), (fields, expected)
            assert "<script>alert" not in answer.text
        assert batch_count(portal) == 0
        # Without the token nothing starts either.
        refused = client.post(
            f"/arrangor/moten/{bm2}/generera", data={"sort": "agenda", "omfattning": "alla"}
        )
        assert refused.status_code == 403
        assert batch_count(portal) == 0
        # Ids that do not exist, or are not ids, are the same 404 page.
        for path in (
            "/arrangor/moten/999999/generera",
            "/arrangor/moten/abc/generera",
            "/arrangor/batchar/999999",
            "/arrangor/batchar/1%20OR%201=1",
            "/arrangor/batchar/99999999999999999/zip",
            "/arrangor/batchar/1/zip/2",
            "/arrangor/dokument/0/fil",
            "/arrangor/dokument/999999/fil",
        ):
            missing = client.get(path)
            assert missing.status_code == 404, path
            assert "Sidan finns inte" in missing.text, path
    # A participant's session is not an organiser's.
    page.context.clear_cookies()
    page.goto(portal.participant_link("askersund"))
    answer = page.goto(portal.url(f"/arrangor/moten/{bm2}/generera"))
    assert answer is not None and answer.status == 403
    assert page.locator("h1").inner_text() == "Sidan är till för arrangörer"


@pytest.mark.timeout(240)  # LibreOffice starts cold in the worker
def test_a_batch_with_pdf_has_both_files_in_its_zip(
    portal: Portal,
    page: Any,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    bm2 = meeting_id(portal)
    sign_in(portal, page, f"/arrangor/moten/{bm2}/generera")
    page.get_by_label("Agenda för träffen").check()
    page.get_by_label("Skapa också PDF-filer").check()
    page.get_by_role("button", name="Skapa dokumenten").click()
    page.wait_for_url(re.compile(r"/arrangor/batchar/\d+\?klart=startad$"))
    start_worker()
    wait_for_summary(page, "Klart", timeout=180_000)
    assert summary(page) == "Klart: alla 2 dokument är skapade."
    _, data = download(page, "Alla klara dokument (zip)", tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [
            "Gemensamt för träffen/Agenda - Benchmarking 2.docx",
            "Gemensamt för träffen/Agenda - Benchmarking 2.pdf",
        ]
        assert archive.read("Gemensamt för träffen/Agenda - Benchmarking 2.pdf").startswith(b"%PDF")
    with portal.runtime.sessions() as session:
        statuses = set(session.scalars(select(m.GeneratedDocument.status)))
    assert statuses == {DocumentStatus.DONE}


@pytest.mark.timeout(240)  # LibreOffice starts cold in the worker
def test_the_organiser_asks_for_the_meeting_pack_and_archives_by_their_swedish_names(
    portal: Portal,
    page: Any,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    bm2 = meeting_id(portal)
    sign_in(portal, page, f"/arrangor/moten/{bm2}/generera")
    check_accessibility(page, "generate page with the packs")
    page.get_by_label("Presentation", exact=True).check()
    page.get_by_label("Mötespaket (PDF)", exact=True).check()
    page.get_by_label("Alla dokument (zip)", exact=True).check()
    page.get_by_role("button", name="Skapa dokumenten").click()
    page.wait_for_url(re.compile(r"/arrangor/batchar/\d+\?klart=startad$"))
    start_worker()
    wait_for_summary(page, "Klart", timeout=180_000)

    assert summary(page) == "Klart: alla 17 dokument är skapade."
    assert row_of(page, "Hela träffen", "Mötespaket (PDF)").count() == 1
    assert row_of(page, "Askersunds kommun", "Alla dokument (zip)").count() == 1
    check_accessibility(page, "batch with the packs")
    with portal.runtime.sessions() as session:
        pack = session.scalars(
            select(m.GeneratedDocument).where(m.GeneratedDocument.kind == "meeting_pack")
        ).one()
    data = portal.runtime.files.get(pack.file_key or "")
    assert data.startswith(b"%PDF") and pack.file_name == "Benchmarking 2 - Mötespaket.pdf"
