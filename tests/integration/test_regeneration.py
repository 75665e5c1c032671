"""Regeneration on a real database: only what changed is rendered again, as a new version.

The sample programme's Benchmarking 2 is rendered in-process by the worker's RenderJob (no
broker needed); then data or a template changes, and a plan or a run must find exactly the
documents that change shows in, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from service.api.app import create_app
from service.batches.control import create_batch, start_batch
from service.batches.render_job import Outcome
from service.change_detection.staleness import mark_stale
from service.database import models as m
from service.database.session import unit_of_work
from service.database.versions import slot_versions
from service.domain.kinds import BatchOrigin, DocumentKind, DocumentStatus
from service.errors import ConflictError, NotFoundError
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import make_pdf_converter
from service.regeneration.planning import (
    RegenerationPlan,
    active_meeting_ids,
    plan_regeneration,
)
from service.regeneration.runs import refresh_run
from service.runtime import Runtime, build_runtime
from service.settings import PROJECT_ROOT, Settings
from tests.conftest import (
    TEST_API_KEY,
    Databases,
    DatabaseState,
    RecordingQueue,
    both_stores,
    stored_keys,
)
from tests.integration.conftest import forget_snapshots
from tests.integration.test_checklist_upload import (
    fill,
    make_document,
    post_checklist,
    statement_rows,
)
from tests.integration.use_cases import regenerate_here, render_here

pytestmark = pytest.mark.integration

ALL_KINDS_OF_BM2 = 37  # 4 per-organisation kinds for 8 organisations, 5 meeting-level ones
# A score shows in the network overview (deck and workbook) of the meeting as well.
OVERVIEW = {(None, "network_overview", "pptx"), (None, "network_overview_workbook", "xlsx")}
TODAY = dt.date(2019, 10, 1)


@dataclass
class Programme:
    """The sample programme with every document of Benchmarking 2 rendered once."""

    runtime: Runtime
    queue: RecordingQueue
    templates: Path
    meeting_id: int
    orgs: dict[str, int]
    first_batch: list[int]

    def plan(self) -> RegenerationPlan:
        return plan_regeneration(
            self.runtime.sessions, self.templates, meeting_ids=[self.meeting_id]
        )

    def run(
        self,
        *,
        trigger: str = "manual",
        run_key: str | None = None,
        dry_run: bool = False,
        meetings: list[int] | Literal["bm2"] | None = "bm2",
        today: dt.date = TODAY,
        inline: bool = True,
    ) -> m.RegenerationRun:
        """A run over Benchmarking 2 (``meetings=None``: the active meetings), rendered here."""
        return regenerate_here(
            self.runtime,
            trigger=trigger,
            run_key=run_key,
            dry_run=dry_run,
            meeting_ids=[self.meeting_id] if meetings == "bm2" else meetings,
            today=today,
            inline=inline,
        )

    def ref_of(self, organisation_id: int | None) -> str | None:
        return next((ref for ref, oid in self.orgs.items() if oid == organisation_id), None)

    def document_count(self) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(m.GeneratedDocument)) or 0


def render_batch(runtime: Runtime, *, meeting_id: int) -> list[int]:
    """Record an ordinary batch and render it in this process, as a worker would."""
    batch_id = start_batch(runtime.sessions, RecordingQueue(), meeting_id=meeting_id)
    with runtime.sessions() as session:
        ids = list(
            session.scalars(
                select(m.GeneratedDocument.id)
                .where(m.GeneratedDocument.batch_id == batch_id)
                .order_by(m.GeneratedDocument.id)
            )
        )
    render_here(runtime, ids)
    return ids


def changed(programme: Programme, plan: RegenerationPlan) -> set[tuple[str | None, str, str]]:
    """The plan's changes as (organisation ref, kind, format)."""
    return {(programme.ref_of(c.organisation_id), c.kind.value, c.format) for c in plan.changes}


def rows_of_batch(runtime: Runtime, batch_id: int) -> list[m.GeneratedDocument]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.GeneratedDocument)
                .where(m.GeneratedDocument.batch_id == batch_id)
                .order_by(m.GeneratedDocument.id)
            )
        )


