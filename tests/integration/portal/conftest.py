"""The portal in a real browser: a live server on PostgreSQL, Debian's Chromium, axe-core.

Chromium is Debian's package, driven by Playwright for Python through ``executable_path``
(no browser is ever downloaded). axe-core comes from ``tests/readers`` (``make readers``).
Screenshots go to ``out/screenshots``; with ``BENCHDOCS_SCREENSHOTS=docs/images/portal``
(``make screenshots``) the README's pictures are taken instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from service.access.organisers import add_user
from service.access.tokens import issue_token
from service.api.app import create_app
from service.database import models as m
from service.database.session import unit_of_work
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime
from service.settings import PROJECT_ROOT
from tests.conftest import absent

CHROMIUM = os.environ.get("BENCHDOCS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE_SCRIPT = PROJECT_ROOT / "tests" / "readers" / "node_modules" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0 and 2.1, levels A and AA (axe-core's tags).
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ORGANISER_NAME = "arrangor"
ORGANISER_PASSWORD = "Jämställdhet är en process"


@pytest.fixture(params=["postgresql"])
def database_backend(request: pytest.FixtureRequest) -> str:
    """The portal's journeys run on the production database only (the API's run on both)."""
    backend: str = request.param
    return backend


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Portal:
    """A running portal: its address, its runtime, and shortcuts to set a journey up."""

    base_url: str
    runtime: Runtime
    access_log: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_organiser(
        self, username: str = ORGANISER_NAME, password: str = ORGANISER_PASSWORD
    ) -> tuple[str, str]:
        with unit_of_work(self.runtime.sessions) as session:
            add_user(session, username=username, password=password, display_name="Anna Arrangör")
        return username, password

    def organisation_id(self, ref: str) -> int:
        with self.runtime.sessions() as session:
            return session.scalars(select(m.Organisation.id).where(m.Organisation.ref == ref)).one()

    def participant_link(self, ref: str = "askersund", *, label: str = "Delegationen") -> str:
        """A new personal link for the organisation with this ref."""
        with unit_of_work(self.runtime.sessions) as session:
            token = issue_token(
                session,
                organisation_id=self.organisation_id(ref),
                valid_for=dt.timedelta(days=30),
                label=label,
                now=dt.datetime.now(dt.UTC),
            ).token
        return self.url(f"/lank/{token}")


class _LogCollector:
    """uvicorn's access log lines, kept to prove no token is written there."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, record: str) -> None:
        self.lines.append(record)


@pytest.fixture
def portal(runtime: Runtime, sample: ImportSummary) -> Iterator[Portal]:
    """The sample programme served on a free port by uvicorn (in a thread of this process)."""
    import logging

    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="info", access_log=True
    )
    server = uvicorn.Server(config)
    portal = Portal(base_url=f"http://127.0.0.1:{port}", runtime=runtime)
    handler = logging.StreamHandler(_LogCollector(portal.access_log))  # type: ignore[arg-type]
    access_logger = logging.getLogger("uvicorn.access")
    access_logger.addHandler(handler)
    thread = threading.Thread(target=server.run, name="portal", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the portal's server did not start")
        time.sleep(0.02)
    try:
        yield portal
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        access_logger.removeHandler(handler)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the whole session of this test process."""
    if not Path(CHROMIUM).exists():
        absent(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        absent("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, in Swedish, desktop-sized."""
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    refused: list[str] = []
    tab.csp_refusals = refused  # a test that provokes a refusal on purpose clears it
    tab.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield tab
    finally:
        context.close()
    # Our own pages must never need what the policy forbids (an inline script or style).
    if refused:
        pytest.fail("the content security policy refused something:\n" + "\n".join(refused))


def check_accessibility(page: Any, what: str = "") -> None:
    """axe-core's WCAG 2.1 A and AA rules on the page as it is now: zero violations.

    axe is evaluated through the DevTools protocol, which the page's content security policy
    does not govern (the page itself allows no inline script).
    """
    if not AXE_SCRIPT.exists():
        absent(f"axe-core not installed at {AXE_SCRIPT} (run make readers)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
    )
    violations = result["violations"]
    if violations:
        lines = [f"axe found {len(violations)} WCAG 2.1 AA violation(s) on {what or page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    {node['target']}: {node['failureSummary']}")
        pytest.fail("\n".join(lines), pytrace=False)


def press_tab_until(page: Any, pattern: str, *, limit: int = 60) -> None:
    """Move focus with Tab until the focused element's text or label matches ``pattern``."""
    wanted = re.compile(pattern)
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e) return '';
                const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
                return (e.getAttribute('aria-label') || label || e.innerText || e.value || '')
                    .trim();
            }"""
        )
        seen.append(focused)
        if wanted.search(focused):
            return
    pytest.fail(f"Tab never reached {pattern!r}; focus went through: {json.dumps(seen)}")


SCREENSHOT_DIR = Path(os.environ.get("BENCHDOCS_SCREENSHOTS", PROJECT_ROOT / "out" / "screenshots"))


def screenshot(page: Any, name: str) -> Path:
    """The page as a person sees it, for the README (see the module's docstring)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path))  # the viewport: what a person sees first
    return path


def chromium_installed() -> bool:
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()
