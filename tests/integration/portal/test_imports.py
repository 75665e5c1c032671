"""Importing a roster or a programme in the browser: problems, preview, confirm, stored.

The roster journey is walked with the keyboard only; hostile files go through the same form
over HTTP. Nothing is stored while a problem remains, and a confirmation applies exactly the
file that was previewed.
"""

from __future__ import annotations

import json
import re
from contextlib import closing
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from service.database import models as m
from service.intake.sample import SAMPLE_PROGRAMME
from tests.hostile.corpus import HostileCase
from tests.integration.portal.conftest import (
    Portal,
    check_accessibility,
    press_tab_until,
    screenshot,
)
from tests.integration.portal.test_organiser_pages import sign_in

pytestmark = pytest.mark.integration

HEADER = (
    "Organisation-id;Organisation;Typ;Län;Roll i programmet;Grupp;Deltagar-id;Namn;Roll;Titel;"
    "E-post;Telefon\n"
)
GOOD_ROW = (
    "askersund;Askersunds kommun;kommun;Örebro län;benchmarkingorganisation;G1;p99;"
    "Eva Öberg 🙂;{role};jämställdhetsstrateg;eva.oberg@askersund.example;\n"
)


def _roster(role: str) -> bytes:
    return (HEADER + GOOD_ROW.format(role=role)).encode("utf-8")


