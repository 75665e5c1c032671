"""Issue 10 items 3, 4, 11 and 5 on the sample programme: the generated files, opened and read.

- No organiser placeholder in any participant's agenda or letter when the meeting has its
  facts; the pre-flight check lists them when it has not, and a batch refuses to start.
- A letter is invisible to its organisation (token; docx and pdf) until it is released.
- The host's letter comes from its group's mentor and thanks it for hosting.
- Attendance, when recorded, is what the summary to SKR and the agenda list.
- The pupils' indicator reads flickor/pojkar.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.api.app import create_app
from service.batches.control import create_batch
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import ColdLibreOfficeConverter
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY, RecordingQueue
from tests.integration.use_cases import render_here

pytestmark = pytest.mark.integration

API = "/api/v1"
ORGANISER = {"X-API-Key": TEST_API_KEY}
PLACEHOLDER = "[Fyll i"


@dataclass
class World:
    runtime: Runtime
    client: TestClient
    meeting_id: int
    orgs: dict[str, int]

    def render(
        self,
        kinds: list[DocumentKind],
        organisations: list[str] | None = None,
        *,
        pdf: PdfConverter | None = None,
    ) -> dict[tuple[DocumentKind, int | None, str], bytes]:
        """Render documents in this process; the files by (kind, organisation, format)."""
        with unit_of_work(self.runtime.sessions) as session:
            batch = create_batch(
                session,
                meeting_id=self.meeting_id,
                kinds=kinds,
                organisation_ids=[self.orgs[r] for r in organisations] if organisations else None,
                with_pdf=pdf is not None,
            )
            ids = [d.id for d in batch.documents]
        render_here(self.runtime, ids, pdf=pdf)
        files = {}
        with self.runtime.sessions() as session:
            for doc_id in ids:
                doc = session.get_one(m.GeneratedDocument, doc_id)
                assert doc.status == DocumentStatus.DONE, doc.error
                assert doc.file_key is not None
                key = (doc.kind, doc.organisation_id, doc.format)
                files[key] = self.runtime.files.get(doc.file_key)
        return files

    def ids_of(self, kind: DocumentKind, org: str) -> dict[str, int]:
        """The latest document id per format of one organisation's slot."""
        with self.runtime.sessions() as session:
            rows = session.scalars(
                select(m.GeneratedDocument)
                .where(
                    m.GeneratedDocument.kind == kind,
                    m.GeneratedDocument.organisation_id == self.orgs[org],
                    m.GeneratedDocument.status == DocumentStatus.DONE,
                )
                .order_by(m.GeneratedDocument.id)
            ).all()
            return {doc.format: doc.id for doc in rows}

    def token(self, org: str) -> dict[str, str]:
        response = self.client.post(
            f"{API}/organisations/{self.orgs[org]}/tokens", headers=ORGANISER
        )
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def world(sample_imported: Settings) -> Iterator[World]:
    runtime = build_runtime(sample_imported, queue=RecordingQueue())
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        orgs = {o.ref: o.id for o in session.scalars(select(m.Organisation))}
    with TestClient(create_app(runtime)) as client:
        yield World(runtime=runtime, client=client, meeting_id=meeting_id, orgs=orgs)
    runtime.close()


def texts(data: bytes) -> list[str]:
    """Every paragraph and table cell of a docx, headers and footers included."""
    document = docx.Document(io.BytesIO(data))
    found = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            found.extend(cell.text for cell in row.cells)
    for section in document.sections:
        found.extend(p.text for p in section.header.paragraphs)
    return found


def table_rows(data: bytes, first_header: str) -> list[list[str]]:
    document = docx.Document(io.BytesIO(data))
    for table in document.tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows and rows[0][0] == first_header:
            return rows
    raise AssertionError(f"no table headed {first_header!r}")


def release(world: World, org: str, **review: Any) -> Any:
    put = world.client.put(
        f"{API}/meetings/{world.meeting_id}/letters/{world.orgs[org]}",
        json=review,
        headers=ORGANISER,
    )
    assert put.status_code == 200, put.text
    return world.client.post(
        f"{API}/meetings/{world.meeting_id}/letters/{world.orgs[org]}/release", headers=ORGANISER
    )


# -- item 3: meeting facts instead of organiser placeholders ----------------------------------