def set_score(programme: Programme, org_ref: str, question_ref: str, value: int) -> None:
    """Change one score of the organisation in Benchmarking 2's round, as an edit would."""
    with unit_of_work(programme.runtime.sessions) as session:
        score_id = session.scalar(
            select(m.Score.id)
            .join(m.ChecklistQuestion, m.ChecklistQuestion.id == m.Score.question_id)
            .join(m.AssessmentRound, m.AssessmentRound.id == m.Score.round_id)
            .where(
                m.Score.organisation_id == programme.orgs[org_ref],
                m.ChecklistQuestion.ref == question_ref,
                m.AssessmentRound.meeting_id == programme.meeting_id,
            )
        )
        assert score_id is not None
        session.execute(update(m.Score).where(m.Score.id == score_id).values(value=value))


def bm2_score_cell(data: bytes, question_ref: str) -> object:
    """The score a checklist workbook shows for a question on its BM 2 sheet."""
    sheet = openpyxl.load_workbook(io.BytesIO(data))["BM 2"]
    row = statement_rows(sheet).get(question_ref)
    if row is None:
        raise AssertionError(f"no row for {question_ref} on the BM 2 sheet")
    return sheet.cell(row, 4).value


def edit_template(path: Path, old: str, new: str) -> None:
    """Change a Word template's text, as an organiser editing it in Word would."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    assert "word/document.xml" in [info.filename for info, _ in members]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if info.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode())
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


@dataclass(frozen=True)
class Rendered:
    """What rendering Benchmarking 2 once left besides the database: ids to look things up by."""

    meeting_id: int
    orgs: dict[str, int]
    first_batch: list[int]


def render_benchmarking_2(settings: Settings) -> Rendered:
    """The sample's Benchmarking 2, every document rendered once with the shipped templates."""
    runtime = build_runtime(settings, queue=RecordingQueue())
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        orgs = dict(session.execute(select(m.Organisation.ref, m.Organisation.id)).all())
    first = render_batch(runtime, meeting_id=meeting_id)
    runtime.close()
    return Rendered(meeting_id, orgs, first)


@pytest.fixture
def database_start(
    database_start: DatabaseState | None,
    request: pytest.FixtureRequest,
    databases: Databases,
    database_backend: str,
) -> DatabaseState | None:
    """A programme's database starts with Benchmarking 2 rendered, once for the module."""
    return databases.carried_on(
        request,
        database_backend,
        database_start,
        when="programme",
        name=f"{__name__}: BM 2 rendered",
        build=render_benchmarking_2,
    )


@pytest.fixture
def programme(
    sample_imported: Settings, database_start: DatabaseState, tmp_path: Path
) -> Iterator[Programme]:
    rendered: Rendered = database_start.value
    templates = tmp_path / "templates"
    shutil.copytree(
        PROJECT_ROOT / "doc_templates", templates, ignore=shutil.ignore_patterns("scripts")
    )
    queue = RecordingQueue()
    runtime = build_runtime(
        sample_imported.model_copy(update={"templates_dir": templates}), queue=queue
    )
    yield Programme(
        runtime,
        queue,
        templates,
        rendered.meeting_id,
        dict(rendered.orgs),
        list(rendered.first_batch),
    )
    runtime.close()


# -- the three "done when" statements ---------------------------------------------------------


@both_stores
def test_unchanged_data_renders_nothing(programme: Programme) -> None:
    before = programme.document_count()

    plan = programme.plan()
    run = programme.run()

    assert (plan.checked, plan.unchanged, plan.changes, plan.failures) == (
        ALL_KINDS_OF_BM2,
        ALL_KINDS_OF_BM2,
        [],
        [],
    )
    assert plan.contexts_built == 0  # every stamp recorded at render time still holds
    assert (run.status, run.checked, run.unchanged, run.rerendered, run.failed) == (
        "finished",
        ALL_KINDS_OF_BM2,
        ALL_KINDS_OF_BM2,
        0,
        0,
    )
    assert run.batch_id is None and run.changes == [] and run.finished_at is not None
    assert programme.document_count() == before