def _participants(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return int(session.scalar(select(func.count(m.Participant.id))) or 0)


def _networks(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return int(session.scalar(select(func.count(m.Network.id))) or 0)


def _choose_file(page: Any, name: str, data: bytes, mime: str) -> None:
    """Tab to the file field and give it a file (the file chooser itself is the system's)."""
    press_tab_until(page, "^Fil$")
    assert page.evaluate("document.activeElement.type") == "file"
    page.locator("#fil").set_input_files({"name": name, "mimeType": mime, "buffer": data})


def test_a_roster_with_a_bad_row_is_refused_then_fixed_previewed_and_confirmed_by_keyboard(
    portal: Portal, page: Any
) -> None:
    sign_in(portal, page)
    before = _participants(portal)
    press_tab_until(page, "^Importera program eller deltagarlista$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/arrangor/import"))
    check_accessibility(page, "import form")
    press_tab_until(page, "^Vad vill du importera\\?$")
    page.keyboard.press("ArrowDown")  # from "Nytt program" to the sample's roster
    assert page.locator("#mal option:checked").inner_text().startswith("Deltagarlista till")
    _choose_file(page, "deltagare.csv", _roster("astronaut"), "text/csv")
    press_tab_until(page, "^Förhandsgranska$")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    table = alert.get_by_role("table")
    rows = table.locator("tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(0).inner_text() == "Rad 2, kolumn ”Roll”"
    assert rows.first.locator("td").nth(1).inner_text().startswith("”astronaut” är ingen roll.")
    assert "Ingenting har sparats" in alert.inner_text()
    check_accessibility(page, "import problems")
    assert _participants(portal) == before
    # The choice is kept; the fixed file previews.
    assert page.locator("#mal option:checked").inner_text().startswith("Deltagarlista till")
    _choose_file(page, "deltagare.csv", _roster("strateg"), "text/csv")
    press_tab_until(page, "^Förhandsgranska$")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Förhandsgranska importen").wait_for()
    counts = page.get_by_role("table", name="Så många ändras")
    added = counts.get_by_role("row", name=re.compile("^Läggs till"))
    assert [c.inner_text() for c in added.get_by_role("cell").all()] == ["0", "1"]
    steps = page.get_by_role("table", name=re.compile("^Deltagare som läggs till"))
    assert "Eva Öberg 🙂" in steps.inner_text()
    check_accessibility(page, "import preview")
    screenshot(page, "organiser-import-preview")
    assert _participants(portal) == before  # a preview stores nothing
    press_tab_until(page, "^Bekräfta och importera$")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url("/arrangor?klart=lista-importerad"))
    assert page.get_by_role("status").inner_text() == "Deltagarlistan är importerad."
    check_accessibility(page, "after import")
    with portal.runtime.sessions() as session:
        eva = session.scalars(select(m.Participant).where(m.Participant.ref == "p99")).one()
        assert eva.name == "Eva Öberg 🙂" and eva.role.value == "strateg"
        assert eva.organisation.ref == "askersund"
    assert _participants(portal) == before + 1


def _programme(**network: str) -> bytes:
    document = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    document["network"].update(network)
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def test_a_new_programme_previews_by_a_dry_run_and_imports_on_confirmation(
    portal: Portal, page: Any
) -> None:
    sign_in(portal, page, "/arrangor/import")
    # The sample again: its network exists, so the dry run says so and stores nothing.
    page.get_by_label("Vad vill du importera?").select_option("nytt")
    page.locator("#fil").set_input_files(
        {"name": "program.json", "mimeType": "application/json", "buffer": _programme()}
    )
    page.get_by_role("button", name="Förhandsgranska").click()
    assert (
        "Ett nätverk med id ”mkmr_2019_exempel” finns redan"
        in page.get_by_role("alert").inner_text()
    )
    check_accessibility(page, "programme exists")
    assert _networks(portal) == 1
    raw = _programme(id="mkmr_2027", name="Modellkommuner 2027 <b>nya</b> {{ 7*7 }}")
    page.locator("#fil").set_input_files(
        {"name": "program.json", "mimeType": "application/json", "buffer": raw}
    )
    page.get_by_role("button", name="Förhandsgranska").click()
    heading = page.get_by_role("heading", name=re.compile("^Nytt program:"))
    assert heading.inner_text() == "Nytt program: Modellkommuner 2027 <b>nya</b> {{ 7*7 }}"
    facts = page.locator("dl.facts").inner_text()
    assert re.search(r"Organisationer\s+8", facts) and re.search(r"Möten\s+3", facts)
    assert "finns redan och används igen" in facts
    assert "Hedemora kommun" in page.locator("main").inner_text()
    check_accessibility(page, "programme preview")
    assert _networks(portal) == 1  # the dry run was rolled back
    page.get_by_role("button", name="Bekräfta och importera").click()
    page.wait_for_url(portal.url("/arrangor?klart=program-importerat"))
    assert page.get_by_role("heading", name="Modellkommuner 2027 <b>nya</b> {{ 7*7 }}").is_visible()
    check_accessibility(page, "start after programme import")
    with portal.runtime.sessions() as session:
        network = session.scalars(select(m.Network).where(m.Network.ref == "mkmr_2027")).one()
        meetings = session.scalar(
            select(func.count(m.Meeting.id)).where(m.Meeting.network_id == network.id)
        )
        assert meetings == 3


def _client(portal: Portal, page: Any) -> tuple[httpx.Client, str]:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    client = httpx.Client(base_url=portal.base_url, cookies=cookies, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/arrangor/import").text)
    assert token
    return client, token.group(1)


def _post(client: httpx.Client, token: str, target: str, name: str, data: bytes) -> Any:
    return client.post(
        "/arrangor/import",
        data={"csrf_token": token, "mal": target},
        files={"file": (name, data, "application/octet-stream")},
    )


def test_hostile_files_get_a_swedish_answer_and_nothing_is_stored(
    portal: Portal, page: Any, corpus: dict[str, HostileCase]
) -> None:
    sign_in(portal, page, "/arrangor/import")
    client, token = _client(portal, page)
    network = str(portal.organisation_id("askersund") and _network_id(portal))
    before = (_participants(portal), _networks(portal))
    with closing(client):
        for case_id in (
            "truncated-zip",
            "xlsm-renamed-xlsx",
            "member-ratio-bomb",
            "csv-control-character",
        ):
            case = corpus[case_id]
            answer = _post(client, token, network, case.file_name, case.data())
            assert answer.status_code == 422, case_id
            assert "Ingenting har sparats" in answer.text, case_id
            assert case.sv_fragment in answer.text.replace("&nbsp;", "\u00a0"), case_id
        hostile_json = {
            "over the limit": (b"{" + b" " * 5_000_001 + b"}", "Filen är"),
            "control character": (
                _programme(id="kontroll", name="Namn\x07"),
                "osynliga styrtecknet U+0007",
            ),
            "not json": (b"<html>{{ 7*7 }}</html>", "Filen är inte giltig JSON"),
            "latin-1": ('{"namn": "åäö"}'.encode("latin-1"), "inte text i UTF-8"),
        }
        for what, (data, fragment) in hostile_json.items():
            answer = _post(client, token, "nytt", "program.json", data)
            assert answer.status_code == 422, what
            assert fragment in answer.text, what
        # Without the form's token nothing is read.
        refused = client.post(
            "/arrangor/import",
            data={"mal": network},
            files={"file": ("deltagare.csv", _roster("strateg"), "text/csv")},
        )
        assert refused.status_code == 403
        # A confirmation must name a previewed file and its plan.
        gone = client.post(
            "/arrangor/import/bekrafta",
            data={"csrf_token": token, "mal": network, "fil": "0" * 64, "digest": "0" * 64},
        )
        assert gone.status_code == 409 and "Ladda upp filen igen" in gone.text
    assert (_participants(portal), _networks(portal)) == before
    page.goto(portal.url("/arrangor/import"))


def _network_id(portal: Portal) -> int:
    with portal.runtime.sessions() as session:
        return int(session.scalars(select(m.Network.id)).one())


def test_a_confirmation_applies_only_the_plan_that_was_previewed(portal: Portal, page: Any) -> None:
    sign_in(portal, page, "/arrangor/import")
    client, token = _client(portal, page)
    network = str(_network_id(portal))
    with closing(client):
        preview = _post(client, token, network, "deltagare.csv", _roster("strateg"))
        assert preview.status_code == 200
        fields = dict(re.findall(r'name="(fil|digest|mal)" value="([^"]*)"', preview.text))
        # Someone else adds the same person between preview and confirmation.
        again = _post(client, token, network, "deltagare.csv", _roster("strateg"))
        other = dict(re.findall(r'name="(fil|digest|mal)" value="([^"]*)"', again.text))
        first = client.post("/arrangor/import/bekrafta", data={"csrf_token": token, **other})
        assert first.status_code == 303
        stale = client.post("/arrangor/import/bekrafta", data={"csrf_token": token, **fields})
        assert stale.status_code == 409
        assert "Uppgifterna har ändrats sedan förhandsgranskningen" in stale.text
    with portal.runtime.sessions() as session:
        assert (
            session.scalar(select(func.count(m.Participant.id)).where(m.Participant.ref == "p99"))
            == 1
        )
