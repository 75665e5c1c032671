"""A programme import that breaks a rule is refused as a whole, naming the JSON path at fault."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from service.settings import Settings

IMPORT = "/api/v1/programmes/import"

Document = dict[str, Any]
Change = Callable[[Document], object]


@pytest.fixture
def sample_with(sample_programme_bytes: bytes) -> Callable[[Change], bytes]:
    """The sample programme with one change made to a fresh copy of it."""

    def build(change: Change) -> bytes:
        document = json.loads(sample_programme_bytes)
        change(document)
        return json.dumps(document, ensure_ascii=False).encode()

    return build


def setting(*path: str | int, to: object) -> Change:
    """A change that sets the value at a path such as ("meetings", 1, "date")."""

    def change(document: Document) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = to

    return change


def adding_a_copy_of(collection: str, index: int) -> Change:
    """A change that appends a copy of a record, keeping its id."""

    def change(document: Document) -> None:
        document[collection].append(dict(document[collection][index]))

    return change


def post_import(client: TestClient, body: bytes | Iterator[bytes]) -> Response:
    return client.post(IMPORT, content=body, headers={"Content-Type": "application/json"})


def error_paths(response: Response) -> list[str]:
    return [error["path"] for error in response.json()["errors"]]


def stored_networks(client: TestClient) -> int:
    response = client.get("/api/v1/networks")
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b'{"network": {"id": "x"', "not valid JSON", id="not JSON"),
        pytest.param(b'{"network": {"name": "V\xe4rmland"}}', "not UTF-8", id="Latin-1 text"),
        pytest.param(b"", "not valid JSON", id="empty body"),
        pytest.param(b"[]", "valid dictionary", id="an array instead of an object"),
    ],
)
def test_a_body_that_is_no_programme_is_rejected_at_the_root(
    api_client: TestClient, body: bytes, message: str
) -> None:
    response = post_import(api_client, body)

    assert response.status_code == 422, response.text
    assert error_paths(response) == ["$"]
    assert message in response.json()["errors"][0]["message"]
    assert stored_networks(api_client) == 0


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param(
            setting("network", "colour", to="röd"), "$.network.colour", id="unknown field"
        ),
        pytest.param(
            setting("meetings", 1, "date", to="2019-02-30"), "$.meetings[1].date", id="bad date"
        ),
        pytest.param(
            setting("self_assessments", 0, "scores", "askersund", 3, to=4),
            "$.self_assessments[0].scores.askersund[3]",
            id="score outside the scale",
        ),
        pytest.param(
            setting("organisations", 2, "group_id", to="G9"),
            "$.organisations[2].group_id",
            id="unknown group",
        ),
        pytest.param(
            adding_a_copy_of("organisations", 1), "$.organisations[8].id", id="duplicate org id"
        ),
        pytest.param(
            setting("organisations", 1, "contact_person_id", to="p01"),
            "$.organisations[1].contact_person_id",
            id="contact person of another organisation",
        ),
        pytest.param(
            setting("organisations", 0, "name", to="Hedemora\x00 kommun"),
            "$.organisations[0].name",
            id="NUL in a name",
        ),
        pytest.param(
            setting("participants", 4, "name", to="Anna \x1b[31mAndersson"),
            "$.participants[4].name",
            id="escape character in a name",
        ),
        pytest.param(
            setting("participants", 4, "phone", to="0" * 51),
            "$.participants[4].phone",
            id="phone longer than its column",
        ),
    ],
)
def test_a_record_breaking_a_rule_is_rejected_by_its_path(
    api_client: TestClient, sample_with: Callable[[Change], bytes], change: Change, path: str
) -> None:
    body = sample_with(change)

    response = post_import(api_client, body)

    assert response.status_code == 422, response.text
    assert error_paths(response) == [path]
    assert stored_networks(api_client) == 0


def test_a_measurement_giving_a_value_under_its_old_and_new_name_is_refused(
    api_client: TestClient, sample_with: Callable[[Change], bytes]
) -> None:
    body = sample_with(
        setting("improvement_initiatives", 1, "indicator", "baseline", "women", to=7.9)
    )

    response = post_import(api_client, body)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "$.improvement_initiatives[1].indicator.baseline"
    assert "women is the old name of value_women: give value_women only" in error["message"]
    assert stored_networks(api_client) == 0


def test_every_bad_field_is_reported_at_once(
    api_client: TestClient, sample_with: Callable[[Change], bytes]
) -> None:
    def two_mistakes(document: Document) -> None:
        setting("meetings", 0, "date", to="den elfte april")(document)
        setting("organisations", 5, "county", to="x" * 301)(document)

    response = post_import(api_client, sample_with(two_mistakes))

    assert response.status_code == 422, response.text
    assert sorted(error_paths(response)) == ["$.meetings[0].date", "$.organisations[5].county"]
    assert stored_networks(api_client) == 0


def test_a_body_declared_larger_than_the_limit_is_refused_unread(
    api_client: TestClient, settings: Settings
) -> None:
    body = b" " * (settings.max_import_bytes + 1)

    response = post_import(api_client, body)

    assert response.status_code == 413, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "$" and str(settings.max_import_bytes) in error["message"]
    assert stored_networks(api_client) == 0


def test_a_streamed_body_is_refused_once_it_passes_the_limit(
    api_client: TestClient, settings: Settings
) -> None:
    chunk = b" " * 65_536
    chunks = iter([chunk] * (settings.max_import_bytes // len(chunk) + 2))

    response = post_import(api_client, chunks)

    assert response.status_code == 413, response.text
    assert stored_networks(api_client) == 0


def test_importing_the_same_programme_twice_is_a_conflict_that_keeps_the_first(
    imported_client: TestClient, sample_programme_bytes: bytes
) -> None:
    (network,) = imported_client.get("/api/v1/networks").json()["items"]

    response = post_import(imported_client, sample_programme_bytes)

    assert response.status_code == 409, response.text
    assert "mkmr_2019_exempel" in response.json()["detail"]
    assert imported_client.get("/api/v1/networks").json()["items"] == [network]
    organisations = imported_client.get(f"/api/v1/networks/{network['id']}/organisations")
    assert organisations.json()["total"] == 8
    assert imported_client.get(f"/api/v1/networks/{network['id']}/meetings").json()["total"] == 3


def test_deeply_nested_json_is_rejected_at_the_root(api_client: TestClient) -> None:
    body = b"[" * 100_000

    response = post_import(api_client, body)

    assert response.status_code == 422, response.text
    assert error_paths(response) == ["$"]


def test_a_second_network_on_a_changed_checklist_is_refused_not_crashed(
    imported_client: TestClient, sample_with: Callable[[Change], bytes]
) -> None:
    def another_network_with_one_more_question(document: Document) -> None:
        document["network"]["id"] = "mkmr_2021_exempel"
        document["checklist"]["areas"][0]["questions"].append({"id": "Q99", "text": "Ny fråga"})
        for assessment in document["self_assessments"]:
            assessment["question_order"].append("Q99")
            for values in assessment["scores"].values():
                values.append(None)

    response = post_import(imported_client, sample_with(another_network_with_one_more_question))

    assert response.status_code == 409, response.text
    assert (
        "checklist 'checklista_jamstalldhetsintegrering_v2019_ex' is already stored"
        in (response.json()["detail"])
    )
    assert stored_networks(imported_client) == 1