@both_stores
def test_a_changed_score_rerenders_exactly_that_organisations_documents_that_show_it(
    programme: Programme,
) -> None:
    set_score(programme, "askersund", "Q01", 1)  # was 3

    plan = programme.plan()
    run = programme.run()

    expected = {
        ("askersund", "deck", "pptx"),
        ("askersund", "checklist", "xlsx"),
        ("askersund", "feedback_letter", "docx"),
    } | OVERVIEW
    assert changed(programme, plan) == expected
    assert plan.unchanged == ALL_KINDS_OF_BM2 - 5 and plan.failures == []
    reasons = {c.kind.value: c.reasons for c in plan.changes}
    assert reasons["deck"] == ("data changed: area_chart, highlights, movement, needs",)
    assert reasons["checklist"] == ("data changed: current, needs",)
    assert (run.status, run.rerendered, run.failed) == ("finished", 5, 0)
    assert run.batch_id is not None
    rows = rows_of_batch(programme.runtime, run.batch_id)
    assert {(programme.ref_of(d.organisation_id), d.kind.value, d.format) for d in rows} == (
        expected
    )
    assert all(d.status == DocumentStatus.DONE and d.reused_from_id is None for d in rows)
    assert {tuple(c["reasons"]) for c in run.changes} == set(reasons.values())
    assert programme.plan().changes == []


@both_stores
def test_a_changed_template_rerenders_every_document_made_from_it(programme: Programme) -> None:
    edit_template(programme.templates / "agenda.docx", "Syfte och mål", "Syfte och mål i dag")

    plan = programme.plan()
    run = programme.run()

    assert changed(programme, plan) == {(None, "agenda", "docx")} | {
        (ref, "organisation_agenda", "docx") for ref in programme.orgs
    }
    assert {c.reasons for c in plan.changes} == {("template changed",)}
    assert (run.status, run.rerendered) == ("finished", len(programme.orgs) + 1)
    assert run.batch_id is not None
    rows = rows_of_batch(programme.runtime, run.batch_id)
    assert len(rows) == len(programme.orgs) + 1
    for row in rows:
        assert row.file_key is not None
        text = programme.runtime.files.get(row.file_key)
        with zipfile.ZipFile(io.BytesIO(text)) as docx:
            assert "Syfte och mål i dag" in docx.read("word/document.xml").decode()
    assert programme.plan().changes == []


# -- versions and reuse -----------------------------------------------------------------------


@both_stores
def test_a_rerendered_slot_keeps_both_versions_downloadable(programme: Programme) -> None:
    set_score(programme, "askersund", "Q01", 1)

    run = programme.run()

    assert run.batch_id is not None
    (new_checklist,) = [
        d
        for d in rows_of_batch(programme.runtime, run.batch_id)
        if d.kind == DocumentKind.CHECKLIST
    ]
    with programme.runtime.sessions() as session:
        versions = slot_versions(session, new_checklist.id)
    assert [v.id for v in versions] == [new_checklist.id, versions[1].id]
    new, old = (programme.runtime.files.get(v.file_key or "") for v in versions)
    assert new != old
    assert bm2_score_cell(old, "Q01") == 3
    assert bm2_score_cell(new, "Q01") == 1
    assert versions[1].id in programme.first_batch


@both_stores
def test_an_ordinary_batch_with_nothing_changed_reuses_every_file(programme: Programme) -> None:
    files_before = stored_keys(programme.runtime.settings)

    second = render_batch(programme.runtime, meeting_id=programme.meeting_id)

    with programme.runtime.sessions() as session:
        rows = [session.get_one(m.GeneratedDocument, i) for i in second]
        firsts = {
            d.id: d
            for d in (session.get_one(m.GeneratedDocument, i) for i in programme.first_batch)
        }
    assert len(rows) == ALL_KINDS_OF_BM2
    for row in rows:
        assert row.status == DocumentStatus.DONE and row.render_ms is None
        assert row.reused_from_id in firsts
        source = firsts[row.reused_from_id]
        assert (row.kind, row.organisation_id, row.format) == (
            source.kind,
            source.organisation_id,
            source.format,
        )
        assert (row.file_key, row.sha256, row.fingerprint) == (
            source.file_key,
            source.sha256,
            source.fingerprint,
        )
    assert stored_keys(programme.runtime.settings) == files_before


