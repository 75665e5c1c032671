"""A finished deck sent back for a meeting: stored with who and when, on time or late."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pptx import Presentation

from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.errors import NotFoundError
from service.file_safety.file_inspection import limits_from_settings
from service.uploads.deck_upload import upload_deck
from service.uploads.stored_uploads import Uploader
from tests.conftest import both_stores
from tests.integration.test_checklist_upload import (
    API,
    id_of,
    make_document,
    participant,
    runtime_of,
    stored,
)

pytestmark = pytest.mark.integration

STOCKHOLM = "Europe/Stockholm"


def post_deck(
    client: TestClient, organisation_id: int, meeting_id: int, data: bytes, name: str
) -> Any:
    return client.post(
        f"{API}/organisations/{organisation_id}/meetings/{meeting_id}/deck",
        files={"file": (name, data, "application/octet-stream")},
    )


def a_deck(client: TestClient, organisation: str = "askersund") -> bytes:
    return make_document(client, DocumentKind.DECK, meeting="bm2", organisation=organisation)


def edited(deck: bytes) -> bytes:
    """The deck after the delegation typed into it, as PowerPoint would save it."""
    presentation = Presentation(io.BytesIO(deck))
    presentation.slides[0].shapes.title.text = "Vår presentation – slutversion"
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def set_deadline(client: TestClient, meeting_id: int, day: dt.date) -> None:
    """The meeting a week after today, with its upload deadline on ``day``."""
    meeting_day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)
    response = client.patch(
        f"{API}/meetings/{meeting_id}",
        json={"date": meeting_day.isoformat(), "upload_deadline_override": day.isoformat()},
    )
    assert response.status_code == 200, response.text


@both_stores
def test_a_deck_is_kept_with_time_uploader_and_checksum_and_the_latest_counts(
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    first_deck = a_deck(imported_client)
    second_deck = edited(first_deck)
    delegation = participant(imported_client, "askersund", label="Sofia Lindqvist (strateg)")
    before = dt.datetime.now(dt.UTC)

    first = post_deck(delegation, askersund, bm2, first_deck, "Askersund BM2.pptx")
    second = post_deck(delegation, askersund, bm2, second_deck, "Askersund BM2 v2.pptx")

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    upload = second.json()["upload"]
    assert upload["kind"] == "deck" and upload["meeting_id"] == bm2
    assert upload["uploaded_by"] == "Sofia Lindqvist (strateg)"
    assert upload["sha256"] == hashlib.sha256(second_deck).hexdigest()
    assert upload["size_bytes"] == len(second_deck)
    assert dt.datetime.fromisoformat(upload["uploaded_at"]).replace(tzinfo=dt.UTC) >= before - (
        dt.timedelta(seconds=1)
    )
    assert delegation.get(upload["download_url"]).content == second_deck
    listed = delegation.get(f"{API}/organisations/{askersund}/uploads", params={"kind": "deck"})
    assert [u["file_name"] for u in listed.json()] == [
        "Askersund BM2 v2.pptx",
        "Askersund BM2.pptx",
    ]
    status = imported_client.get(f"{API}/meetings/{bm2}/submission-status").json()
    row = next(o for o in status["organisations"] if o["ref"] == "askersund")
    assert row["deck"]["upload_id"] == upload["id"]
    assert row["deck"]["versions"] == 2
    assert row["deck"]["sha256"] == upload["sha256"]


def test_on_time_and_late_follow_the_meetings_upload_deadline(
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    today = dt.datetime.now(dt.UTC).date()
    deck = a_deck(imported_client)

    set_deadline(imported_client, bm2, today + dt.timedelta(days=1))
    on_time = post_deck(imported_client, askersund, bm2, deck, "deck.pptx").json()
    status_on_time = imported_client.get(f"{API}/meetings/{bm2}/submission-status").json()
    set_deadline(imported_client, bm2, today - dt.timedelta(days=1))
    late = post_deck(imported_client, askersund, bm2, deck, "deck.pptx").json()
    status_late = imported_client.get(f"{API}/meetings/{bm2}/submission-status").json()

    assert (on_time["on_time"], on_time["upload_deadline"]) == (
        True,
        (today + dt.timedelta(days=1)).isoformat(),
    )
    assert late["on_time"] is False
    row = next(o for o in status_late["organisations"] if o["ref"] == "askersund")
    assert (row["deck"]["on_time"], row["deck"]["late"]) == (False, True)
    assert status_on_time["summary"]["decks_on_time"] == 1
    assert (status_late["summary"]["decks_on_time"], status_late["summary"]["decks_late"]) == (0, 1)


@pytest.mark.parametrize(
    ("uploaded_at", "on_time"),
    [
        # bm2 is on 26 September 2019: the deadline is the 19th, Swedish summer time (UTC+2).
        pytest.param(dt.datetime(2019, 9, 19, 21, 59, 59, tzinfo=dt.UTC), True, id="23:59 local"),
        pytest.param(dt.datetime(2019, 9, 19, 22, 0, 0, tzinfo=dt.UTC), False, id="00:00 local"),
        pytest.param(dt.datetime(2019, 9, 10, 8, 0, 0, tzinfo=dt.UTC), True, id="days before"),
    ],
)
def test_the_deadline_is_a_date_in_swedish_time_inclusive(
    imported_client: TestClient, uploaded_at: dt.datetime, on_time: bool
) -> None:
    runtime = runtime_of(imported_client)
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    deck = a_deck(imported_client)

    with unit_of_work(runtime.sessions) as session:
        result = upload_deck(
            session,
            runtime.files,
            organisation_id=askersund,
            meeting_id=bm2,
            data=deck,
            file_name="deck.pptx",
            uploader=Uploader(label="organiser"),
            limits=limits_from_settings(runtime.settings),
            now=uploaded_at,
            timezone=STOCKHOLM,
        )
    status = imported_client.get(f"{API}/meetings/{bm2}/submission-status").json()

    assert result.deadline == dt.date(2019, 9, 19)
    assert result.on_time is on_time
    row = next(o for o in status["organisations"] if o["ref"] == "askersund")
    assert row["deck"]["on_time"] is on_time
    assert dt.datetime.fromisoformat(row["deck"]["at"]) == uploaded_at


def test_a_meeting_outside_the_organisations_network_is_not_found(
    imported_client: TestClient,
) -> None:
    network = imported_client.post(f"{API}/networks", json={"name": "Ett annat nätverk"}).json()
    other_meeting = imported_client.post(
        f"{API}/networks/{network['id']}/meetings",
        json={"number": 1, "title": "Benchmarking 1", "date": "2019-10-01"},
    ).json()
    askersund = id_of(imported_client, m.Organisation, "askersund")
    before = stored(imported_client, "askersund")

    response = post_deck(imported_client, askersund, other_meeting["id"], b"x", "deck.pptx")
    unknown = post_deck(imported_client, askersund, 999_999, b"x", "deck.pptx")

    assert response.status_code == 404
    assert unknown.status_code == 404
    assert stored(imported_client, "askersund") == before


def test_a_token_of_one_organisation_cannot_send_another_organisations_deck(
    imported_client: TestClient,
) -> None:
    fagersta = id_of(imported_client, m.Organisation, "fagersta")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    before = stored(imported_client, "fagersta")

    response = post_deck(
        participant(imported_client, "askersund"), fagersta, bm2, a_deck(imported_client), "d.pptx"
    )

    assert response.status_code == 404
    assert stored(imported_client, "fagersta") == before


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("checklista.xlsx", id="a workbook"),
        pytest.param("presentation.pptx", id="a workbook named .pptx"),
    ],
)
def test_only_a_presentation_is_accepted_as_a_deck(imported_client: TestClient, name: str) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    workbook = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    before = stored(imported_client, "askersund")

    response = post_deck(imported_client, askersund, bm2, workbook, name)

    assert response.status_code == 415, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["file"]
    assert stored(imported_client, "askersund") == before


def test_the_use_case_refuses_an_unknown_organisation(imported_client: TestClient) -> None:
    runtime = runtime_of(imported_client)
    bm2 = id_of(imported_client, m.Meeting, "bm2")

    with (
        pytest.raises(NotFoundError, match="organisation 999999 not found"),
        unit_of_work(runtime.sessions) as session,
    ):
        upload_deck(
            session,
            runtime.files,
            organisation_id=999_999,
            meeting_id=bm2,
            data=b"",
            file_name=None,
            uploader=Uploader(label="organiser"),
            limits=limits_from_settings(runtime.settings),
            now=dt.datetime.now(dt.UTC),
            timezone=STOCKHOLM,
        )


def test_a_participant_is_told_in_swedish_why_a_deck_was_not_taken(
    imported_client: TestClient,
) -> None:
    """Every refusal of the deck route, as a delegation's token meets it: Swedish by default."""
    askersund = id_of(imported_client, m.Organisation, "askersund")
    fagersta = id_of(imported_client, m.Organisation, "fagersta")
    bm2 = id_of(imported_client, m.Meeting, "bm2")
    workbook = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    delegation = participant(imported_client, "askersund")
    url = f"{API}/organisations/{askersund}/meetings/{bm2}/deck"
    before = stored(imported_client, "askersund")

    empty = post_deck(delegation, askersund, bm2, b"", "presentation.pptx")
    a_workbook = post_deck(delegation, askersund, bm2, workbook, "presentation.pptx")
    no_file = delegation.post(url, files={"other": ("x.pptx", b"x", "application/octet-stream")})
    not_a_form = delegation.post(url, json={"file": "presentation.pptx"})
    other_organisation = post_deck(delegation, fagersta, bm2, a_deck(imported_client), "d.pptx")
    unknown_meeting = post_deck(delegation, askersund, 999_999, b"x", "d.pptx")
    in_english = post_deck(
        TestClient(delegation.app, headers={**delegation.headers, "Accept-Language": "en"}),
        askersund,
        bm2,
        b"",
        "presentation.pptx",
    )

    def said(response: Any) -> tuple[int, str, list[str]]:
        body = response.json()
        return response.status_code, body["detail"], [e["message"] for e in body.get("errors", [])]

    assert said(empty) == (
        422,
        "Filen togs inte emot (den är tom)",
        ["Filen är tom (0 byte). Kontrollera att den sparades och ladda upp den igen"],
    )
    assert said(a_workbook) == (
        415,
        "Filen togs inte emot (fel filtyp)",
        [
            "Det här är en Excel-arbetsbok (.xlsx), inte en PowerPoint-presentation (.pptx), fast "
            "filnamnet slutar på .pptx. Välj rätt fil och ladda upp den igen"
        ],
    )
    assert said(no_file) == (
        422,
        "Begäran har felaktiga fält",
        ["Ingen fil kom med: välj filen och skicka den i fältet ”file”"],
    )
    assert said(not_a_form)[:2] == (415, "Filen togs inte emot (fel filtyp)")
    assert said(not_a_form)[2] == [
        "Skicka filen som ett formulär (multipart/form-data) med filen i fältet ”file”"
    ]
    assert said(other_organisation) == (
        404,
        f"Organisationen {fagersta} finns inte, eller så hör den inte till er åtkomstnyckel",
        [],
    )
    assert said(unknown_meeting) == (
        404,
        "Möte 999999 finns inte i nätverket för Askersunds kommun",
        [],
    )
    assert said(in_english) == (
        422,
        "the file was refused (empty)",
        ["the file is empty (0 bytes): check that it was saved, then upload it again"],
    )
    assert stored(imported_client, "askersund") == before