def test_no_participants_agenda_prints_an_organiser_placeholder_when_the_meeting_has_its_facts(
    world: World,
) -> None:
    files = world.render([DocumentKind.AGENDA, DocumentKind.ORGANISATION_AGENDA])

    assert len(files) == 9
    for (kind, org, _), data in files.items():
        found = [t for t in texts(data) if PLACEHOLDER in t]
        assert not found, f"{kind.value} of {org}: {found}"
    agenda = texts(files[(DocumentKind.AGENDA, None, "docx")])
    assert "https://möte.example/bm2-sodertalje" in agenda  # the Digitalt row
    assert any(t.startswith("Plats: ") and "Campusgatan 26" in t for t in agenda)
    assert any(t.startswith("Hitta hit: Pendeltåg") for t in agenda)
    assert "Processledare: Karin Dahl, karin.dahl@skr.example" in agenda
    assert "SKR: Anna Wester, anna.wester@skr.example" in agenda
    assert any("https://film.example/roster-om-manlighet" in t for t in agenda)
    assert not any("G1" in t or "G2" in t for t in agenda)
    assert any("Grupp Bergslagen, Grupp Stockholm–Kalmar" in t for t in agenda)
    preflight = world.client.get(f"{API}/meetings/{world.meeting_id}/preflight", headers=ORGANISER)
    assert preflight.json() == {"meeting_id": world.meeting_id, "ready": True, "gaps": []}


def test_the_preflight_lists_missing_facts_and_a_batch_refuses_until_the_organiser_allows(
    world: World,
) -> None:
    with unit_of_work(world.runtime.sessions) as session:
        session.execute(
            update(m.Meeting)
            .where(m.Meeting.id == world.meeting_id)
            .values(digital_link=None, process_leader_name=None, process_leader_email=None)
        )

    preflight = world.client.get(f"{API}/meetings/{world.meeting_id}/preflight", headers=ORGANISER)
    refused = world.client.post(
        f"{API}/meetings/{world.meeting_id}/batches",
        json={"kinds": ["organisation_agenda"], "organisation_ids": [world.orgs["askersund"]]},
        headers=ORGANISER,
    )
    allowed = world.client.post(
        f"{API}/meetings/{world.meeting_id}/batches",
        json={
            "kinds": ["organisation_agenda"],
            "organisation_ids": [world.orgs["askersund"]],
            "allow_placeholders": True,
        },
        headers=ORGANISER,
    )

    body = preflight.json()
    assert body["ready"] is False
    askersund = [g for g in body["gaps"] if g["organisation_name"] == "Askersunds kommun"]
    assert {(g["kind"], g["placeholder"], g["fact"]) for g in askersund} == {
        (
            "organisation_agenda",
            "[Fyll i länk om digitalt deltagande erbjuds]",
            "meeting digital_link",
        ),
        (
            "organisation_agenda",
            "[Fyll i namn och e-post till processledaren]",
            "meeting process_leader_name and process_leader_email",
        ),
    }
    assert {g["kind"] for g in body["gaps"]} == {"agenda", "organisation_agenda"}
    assert refused.status_code == 422
    assert {e["path"] for e in refused.json()["errors"]} == {
        "organisation_agenda of Askersunds kommun"
    }
    assert "meeting digital_link" in refused.text
    with world.runtime.sessions() as session:
        assert session.scalar(select(m.Batch.id).where(m.Batch.id > 0)) is not None  # allowed
        assert len(session.scalars(select(m.Batch)).all()) == 1  # the refused one stored nothing
    assert allowed.status_code == 202, allowed.text


def test_meeting_facts_are_checked_with_messages_naming_the_field(world: World) -> None:
    response = world.client.patch(
        f"{API}/meetings/{world.meeting_id}",
        json={
            "digital_link": "möte på Teams",
            "process_leader_email": "karin.dahl",
            "film_link": "ftp://film.example/x",
        },
        headers=ORGANISER,
    )
    good = world.client.patch(
        f"{API}/meetings/{world.meeting_id}",
        json={"digital_link": "https://möte.example/ny", "skr_contact_email": "a@skr.example"},
        headers=ORGANISER,
    )

    assert response.status_code == 422
    errors = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"$.digital_link", "$.process_leader_email", "$.film_link"}
    assert "is not a web address" in errors["$.digital_link"]
    assert "is not an e-mail address" in errors["$.process_leader_email"]
    assert good.status_code == 200, good.text
    assert good.json()["digital_link"] == "https://möte.example/ny"
    assert good.json()["venue_address"] == "Campusgatan 26, 151 89 Södertälje"


# -- item 4: letters are released, not leaked -------------------------------------------------


@pytest.fixture(scope="module")
def converter() -> Iterator[PdfConverter]:
    yield ColdLibreOfficeConverter(timeout_seconds=120)