def test_a_pdf_whose_inputs_did_not_change_is_not_converted_again(programme: Programme) -> None:
    converter = CountingConverter(
        make_pdf_converter(warm=False, timeout_seconds=90, restart_after=1)
    )
    askersund = [programme.orgs["askersund"]]

    def pdf_batch() -> m.GeneratedDocument:
        with unit_of_work(programme.runtime.sessions) as session:
            batch = create_batch(
                session,
                meeting_id=programme.meeting_id,
                kinds=[DocumentKind.FEEDBACK_LETTER],
                organisation_ids=askersund,
                with_pdf=True,
            )
            (pdf_id,) = [d.id for d in batch.documents if d.format == "pdf"]
            (docx_id,) = [d.id for d in batch.documents if d.format == "docx"]
        # The PDF is converted from its Office file, made first.
        assert render_here(programme.runtime, [docx_id, pdf_id], pdf=converter)[1] in (
            Outcome.RENDERED,
            Outcome.REUSED,
        )
        with programme.runtime.sessions() as session:
            return session.get_one(m.GeneratedDocument, pdf_id)

    first = pdf_batch()
    second = pdf_batch()

    assert converter.calls == 1
    assert first.reused_from_id is None and second.reused_from_id == first.id
    assert first.file_key is not None
    assert programme.runtime.files.get(first.file_key).startswith(b"%PDF")
    assert first.inputs is not None and "LibreOffice" in first.inputs["renderer"]


class CountingConverter:
    """The real converter, counting how often it is asked."""

    def __init__(self, inner: PdfConverter) -> None:
        self.inner = inner
        self.calls = 0

    def convert(self, data: bytes, *, source_format: str) -> bytes:
        self.calls += 1
        return self.inner.convert(data, source_format=source_format)


# -- what a run checks and records ------------------------------------------------------------


def test_a_new_organisation_gets_its_documents_and_the_lists_that_show_it_change(
    programme: Programme,
) -> None:
    with unit_of_work(programme.runtime.sessions) as session:
        network_id = session.scalars(select(m.Meeting.network_id)).first()
        newcomer = m.Organisation(network_id=network_id, ref="nyby", name="Nyby kommun")
        session.add(newcomer)
        session.flush()
        programme.orgs["nyby"] = newcomer.id

    plan = programme.plan()

    new = {(c.kind.value, c.format) for c in plan.changes if c.reasons == ("new",)}
    assert new == {
        ("deck", "pptx"),
        ("checklist", "xlsx"),
        ("organisation_agenda", "docx"),
        ("feedback_letter", "docx"),
    }
    assert {c.organisation_id for c in plan.changes if c.reasons == ("new",)} == {
        programme.orgs["nyby"]
    }
    assert all(c.document_id is None for c in plan.changes if c.reasons == ("new",))
    listing_it = {
        (programme.ref_of(c.organisation_id), c.kind.value)
        for c in plan.changes
        if c.reasons != ("new",)
    }
    assert listing_it == {
        (None, "agenda"),
        (None, "feedback_summary"),
        (None, "organiser_checklist"),
        (None, "network_overview"),  # a row for the newcomer, without scores
        (None, "network_overview_workbook"),
    } | {(ref, "organisation_agenda") for ref in programme.orgs if ref != "nyby"}
    assert plan.checked == ALL_KINDS_OF_BM2 + 4


def test_the_same_run_key_never_runs_twice(programme: Programme) -> None:
    first = programme.run(run_key="nightly:2019-10-01", trigger="nightly")

    with pytest.raises(ConflictError, match="nightly:2019-10-01"):
        programme.run(run_key="nightly:2019-10-01", trigger="nightly")

    with programme.runtime.sessions() as session:
        runs = session.scalars(select(m.RegenerationRun)).all()
    assert [(r.id, r.run_key, r.trigger) for r in runs] == [
        (first.id, "nightly:2019-10-01", "nightly")
    ]


