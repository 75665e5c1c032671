"""Importing a whole programme through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_sample_programme_imports_unchanged(
    api_client: TestClient, sample_programme_bytes: bytes
) -> None:
    response = api_client.post(
        "/api/v1/programmes/import",
        content=sample_programme_bytes,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["network_ref"] == "mkmr_2019_exempel"
    assert body["organisations"] == 8
    assert body["meetings"] == 3