@pytest.mark.needs_tools("soffice", "pdftotext")
def test_a_letter_is_invisible_to_its_organisation_until_released(
    world: World, converter: PdfConverter
) -> None:
    token = world.token("askersund")
    world.render([DocumentKind.FEEDBACK_LETTER], ["askersund"], pdf=converter)
    draft = world.ids_of(DocumentKind.FEEDBACK_LETTER, "askersund")
    listed_before = world.client.get(f"{API}/documents", headers=token).json()

    released = release(world, "askersund", noted="Tydlig analys av servicetimmar per kön.")
    world.render([DocumentKind.FEEDBACK_LETTER], ["askersund"], pdf=converter)
    final = world.ids_of(DocumentKind.FEEDBACK_LETTER, "askersund")
    listed_after = world.client.get(f"{API}/documents", headers=token).json()

    assert set(draft) == {"docx", "pdf"}
    for file_format in ("docx", "pdf"):
        hidden = world.client.get(f"{API}/documents/{draft[file_format]}/file", headers=token)
        assert hidden.status_code == 404
        organiser = world.client.get(
            f"{API}/documents/{draft[file_format]}/file", headers=ORGANISER
        )
        assert organiser.status_code == 200
    assert "Utkast" in "\n".join(
        texts(world.client.get(f"{API}/documents/{draft['docx']}/file", headers=ORGANISER).content)
    )
    assert not [d for d in listed_before if d["kind"] == "feedback_letter"]
    assert released.status_code == 200, released.text
    assert released.json()["released"] is True
    docx_file = world.client.get(f"{API}/documents/{final['docx']}/file", headers=token)
    pdf_file = world.client.get(f"{API}/documents/{final['pdf']}/file", headers=token)
    assert docx_file.status_code == pdf_file.status_code == 200
    letter = texts(docx_file.content)
    assert "Tydlig analys av servicetimmar per kön." in letter
    assert not [t for t in letter if "Utkast" in t or PLACEHOLDER in t]
    pdf_text = _pdf_text(pdf_file.content)
    assert "Tydlig analys av servicetimmar" in pdf_text
    assert "Utkast" not in pdf_text
    assert {d["format"] for d in listed_after if d["kind"] == "feedback_letter"} == {
        "docx",
        "pdf",
    }
    # The draft versions stay hidden from the participant even now.
    versions = world.client.get(f"{API}/documents/{final['docx']}/versions", headers=token)
    assert [v["id"] for v in versions.json()["versions"]] == [final["docx"]]
    assert (
        world.client.get(f"{API}/documents/{draft['docx']}/file", headers=token).status_code == 404
    )


def _pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "letter.pdf"
        path.write_bytes(data)
        return subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
        ).stdout


def test_a_letter_is_dated_by_its_release_and_re_renders_identically(world: World) -> None:
    refused = world.client.post(
        f"{API}/meetings/{world.meeting_id}/letters/{world.orgs['askersund']}/release",
        headers=ORGANISER,
    )
    with unit_of_work(world.runtime.sessions) as session:
        session.add(
            m.FeedbackLetter(
                meeting_id=world.meeting_id,
                organisation_id=world.orgs["askersund"],
                noted="Bra",
                ideas=[],
            )
        )
    released = world.client.post(
        f"{API}/meetings/{world.meeting_id}/letters/{world.orgs['askersund']}/release",
        headers=ORGANISER,
    )
    with unit_of_work(world.runtime.sessions) as session:
        # Released late in the evening UTC: already the next day in Stockholm.
        session.execute(
            update(m.FeedbackLetter).values(
                released_at=dt.datetime(2019, 10, 2, 22, 30, tzinfo=dt.UTC)
            )
        )
    first = world.render([DocumentKind.FEEDBACK_LETTER], ["askersund"])
    second = world.render([DocumentKind.FEEDBACK_LETTER], ["askersund"])

    assert refused.status_code == 422
    assert "the letter's noted text" in refused.text
    assert released.status_code == 200
    (data,) = first.values()
    assert ["Datum", "3 oktober 2019"] in table_rows(data, "Till")
    assert list(first.values()) == list(second.values())