def test_a_dispatched_run_is_rendering_until_its_batch_is_done(programme: Programme) -> None:
    set_score(programme, "hedemora", "Q02", 3)

    run = programme.run(inline=False)

    assert run.status == "rendering" and run.finished_at is None
    assert run.batch_id is not None
    rows = rows_of_batch(programme.runtime, run.batch_id)
    batch_rows = [d.id for d in rows]
    # The meeting-wide documents first (the longest to make), then the organisation's.
    meeting_wide = [d.id for d in rows if d.organisation_id is None]
    assert len(batch_rows) == 5 and len(meeting_wide) == 2
    assert programme.queue.sent == meeting_wide + [d for d in batch_rows if d not in meeting_wide]
    with programme.runtime.sessions() as session:
        assert session.get_one(m.Batch, run.batch_id).origin == BatchOrigin.REGENERATION
    render_here(programme.runtime, batch_rows)
    with unit_of_work(programme.runtime.sessions) as session:
        refreshed = refresh_run(session, run.id)
        assert (refreshed.status, refreshed.rerendered, refreshed.failed) == ("finished", 5, 0)
        assert refreshed.finished_at is not None


def test_a_dry_run_reports_what_would_change_and_renders_nothing(programme: Programme) -> None:
    set_score(programme, "hedemora", "Q02", 3)
    before = programme.document_count()

    run = programme.run(dry_run=True)

    assert (run.status, run.dry_run, run.batch_id) == ("finished", True, None)
    assert sorted(c["description"] for c in run.changes) == [
        "checklist (xlsx) for Hedemora kommun, Benchmarking 2",
        "deck (pptx) for Hedemora kommun, Benchmarking 2",
        "feedback_letter (docx) for Hedemora kommun, Benchmarking 2",
        "network_overview (pptx) for Benchmarking 2",
        "network_overview_workbook (xlsx) for Benchmarking 2",
    ]
    assert all(c["document_id"] in programme.first_batch for c in run.changes)
    assert programme.document_count() == before


def test_a_document_that_cannot_be_made_is_recorded_as_failed_with_its_reason(
    programme: Programme,
) -> None:
    (programme.templates / "feedback_summary.docx").unlink()

    plan = programme.plan()
    run = programme.run()

    assert plan.failures == [
        (
            "feedback_summary (docx) for Benchmarking 2",
            f"template 'feedback_summary.docx' cannot be read in {programme.templates}: "
            "No such file or directory",
        )
    ]
    assert plan.changes == [] and plan.unchanged == ALL_KINDS_OF_BM2 - 1
    assert (run.status, run.failed, run.batch_id) == ("finished", 1, None)
    assert run.failures[0]["description"] == "feedback_summary (docx) for Benchmarking 2"


def test_a_render_that_fails_is_folded_into_the_run(programme: Programme) -> None:
    set_score(programme, "hedemora", "Q02", 3)
    run = programme.run(inline=False)
    assert run.batch_id is not None
    # A whole file that is no presentation (a half-written one would be waited for).
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as package:
        package.writestr("not-a-presentation.txt", "nej")
    (programme.templates / "deck_benchmarking.pptx").write_bytes(broken.getvalue())
    # The run renders from the snapshots it took; with the deck's lost, the file is read.
    forget_snapshots(programme.runtime, run.batch_id)

    render_here(programme.runtime, [d.id for d in rows_of_batch(programme.runtime, run.batch_id)])
    with unit_of_work(programme.runtime.sessions) as session:
        refreshed = refresh_run(session, run.id)

    assert (refreshed.status, refreshed.rerendered, refreshed.failed) == ("failed", 4, 1)
    (failure,) = refreshed.failures
    assert failure["description"] == "deck (pptx) for Hedemora kommun, Benchmarking 2"
    assert failure["stage"] == "render" and "deck_benchmarking.pptx" in failure["error"]


def test_a_template_broken_after_the_run_started_changes_nothing_for_it(
    programme: Programme,
) -> None:
    """The run renders from the snapshots of its templates taken when it started."""
    set_score(programme, "hedemora", "Q02", 3)
    run = programme.run(inline=False)
    assert run.batch_id is not None
    (programme.templates / "deck_benchmarking.pptx").write_bytes(b"not a presentation")

    render_here(programme.runtime, [d.id for d in rows_of_batch(programme.runtime, run.batch_id)])
    with unit_of_work(programme.runtime.sessions) as session:
        refreshed = refresh_run(session, run.id)

    assert (refreshed.status, refreshed.rerendered, refreshed.failed) == ("finished", 5, 0)


