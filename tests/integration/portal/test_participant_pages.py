"""Participants' pages in a real browser: their documents, deadlines, uploads and receipts.

The journey of issue 11: the personal link opens the documents; the checklist is downloaded,
filled with one wrong cell and sent; the Swedish error table names the sheet and the cell and
nothing is stored; the fixed file is accepted and the receipt shows the new sums. Walked with
the keyboard, every page state checked with axe-core. Another organisation's ids, and a letter
not yet released, answer the same 404 as an id that does not exist.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from service.batches.control import create_batch
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.pdf.libreoffice import make_pdf_converter
from tests.hostile.corpus import ratio_bomb, xlsm
from tests.integration.conftest import meeting_id
from tests.integration.portal.conftest import (
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)
from tests.integration.test_checklist_upload import fill, statement_rows
from tests.integration.use_cases import render_here

pytestmark = pytest.mark.integration

SHEET = "BM 2"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- helpers ------------------------------------------------------------------------------------


def render_for(
    portal: Portal, refs: list[str], kinds: list[DocumentKind], *, with_pdf: bool = False
) -> list[int]:
    """Benchmarking 2's documents of these kinds for these organisations, made in-process."""
    runtime = portal.runtime
    with unit_of_work(runtime.sessions) as session:
        batch = create_batch(
            session,
            meeting_id=meeting_id(runtime, "bm2"),
            kinds=kinds,
            organisation_ids=[portal.organisation_id(ref) for ref in refs],
            with_pdf=with_pdf,
        )
        ids = [d.id for d in batch.documents]
    converter = (
        make_pdf_converter(warm=False, timeout_seconds=90, restart_after=1) if with_pdf else None
    )
    render_here(runtime, ids, pdf=converter)
    return ids


def documents_of(portal: Portal, ref: str, kind: DocumentKind) -> list[m.GeneratedDocument]:
    with portal.runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.GeneratedDocument)
                .where(
                    m.GeneratedDocument.organisation_id == portal.organisation_id(ref),
                    m.GeneratedDocument.kind == kind,
                )
                .order_by(m.GeneratedDocument.id)
            )
        )


def scores_of(portal: Portal, ref: str, round_ref: str = "sa_bm2") -> dict[str, int | None]:
    """An organisation's scores in a round (Benchmarking 2's by default), by question ref."""
    with portal.runtime.sessions() as session:
        rows = session.execute(
            select(m.ChecklistQuestion.ref, m.Score.value)
            .join(m.Score, m.Score.question_id == m.ChecklistQuestion.id)
            .join(m.AssessmentRound, m.Score.round_id == m.AssessmentRound.id)
            .where(
                m.AssessmentRound.ref == round_ref,
                m.Score.organisation_id == portal.organisation_id(ref),
            )
        ).all()
    return {ref: value for ref, value in rows}


def count(portal: Portal, model: Any) -> int:
    with portal.runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@contextmanager
def participant_client(portal: Portal, ref: str) -> Iterator[httpx.Client]:
    """An HTTP client holding the session that the organisation's personal link opened."""
    with httpx.Client(base_url=portal.base_url) as client:
        opened = client.get(portal.participant_link(ref))
        assert opened.status_code == 303 and opened.headers["location"] == "/mina-dokument"
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def send(
    client: httpx.Client,
    meeting: int,
    what: str,
    data: bytes,
    *,
    name: str,
    token: str | None = "from-page",
) -> httpx.Response:
    """Post a file through the page's form, with the page's CSRF token unless told otherwise."""
    form = client.get(f"/mina-dokument/moten/{meeting}/skicka")
    assert form.status_code == 200, form.text
    fields = {} if token is None else {"csrf_token": csrf_of(form.text)}
    return client.post(
        f"/mina-dokument/moten/{meeting}/{what}",
        files={"file": (name, data, "application/octet-stream")},
        data=fields,
    )