def test_the_hosts_letter_comes_from_its_mentor_and_thanks_it_for_hosting(world: World) -> None:
    files = world.render([DocumentKind.FEEDBACK_LETTER], ["sodertalje", "askersund"])

    host = texts(files[(DocumentKind.FEEDBACK_LETTER, world.orgs["sodertalje"], "docx")])
    guest = texts(files[(DocumentKind.FEEDBACK_LETTER, world.orgs["askersund"], "docx")])
    host_rows = table_rows(
        files[(DocumentKind.FEEDBACK_LETTER, world.orgs["sodertalje"], "docx")], "Till"
    )
    assert host_rows[0][1].startswith("Södertälje kommun")
    assert host_rows[1][1].startswith("Norrtälje kommun, Johanna Åberg")
    assert any(
        t.startswith("Tack för att ni tog emot oss som värd för Benchmarking 2") for t in host
    )
    assert not any("Tack för att ni deltog" in t for t in host)
    assert any(t.startswith("Tack för att ni deltog i Benchmarking 2") for t in guest)
    assert table_rows(
        files[(DocumentKind.FEEDBACK_LETTER, world.orgs["askersund"], "docx")], "Till"
    )[1][1].startswith("Södertälje kommun, Camilla Nyström")


# -- item 5: words -----------------------------------------------------------------------------


def test_the_pupils_indicator_reads_flickor_and_pojkar(world: World) -> None:
    files = world.render([DocumentKind.FEEDBACK_LETTER], ["sodertalje", "askersund"])

    host = "\n".join(texts(files[(DocumentKind.FEEDBACK_LETTER, world.orgs["sodertalje"], "docx")]))
    guest = "\n".join(texts(files[(DocumentKind.FEEDBACK_LETTER, world.orgs["askersund"], "docx")]))
    assert "Andel elever åk 8 som haft hälsosamtal med uppföljning (%)" in host
    assert "flickor 61,0, pojkar 48,0" in host
    assert "kvinnor 61,0" not in host
    assert "kvinnor 8,8, män 9,9" in guest  # the adults' indicator keeps kvinnor/män


def test_statements_show_by_number_and_text_and_no_capital_mid_sentence(world: World) -> None:
    files = world.render([DocumentKind.FEEDBACK_LETTER], ["askersund"])

    (data,) = files.values()
    changed = table_rows(data, "Nr")
    letter = "\n".join(texts(data))
    assert changed[0][:2] == ["Nr", "Påstående"]
    assert [row[0] for row in changed[1:]] == ["14", "19", "20"]
    assert not any("Q1" in cell or "Q2" in cell for row in changed for cell in row)
    assert "kan överföras till alla nämnder" in letter
    assert "Region Gotland (idé)" in letter
    assert "2019-11-25" not in letter and "25 november 2019" in letter


# -- item 11: attendance -----------------------------------------------------------------------


def test_the_summary_and_agenda_use_attendance_once_it_is_recorded(world: World) -> None:
    with world.runtime.sessions() as session:
        people = {p.name: p.id for p in session.scalars(select(m.Participant))}
    for name, status in (
        ("Jonas Berg", "deltog"),
        ("Sofia Lindqvist", "deltog"),
        ("Maria Sandberg", "förhinder"),
        ("Karin Ek", "anmäld"),
    ):
        response = world.client.put(
            f"{API}/meetings/{world.meeting_id}/attendance/{people[name]}",
            json={"status": status},
            headers=ORGANISER,
        )
        assert response.status_code == 200, response.text

    files = world.render([DocumentKind.FEEDBACK_SUMMARY, DocumentKind.AGENDA])

    summary = files[(DocumentKind.FEEDBACK_SUMMARY, None, "docx")]
    rows = {row[0]: row[1:] for row in table_rows(summary, "Organisation")[1:]}
    assert rows["Askersunds kommun"] == ["✓", "", "✓", ""]  # no chef: Maria had förhinder
    assert rows["Hedemora kommun"] == ["✓", "", "", ""]
    assert rows["Fagersta kommun"] == ["", "", "", ""]
    assert "Enligt närvaron på träffen." in texts(summary)
    agenda = files[(DocumentKind.AGENDA, None, "docx")]
    participants = {r[0].split("\n")[0]: r[1] for r in table_rows(agenda, "Organisation")[1:]}
    assert "Jonas Berg" in participants["Askersunds kommun"]
    assert "Sofia Lindqvist" in participants["Askersunds kommun"]
    assert "Maria Sandberg" not in participants["Askersunds kommun"]
    assert participants["Fagersta kommun"] == "Ingen anmäld"


def test_without_attendance_the_summary_uses_the_roster(world: World) -> None:
    files = world.render([DocumentKind.FEEDBACK_SUMMARY])

    (summary,) = files.values()
    rows = {row[0]: row[1:] for row in table_rows(summary, "Organisation")[1:]}
    assert rows["Askersunds kommun"][:3] == ["✓", "✓", "✓"]
    assert any("ingen närvaro registrerad" in t for t in texts(summary))
    assert any("SKR:s processledare" in t for t in texts(summary))