def test_a_slot_with_a_request_still_on_its_way_is_left_to_it(programme: Programme) -> None:
    set_score(programme, "askersund", "Q01", 1)
    with unit_of_work(programme.runtime.sessions) as session:
        create_batch(
            session,
            meeting_id=programme.meeting_id,
            kinds=[DocumentKind.DECK],
            organisation_ids=[programme.orgs["askersund"]],
        )

    plan = programme.plan()

    assert (
        changed(programme, plan)
        == {
            ("askersund", "checklist", "xlsx"),
            ("askersund", "feedback_letter", "docx"),
        }
        | OVERVIEW
    )
    assert plan.in_progress == 1


def test_active_meetings_are_recent_ones_with_documents(programme: Programme) -> None:
    with programme.runtime.sessions() as session:
        dates = dict(session.execute(select(m.Meeting.id, m.Meeting.date)).all())
        held = dates[programme.meeting_id]

        on_the_day = active_meeting_ids(session, today=held, days_after=0)
        long_after = active_meeting_ids(session, today=held + dt.timedelta(days=31), days_after=30)
        within = active_meeting_ids(session, today=held + dt.timedelta(days=30), days_after=30)

    assert on_the_day == within == [programme.meeting_id]  # the other meetings have no documents
    assert long_after == []


def test_an_unknown_meeting_is_refused_before_a_run_is_recorded(programme: Programme) -> None:
    with pytest.raises(NotFoundError, match="meeting 9999 not found"):
        programme.run(meetings=[9999])

    with programme.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.RegenerationRun)) == 0


# -- staleness --------------------------------------------------------------------------------


def test_mark_stale_marks_exactly_the_latest_documents_whose_context_changed(
    programme: Programme,
) -> None:
    now = dt.datetime(2019, 9, 20, 12, 0, tzinfo=dt.UTC)
    with unit_of_work(programme.runtime.sessions) as session:
        assert mark_stale(session, organisation_id=programme.orgs["askersund"], now=now).marked == 0
    set_score(programme, "askersund", "Q01", 1)

    with unit_of_work(programme.runtime.sessions) as session:
        marked = mark_stale(session, organisation_id=programme.orgs["askersund"], now=now).marked

    with programme.runtime.sessions() as session:
        stale = session.execute(
            select(m.GeneratedDocument.organisation_id, m.GeneratedDocument.kind).where(
                m.GeneratedDocument.stale_since.is_not(None)
            )
        ).all()
    assert marked == 5
    assert {(programme.ref_of(org), kind.value) for org, kind in stale} == {
        ("askersund", "deck"),
        ("askersund", "checklist"),
        ("askersund", "feedback_letter"),
        (None, "network_overview"),
        (None, "network_overview_workbook"),
    }


def test_mark_stale_marks_the_organisers_checklist_when_a_round_is_withdrawn(
    programme: Programme,
) -> None:
    now = dt.datetime(2019, 9, 20, 12, 0, tzinfo=dt.UTC)
    askersund = programme.orgs["askersund"]

    with unit_of_work(programme.runtime.sessions) as session:
        round_id = session.scalars(
            select(m.AssessmentRound.id).where(m.AssessmentRound.meeting_id == programme.meeting_id)
        ).one()
        session.execute(
            delete(m.Score).where(
                m.Score.organisation_id == askersund, m.Score.round_id == round_id
            )
        )
        marked = mark_stale(session, organisation_id=askersund, now=now).marked

    with programme.runtime.sessions() as session:
        stale = session.execute(
            select(m.GeneratedDocument.organisation_id, m.GeneratedDocument.kind).where(
                m.GeneratedDocument.stale_since.is_not(None)
            )
        ).all()
    assert marked == 6
    assert {(programme.ref_of(org), kind.value) for org, kind in stale} == {
        ("askersund", "deck"),
        ("askersund", "checklist"),
        ("askersund", "feedback_letter"),
        (None, "organiser_checklist"),  # it shows who has submitted a self-assessment
        (None, "network_overview"),
        (None, "network_overview_workbook"),
    }


