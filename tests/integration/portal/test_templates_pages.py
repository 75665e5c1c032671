"""Organisers' templates in a real browser: upload, report, preview, activate, roll back.

Every page state met is checked with axe-core (WCAG 2.1 AA); the activation is done with the
keyboard.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import docx
import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from service.database import models as m
from service.domain.kinds import DocumentKind
from tests.integration.portal.conftest import (
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)
from tests.integration.test_template_versions import ANCHOR, SENTENCE, letter_with

pytestmark = pytest.mark.integration

KIND = DocumentKind.FEEDBACK_LETTER
PAGE = f"/arrangor/mallar/{KIND.value}"


def sign_in(portal: Portal, page: Any, target: str = "/arrangor/mallar") -> None:
    username, password = portal.add_organiser()
    page.goto(portal.url(target))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(re.escape(portal.url(target))))


def upload_file(page: Any, tmp_path: Path, data: bytes, name: str = "brev.docx") -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.get_by_label(re.compile("^Mallfil")).set_input_files(str(path))
    page.get_by_role("button", name="Ladda upp och kontrollera").click()


def versions(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.TemplateVersion)) or 0


def test_an_organiser_uploads_previews_activates_and_rolls_back_a_template(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    sign_in(portal, page)
    assert page.locator("h1").inner_text() == "Mallar"
    row = page.get_by_role("row", name=re.compile("Återkopplingsbrev"))
    assert "Inbyggd mall" in row.inner_text()
    check_accessibility(page, "templates overview")
    page.get_by_role("link", name="Återkopplingsbrev").click()
    page.wait_for_url(portal.url(PAGE))
    check_accessibility(page, "a kind without versions")

    # A template with a mistake: the report names where, in Swedish; it cannot be activated.
    upload_file(page, tmp_path, letter_with("{{ organisation.name }}", "{{ organisation.nme }}"))
    page.wait_for_url(re.compile(re.escape(portal.url(PAGE + "?klart=mall-uppladdad"))))
    report = page.get_by_role("table", name="Kontrollen av version 1")
    text = report.inner_text()
    assert "brödtexten, stycke 6" in text
    assert "Okänd variabel ”organisation.nme”" in text and "menade du ”name”" in text
    assert page.get_by_role("link", name="Aktivera version 1").count() == 0
    check_accessibility(page, "a version with errors")

    # The corrected template: no problems; preview it.
    upload_file(page, tmp_path, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    page.wait_for_url(re.compile(re.escape(portal.url(PAGE + "?klart=mall-uppladdad"))))
    version_2 = page.locator("#version-2")
    assert "Inga fel" in version_2.inner_text()
    version_2.get_by_role("button", name="Förhandsgranska version 2").click()
    page.wait_for_url(re.compile("forhandsgranskning=2"), timeout=120_000)
    heading = page.get_by_role("heading", name="Förhandsgranskning av version 2")
    assert heading.is_visible()
    shown_for = page.locator("section", has=heading).inner_text()
    assert re.search(r"uppgifterna för .+ inför Benchmarking", shown_for), shown_for
    link = page.get_by_role("link", name=re.compile("Ladda ner förhandsgranskningen"))
    with page.expect_download() as download:
        link.click()
    data = Path(download.value.path()).read_bytes()
    previewed = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert SENTENCE in previewed
    image = page.locator("img.template-preview")
    if image.count():
        assert "version 2" in (image.get_attribute("alt") or "")
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
    check_accessibility(page, "a preview")
    screenshot(page, "organiser-templates")

    # Activate with the keyboard, after the confirmation.
    page.goto(portal.url(PAGE))
    press_tab_until(page, "^Aktivera version 2$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(portal.url(PAGE + "/aktivera?version=2"))))
    assert page.locator("h1").inner_text() == "Aktivera version 2?"
    check_accessibility(page, "activation confirmation")
    press_tab_until(page, "^Ja, aktivera version 2$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url(PAGE + "?klart=mall-aktiverad"))
    assert page.get_by_role("status").inner_text().startswith("Mallen är aktiverad")
    assert "Version 2" in page.locator("section", has=page.locator("#nu")).inner_text()
    check_accessibility(page, "an active version")
    with portal.runtime.sessions() as session:
        active = session.get(m.ActiveTemplate, KIND)
        assert active is not None and active.version is not None
        assert active.version.number == 2 and active.activated_by == "Anna Arrangör"
    page.goto(portal.url("/arrangor/mallar"))
    row = page.get_by_role("row", name=re.compile("Återkopplingsbrev"))
    assert "Version 2" in row.inner_text() and "Anna Arrangör" in row.inner_text()
    check_accessibility(page, "overview with an active version")

    # Roll back to the built-in template.
    page.goto(portal.url(PAGE))
    page.get_by_role("link", name="Återställ den inbyggda mallen").click()
    assert page.locator("h1").inner_text() == "Återställ den inbyggda mallen?"
    check_accessibility(page, "roll-back confirmation")
    page.get_by_role("button", name="Ja, återställ den inbyggda mallen").click()
    page.wait_for_url(portal.url(PAGE + "?klart=mall-aterstalld"))
    assert "Inbyggd mall" in page.locator("section", has=page.locator("#nu")).inner_text()
    check_accessibility(page, "rolled back")
    with portal.runtime.sessions() as session:
        active = session.get(m.ActiveTemplate, KIND)
        assert active is not None and active.template_version_id is None


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        (
            "brev.docm",
            lambda: letter_with(ANCHOR, ANCHOR, extra={"word/vbaProject.bin": b"x"}),
            "makro",
        ),
        ("mall åäö 😀.docx", lambda: b"<script>alert(1)</script>{{ 7*7 }}", "Word"),
        ("brev.docx", lambda: b"", "tom"),
    ],
    ids=["macros", "markup", "empty"],
)
def test_a_refused_upload_says_why_in_swedish_and_stores_nothing(
    portal: Portal, page: Any, tmp_path: Path, name: str, data: Any, words: str
) -> None:
    sign_in(portal, page, PAGE)
    upload_file(page, tmp_path, data(), name)
    summary = page.get_by_role("alert")
    assert words.casefold() in summary.inner_text().casefold()
    assert "Mallfil" in summary.inner_text()
    assert "49" not in summary.inner_text()
    check_accessibility(page, f"refused upload ({name})")
    assert versions(portal) == 0


def test_forms_without_the_csrf_token_and_strangers_change_nothing(
    portal: Portal, page: Any
) -> None:
    sign_in(portal, page, PAGE)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=portal.base_url, cookies=cookies) as client:
        answer = client.post(PAGE, files={"file": ("brev.docx", letter_with(ANCHOR, ANCHOR))})
        assert answer.status_code == 403
        answer = client.post(f"{PAGE}/aktivera", data={"version": "inbyggd"})
        assert answer.status_code == 403
        assert client.get("/arrangor/mallar/okand").status_code == 404
        assert client.get(f"{PAGE}/aktivera?version=%7B%7B7*7%7D%7D").status_code == 404
        assert client.get(f"{PAGE}/versioner/1/fil").status_code == 404
    with httpx.Client(base_url=portal.base_url) as stranger:
        answer = stranger.get(PAGE, follow_redirects=False)
        assert answer.status_code == 303 and "/logga-in" in answer.headers["location"]
    assert versions(portal) == 0
    with portal.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.ActiveTemplate)) == 0


def test_a_hostile_file_name_is_shown_as_text(portal: Portal, page: Any) -> None:
    sign_in(portal, page, PAGE)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    hostile = "<script>alert(1)</script>{{ 7*7 }}😀åäö\x01" + "x" * 400 + ".docx"
    with httpx.Client(
        base_url=portal.base_url, cookies=cookies, headers={"Origin": portal.base_url}
    ) as client:
        answer = client.post(
            PAGE,
            data={"csrf_token": token},
            files={"file": (hostile, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))},
        )
        assert answer.status_code == 303, answer.text
    page.goto(portal.url(PAGE))
    html = page.content()
    assert "<script>alert(1)" not in html and ">49<" not in html
    name = page.locator("#version-1 dd a").first.inner_text()
    assert "\x01" not in name and len(name) <= 205
    assert page.evaluate("() => window.alertCalled === undefined")
    check_accessibility(page, "a hostile file name")
