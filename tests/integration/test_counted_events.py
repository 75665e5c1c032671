"""Events the work counts for Prometheus: refused uploads, regeneration runs, LibreOffice restarts.

Each is read back from a real ``/metrics`` scrape (or the process's registry) as a difference
before and after the event, since the counters live as long as the test process.
"""

from __future__ import annotations

import io
import os
import signal
import time

import docx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from service.intake.programme_import import ImportSummary
from service.pdf.libreoffice import WarmLibreOfficeConverter
from tests.conftest import require_tools

pytestmark = pytest.mark.integration


def counter(client: TestClient, name: str, **labels: str) -> float:
    """One sample of a scrape, 0 when it has not been counted yet."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_refused_uploads_are_counted_by_reason(
    imported_client: TestClient, sample_summary: ImportSummary
) -> None:
    url = "/api/v1/organisations/1/checklist-uploads"
    name = "benchdocs_uploads_refused_total"
    before_type = counter(imported_client, name, reason="wrong_type")
    before_empty = counter(imported_client, name, reason="empty")

    not_multipart = imported_client.post(
        url, content=b"plain", headers={"Content-Type": "text/plain"}
    )
    empty = imported_client.post(url, files={"file": ("tom.xlsx", b"", "application/octet-stream")})
    empty_again = imported_client.post(url, files={"file": ("tom.xlsx", b"", "application/x")})
    accepted_elsewhere = imported_client.get("/healthz")

    assert not_multipart.status_code == 415
    assert empty.status_code == empty_again.status_code == 422
    assert accepted_elsewhere.status_code == 200
    assert counter(imported_client, name, reason="wrong_type") == before_type + 1
    assert counter(imported_client, name, reason="empty") == before_empty + 2


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_regeneration_runs_are_counted_by_trigger_and_result(
    imported_client: TestClient, sample_summary: ImportSummary
) -> None:
    name = "benchdocs_regeneration_runs_total"
    before = counter(imported_client, name, trigger="manual", result="finished")

    answer = imported_client.post("/api/v1/regenerations", json={"dry_run": True})

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "finished"
    assert counter(imported_client, name, trigger="manual", result="finished") == before + 1


def a_letter() -> bytes:
    document = docx.Document()
    document.add_paragraph("Återkoppling till Askersunds kommun")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def sample_value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_libreoffice_restarts_and_conversions_are_counted() -> None:
    require_tools("soffice")
    letter = a_letter()
    restarts = "benchdocs_libreoffice_restarts_total"
    conversions = "benchdocs_pdf_conversion_duration_seconds_count"
    before = {
        reason: sample_value(restarts, reason=reason) for reason in ("recycled", "died", "failed")
    }
    converted_before = sample_value(conversions, source_format="docx")

    with WarmLibreOfficeConverter(restart_after=2, timeout_seconds=60) as converter:
        converter.convert(letter, source_format="docx")  # first start: not a restart
        converter.convert(letter, source_format="docx")
        converter.convert(letter, source_format="docx")  # after 2: recycled
        office = converter.office_pid
        assert office is not None
        os.kill(office, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while converter.office_pid == office and _alive(office):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pdf = converter.convert(letter, source_format="docx")  # died between: restarted

    assert pdf.startswith(b"%PDF")
    assert sample_value(restarts, reason="recycled") == before["recycled"] + 1
    assert sample_value(restarts, reason="died") == before["died"] + 1
    assert sample_value(restarts, reason="failed") == before["failed"]
    assert sample_value(conversions, source_format="docx") == converted_before + 4


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
