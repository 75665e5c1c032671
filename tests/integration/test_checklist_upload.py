"""A filled checklist sent back becomes scores, all or nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from pptx import Presentation
from sqlalchemy import func, select

from service.access.tokens import issue_token
from service.api.app import create_app
from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.runtime import Runtime, build_runtime
from service.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_API_KEY, RecordingQueue, both_stores, stored_keys

pytestmark = pytest.mark.integration

API = "/api/v1"
SHEET = "BM 2"
Json = dict[str, Any]


# -- helpers shared with the deck and status tests -------------------------------------------


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def id_of(client: TestClient, model: Any, ref: str) -> int:
    with runtime_of(client).sessions() as session:
        return int(session.scalars(select(model.id).where(model.ref == ref)).one())


def participant(
    client: TestClient, organisation_ref: str, *, label: str | None = None
) -> TestClient:
    """A client that calls as a participant with a live token of the organisation."""
    runtime = runtime_of(client)
    with unit_of_work(runtime.sessions) as session:
        issued = issue_token(
            session,
            organisation_id=id_of(client, m.Organisation, organisation_ref),
            valid_for=dt.timedelta(days=30),
            label=label or f"delegationen i {organisation_ref}",
            now=dt.datetime.now(dt.UTC),
        )
    # No organiser key here: it would win over the token.
    return TestClient(client.app, headers={"Authorization": f"Bearer {issued.token}"})


def make_document(
    client: TestClient, kind: DocumentKind, *, meeting: str, organisation: str | None
) -> bytes:
    """A document as benchdocs makes it, from the test database."""
    runtime = runtime_of(client)
    maker = DocumentMaker(runtime.sessions, TemplateLibrary(PROJECT_ROOT / "doc_templates"))
    return maker.make(
        kind,
        meeting_id=id_of(client, m.Meeting, meeting),
        organisation_id=id_of(client, m.Organisation, organisation) if organisation else None,
    ).data


def statement_rows(ws: Any) -> dict[str, int]:
    """Each question ref's row, found by the statement's number in the Nr column (column A).

    The Nr column shows 1, 2, ... in checklist order (files made before that showed the refs).
    """
    sample = json.loads((PROJECT_ROOT / "service" / "data" / "sample-programme.json").read_text())
    refs = [q["id"] for a in sample["checklist"]["areas"] for q in a["questions"]]
    rows = {}
    for row in range(1, ws.max_row + 1):
        value = ws.cell(row, 1).value
        if isinstance(value, int) and 1 <= value <= len(refs):
            rows[refs[value - 1]] = row
    return rows


def fill(
    workbook: bytes,
    *,
    scores: dict[str, int | str | None] | None = None,
    comments: dict[str, str] | None = None,
    sheet: str = SHEET,
) -> bytes:
    """The workbook with cells typed in, as a participant's script would with openpyxl."""
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    ws = book[sheet]
    rows = statement_rows(ws)
    for ref, value in (scores or {}).items():
        ws.cell(rows[ref], 4).value = value
    for ref, text in (comments or {}).items():
        cell = ws.cell(rows[ref], 5)
        cell.value = text
        cell.data_type = "s"  # openpyxl would take "=..." for a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def post_checklist(
    client: TestClient,
    organisation_id: int,
    data: bytes,
    *,
    name: str = "checklista.xlsx",
    language: str | None = None,
    **form: str,
) -> Any:
    return client.post(
        f"{API}/organisations/{organisation_id}/checklist-uploads",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers={"Accept-Language": language} if language else None,
    )


def stored_files(client: TestClient) -> set[str]:
    """The keys in the test's file store (its directory or its bucket's prefix)."""
    return set(stored_keys(runtime_of(client).settings))


@dataclass(frozen=True)
class Stored:
    """Everything an upload could change."""

    scores: Json
    uploads: int
    snapshots: int
    files: set[str]


def stored(client: TestClient, organisation: str) -> Stored:
    round_id = id_of(client, m.AssessmentRound, "sa_bm2")
    org_id = id_of(client, m.Organisation, organisation)
    scores = client.get(f"{API}/assessment-rounds/{round_id}/scores/{org_id}")
    assert scores.status_code == 200, scores.text
    with runtime_of(client).sessions() as session:
        uploads = session.scalar(select(func.count()).select_from(m.Upload))
        snapshots = session.scalar(select(func.count()).select_from(m.ScoreSnapshot))
    return Stored(scores.json(), int(uploads or 0), int(snapshots or 0), stored_files(client))


