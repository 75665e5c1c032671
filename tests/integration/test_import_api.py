"""Importing a whole programme through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
OLD_NAMES = {"value_total": "value", "value_women": "women", "value_men": "men"}
VALUES = ("value_total", "value_women", "value_men")
Json = dict[str, Any]


def post_import(client: TestClient, document: Json) -> Json:
    response = client.post(
        f"{API}/programmes/import",
        content=json.dumps(document, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def written_with_old_names(document: Json) -> Json:
    """The programme as files were written before the API's names: value, women, men."""
    for initiative in document["improvement_initiatives"]:
        indicator = initiative.get("indicator") or {}
        for when in ("baseline", "latest"):
            if indicator.get(when):
                indicator[when] = {OLD_NAMES.get(k, k): v for k, v in indicator[when].items()}
    return document


def measurements_in_file(document: Json) -> dict[str, list[Json]]:
    """What each initiative's indicator should hold, by initiative ref, named as stored."""
    expected = {}
    for initiative in document["improvement_initiatives"]:
        indicator = initiative.get("indicator") or {}
        expected[initiative["id"]] = [
            {"date": x["date"], "is_baseline": when == "baseline"}
            | {name: x.get(name) for name in VALUES}
            for when in ("baseline", "latest")
            if (x := indicator.get(when))
        ]
    return expected


def stored_initiatives(client: TestClient) -> dict[str, Json]:
    """Every stored initiative, read through the API, by ref."""
    (network,) = client.get(f"{API}/networks").json()["items"]
    organisations = client.get(
        f"{API}/networks/{network['id']}/organisations", params={"limit": 100}
    )
    found = {}
    for organisation in organisations.json()["items"]:
        path = f"{API}/organisations/{organisation['id']}/initiatives"
        for initiative in client.get(path, params={"limit": 100}).json()["items"]:
            found[initiative["ref"]] = initiative
    return found


def stored_measurements(initiative: Json) -> list[Json]:
    indicator = initiative["indicator"] or {"measurements": []}
    return [{k: v for k, v in x.items() if k != "id"} for x in indicator["measurements"]]


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


@pytest.mark.parametrize("old_names", [False, True], ids=["names of the API", "old names"])
def test_measurements_are_stored_alike_under_old_and_new_names(
    api_client: TestClient, sample_programme_bytes: bytes, old_names: bool
) -> None:
    document = json.loads(sample_programme_bytes)
    expected = measurements_in_file(document)
    if old_names:
        document = written_with_old_names(document)

    post_import(api_client, document)
    stored = stored_initiatives(api_client)

    assert {ref: stored_measurements(x) for ref, x in stored.items()} == expected
    assert {x["value_women"] for xs in expected.values() for x in xs} - {None}, "no split values"
    assert {x["value_total"] for xs in expected.values() for x in xs} - {None}, "no totals"


def test_a_measurement_from_the_file_posted_to_the_api_is_stored_as_the_import_stored_it(
    imported_client: TestClient, sample_programme_bytes: bytes
) -> None:
    document = json.loads(sample_programme_bytes)
    stored = stored_initiatives(imported_client)
    compared = 0

    for initiative in document["improvement_initiatives"]:
        indicator = initiative.get("indicator")
        if indicator is None:
            continue
        imported = stored[initiative["id"]]
        measurements = [
            {**indicator[when], "is_baseline": when == "baseline"}
            for when in ("baseline", "latest")
            if indicator.get(when)
        ]
        response = imported_client.post(
            f"{API}/organisations/{imported['organisation_id']}/initiatives",
            json={
                "title": f"{initiative['title']} (via API)",
                "indicator": {
                    "name": indicator["name"],
                    "unit": indicator.get("unit"),
                    "measurements": measurements,
                },
            },
        )
        assert response.status_code == 201, response.text

        assert stored_measurements(response.json()) == stored_measurements(imported)
        compared += 1

    assert compared == len(document["improvement_initiatives"])


def test_words_manual_line_break_is_imported_as_a_line_break_and_other_controls_refused(
    api_client: TestClient,
) -> None:
    with open("service/data/sample-programme.json", encoding="utf-8") as sample:
        document = json.load(sample)
    pasted_from_word = "Ny rapportmall med könsuppdelning.\x0bController stöttar nämnderna."
    document["improvement_initiatives"][0]["action"] = pasted_from_word
    bell = json.loads(json.dumps(document))
    bell["improvement_initiatives"][0]["results"] = "Alla nämnder\x07redovisar"

    refused = api_client.post(
        f"{API}/programmes/import",
        content=json.dumps(bell).encode(),
        headers={"Content-Type": "application/json"},
    )
    post_import(api_client, document)
    stored = stored_initiatives(api_client)["i01"]

    assert refused.status_code == 422
    assert [e["path"] for e in refused.json()["errors"]] == ["$.improvement_initiatives[0].results"]
    assert "U+0007" in refused.json()["errors"][0]["message"]
    assert stored["action"] == pasted_from_word.replace("\x0b", "\n")
    with_break = api_client.patch(
        f"{API}/initiatives/{stored['id']}", json={"results": "Första raden\x0bandra raden"}
    )
    assert with_break.status_code == 200, with_break.text
    assert with_break.json()["results"] == "Första raden\nandra raden"