def problem_rows(page: Any) -> list[list[str]]:
    rows = page.locator("table.problems tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def area_sums(scores: dict[str, int | None]) -> dict[str, int]:
    """Sums per area of the sample checklist, computed here from the database's scores."""
    areas = {
        "Politisk styrning": ["Q01", "Q02", "Q03"],
        "Ledning och organisation": ["Q04", "Q05", "Q06", "Q07"],
        "Kompetens": ["Q08", "Q09", "Q10"],
    }
    return {name: sum(scores.get(q) or 0 for q in refs) for name, refs in areas.items()}


NOT_FOUND = "Sidan finns inte"


# -- the journey ----------------------------------------------------------------------------------


def test_a_delegation_downloads_its_checklist_fixes_a_wrong_cell_and_gets_a_receipt_with_the_new_sums(  # noqa: E501
    portal: Portal, page: Any, tmp_path: Any
) -> None:
    render_for(portal, ["askersund"], [DocumentKind.CHECKLIST, DocumentKind.DECK])
    bm2 = meeting_id(portal.runtime, "bm2")
    before = scores_of(portal, "askersund")
    uploads_before = count(portal, m.Upload)

    # The personal link opens the organisation's documents.
    page.goto(portal.participant_link("askersund", label="Sofia Lindqvist (strateg)"))
    page.wait_for_url(portal.url("/mina-dokument"))
    assert page.locator("h1").inner_text() == "Era dokument – Askersunds kommun"
    meeting = page.get_by_role("region", name="Benchmarking 2")
    assert "Sista dag att skicka in" in meeting.inner_text()
    assert "Checklista för jämställdhetsintegrering" in meeting.inner_text()
    assert "Ni har inte skickat in något till den här träffen än." in meeting.inner_text()
    check_accessibility(page, "documents")
    screenshot(page, "participant-documents")

    # Download the checklist with the keyboard.
    press_tab_until(page, r"^Excel-fil\s*: Checklista för jämställdhetsintegrering$")
    with page.expect_download() as downloaded:
        page.keyboard.press("Enter")
    generated = downloaded.value.path().read_bytes()
    assert downloaded.value.suggested_filename.endswith(".xlsx")
    assert SHEET in openpyxl.load_workbook(io.BytesIO(generated)).sheetnames

    # Fill it with one score outside the scale, and send it.
    rows = statement_rows(openpyxl.load_workbook(io.BytesIO(generated))[SHEET])
    wrong = fill(generated, scores={"Q01": 3, "Q05": 7})
    wrong_file = tmp_path / "Askersund ifylld.xlsx"
    wrong_file.write_bytes(wrong)
    press_tab_until(page, r"^Skicka in till Benchmarking 2$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url(f"/mina-dokument/moten/{bm2}/skicka"))
    check_accessibility(page, "send form")
    press_tab_until(page, r"^Checklista \(Excel-fil, \.xlsx\)")
    page.locator(":focus").set_input_files(str(wrong_file))
    press_tab_until(page, r"^Skicka checklistan$")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The Swedish error table names the sheet and the cell; nothing was stored.
    alert = page.get_by_role("alert")
    assert "Checklistan togs inte emot" in alert.inner_text()
    assert "Ingenting har sparats" in alert.inner_text()
    problems = problem_rows(page)
    assert [row[:2] for row in problems] == [[SHEET, f"D{rows['Q05']}"]], problems
    assert "7" in problems[0][2]
    assert scores_of(portal, "askersund") == before
    assert count(portal, m.Upload) == uploads_before
    assert page.get_by_label("Checklista (Excel-fil, .xlsx)").get_attribute("aria-invalid") == (
        "true"
    )
    check_accessibility(page, "upload error")
    screenshot(page, "participant-upload-error")

    # Fix it: the summary's link leads to the file field.
    fixed = fill(generated, scores={"Q01": 3, "Q05": 2})
    fixed_file = tmp_path / "Askersund ifylld rättad.xlsx"
    fixed_file.write_bytes(fixed)
    press_tab_until(page, r"^Rätta filen och välj den igen$")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "fil-checklista"
    page.locator(":focus").set_input_files(str(fixed_file))
    press_tab_until(page, r"^Skicka checklistan$")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Accepted: the receipt shows the file, the sums and the movement.
    assert re.fullmatch(portal.url(r"/mina-dokument/kvitton/\d+"), page.url)
    after = scores_of(portal, "askersund")
    assert after == {**before, "Q01": 3, "Q05": 2}
    assert page.locator("h1").inner_text() == "Kvitto: ifylld checklista mottagen"
    facts = page.locator("dl.facts").inner_text()
    assert "Askersund ifylld rättad.xlsx" in facts
    assert hashlib.sha256(fixed).hexdigest()[:12] in facts
    assert "Sofia Lindqvist (strateg)" in facts
    assert "Sista dag" not in facts  # the deadline is the presentation's
    total = sum(v or 0 for v in after.values())
    body = page.locator("main").inner_text()
    assert f"Summa: {total} av 72 möjliga." in body
    assert "Förändring sedan BM 1" in body
    sums = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in page.locator("table:has(caption:text('Summa per område')) tbody tr").all()
    }
    earlier = area_sums(scores_of(portal, "askersund", "sa_bm1"))
    for area, expected in area_sums(after).items():
        now, _possible, then, change = sums[area]
        assert (now, then) == (str(expected), str(earlier[area])), (area, sums)
        delta = expected - earlier[area]
        assert change == (f"+{delta}" if delta > 0 else f"\u2212{-delta}" if delta else "0")
    check_accessibility(page, "receipt")

    # What was sent downloads as it was sent, through the session.
    with page.expect_download() as again:
        page.get_by_role("link", name="Askersund ifylld rättad.xlsx").click()
    assert again.value.path().read_bytes() == fixed

    # The documents page lists it, and a new version of the deck shows the earlier one.
    render_for(portal, ["askersund"], [DocumentKind.DECK])
    page.goto(portal.url("/mina-dokument"))
    meeting = page.get_by_role("region", name="Benchmarking 2")
    sent = meeting.get_by_role("table", name="Inskickat till Benchmarking 2").inner_text()
    assert "Ifylld checklista" in sent and "Askersund ifylld rättad.xlsx" in sent
    assert "Sofia Lindqvist (strateg)" in sent
    decks = documents_of(portal, "askersund", DocumentKind.DECK)
    assert len(decks) == 2 and decks[1].reused_from_id is None
    assert meeting.get_by_role("link", name="Version 1, PowerPoint-fil: Presentation")
    assert meeting.locator(f'a[href="/mina-dokument/dokument/{decks[0].id}/fil"]').count() == 1
    check_accessibility(page, "documents after upload")


# -- isolation and downloads ---------------------------------------------------------------------


def test_another_organisations_ids_and_an_unreleased_letter_answer_the_same_404(
    portal: Portal, page: Any
) -> None:
    render_for(
        portal,
        ["askersund", "fagersta"],
        [DocumentKind.CHECKLIST, DocumentKind.DECK, DocumentKind.FEEDBACK_LETTER],
    )
    render_for(portal, ["askersund"], [DocumentKind.ORGANISATION_AGENDA], with_pdf=True)
    bm2 = meeting_id(portal.runtime, "bm2")
    agendas = {
        d.format: d for d in documents_of(portal, "askersund", DocumentKind.ORGANISATION_AGENDA)
    }
    assert set(agendas) == {"docx", "pdf"}
    (own_checklist,) = documents_of(portal, "askersund", DocumentKind.CHECKLIST)
    (own_letter,) = documents_of(portal, "askersund", DocumentKind.FEEDBACK_LETTER)
    (their_checklist,) = documents_of(portal, "fagersta", DocumentKind.CHECKLIST)
    (their_deck,) = documents_of(portal, "fagersta", DocumentKind.DECK)
    (own_deck,) = documents_of(portal, "askersund", DocumentKind.DECK)
    deck_bytes = portal.runtime.files.get(str(own_deck.file_key))

    with participant_client(portal, "fagersta") as fagersta:
        sent = send(fagersta, bm2, "presentation", deck_bytes, name="Fagersta färdig.pptx")
        assert sent.status_code == 303, sent.text
        their_upload = int(sent.headers["location"].rsplit("/", 1)[1])
        # Their own receipt and file work for them; the meeting was long ago, so it is late.
        their_receipt = fagersta.get(sent.headers["location"])
        assert their_receipt.status_code == 200
        assert "Kvitto: färdig presentation mottagen" in their_receipt.text
        assert "Efter sista dag" in their_receipt.text
        assert fagersta.get(f"/mina-dokument/inskickat/{their_upload}/fil").content == deck_bytes

    with participant_client(portal, "askersund") as askersund:
        listing = askersund.get("/mina-dokument").text
        own = askersund.get(f"/mina-dokument/dokument/{own_checklist.id}/fil")
        pdf_and_word = {
            f: askersund.get(f"/mina-dokument/dokument/{doc.id}/fil") for f, doc in agendas.items()
        }
        missing = askersund.get("/mina-dokument/dokument/999999/fil")
        refused = {
            "their checklist": askersund.get(f"/mina-dokument/dokument/{their_checklist.id}/fil"),
            "their deck": askersund.get(f"/mina-dokument/dokument/{their_deck.id}/fil"),
            "our unreleased letter": askersund.get(f"/mina-dokument/dokument/{own_letter.id}/fil"),
            "their upload": askersund.get(f"/mina-dokument/inskickat/{their_upload}/fil"),
            "their receipt": askersund.get(f"/mina-dokument/kvitton/{their_upload}"),
            "a missing receipt": askersund.get("/mina-dokument/kvitton/999999"),
            "a huge id": askersund.get("/mina-dokument/kvitton/99999999999999999999"),
            "another network's meeting": askersund.get("/mina-dokument/moten/999999/skicka"),
        }

    assert own.status_code == 200
    assert own.content == portal.runtime.files.get(str(own_checklist.file_key))
    assert own.headers["content-type"] == XLSX
    assert own.headers["cache-control"] == "private, no-store"
    assert own.headers["x-content-type-options"] == "nosniff"
    disposition = own.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "filename*=UTF-8''" in disposition
    # The agenda in both formats, each downloadable.
    for file_format, (link, content_type, magic) in {
        "docx": ("Word-fil", "application/vnd.openxmlformats", b"PK"),
        "pdf": ("PDF", "application/pdf", b"%PDF"),
    }.items():
        href = f"/mina-dokument/dokument/{agendas[file_format].id}/fil"
        assert f'href="{href}"' in listing and link in listing
        assert file_format in pdf_and_word and pdf_and_word[file_format].status_code == 200
        assert pdf_and_word[file_format].headers["content-type"].startswith(content_type)
        assert pdf_and_word[file_format].content.startswith(magic)
    assert missing.status_code == 404 and NOT_FOUND in missing.text
    for what, answer in refused.items():
        assert answer.status_code == 404, what
        assert answer.headers["content-type"].startswith("text/html"), what
        # The same page as for an id that does not exist: nothing about whose it is.
        assert answer.text == missing.text, what
    # The letter is not listed; neither is anything of Fagersta's.
    assert "Återkopplingsbrev" not in listing
    assert f"/dokument/{own_letter.id}/fil" not in listing
    assert f"/dokument/{their_checklist.id}/fil" not in listing
    assert "Fagersta färdig" not in listing

    # In the browser too: the Swedish 404 page, accessible.
    page.goto(portal.participant_link("askersund"))
    page.wait_for_url(portal.url("/mina-dokument"))
    assert "Återkopplingsbrev" not in page.locator("main").inner_text()
    page.goto(portal.url(f"/mina-dokument/kvitton/{their_upload}"))
    assert page.locator("h1").inner_text() == NOT_FOUND
    assert "Fagersta" not in page.locator("main").inner_text()
    check_accessibility(page, "not found")


# -- hostile uploads ------------------------------------------------------------------------------


def test_hostile_files_are_refused_in_swedish_and_store_nothing(portal: Portal) -> None:
    render_for(portal, ["askersund"], [DocumentKind.CHECKLIST])
    bm2 = meeting_id(portal.runtime, "bm2")
    (checklist,) = documents_of(portal, "askersund", DocumentKind.CHECKLIST)
    generated = portal.runtime.files.get(str(checklist.file_key))
    before = scores_of(portal, "askersund")
    uploads = count(portal, m.Upload)
    snapshots = count(portal, m.ScoreSnapshot)

    with participant_client(portal, "askersund") as client:
        macros = send(client, bm2, "checklista", xlsm(), name="makron.xlsm")
        bomb = send(client, bm2, "checklista", ratio_bomb(), name="bomb.xlsx")
        wrong_type = send(client, bm2, "checklista", b"%PDF-1.4 inte en arbetsbok", name="a.xlsx")
        deck_as_checklist = send(client, bm2, "presentation", generated, name="lista.pptx")
        empty = send(client, bm2, "checklista", b"", name="tom.xlsx")
        no_token = send(client, bm2, "checklista", generated, name="ok.xlsx", token=None)
        not_a_form = client.post(
            f"/mina-dokument/moten/{bm2}/checklista",
            content=b"{}",
            headers={"Content-Type": "application/json"},
        )

        for answer, reason in (
            (macros, "Filen togs inte emot (den innehåller makron)"),
            (bomb, "Filen togs inte emot (den packas upp till för mycket)"),
            (wrong_type, "Filen togs inte emot (fel filtyp)"),
            (deck_as_checklist, "Filen togs inte emot (fel filtyp)"),
        ):
            assert answer.status_code == 422, answer.text
            assert reason in answer.text
            assert "Ingenting har sparats" in answer.text
        assert empty.status_code == 422 and "Ingenting har sparats" in empty.text
        assert no_token.status_code == 403 and "Formuläret kunde inte skickas" in no_token.text
        assert not_a_form.status_code == 422 and "Ingenting har sparats" in not_a_form.text
        assert scores_of(portal, "askersund") == before
        assert (count(portal, m.Upload), count(portal, m.ScoreSnapshot)) == (uploads, snapshots)

        # Over the size limit: refused while the body streams in, with the limit in Swedish.
        settings = portal.runtime.settings
        portal.runtime.settings = settings.model_copy(update={"max_upload_bytes": 10_000})
        try:
            too_large = send(client, bm2, "checklista", generated, name="stor.xlsx")
        finally:
            portal.runtime.settings = settings
        assert too_large.status_code == 422, too_large.text
        assert "Filen togs inte emot (den är för stor)." in too_large.text
        assert "10 kB" in too_large.text
        assert scores_of(portal, "askersund") == before
        assert count(portal, m.Upload) == uploads

        # Markup and template syntax in a file name are shown as text, never run.
        hostile_name = "{{ 7*7 }}<script>alert(1)</script> åäö 🎉.xlsx"
        accepted = send(
            client, bm2, "checklista", fill(generated, scores={"Q03": 2}), name=hostile_name
        )
        assert accepted.status_code == 303, accepted.text
        receipt = client.get(accepted.headers["location"])
    assert receipt.status_code == 200
    assert "<script>" not in receipt.text and "{{" not in receipt.text
    with portal.runtime.sessions() as session:
        stored = session.scalars(select(m.Upload).order_by(m.Upload.id.desc())).first()
        assert stored is not None
        assert stored.file_name in receipt.text
        assert "<" not in stored.file_name