def slide_shape(deck: bytes, name: str) -> Any:
    for slide in Presentation(io.BytesIO(deck)).slides:
        for shape in slide.shapes:
            if shape.name == name:
                return shape
    raise AssertionError(f"no shape {name!r} in the deck")


def table_rows(shape: Any) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in shape.table.rows]


def continued_table_rows(deck: bytes, name: str) -> list[list[str]]:
    """The rows of a table and of its continuations on copies of its slide ("… (forts.)")."""
    return [
        row
        for slide in Presentation(io.BytesIO(deck)).slides
        for shape in slide.shapes
        if shape.name == name
        for row in table_rows(shape)
    ]


def error_paths(response: Any) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


# -- the acceptance test of the issue ----------------------------------------------------------


@both_stores
def test_a_generated_checklist_filled_by_script_and_uploaded_gives_the_typed_scores_and_the_next_deck_shows_the_movement(  # noqa: E501
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.AssessmentRound, "sa_bm2")
    before = imported_client.get(f"{API}/assessment-rounds/{bm2}/scores/{askersund}").json()
    deck_before = make_document(
        imported_client, DocumentKind.DECK, meeting="bm2", organisation="askersund"
    )
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    typed = {"Q02": 2, "Q05": 3, "Q12": 2, "Q24": 1, "Q13": None}
    comments = {
        "Q02": "Politikerna frågar nu – åäö ÅÄÖ och emoji 🎉👩🏽‍💼",
        "Q05": "=SUMMA(A1:A3) är ingen formel, bara text",
    }
    filled = fill(generated, scores=dict(typed), comments=comments)
    delegation = participant(imported_client, "askersund", label="Sofia Lindqvist (strateg)")

    response = post_checklist(delegation, askersund, filled, name="Askersund BM2 ifylld.xlsx")

    assert response.status_code == 201, response.text
    body = response.json()
    expected_scores = {**before["scores"], **typed}
    expected_comments = {**before["comments"], **comments}
    read = imported_client.get(f"{API}/assessment-rounds/{bm2}/scores/{askersund}").json()
    assert read["scores"] == expected_scores
    assert read["comments"] == expected_comments
    assert body["scores"] == expected_scores and body["comments"] == expected_comments
    assert (body["round"]["ref"], body["sheet"]) == ("sa_bm2", SHEET)
    assert (body["scores_read"], body["assessed"], body["not_assessed"]) == (24, 23, 1)
    assert body["summary"]["total"] == 42 and body["summary"]["max_total"] == 72
    assert body["ready"] is False
    movement = body["movement"]
    assert movement["previous_round"]["ref"] == "sa_bm1"
    assert (movement["previous_total"], movement["current_total"]) == (37, 42)
    assert movement["total_delta"] == 5
    changed = {q["ref"]: (q["previous"], q["current"], q["delta"]) for q in movement["changed"]}
    assert changed["Q05"] == (1, 3, 2)
    assert changed["Q24"] == (2, 1, -1)
    assert changed["Q13"] == (1, None, None)
    assert body["upload"]["uploaded_by"] == "Sofia Lindqvist (strateg)"
    assert body["upload"]["file_name"] == "Askersund BM2 ifylld.xlsx"
    assert body["previous_snapshot_id"] is not None

    deck_after = make_document(
        imported_client, DocumentKind.DECK, meeting="bm2", organisation="askersund"
    )
    summary_before = slide_shape(deck_before, "Sammanfattning").text_frame.text
    summary_after = slide_shape(deck_after, "Sammanfattning").text_frame.text
    assert "Summa: 37 (BM 1) → 40 (BM 2) av 72 möjliga, förändring +3" in summary_before
    assert "Summa: 37 (BM 1) → 42 (BM 2) av 72 möjliga, förändring +5" in summary_after
    # Statements by their number in the checklist, as participants read them.
    rows = {r[0]: r for r in continued_table_rows(deck_after, "Förändrade svar")}
    assert rows["5"][2:5] == ["1", "3", "+2"]
    assert rows["5"][5] == comments["Q05"]
    assert rows["2"][2:5] == ["1", "2", "+1"]
    assert rows["24"][2:5] == ["2", "1", "\u22121"]
    assert rows["14"][2:5] == ["2", "3", "+1"]  # unchanged since BM 1 → BM 2, still shown
    areas = {r[0]: r[1:] for r in table_rows(slide_shape(deck_after, "Områden"))}
    assert areas["Politisk styrning"] == ["1,67", "2,00", "+0,33"]


