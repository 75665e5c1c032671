"""Creating, reading, changing and listing the programme's entities through the API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

API = "/api/v1"
Json = dict[str, Any]

HOSTILE_TEXTS = [
    'Åbo & Söner <AB> "x"',
    "{{ 7*7 }}",
    "{% if %}",
    "👩‍💼 Karin Ek",
    "Räksmörgås åäö ÅÄÖ",
]


# -- builders ------------------------------------------------------------------------------------


def created(response: Response) -> Json:
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def ok(response: Response) -> Json:
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def error_paths(response: Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["path"] for error in response.json()["errors"]]


def a_checklist(client: TestClient, **fields: Any) -> Json:
    return created(
        client.post(
            f"{API}/checklists",
            json={
                "title": "Checklista för jämställdhetsintegrering",
                "scale_min": 1,
                "scale_max": 3,
                "scale_labels": {"1": "Inte påbörjat", "3": "Det finns/vi gör"},
                "tabs": ["BM 1", "BM 2"],
                "areas": [
                    {
                        "ref": "A1",
                        "name": "Politisk styrning",
                        "questions": [
                            {"ref": "Q01", "text": "Vi har tagit politiskt beslut."},
                            {"ref": "Q02", "text": "Ledningen efterfrågar resultat."},
                        ],
                    },
                    {
                        "ref": "A2",
                        "name": "Ledning och organisation",
                        "questions": [{"ref": "Q03", "text": "Cheferna kommunicerar beslutet."}],
                    },
                ],
                **fields,
            },
        )
    )


def a_network(client: TestClient, **fields: Any) -> Json:
    return created(client.post(f"{API}/networks", json={"name": "Modellkommuner 2025", **fields}))


def a_group(client: TestClient, network: Json, **fields: Any) -> Json:
    path = f"{API}/networks/{network['id']}/groups"
    return created(client.post(path, json={"name": "Grupp Bergslagen", **fields}))


def an_organisation(client: TestClient, network: Json, **fields: Any) -> Json:
    path = f"{API}/networks/{network['id']}/organisations"
    return created(client.post(path, json={"name": "Hedemora kommun", **fields}))


def a_participant(client: TestClient, organisation: Json, **fields: Any) -> Json:
    path = f"{API}/organisations/{organisation['id']}/participants"
    return created(client.post(path, json={"name": "Karin Ek", "role": "politiker", **fields}))


def a_meeting(client: TestClient, network: Json, **fields: Any) -> Json:
    body = {"number": 1, "title": "Benchmarking 1", "date": "2025-05-20", **fields}
    return created(client.post(f"{API}/networks/{network['id']}/meetings", json=body))


@dataclass
class Programme:
    """A small network with one of each entity, for tests that reach across networks."""

    network: Json
    group: Json
    organisation: Json
    participant: Json
    meeting: Json


def a_programme(client: TestClient, name: str, checklist: Json | None = None) -> Programme:
    network = a_network(client, name=name, checklist_id=checklist["id"] if checklist else None)
    group = a_group(client, network)
    organisation = an_organisation(client, network, group_id=group["id"])
    return Programme(
        network=network,
        group=group,
        organisation=organisation,
        participant=a_participant(client, organisation),
        meeting=a_meeting(client, network),
    )


@pytest.fixture
def two_programmes(api_client: TestClient) -> tuple[Programme, Programme]:
    checklist = a_checklist(api_client)
    return (
        a_programme(api_client, "Nätverk Syd", checklist),
        a_programme(api_client, "Nätverk Norr", checklist),
    )


def sample_entity(client: TestClient, path: str, ref: str) -> Json:
    """An entity of the imported sample, found by its ref."""
    entities: list[Json] = ok(client.get(f"{API}{path}", params={"ref": ref}))["items"]
    assert len(entities) == 1, entities
    return entities[0]


def sample_network(client: TestClient) -> Json:
    return sample_entity(client, "/networks", "mkmr_2019_exempel")


def sample_organisation(client: TestClient, ref: str) -> Json:
    return sample_entity(client, f"/networks/{sample_network(client)['id']}/organisations", ref)


# -- access and paging ---------------------------------------------------------------------------


def test_every_endpoint_needs_the_organiser_key(api_client: TestClient) -> None:
    anonymous = TestClient(api_client.app)
    paths = ok(anonymous.get("/openapi.json"))["paths"]
    endpoints = [
        (method.upper(), re.sub(r"\{\w+\}", "1", path))
        for path, operations in paths.items()
        if path.startswith(API)
        for method in operations
    ]

    answers = {
        endpoint: anonymous.request(*endpoint, json={}).status_code for endpoint in endpoints
    }

    assert len(endpoints) > 40
    assert set(answers.values()) == {401}, answers


def test_lists_are_paged_with_a_total(api_client: TestClient) -> None:
    for name in ("Syd", "Norr", "Öst"):
        a_network(api_client, name=name)

    first = ok(api_client.get(f"{API}/networks", params={"limit": 2}))
    rest = ok(api_client.get(f"{API}/networks", params={"limit": 2, "offset": 2}))

    assert [n["name"] for n in first["items"]] == ["Syd", "Norr"]
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert [n["name"] for n in rest["items"]] == ["Öst"]


def test_a_page_larger_than_the_maximum_is_refused(api_client: TestClient) -> None:
    response = api_client.get(f"{API}/networks", params={"limit": 201})

    assert error_paths(response) == ["$.query.limit"]


def test_unknown_ids_are_not_found_naming_the_entity(imported_client: TestClient) -> None:
    askersund = sample_organisation(imported_client, "askersund")
    requests = {
        ("GET", "/networks/999"): "network 999",
        ("PATCH", "/groups/999"): "group 999",
        ("GET", "/organisations/999/participants"): "organisation 999",
        ("GET", "/participants/999"): "participant 999",
        ("PATCH", "/meetings/999"): "meeting 999",
        ("GET", "/checklists/999"): "checklist 999",
        ("GET", f"/assessment-rounds/999/scores/{askersund['id']}"): "assessment round 999",
        ("PUT", "/assessment-rounds/1/scores/999"): "organisation 999",
        ("GET", "/initiatives/999"): "improvement initiative 999",
        ("GET", f"/organisations/{askersund['id']}/meetings/999/plan"): "meeting 999",
        ("POST", "/meetings/999/feedback"): "meeting 999",
        ("GET", "/organiser-checklist-items/999"): "organiser checklist item 999",
        ("GET", "/networks/99999999999999999999"): "network 99999999999999999999",
    }

    answers = {
        request: imported_client.request(request[0], f"{API}{request[1]}", json={})
        for request in requests
    }

    for request, words in requests.items():
        assert answers[request].status_code == 404, (request, answers[request].text)
        assert words in answers[request].json()["detail"], request


# -- networks and groups -------------------------------------------------------------------------


def test_a_network_round_trip(api_client: TestClient) -> None:
    checklist = a_checklist(api_client)
    network = a_network(
        api_client,
        ref="mkmr_2025",
        organiser="SKR",
        period_start="2025-02-06",
        period_end="2026-02-05",
        checklist_id=checklist["id"],
    )

    read = ok(api_client.get(f"{API}/networks/{network['id']}"))
    changed = ok(
        api_client.patch(f"{API}/networks/{network['id']}", json={"concept": "Tre träffar"})
    )
    listed = ok(api_client.get(f"{API}/networks", params={"ref": "mkmr_2025"}))

    assert read == network
    assert read["period_end"] == "2026-02-05"
    assert changed == {**network, "concept": "Tre träffar"}
    assert listed["items"] == [changed]


def test_a_ref_is_made_from_the_name_when_none_is_given(api_client: TestClient) -> None:
    first = a_network(api_client, name="Region Värmland")
    second = a_network(api_client, name="Region Värmland")
    emoji_only = a_network(api_client, name="👩‍💼")

    assert first["ref"] == "region-varmland"
    assert second["ref"] == "region-varmland-2"
    assert emoji_only["ref"] == "network"


def test_a_taken_ref_is_a_conflict(api_client: TestClient) -> None:
    a_network(api_client, ref="mkmr_2025")
    other = a_network(api_client, name="Annat nätverk")

    on_create = api_client.post(f"{API}/networks", json={"name": "Kopia", "ref": "mkmr_2025"})
    on_update = api_client.patch(f"{API}/networks/{other['id']}", json={"ref": "mkmr_2025"})

    assert on_create.status_code == 409
    assert on_update.status_code == 409
    assert "'mkmr_2025'" in on_update.json()["detail"]
    assert ok(api_client.get(f"{API}/networks/{other['id']}"))["ref"] == "annat-natverk"


def test_a_period_ending_before_it_starts_is_refused(api_client: TestClient) -> None:
    network = a_network(api_client, period_start="2025-02-06")

    response = api_client.patch(
        f"{API}/networks/{network['id']}", json={"period_end": "2025-01-31"}
    )

    assert error_paths(response) == ["$.period_end"]
    assert ok(api_client.get(f"{API}/networks/{network['id']}"))["period_end"] is None


def test_a_group_round_trip(api_client: TestClient) -> None:
    network = a_network(api_client)
    mentor = an_organisation(api_client, network, name="Norrtälje kommun")
    group = a_group(api_client, network, ref="G1", mentor_organisation_id=mentor["id"])

    read = ok(api_client.get(f"{API}/groups/{group['id']}"))
    changed = ok(api_client.patch(f"{API}/groups/{group['id']}", json={"note": "Processtöd"}))
    listed = ok(api_client.get(f"{API}/networks/{network['id']}/groups"))

    assert read == group
    assert read["mentor_organisation_id"] == mentor["id"]
    assert changed["note"] == "Processtöd"
    assert listed["items"] == [changed]


def test_a_group_ref_is_unique_within_its_network_only(api_client: TestClient) -> None:
    syd, norr = a_network(api_client, name="Syd"), a_network(api_client, name="Norr")
    a_group(api_client, syd, ref="G1")

    elsewhere = api_client.post(
        f"{API}/networks/{norr['id']}/groups", json={"name": "G", "ref": "G1"}
    )
    again = api_client.post(f"{API}/networks/{syd['id']}/groups", json={"name": "G", "ref": "G1"})

    assert elsewhere.status_code == 201
    assert again.status_code == 409
    assert again.json()["detail"] == f"group ref 'G1' is already taken in network {syd['id']}"


def test_a_mentor_from_another_network_is_refused(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes

    response = api_client.patch(
        f"{API}/groups/{syd.group['id']}", json={"mentor_organisation_id": norr.organisation["id"]}
    )

    assert error_paths(response) == ["$.mentor_organisation_id"]
    assert ok(api_client.get(f"{API}/groups/{syd.group['id']}")) == syd.group


# -- organisations and participants --------------------------------------------------------------


def test_an_organisation_round_trip(api_client: TestClient) -> None:
    network = a_network(api_client)
    group = a_group(api_client, network)
    organisation = an_organisation(
        api_client,
        network,
        name="Region Värmland",
        type="region",
        programme_role="benchmarkingorganisation",
        group_id=group["id"],
        political_decision_exists=True,
        political_decision_year=2018,
    )
    contact = a_participant(api_client, organisation)
    an_organisation(api_client, network, name="Kalmar kommun")

    read = ok(api_client.get(f"{API}/organisations/{organisation['id']}"))
    changed = ok(
        api_client.patch(
            f"{API}/organisations/{organisation['id']}",
            json={"contact_participant_id": contact["id"], "county": "Värmlands län"},
        )
    )
    in_group = ok(
        api_client.get(
            f"{API}/networks/{network['id']}/organisations", params={"group_id": group["id"]}
        )
    )

    assert read == organisation
    assert organisation["ref"] == "region-varmland"
    assert changed == {
        **organisation,
        "contact_participant_id": contact["id"],
        "county": "Värmlands län",
    }
    assert in_group["items"] == [changed]


def test_a_group_from_another_network_is_refused_and_nothing_changes(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes
    path = f"{API}/organisations/{syd.organisation['id']}"

    response = api_client.patch(path, json={"name": "Nytt namn", "group_id": norr.group["id"]})

    assert error_paths(response) == ["$.group_id"]
    assert f"group {norr.group['id']} belongs to network" in response.json()["errors"][0]["message"]
    assert ok(api_client.get(path)) == syd.organisation


def test_an_unknown_group_is_refused_naming_the_field(api_client: TestClient) -> None:
    network = a_network(api_client)

    response = api_client.post(
        f"{API}/networks/{network['id']}/organisations", json={"name": "Kalmar", "group_id": 999}
    )

    assert error_paths(response) == ["$.group_id"]
    assert response.json()["errors"][0]["message"] == "unknown group 999"
    assert ok(api_client.get(f"{API}/networks/{network['id']}/organisations"))["total"] == 0


def test_a_contact_from_another_organisation_is_refused(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, _ = two_programmes
    neighbour = an_organisation(api_client, syd.network, name="Fagersta kommun")
    stranger = a_participant(api_client, neighbour, name="Per Gustafsson")

    response = api_client.patch(
        f"{API}/organisations/{syd.organisation['id']}",
        json={"contact_participant_id": stranger["id"]},
    )

    assert error_paths(response) == ["$.contact_participant_id"]


def test_a_participant_round_trip(api_client: TestClient) -> None:
    network = a_network(api_client)
    hedemora = an_organisation(api_client, network)
    fagersta = an_organisation(api_client, network, name="Fagersta kommun")
    participant = a_participant(
        api_client, hedemora, role="chef", title="kommundirektör", email="karin.ek@hedemora.example"
    )
    a_participant(api_client, hedemora, name="Per Gustafsson", role="politiker")

    read = ok(api_client.get(f"{API}/participants/{participant['id']}"))
    moved = ok(
        api_client.patch(
            f"{API}/participants/{participant['id']}",
            json={"organisation_id": fagersta["id"], "phone": "0225-340 00"},
        )
    )
    chefs = ok(api_client.get(f"{API}/organisations/{fagersta['id']}/participants?role=chef"))

    assert read == participant
    assert participant["ref"] == "karin-ek"
    assert moved == {**participant, "organisation_id": fagersta["id"], "phone": "0225-340 00"}
    assert chefs["items"] == [moved]


def test_a_contact_who_moves_stops_being_the_old_organisations_contact(
    api_client: TestClient,
) -> None:
    network = a_network(api_client)
    hedemora = an_organisation(api_client, network)
    fagersta = an_organisation(api_client, network, name="Fagersta kommun")
    contact = a_participant(api_client, hedemora, ref="p03")
    a_participant(api_client, fagersta, ref="p03", name="Lena Berg")
    api_client.patch(
        f"{API}/organisations/{hedemora['id']}", json={"contact_participant_id": contact["id"]}
    )

    clash = api_client.patch(
        f"{API}/participants/{contact['id']}", json={"organisation_id": fagersta["id"]}
    )
    moved = ok(
        api_client.patch(
            f"{API}/participants/{contact['id']}",
            json={"organisation_id": fagersta["id"], "ref": "p10"},
        )
    )

    assert clash.status_code == 409
    assert (
        clash.json()["detail"]
        == f"participant ref 'p03' is already taken in organisation {fagersta['id']}"
    )
    assert moved["organisation_id"] == fagersta["id"]
    assert (
        ok(api_client.get(f"{API}/organisations/{hedemora['id']}"))["contact_participant_id"]
        is None
    )


def test_a_participant_cannot_move_to_another_network(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes
    path = f"{API}/participants/{syd.participant['id']}"

    response = api_client.patch(path, json={"organisation_id": norr.organisation["id"]})

    assert error_paths(response) == ["$.organisation_id"]
    assert ok(api_client.get(path)) == syd.participant


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param({"name": "Karin", "role": "kung"}, "$.role", id="unknown role"),
        pytest.param({"name": "Karin", "role": "chef", "email": "karin"}, "$.email", id="email"),
        pytest.param({"role": "chef"}, "$.name", id="no name"),
        pytest.param({"name": "   ", "role": "chef"}, "$.name", id="blank name"),
        pytest.param({"name": "K", "role": "chef", "shoe_size": 41}, "$.shoe_size", id="unknown"),
    ],
)
def test_a_participant_breaking_a_field_rule_is_refused(
    api_client: TestClient, body: Json, path: str
) -> None:
    organisation = an_organisation(api_client, a_network(api_client))

    response = api_client.post(f"{API}/organisations/{organisation['id']}/participants", json=body)

    assert error_paths(response) == [path]


def test_a_required_field_cannot_be_set_to_null(api_client: TestClient) -> None:
    organisation = an_organisation(api_client, a_network(api_client))

    response = api_client.patch(f"{API}/organisations/{organisation['id']}", json={"name": None})

    assert error_paths(response) == ["$.name"]
    assert ok(api_client.get(f"{API}/organisations/{organisation['id']}")) == organisation


# -- text as people type it ----------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_text_is_stored_and_returned_exactly_as_typed(api_client: TestClient, text: str) -> None:
    network = a_network(api_client, name=text, concept=f"{text}\n{text}")
    organisation = an_organisation(api_client, network, name=text)
    participant = a_participant(api_client, organisation, name=text, title=text)
    meeting = a_meeting(api_client, network, title=text, agenda_items=[{"item": text}])

    read_network = ok(api_client.get(f"{API}/networks/{network['id']}"))
    read_organisation = ok(api_client.get(f"{API}/organisations/{organisation['id']}"))
    read_participant = ok(api_client.get(f"{API}/participants/{participant['id']}"))
    read_meeting = ok(api_client.get(f"{API}/meetings/{meeting['id']}"))

    assert (read_network["name"], read_network["concept"]) == (text, f"{text}\n{text}")
    assert read_organisation["name"] == text
    assert (read_participant["name"], read_participant["title"]) == (text, text)
    assert read_meeting["title"] == text
    assert read_meeting["agenda_items"][0]["item"] == text


@pytest.mark.parametrize("control", ["\x00", "\x1b"], ids=["NUL", "ESC"])
def test_control_characters_are_refused_naming_the_field(
    api_client: TestClient, control: str
) -> None:
    network = a_network(api_client)
    meetings = f"{API}/networks/{network['id']}/meetings"

    bad_name = api_client.post(
        f"{API}/networks/{network['id']}/organisations", json={"name": f"Hedemora{control}"}
    )
    bad_agenda = api_client.post(
        meetings,
        json={
            "number": 1,
            "title": "BM 1",
            "date": "2025-05-20",
            "agenda_items": [{"item": "Välkommen"}, {"item": f"Fika{control}"}],
        },
    )
    bad_patch = api_client.patch(f"{API}/networks/{network['id']}", json={"concept": control})

    assert error_paths(bad_name) == ["$.name"]
    assert "control character" in bad_name.json()["errors"][0]["message"]
    assert error_paths(bad_agenda) == ["$.agenda_items[1].item"]
    assert error_paths(bad_patch) == ["$.concept"]
    assert ok(api_client.get(meetings))["total"] == 0
    assert ok(api_client.get(f"{API}/networks/{network['id']}")) == network


def test_oversized_text_is_refused_naming_the_field(api_client: TestClient) -> None:
    network = a_network(api_client)

    long_name = api_client.post(f"{API}/networks", json={"name": "x" * 301})
    long_concept = api_client.patch(
        f"{API}/networks/{network['id']}", json={"concept": "x" * 10_001}
    )
    long_ref = api_client.post(f"{API}/networks", json={"name": "Syd", "ref": "x" * 101})

    assert error_paths(long_name) == ["$.name"]
    assert error_paths(long_concept) == ["$.concept"]
    assert error_paths(long_ref) == ["$.ref"]
    assert ok(api_client.get(f"{API}/networks"))["total"] == 1


# -- meetings ------------------------------------------------------------------------------------


def test_a_meeting_round_trip_with_agenda_and_deadlines(api_client: TestClient) -> None:
    network = a_network(api_client)
    host = an_organisation(api_client, network)
    meeting = a_meeting(
        api_client,
        network,
        ref="bm1",
        date="2025-05-20",
        start_time="09:30",
        end_time="16:00",
        host_organisation_id=host["id"],
        goals=["Jämföra styrningen"],
        agenda_items=[
            {"start_time": "09:30", "item": "Välkommen", "responsible": "Värden"},
            {"start_time": "10:00", "item": "Presentationer"},
        ],
    )

    read = ok(api_client.get(f"{API}/meetings/{meeting['id']}"))
    changed = ok(
        api_client.patch(
            f"{API}/meetings/{meeting['id']}",
            json={"upload_deadline_override": "2025-05-16", "agenda_items": [{"item": "Lunch"}]},
        )
    )
    listed = ok(api_client.get(f"{API}/networks/{network['id']}/meetings"))

    assert read == meeting
    assert (read["upload_deadline"], read["invitation_send_by"]) == ("2025-05-13", "2025-05-06")
    assert [item["item"] for item in read["agenda_items"]] == ["Välkommen", "Presentationer"]
    assert changed["upload_deadline"] == "2025-05-16"
    assert [(i["position"], i["item"]) for i in changed["agenda_items"]] == [(0, "Lunch")]
    assert listed["items"] == [changed]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param({"end_time": "09:00"}, "$.end_time", id="ends before it starts"),
        pytest.param(
            {"upload_deadline_override": "2025-05-21"},
            "$.upload_deadline_override",
            id="deadline after the meeting",
        ),
        pytest.param({"date": "2025-05-32"}, "$.date", id="no such date"),
        pytest.param({"number": 101}, "$.number", id="number too high"),
    ],
)
def test_a_meeting_change_breaking_a_rule_leaves_the_meeting_as_it_was(
    api_client: TestClient, change: Json, path: str
) -> None:
    meeting = a_meeting(api_client, a_network(api_client), start_time="09:30")

    response = api_client.patch(f"{API}/meetings/{meeting['id']}", json=change)

    assert error_paths(response) == [path]
    assert ok(api_client.get(f"{API}/meetings/{meeting['id']}")) == meeting


def test_a_host_from_another_network_is_refused(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes

    response = api_client.post(
        f"{API}/networks/{syd.network['id']}/meetings",
        json={
            "number": 2,
            "title": "BM 2",
            "date": "2025-09-26",
            "host_organisation_id": norr.organisation["id"],
        },
    )

    assert error_paths(response) == ["$.host_organisation_id"]


def test_feedback_round_trip(imported_client: TestClient) -> None:
    network = sample_network(imported_client)
    bm3 = sample_entity(imported_client, f"/networks/{network['id']}/meetings", "bm3")
    author = sample_organisation(imported_client, "kalmar")
    feedback_path = f"{API}/meetings/{bm3['id']}/feedback"

    feedback = created(
        imported_client.post(
            feedback_path,
            json={
                "author_organisation_id": author["id"],
                "plus": ["Bra diskussioner"],
                "ideas_per_organisation": {"askersund": ["Ta efter Hedemoras analysmall"]},
            },
        )
    )
    read = ok(imported_client.get(f"{API}/feedback/{feedback['id']}"))
    changed = ok(
        imported_client.patch(f"{API}/feedback/{feedback['id']}", json={"minus": ["För kort"]})
    )
    listed = ok(imported_client.get(feedback_path))

    assert read == feedback
    assert feedback["interesting"] == []
    assert changed == {**feedback, "minus": ["För kort"]}
    assert listed["items"] == [changed]


def test_feedback_ideas_for_an_unknown_organisation_are_refused(
    imported_client: TestClient,
) -> None:
    network = sample_network(imported_client)
    bm3 = sample_entity(imported_client, f"/networks/{network['id']}/meetings", "bm3")

    response = imported_client.post(
        f"{API}/meetings/{bm3['id']}/feedback",
        json={"ideas_per_organisation": {"kalmar": ["Kolada"], "lund": ["Något"]}},
    )

    assert error_paths(response) == ["$.ideas_per_organisation.lund"]
    assert ok(imported_client.get(f"{API}/meetings/{bm3['id']}/feedback"))["total"] == 0


def test_an_organiser_checklist_round_trip(api_client: TestClient) -> None:
    meeting = a_meeting(api_client, a_network(api_client))
    checklist_path = f"{API}/meetings/{meeting['id']}/organiser-checklist"

    booked = created(
        api_client.post(checklist_path, json={"phase": "before", "text": "Boka lokal"})
    )
    notes = created(api_client.post(checklist_path, json={"phase": "during", "text": "Anteckna"}))
    ticked = ok(
        api_client.patch(f"{API}/organiser-checklist-items/{booked['id']}", json={"done": True})
    )
    before = ok(api_client.get(checklist_path, params={"phase": "before"}))
    read = ok(api_client.get(f"{API}/organiser-checklist-items/{notes['id']}"))

    assert (booked["position"], notes["position"]) == (0, 1)
    assert ticked == {**booked, "done": True}
    assert before["items"] == [ticked]
    assert read == notes


def test_an_organiser_checklist_item_needs_a_known_phase(api_client: TestClient) -> None:
    meeting = a_meeting(api_client, a_network(api_client))

    response = api_client.post(
        f"{API}/meetings/{meeting['id']}/organiser-checklist",
        json={"phase": "afterwards", "text": "Skicka återkoppling"},
    )

    assert error_paths(response) == ["$.phase"]


# -- checklists, assessment rounds and scores ----------------------------------------------------


def test_a_checklist_round_trip_with_areas_and_questions(api_client: TestClient) -> None:
    checklist = a_checklist(api_client, ref="jami_2025")

    read = ok(api_client.get(f"{API}/checklists/{checklist['id']}"))
    changed = ok(api_client.patch(f"{API}/checklists/{checklist['id']}", json={"version": "2025"}))
    listed = ok(api_client.get(f"{API}/checklists", params={"ref": "jami_2025"}))

    assert read == checklist
    assert [area["ref"] for area in read["areas"]] == ["A1", "A2"]
    assert [q["ref"] for q in read["areas"][0]["questions"]] == ["Q01", "Q02"]
    assert read["scale_labels"] == {"1": "Inte påbörjat", "3": "Det finns/vi gör"}
    assert changed == {**checklist, "version": "2025"}
    assert listed["items"] == [changed]


@pytest.mark.parametrize(
    ("fields", "paths"),
    [
        pytest.param({"scale_min": 3, "scale_max": 3}, ["$.scale_max"], id="empty scale"),
        pytest.param({"scale_labels": {"4": "Mer än allt"}}, ["$.scale_labels.4"], id="label"),
        pytest.param(
            {
                "areas": [
                    {"ref": "A1", "name": "Styrning", "questions": [{"ref": "Q01", "text": "a"}]},
                    {"ref": "A2", "name": "Ledning", "questions": [{"ref": "Q01", "text": "b"}]},
                ]
            },
            ["$.areas[1].questions[0].ref"],
            id="a question ref twice",
        ),
        pytest.param({"areas": []}, ["$.areas"], id="no areas"),
    ],
)
def test_a_checklist_breaking_a_rule_is_refused(
    api_client: TestClient, fields: Json, paths: list[str]
) -> None:
    response = api_client.post(
        f"{API}/checklists",
        json={
            "title": "Checklista",
            "scale_min": 1,
            "scale_max": 3,
            "areas": [
                {"ref": "A1", "name": "Styrning", "questions": [{"ref": "Q01", "text": "a"}]}
            ],
            **fields,
        },
    )

    assert error_paths(response) == paths
    assert ok(api_client.get(f"{API}/checklists"))["total"] == 0


def test_an_assessment_round_with_scores_round_trip(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, _ = two_programmes
    rounds_path = f"{API}/networks/{syd.network['id']}/assessment-rounds"
    assessment_round = created(
        api_client.post(rounds_path, json={"label": "BM 1", "meeting_id": syd.meeting["id"]})
    )
    scores_path = (
        f"{API}/assessment-rounds/{assessment_round['id']}/scores/{syd.organisation['id']}"
    )

    first = ok(
        api_client.put(
            scores_path,
            json={"scores": {"Q03": 2, "Q01": 3, "Q02": None}, "comments": {"Q02": "Osäkert"}},
        )
    )
    replaced = ok(api_client.put(scores_path, json={"scores": {"Q02": 1}}))
    read = ok(api_client.get(scores_path))
    renamed = ok(
        api_client.patch(
            f"{API}/assessment-rounds/{assessment_round['id']}", json={"label": "BM 1 (ny)"}
        )
    )
    listed = ok(api_client.get(rounds_path, params={"meeting_id": syd.meeting["id"]}))

    assert assessment_round["ref"] == "bm-1"
    assert assessment_round["checklist_id"] == syd.network["checklist_id"]
    assert first["scores"] == {"Q01": 3, "Q02": None, "Q03": 2}
    assert first["comments"] == {"Q02": "Osäkert"}
    assert (
        read
        == replaced
        == {
            "round_id": assessment_round["id"],
            "organisation_id": syd.organisation["id"],
            "scores": {"Q02": 1},
            "comments": {},
        }
    )
    assert listed["items"] == [renamed]


def test_a_round_needs_a_checklist(api_client: TestClient) -> None:
    network = a_network(api_client)

    response = api_client.post(
        f"{API}/networks/{network['id']}/assessment-rounds", json={"label": "BM 1"}
    )

    assert error_paths(response) == ["$.checklist_id"]


@pytest.mark.parametrize(
    ("scores", "paths"),
    [
        pytest.param({"Q01": 3, "Q05": 7}, ["$.scores.Q05"], id="above the scale"),
        pytest.param({"Q05": 0}, ["$.scores.Q05"], id="below the scale"),
        pytest.param({"Q01": 2, "Q99": 2}, ["$.scores.Q99"], id="unknown question"),
        pytest.param({"Q05": "3"}, ["$.scores.Q05"], id="text instead of a number"),
        pytest.param({"Q05": 2.5}, ["$.scores.Q05"], id="a fraction"),
    ],
)
def test_a_bad_score_leaves_the_previous_scores_untouched(
    imported_client: TestClient, scores: Json, paths: list[str]
) -> None:
    network = sample_network(imported_client)
    bm1 = sample_entity(imported_client, f"/networks/{network['id']}/assessment-rounds", "sa_bm1")
    askersund = sample_organisation(imported_client, "askersund")
    scores_path = f"{API}/assessment-rounds/{bm1['id']}/scores/{askersund['id']}"
    before = ok(imported_client.get(scores_path))

    response = imported_client.put(scores_path, json={"scores": scores})

    assert error_paths(response) == paths
    assert ok(imported_client.get(scores_path)) == before
    assert len(before["scores"]) == 24


def test_scores_of_an_organisation_outside_the_round_network_are_not_found(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes
    assessment_round = created(
        api_client.post(
            f"{API}/networks/{syd.network['id']}/assessment-rounds", json={"label": "BM 1"}
        )
    )

    response = api_client.put(
        f"{API}/assessment-rounds/{assessment_round['id']}/scores/{norr.organisation['id']}",
        json={"scores": {"Q01": 1}},
    )

    assert response.status_code == 404
    assert f"organisation {norr.organisation['id']}" in response.json()["detail"]


# -- improvement work ----------------------------------------------------------------------------


def test_an_initiative_round_trip_with_its_indicator(imported_client: TestClient) -> None:
    askersund = sample_organisation(imported_client, "askersund")
    (owner, *_) = ok(imported_client.get(f"{API}/organisations/{askersund['id']}/participants"))[
        "items"
    ]
    initiatives_path = f"{API}/organisations/{askersund['id']}/initiatives"

    initiative = created(
        imported_client.post(
            initiatives_path,
            json={
                "title": "Könsuppdelad statistik i bokslutet",
                "question_refs": ["Q14", "Q19"],
                "pdsa_phase": "Planera",
                "owner_participant_id": owner["id"],
                "indicator": {
                    "name": "Andel könsuppdelade nyckeltal",
                    "unit": "%",
                    "measurements": [
                        {"date": "2025-03-31", "is_baseline": True, "value_total": 38},
                        {"date": "2025-08-31", "value_women": 90.5, "value_men": 88},
                    ],
                },
            },
        )
    )
    read = ok(imported_client.get(f"{API}/initiatives/{initiative['id']}"))
    changed = ok(
        imported_client.patch(
            f"{API}/initiatives/{initiative['id']}",
            json={"pdsa_phase": "Göra", "indicator": None},
        )
    )
    planning = ok(imported_client.get(initiatives_path, params={"pdsa_phase": "Göra"}))

    assert read == initiative
    assert initiative["ref"] == "konsuppdelad-statistik-i-bokslutet"
    assert [m["value_women"] for m in read["indicator"]["measurements"]] == [None, 90.5]
    assert changed == {**initiative, "pdsa_phase": "Göra", "indicator": None}
    assert planning["items"] == [changed]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        pytest.param({"question_refs": ["Q01", "Q77"]}, "$.question_refs[1]", id="question"),
        pytest.param({"pdsa_phase": "Planering"}, "$.pdsa_phase", id="PDSA phase"),
        pytest.param(
            {"indicator": {"name": "Andel", "measurements": [{"date": "2025-03-31"}]}},
            "$.indicator.measurements[0]",
            id="a measurement without a value",
        ),
        pytest.param({"area_id": 999}, "$.area_id", id="unknown area"),
    ],
)
def test_an_initiative_breaking_a_rule_is_refused(
    imported_client: TestClient, fields: Json, path: str
) -> None:
    askersund = sample_organisation(imported_client, "askersund")
    initiatives_path = f"{API}/organisations/{askersund['id']}/initiatives"
    before = ok(imported_client.get(initiatives_path))

    response = imported_client.post(initiatives_path, json={"title": "Nytt arbete", **fields})

    assert error_paths(response) == [path]
    assert ok(imported_client.get(initiatives_path)) == before


def test_an_initiative_owner_from_another_network_is_refused(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes

    response = api_client.post(
        f"{API}/organisations/{syd.organisation['id']}/initiatives",
        json={"title": "Arbete", "owner_participant_id": norr.participant["id"]},
    )

    assert error_paths(response) == ["$.owner_participant_id"]


def test_an_analysis_is_put_and_replaced_per_organisation_and_meeting(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, _ = two_programmes
    path = f"{API}/organisations/{syd.organisation['id']}/meetings/{syd.meeting['id']}/analysis"
    missing = api_client.get(path)

    first = ok(api_client.put(path, json={"strengths": "Tydligt mandat", "obstacles": "Tid"}))
    replaced = ok(api_client.put(path, json={"actions": "Utbilda cheferna"}))
    read = ok(api_client.get(path))

    assert missing.status_code == 404
    assert read == replaced
    assert replaced["id"] == first["id"]
    assert (replaced["strengths"], replaced["actions"]) == (None, "Utbilda cheferna")


def test_an_analysis_for_a_meeting_of_another_network_is_not_found(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes
    path = f"{API}/organisations/{syd.organisation['id']}/meetings/{norr.meeting['id']}/analysis"

    response = api_client.put(path, json={"strengths": "Mandat"})

    assert response.status_code == 404
    assert f"meeting {norr.meeting['id']}" in response.json()["detail"]


def test_a_plan_is_put_with_its_activities_in_order(imported_client: TestClient) -> None:
    askersund = sample_organisation(imported_client, "askersund")
    network = sample_network(imported_client)
    bm3 = sample_entity(imported_client, f"/networks/{network['id']}/meetings", "bm3")
    (owner, *_) = ok(imported_client.get(f"{API}/organisations/{askersund['id']}/participants"))[
        "items"
    ]
    path = f"{API}/organisations/{askersund['id']}/meetings/{bm3['id']}/plan"

    plan = ok(
        imported_client.put(
            path,
            json={
                "activities": [
                    {"activity": "Analysmall", "owner_participant_id": owner["id"]},
                    {"activity": "Utvärdera", "deadline": "2025-12-20", "status": "pågående"},
                ]
            },
        )
    )
    read = ok(imported_client.get(path))

    assert read == plan
    assert [(a["position"], a["activity"]) for a in plan["activities"]] == [
        (0, "Analysmall"),
        (1, "Utvärdera"),
    ]
    assert plan["activities"][0]["owner_participant_id"] == owner["id"]


def test_a_plan_with_an_owner_from_another_network_keeps_the_old_plan(
    api_client: TestClient, two_programmes: tuple[Programme, Programme]
) -> None:
    syd, norr = two_programmes
    path = f"{API}/organisations/{syd.organisation['id']}/meetings/{syd.meeting['id']}/plan"
    plan = ok(api_client.put(path, json={"activities": [{"activity": "Analysmall"}]}))

    response = api_client.put(
        path,
        json={
            "activities": [
                {"activity": "Ny mall"},
                {"activity": "Utbildning", "owner_participant_id": norr.participant["id"]},
            ]
        },
    )

    assert error_paths(response) == ["$.activities[1].owner_participant_id"]
    assert ok(api_client.get(path)) == plan


@pytest.mark.parametrize(
    ("field", "limit"), [("type", 50), ("county", 100)], ids=["type", "county"]
)
def test_a_value_longer_than_its_column_is_refused_naming_the_field(
    api_client: TestClient, field: str, limit: int
) -> None:
    """The form's limit is the column's: PostgreSQL would refuse the row with a 500 otherwise."""
    network = a_network(api_client)
    path = f"{API}/networks/{network['id']}/organisations"

    too_long = api_client.post(path, json={"name": "Kalmar", field: "å" * (limit + 1)})
    fits = api_client.post(path, json={"name": "Kalmar", field: "å" * limit})

    assert error_paths(too_long) == [f"$.{field}"]
    assert created(fits)[field] == "å" * limit
