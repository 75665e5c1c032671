"""Regeneration in a real browser: check now lists what changed and why, update now re-renders."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from tests.conftest import wait_seconds
from tests.integration.conftest import meeting_id
from tests.integration.portal.conftest import Portal, check_accessibility, screenshot
from tests.integration.portal.test_letters import sign_in

pytestmark = pytest.mark.integration

WHY = "Ändrade uppgifter: diagrammet per område, förflyttningen i självskattningen"


def _document_count(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.GeneratedDocument)) or 0


def test_check_now_lists_what_changed_and_why_and_update_now_remakes_it(
    portal: Portal,
    page: Any,
    bm3_made: list[int],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    bm3 = meeting_id(portal.runtime, "bm3")
    documents_before = _document_count(portal)
    sign_in(portal, page, "/arrangor/regenerering")
    assert "Inga körningar ännu." in page.locator("main").inner_text()
    check_accessibility(page, "no runs yet")

    page.get_by_label("Vilka träffar").select_option(str(bm3))
    page.get_by_role("button", name="Kontrollera nu").click()
    page.wait_for_url(re.compile(r"/arrangor/regenerering/\d+\?klart=kontrollerad$"))
    assert page.get_by_role("status").inner_text() == (
        "Kontrollen är klar. Inget har skapats på nytt."
    )
    [row] = page.get_by_role("row", name="Askersunds kommun").all()
    cells = row.inner_text()
    assert "Presentation (PPTX)" in cells
    assert "Benchmarking 3" in cells
    assert WHY in cells
    facts = page.locator("dl.facts").inner_text()
    assert "Bara kontroll: inget skapades på nytt" in facts
    assert "startad för hand" in facts
    assert "9, varav 8 oförändrade" in facts
    check_accessibility(page, "a dry run's changes")
    screenshot(page, "organiser-regeneration")
    assert _document_count(portal) == documents_before, "a dry run renders nothing"

    page.get_by_role("link", name="Uppdateringar").first.click()
    run_row = page.get_by_role("row", name=re.compile("Bara kontroll"))
    assert "Startad för hand" in run_row.inner_text()
    assert "Klar" in run_row.inner_text()
    check_accessibility(page, "the runs")

    page.get_by_label("Vilka träffar").select_option(str(bm3))
    page.get_by_role("button", name="Uppdatera nu").click()
    page.wait_for_url(re.compile(r"/arrangor/regenerering/\d+\?klart=uppdatering-startad$"))
    assert "Skapar dokument" in page.locator("dl.facts").inner_text()
    assert page.locator("h2", has_text="Det här ändrades").count() == 1
    check_accessibility(page, "a run with the workers")
    start_worker()
    # The page follows the workers by itself (htmx), without a reload.
    page.locator("dl.facts", has_text="Klar").wait_for(timeout=wait_seconds(90) * 1000)
    facts = page.locator("dl.facts").inner_text()
    assert "Klar" in facts
    assert re.search(r"Skapade på nytt\s+1\b", facts)
    assert WHY in page.get_by_role("row", name="Askersunds kommun").inner_text()
    check_accessibility(page, "a finished run")
    assert _document_count(portal) == documents_before + 1


@pytest.mark.parametrize(
    ("action", "meeting", "message"),
    [
        ("kontrollera", "999999", "Träffen du valde finns inte. Välj en träff i listan."),
        ("kontrollera", "{{ 7*7 }}<b>", "Träffen du valde finns inte. Välj en träff i listan."),
        ("radera", "", "Välj om du vill kontrollera eller uppdatera dokumenten."),
    ],
)
def test_a_wrong_request_is_refused_in_swedish_and_nothing_runs(
    portal: Portal, page: Any, action: str, meeting: str, message: str
) -> None:
    sign_in(portal, page, "/arrangor/regenerering")
    page.evaluate(
        """([action, meeting]) => {
            const form = document.querySelector('form[action="/arrangor/regenerering"]');
            const select = form.querySelector('#mote');
            select.options[0].value = meeting;
            select.selectedIndex = 0;
            const button = form.querySelector('button[value="kontrollera"]');
            button.value = action;
            button.click();
        }""",
        [action, meeting],
    )
    page.wait_for_selector("[role=alert]")
    assert message in page.get_by_role("alert").inner_text()
    check_accessibility(page, "refused regeneration")
    with portal.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.RegenerationRun)) == 0


def test_an_unknown_run_is_not_found(portal: Portal, page: Any) -> None:
    sign_in(portal, page, "/arrangor/regenerering")
    for path in ("/arrangor/regenerering/999999", "/arrangor/regenerering/99999999999999999"):
        response = page.goto(portal.url(path))
        assert response.status == 404