def test_the_replaced_scores_are_kept_as_a_snapshot_in_the_history(
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm2 = id_of(imported_client, m.AssessmentRound, "sa_bm2")
    original = imported_client.get(f"{API}/assessment-rounds/{bm2}/scores/{askersund}").json()
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    history_path = f"{API}/assessment-rounds/{bm2}/scores/{askersund}/history"
    delegation = participant(imported_client, "askersund")

    first = post_checklist(delegation, askersund, fill(generated, scores={"Q01": 2})).json()
    second = post_checklist(delegation, askersund, fill(generated, scores={"Q01": 1})).json()
    history = delegation.get(history_path)

    assert history.status_code == 200, history.text
    newest, oldest = history.json()
    assert newest["id"] == second["previous_snapshot_id"]
    assert oldest["id"] == first["previous_snapshot_id"]
    assert newest["replaced_by_upload_id"] == second["upload"]["id"]
    assert {s["question_ref"]: s["value"] for s in oldest["scores"]} == original["scores"]
    assert {s["question_ref"]: s["value"] for s in newest["scores"]}["Q01"] == 2
    assert {s["question_ref"]: s["comment"] for s in oldest["scores"] if s["comment"]} == original[
        "comments"
    ]
    listed = delegation.get(f"{API}/organisations/{askersund}/uploads").json()
    assert [u["id"] for u in listed] == [second["upload"]["id"], first["upload"]["id"]]
    other = participant(imported_client, "fagersta")
    assert other.get(history_path).status_code == 404


@both_stores
def test_the_stored_file_is_downloaded_as_it_was_sent(imported_client: TestClient) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    sent = fill(generated, scores={"Q03": 2})
    delegation = participant(imported_client, "askersund")
    upload = post_checklist(delegation, askersund, sent, name='../../"evil"\r\nname.xlsx').json()[
        "upload"
    ]

    downloaded = delegation.get(upload["download_url"])
    by_organiser = imported_client.get(upload["download_url"])
    by_other = participant(imported_client, "fagersta").get(upload["download_url"])

    assert downloaded.status_code == 200
    assert downloaded.content == sent == by_organiser.content
    assert upload["size_bytes"] == len(sent)
    assert "/" not in upload["file_name"] and '"' not in upload["file_name"]
    assert "\r" not in downloaded.headers["content-disposition"]
    assert downloaded.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert by_other.status_code == 404


def test_a_round_can_be_named_by_ref_or_id(imported_client: TestClient) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    bm1 = id_of(imported_client, m.AssessmentRound, "sa_bm1")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )

    by_ref = post_checklist(imported_client, askersund, generated, round="sa_bm2")
    by_id = post_checklist(
        imported_client, askersund, fill(generated, sheet="BM 1", scores={}), round=str(bm1)
    )
    unknown = post_checklist(imported_client, askersund, generated, round="sa_bm9")

    assert by_ref.status_code == 201, by_ref.text
    assert by_ref.json()["round"]["ref"] == "sa_bm2"
    assert by_id.status_code == 201, by_id.text
    assert (by_id.json()["round"]["id"], by_id.json()["sheet"]) == (bm1, "BM 1")
    assert by_id.json()["movement"] is None  # BM 1 has no earlier round
    assert unknown.status_code == 422
    assert error_paths(unknown) == ["round"]


# -- refusals store nothing ---------------------------------------------------------------------


def wrong_organisation(client: TestClient, generated: bytes) -> bytes:
    return make_document(client, DocumentKind.CHECKLIST, meeting="bm2", organisation="fagersta")


def out_of_scale(_client: TestClient, generated: bytes) -> bytes:
    return fill(generated, scores={"Q02": 2, "Q04": 4})


def text_score(_client: TestClient, generated: bytes) -> bytes:
    return fill(generated, scores={"Q04": "tre"})