def test_a_night_without_active_meetings_checks_nothing_and_finishes(
    programme: Programme,
) -> None:
    run = programme.run(
        meetings=None, today=dt.date(2030, 1, 1), trigger="nightly", run_key="nightly:2030"
    )

    assert (run.status, run.meeting_ids, run.checked, run.batch_id) == ("finished", [], 0, None)
    assert run.finished_at is not None


def test_scores_uploaded_as_a_then_b_then_a_again_leave_the_documents_fresh_without_a_render(
    programme: Programme,
) -> None:
    organiser = TestClient(create_app(programme.runtime), headers={"X-API-Key": TEST_API_KEY})
    askersund = programme.orgs["askersund"]
    checklist_a = make_document(
        organiser, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    assert bm2_score_cell(checklist_a, "Q01") == 3
    checklist_b = fill(checklist_a, scores={"Q01": 1})
    rendered = programme.document_count()

    def upload(data: bytes) -> dict[str, Any]:
        response = post_checklist(organiser, askersund, data)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def stale_documents() -> set[tuple[str | None, str, str]]:
        listing = organiser.get("/api/v1/documents", params={"meeting_id": programme.meeting_id})
        return {
            (programme.ref_of(d["organisation_id"]), d["kind"], d["format"])
            for d in listing.json()
            if d["stale"]
        }

    first_a = upload(checklist_a)
    assert stale_documents() == set()
    b = upload(checklist_b)
    stale_after_b = stale_documents()
    second_a = upload(checklist_a)

    assert (first_a["documents_marked_stale"], first_a["documents_no_longer_stale"]) == (0, 0)
    assert {(ref, kind) for ref, kind, _ in stale_after_b} == {
        ("askersund", "deck"),
        ("askersund", "checklist"),
        ("askersund", "feedback_letter"),
        (None, "network_overview"),  # the overview shows every organisation's scores
        (None, "network_overview_workbook"),
    }
    assert b["documents_marked_stale"] == len(stale_after_b)
    assert (second_a["documents_marked_stale"], second_a["documents_no_longer_stale"]) == (
        0,
        len(stale_after_b),
    )
    assert stale_documents() == set()
    assert programme.document_count() == rendered  # nothing was rendered to clear the flag
    assert changed(programme, programme.plan()) == set()  # and the nightly plan agrees
    dry_run = programme.run(dry_run=True, trigger="nightly", run_key="nightly:a-b-a")
    assert dry_run.batch_id is None


def test_scores_put_through_the_api_mark_and_clear_the_documents_stale(
    programme: Programme,
) -> None:
    organiser = TestClient(create_app(programme.runtime), headers={"X-API-Key": TEST_API_KEY})
    askersund = programme.orgs["askersund"]
    with programme.runtime.sessions() as session:
        round_id = session.scalars(
            select(m.AssessmentRound.id).where(m.AssessmentRound.meeting_id == programme.meeting_id)
        ).one()
    url = f"/api/v1/assessment-rounds/{round_id}/scores/{askersund}"
    scores_a = organiser.get(url).json()
    sheet_a = {"scores": scores_a["scores"], "comments": scores_a["comments"]}
    sheet_b = {**sheet_a, "scores": {**sheet_a["scores"], "Q01": 1}}

    def stale_kinds() -> set[tuple[str | None, str]]:
        listing = organiser.get("/api/v1/documents", params={"meeting_id": programme.meeting_id})
        return {
            (programme.ref_of(d["organisation_id"]), d["kind"])
            for d in listing.json()
            if d["stale"]
        }

    put_b = organiser.put(url, json=sheet_b)
    after_b = stale_kinds()
    put_a = organiser.put(url, json=sheet_a)

    assert put_b.status_code == put_a.status_code == 200, (put_b.text, put_a.text)
    assert after_b == {
        ("askersund", "deck"),
        ("askersund", "checklist"),
        ("askersund", "feedback_letter"),
        (None, "network_overview"),
        (None, "network_overview_workbook"),
    }
    assert stale_kinds() == set()
