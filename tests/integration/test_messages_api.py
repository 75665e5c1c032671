"""The e-mail API for organisers: build, read, send, hold and cancel messages, and edit the
Swedish message templates, hostile input included (nothing is stored when it is refused).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.database import models as m
from service.database.session import make_engine, make_session_factory, unit_of_work
from service.settings import Settings
from tests.conftest import RecordingQueue

pytestmark = pytest.mark.integration

SANDBOX_ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


def _ids(client: TestClient, ref: str, path: str) -> int:
    found = client.get(path, params={"ref": ref}).json()["items"]
    assert len(found) == 1, found
    return int(found[0]["id"])


def meeting_id(client: TestClient, ref: str = "bm2") -> int:
    networks = client.get("/api/v1/networks").json()["items"]
    return _ids(client, ref, f"/api/v1/networks/{networks[0]['id']}/meetings")


def organisation_id(client: TestClient, ref: str) -> int:
    networks = client.get("/api/v1/networks").json()["items"]
    return _ids(client, ref, f"/api/v1/networks/{networks[0]['id']}/organisations")


def _without_email(settings: Settings, name: str) -> None:
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            participant = session.scalars(
                select(m.Participant).where(m.Participant.name == name)
            ).one()
            participant.email = None
    finally:
        engine.dispose()


def _template_rows(settings: Settings) -> list[m.MessageTemplate]:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(m.MessageTemplate)))
    finally:
        engine.dispose()


def _link_revoked(settings: Settings, message_id: int) -> bool:
    """Whether the personal link in a message has been revoked."""
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            message = session.get_one(m.OutboxMessage, message_id)
            token = session.get_one(m.AccessToken, message.token_id)
            return token.revoked_at is not None
    finally:
        engine.dispose()


def _build(client: TestClient, meeting: int, **body: Any) -> Any:
    answer = client.post(f"/api/v1/meetings/{meeting}/messages", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_invitations_are_built_held_then_sent_held_and_cancelled_by_hand(
    imported_client: TestClient, sample_imported: Settings, recording_queue: RecordingQueue
) -> None:
    bm2 = meeting_id(imported_client)
    _without_email(sample_imported, "Jonas Berg")

    report = _build(imported_client, bm2, kinds=["invitation"], hold=True)

    # 26 participants with an address and SKR's copy; the one without is named in Swedish.
    assert len(report["added"]) == 27
    assert report["already_there"] == 0
    assert report["skipped"] == ["Jonas Berg (Askersunds kommun) har ingen e-postadress."]
    assert recording_queue.messages == []
    listed = imported_client.get(
        f"/api/v1/meetings/{bm2}/messages", params={"kind": "invitation", "state": "held"}
    ).json()
    assert listed["total"] == 27
    first = listed["items"][-1]
    assert first["state_words"] == "Väntar på dig"
    assert first["subject"].startswith("Inbjudan")

    message = imported_client.get(f"/api/v1/messages/{first['id']}").json()
    assert message["has_calendar"] is True
    assert "/lank/bdt_" in message["body_text"]
    assert 'href="http://127.0.0.1:8000/lank/bdt_' in message["body_html"]
    assert message["can_send"] and message["can_cancel"] and not message["can_hold"]

    sent = imported_client.post(f"/api/v1/messages/{first['id']}/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "queued"
    assert recording_queue.messages == [first["id"]]

    held = imported_client.post(f"/api/v1/messages/{first['id']}/hold").json()
    assert held["state"] == "held"
    assert not _link_revoked(sample_imported, first["id"])
    cancelled = imported_client.post(f"/api/v1/messages/{first['id']}/cancel").json()
    assert cancelled["state"] == "cancelled"
    # The link nobody was sent is closed; the others stay open.
    assert _link_revoked(sample_imported, first["id"])
    assert not _link_revoked(sample_imported, listed["items"][-2]["id"])
    for action in ("send", "hold", "cancel"):
        refused = imported_client.post(f"/api/v1/messages/{first['id']}/{action}")
        assert refused.status_code == 409
        assert refused.json()["detail"].startswith(f"Meddelande {first['id']} kan inte")
        assert refused.json()["detail"].endswith("det är stoppat.")
    assert recording_queue.messages == [first["id"]]

    again = _build(imported_client, bm2, kinds=["invitation", "invitation"], hold=True)
    assert again["added"] == [] and again["already_there"] == 27


def test_messages_built_without_hold_are_queued_after_the_commit(
    imported_client: TestClient, recording_queue: RecordingQueue
) -> None:
    bm2 = meeting_id(imported_client)

    report = _build(imported_client, bm2, kinds=["late_uploads", "invitation"], hold=False)

    assert sorted(recording_queue.messages) == sorted(report["added"])
    late = imported_client.get(
        f"/api/v1/meetings/{bm2}/messages", params={"kind": "late_uploads"}
    ).json()["items"]
    assert [m["recipient_email"] for m in late] == ["karin.dahl@skr.example"]
    assert late[0]["state"] == "queued"


def test_releasing_a_letter_builds_and_queues_letter_ready_once(
    imported_client: TestClient, recording_queue: RecordingQueue
) -> None:
    bm2 = meeting_id(imported_client)
    askersund = organisation_id(imported_client, "askersund")
    written = imported_client.put(
        f"/api/v1/meetings/{bm2}/letters/{askersund}", json={"noted": "En tydlig analys."}
    )
    assert written.status_code == 200, written.text

    released = imported_client.post(f"/api/v1/meetings/{bm2}/letters/{askersund}/release")
    assert released.status_code == 200, released.text
    imported_client.post(f"/api/v1/meetings/{bm2}/letters/{askersund}/release")

    ready = imported_client.get(
        f"/api/v1/meetings/{bm2}/messages", params={"kind": "letter_ready"}
    ).json()["items"]
    assert sorted(m["recipient_email"] for m in ready) == [
        "ahmed.karimi@askersund.example",
        "jonas.berg@askersund.example",
        "maria.sandberg@askersund.example",
        "sofia.lindqvist@askersund.example",
    ]
    assert sorted(recording_queue.messages) == sorted(m["id"] for m in ready)


def test_a_template_is_checked_saved_previewed_and_reset(
    imported_client: TestClient, sample_imported: Settings
) -> None:
    built_in = imported_client.get("/api/v1/message-templates/letter_ready").json()
    assert built_in["edited"] is False
    assert built_in["variables"]["recipient"]["name"] == "Anna Andersson"

    saved = imported_client.put(
        "/api/v1/message-templates/letter_ready",
        json={
            "subject": "Brevet är klart, {{ recipient.name }}",
            "body": "Hej {{ recipient.name }}!\n\nLäs brevet här:\n{{ link }}\n",
        },
    )

    assert saved.status_code == 200, saved.text
    assert saved.json()["edited"] is True
    assert saved.json()["preview"]["subject"] == "Brevet är klart, Anna Andersson"
    assert "https://benchdocs.example.se/lank/bdt_exempel" in saved.json()["preview"]["text"]
    bm2 = meeting_id(imported_client)
    askersund = organisation_id(imported_client, "askersund")
    imported_client.put(f"/api/v1/meetings/{bm2}/letters/{askersund}", json={"noted": "Bra."})
    imported_client.post(f"/api/v1/meetings/{bm2}/letters/{askersund}/release")
    ready = imported_client.get(
        f"/api/v1/meetings/{bm2}/messages", params={"kind": "letter_ready"}
    ).json()["items"]
    assert {m["subject"] for m in ready} == {
        f"Brevet är klart, {name}"
        for name in ("Jonas Berg", "Maria Sandberg", "Sofia Lindqvist", "Ahmed Karimi")
    }

    reset = imported_client.delete("/api/v1/message-templates/letter_ready")
    assert reset.status_code == 200
    assert reset.json()["edited"] is False
    assert reset.json()["subject"] == built_in["subject"]
    assert _template_rows(sample_imported) == []


@pytest.mark.parametrize(
    ("subject", "body", "path", "words"),
    [
        ("Hej", "x" * 20_001, "texten", "längre än 20000 tecken"),
        ("Hej", "Hej\x07 {{ recipient.name }}", "texten", "styrtecken (U+0007)"),
        ("Hej\x00", "Hej", "ämnesraden", "styrtecken (U+0000)"),
        ("Hej {{ recipient.name", "Hej", "ämnesraden", "unexpected end of template"),
        ("Hej", "{% if meeting %}ingen slut", "texten", "Unexpected end of template"),
        ("Hej", SANDBOX_ESCAPE, "texten", "attributes starting with '_' cannot be read"),
        ("Hej", "{{ recipient.nam }}", "texten", "did you mean 'name'?"),
        ("", "Hej", "ämnesraden", "ämnesraden är tom"),
        ("Rad ett\nrad två", "Hej", "ämnesraden", "bara vara en rad"),
    ],
)
def test_a_bad_template_is_refused_naming_its_place_and_nothing_is_stored(
    imported_client: TestClient,
    sample_imported: Settings,
    subject: str,
    body: str,
    path: str,
    words: str,
) -> None:
    for method, url in (
        ("PUT", "/api/v1/message-templates/invitation"),
        ("POST", "/api/v1/message-templates/invitation/preview"),
    ):
        answer = imported_client.request(method, url, json={"subject": subject, "body": body})

        assert answer.status_code == 422, answer.text
        errors = answer.json()["errors"]
        assert errors[0]["path"].startswith(path), errors
        assert any(words in error["message"] for error in errors), errors
    assert _template_rows(sample_imported) == []
    assert imported_client.get("/api/v1/message-templates/invitation").json()["edited"] is False


def test_hostile_requests_are_refused_with_their_field(imported_client: TestClient) -> None:
    bm2 = meeting_id(imported_client)
    past = 2**31
    refusals: list[tuple[str, str, Any, int, str | None]] = [
        ("POST", f"/api/v1/meetings/{bm2}/messages", {"kinds": ["spam"]}, 422, "$.kinds[0]"),
        ("POST", f"/api/v1/meetings/{bm2}/messages", {"kinds": []}, 422, "$.kinds"),
        ("POST", f"/api/v1/meetings/{bm2}/messages", {"kinds": "invitation"}, 422, "$.kinds"),
        (
            "POST",
            f"/api/v1/meetings/{bm2}/messages",
            {"kinds": ["invitation"], "to": "x@y.se"},
            422,
            "$.to",
        ),
        ("POST", f"/api/v1/meetings/{past}/messages", {"kinds": ["invitation"]}, 404, None),
        ("GET", f"/api/v1/meetings/{past}/messages", None, 404, None),
        ("GET", f"/api/v1/meetings/{bm2}/messages?kind=spam", None, 422, "$.query.kind"),
        ("GET", f"/api/v1/meetings/{bm2}/messages?state=gone", None, 422, "$.query.state"),
        ("GET", f"/api/v1/messages/{past}", None, 404, None),
        ("GET", "/api/v1/messages/-1", None, 404, None),
        ("POST", f"/api/v1/messages/{past}/send", None, 404, None),
        ("POST", f"/api/v1/messages/{past * 4}/cancel", None, 404, None),
        ("GET", "/api/v1/message-templates/spam", None, 422, "$.path.kind"),
        ("PUT", "/api/v1/message-templates/invitation", {"subject": "Hej"}, 422, "$.body"),
        (
            "PUT",
            "/api/v1/message-templates/invitation",
            {"subject": "Hej", "body": "x" * 200_001},
            422,
            "$.body",
        ),
    ]
    for method, url, body, status, path in refusals:
        answer = imported_client.request(method, url, json=body)

        assert answer.status_code == status, (method, url, answer.text)
        if path is not None:
            assert path in [e["path"] for e in answer.json()["errors"]], (url, answer.json())
    assert imported_client.get(f"/api/v1/meetings/{bm2}/messages").json()["total"] == 0


def test_the_messages_api_needs_the_organiser_key(imported_client: TestClient) -> None:
    for method, url in (
        ("GET", "/api/v1/message-templates/invitation"),
        ("POST", "/api/v1/meetings/1/messages"),
        ("GET", "/api/v1/messages/1"),
    ):
        answer = imported_client.request(method, url, headers={"X-API-Key": "wrong"})
        assert answer.status_code == 401