def moved_rows(_client: TestClient, generated: bytes) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(generated))
    ws = book[SHEET]
    rows = statement_rows(ws)
    first, second = rows["Q03"], rows["Q04"]
    for column in range(1, 9):
        a, b = ws.cell(first, column), ws.cell(second, column)
        a.value, b.value = b.value, a.value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_macros(_client: TestClient, generated: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(generated))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Default Extension="bin" '
                    b'ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                ).replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
            target.writestr(item, data)
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 508)
    return out.getvalue()


def empty(_client: TestClient, generated: bytes) -> bytes:
    return b""


REFUSALS: list[Any] = [
    pytest.param(wrong_organisation, "checklista.xlsx", 422, id="another organisation's"),
    pytest.param(out_of_scale, "checklista.xlsx", 422, id="score outside the scale"),
    pytest.param(text_score, "checklista.xlsx", 422, id="text as score"),
    pytest.param(moved_rows, "checklista.xlsx", 422, id="rows moved"),
    pytest.param(with_macros, "checklista.xlsm", 415, id="macros"),
    pytest.param(empty, "checklista.xlsx", 422, id="empty"),
]


@pytest.mark.parametrize(("make_file", "name", "status"), REFUSALS)
def test_a_refused_checklist_stores_nothing(
    imported_client: TestClient,
    make_file: Callable[[TestClient, bytes], bytes],
    name: str,
    status: int,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    bad = make_file(imported_client, generated)
    before = stored(imported_client, "askersund")

    response = post_checklist(participant(imported_client, "askersund"), askersund, bad, name=name)

    assert response.status_code == status, response.text
    assert response.json()["errors"], response.text
    assert stored(imported_client, "askersund") == before


def test_cell_problems_name_the_sheet_and_cell(imported_client: TestClient) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )

    response = post_checklist(
        imported_client, askersund, fill(generated, scores={"Q04": 4, "Q06": "tre"})
    )

    assert response.status_code == 422
    assert error_paths(response) == [f"{SHEET}!D12", f"{SHEET}!D14"]


@both_stores
def test_a_file_over_the_size_limit_is_refused_with_the_limit_and_stores_nothing(
    migrated: Settings, sample_programme_bytes: bytes
) -> None:
    small = migrated.model_copy(update={"max_upload_bytes": 2_000})
    with TestClient(
        create_app(build_runtime(small, queue=RecordingQueue())),
        headers={"X-API-Key": TEST_API_KEY},
    ) as client:
        imported = client.post(
            f"{API}/programmes/import",
            content=sample_programme_bytes,
            headers={"Content-Type": "application/json"},
        )
        assert imported.status_code == 201, imported.text
        askersund = id_of(client, m.Organisation, "askersund")
        before = stored(client, "askersund")

        declared = post_checklist(client, askersund, b"PK" + b"x" * 5_000)
        streamed = client.post(
            f"{API}/organisations/{askersund}/checklist-uploads",
            content=_chunks(b"x" * 200_000),
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )

        assert declared.status_code == 413, declared.text
        assert "more than the upload limit of 2 kB" in declared.json()["errors"][0]["message"]
        assert streamed.status_code == 413, streamed.text
        assert stored(client, "askersund") == before


def _chunks(data: bytes) -> Any:
    """A body without Content-Length, so only the capped read can stop it."""
    for start in range(0, len(data), 8_192):
        yield data[start : start + 8_192]


# -- who may upload -----------------------------------------------------------------------------


def test_a_token_of_one_organisation_cannot_reach_another(imported_client: TestClient) -> None:
    fagersta = id_of(imported_client, m.Organisation, "fagersta")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="fagersta"
    )
    before = stored(imported_client, "fagersta")
    askersund_delegation = participant(imported_client, "askersund")

    upload = post_checklist(askersund_delegation, fagersta, generated)
    listing = askersund_delegation.get(f"{API}/organisations/{fagersta}/uploads")
    anonymous = TestClient(imported_client.app).post(
        f"{API}/organisations/{fagersta}/checklist-uploads",
        files={"file": ("c.xlsx", generated, "application/octet-stream")},
    )

    in_english = post_checklist(askersund_delegation, fagersta, generated, language="en")

    assert upload.status_code == in_english.status_code == 404
    assert upload.json()["detail"] == (
        f"Organisationen {fagersta} finns inte, eller så hör den inte till er åtkomstnyckel"
    )
    assert in_english.json()["detail"] == f"organisation {fagersta} not found"
    assert listing.status_code == 404
    assert anonymous.status_code == 401
    assert stored(imported_client, "fagersta") == before


