"""``benchdocs demo --serve``: the quick start's portal, as a newcomer would open it.

The demo runs as a user runs it (its own process, embedded database and Redis, real workers);
the test reads the address, the organiser's password and the participant link it prints,
signs in and opens the link, then stops it with Ctrl+C (SIGINT) as a person would.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from service.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.mark.timeout(300)
def test_the_demo_serves_the_portal_with_a_working_login_and_participant_link(
    tmp_path: Path,
) -> None:
    port = _free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BENCHDOCS_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    command = [
        sys.executable, "-m", "service.cli", "demo", "--no-pdf", "--serve",
        "--port", str(port), "--out", str(tmp_path / "out"), "--var", str(tmp_path / "var"),
    ]  # fmt: skip
    demo = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**environment, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            printed.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while not any("Serving until Ctrl+C" in line for line in printed):
            assert demo.poll() is None, "the demo stopped:\n" + "".join(printed)
            assert time.monotonic() < deadline, "the demo never served:\n" + "".join(printed)
            time.sleep(0.2)
        output = "".join(printed)
        base = f"http://127.0.0.1:{port}"
        assert f"The portal: {base}/" in output
        password = re.search(r"user arrangor, password (\S+)", output)
        link = re.search(rf"participant link: ({re.escape(base)}/lank/\S+)", output)
        assert password and link, output
        with httpx.Client(base_url=base) as organiser:
            for _ in range(50):  # uvicorn binds just after the banner is printed
                try:
                    form = organiser.get("/logga-in")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            signed_in = organiser.post(
                "/logga-in",
                data={
                    "csrf_token": _csrf(form.text),
                    "anvandarnamn": "arrangor",
                    "losenord": password.group(1),
                },
            )
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/arrangor?klart=inloggad"
            start = organiser.get("/arrangor")
            assert start.status_code == 200
        with httpx.Client() as participant:
            opened = participant.get(link.group(1))
            assert opened.status_code == 303
            documents = participant.get(base + "/mina-dokument")
            assert documents.status_code == 200
            assert "Askersund" in documents.text
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            pytest.fail("the demo did not stop on Ctrl+C")
        finally:
            reader.join(timeout=10)
            assert demo.stdout is not None
            demo.stdout.close()
    assert demo.returncode == 0, "".join(printed)