def test_an_upload_marks_the_organisations_documents_stale(imported_client: TestClient) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    runtime = runtime_of(imported_client)
    with unit_of_work(runtime.sessions) as session:
        bm2 = session.get(m.Meeting, id_of(imported_client, m.Meeting, "bm2"))
        assert bm2 is not None
        batch = m.Batch(meeting_id=bm2.id, requested_kinds=["deck"])
        session.add(batch)
        session.flush()
        session.add(
            m.GeneratedDocument(
                batch_id=batch.id,
                meeting_id=bm2.id,
                organisation_id=askersund,
                kind=DocumentKind.DECK,
                format="pptx",
                status=DocumentStatus.DONE,
            )
        )
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )

    response = post_checklist(imported_client, askersund, generated)

    assert response.json()["documents_marked_stale"] == 1
    with runtime.sessions() as session:
        (stale_since,) = session.scalars(select(m.GeneratedDocument.stale_since)).all()
    assert stale_since is not None


def test_missing_file_field_is_named(imported_client: TestClient) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")

    response = imported_client.post(
        f"{API}/organisations/{askersund}/checklist-uploads", files={"round": (None, "sa_bm2")}
    )
    not_multipart = imported_client.post(
        f"{API}/organisations/{askersund}/checklist-uploads", content=b"{}"
    )

    assert response.status_code == 422
    assert error_paths(response) == ["file"]
    assert not_multipart.status_code == 415


# -- participants are answered in Swedish ------------------------------------------------------


def delete_row(workbook: bytes, question_ref: str, *, sheet: str = SHEET) -> bytes:
    """The workbook with one question's row deleted, as a participant might in Excel."""
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    ws = book[sheet]
    ws.delete_rows(statement_rows(ws)[question_ref])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_participant_reads_the_refusal_in_swedish_and_in_english_when_asked(
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    out_of_scale = fill(generated, scores={"Q04": 4})
    delegation = participant(imported_client, "askersund")
    before = stored(imported_client, "askersund")

    swedish = post_checklist(delegation, askersund, out_of_scale)
    english = post_checklist(delegation, askersund, out_of_scale, language="en")
    organiser = post_checklist(imported_client, askersund, out_of_scale)

    assert swedish.status_code == english.status_code == 422
    assert swedish.json()["detail"] == "Filen togs inte emot (innehållet har fel)"
    (error,) = swedish.json()["errors"]
    assert error["path"] == "BM 2!D12"
    assert error["code"] == "checklist.score_outside_scale"
    assert f"{error['place']}: {error['message']}" == (
        "Fliken BM 2, cell D12: 4 ligger utanför skalan 1–3: skriv ett heltal 1–3, eller lämna "
        "cellen tom"
    )
    assert english.json()["detail"] == "the file was refused (content)"
    assert english.json()["errors"][0]["message"] == (
        "4 is outside the scale 1–3: write a whole number 1–3, or leave the cell empty"
    )
    assert organiser.json()["errors"] == english.json()["errors"]  # the organiser: English
    assert stored(imported_client, "askersund") == before


def test_a_deleted_row_is_one_swedish_message_naming_the_row_and_statement(
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    generated = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )

    response = post_checklist(
        participant(imported_client, "askersund"), askersund, delete_row(generated, "Q07")
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]  # not one for each of the 18 rows below it
    assert error["path"] == "BM 2!A15"
    assert error["message"].startswith("Rad 15 (påstående 7) saknas: raden har tagits bort")


def test_another_organisations_file_names_both_organisations(
    imported_client: TestClient,
) -> None:
    askersund = id_of(imported_client, m.Organisation, "askersund")
    fagerstas_checklist = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="fagersta"
    )

    response = post_checklist(
        participant(imported_client, "askersund"), askersund, fagerstas_checklist
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["path"] == "workbook"
    assert error["message"] == (
        "Filen gäller Fagersta kommun, men den laddades upp för Askersunds kommun. Ladda upp "
        "er egen organisations checklista"
    )
    assert "fagersta" not in response.text and "H3" not in response.text
