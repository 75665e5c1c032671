"""Organisers' template versions: upload and check, activate, render, roll back, refuse."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.batches.control import start_batch
from service.batches.document_maker import DocumentMaker
from service.batches.template_versions import (
    ActivationRefusedError,
    activate,
    has_errors,
    overview,
    preview,
    upload_version,
)
from service.cli.local_cluster import WorkerProcess, settings_environment
from service.cli.main import app
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.errors import FileRejectedError
from service.file_safety.file_inspection import limits_from_settings
from service.messages import Language
from service.regeneration.planning import plan_regeneration
from service.runtime import Runtime
from service.settings import PROJECT_ROOT, get_settings
from tests.conftest import RecordingQueue
from tests.integration.conftest import batch_complete, wait_until
from tests.integration.use_cases import render_here

pytestmark = pytest.mark.integration

LETTER = PROJECT_ROOT / "doc_templates" / "feedback_letter.docx"
KIND = DocumentKind.FEEDBACK_LETTER
SENTENCE = "Den här meningen finns bara i mallversion ett."
ANCHOR = "och er plan för fortsättningen."
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def letter_with(old: str, new: str, *, extra: dict[str, bytes] | None = None) -> bytes:
    """The built-in letter template with ``old`` replaced in its text (and parts added)."""
    with zipfile.ZipFile(LETTER) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if info.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode(), 1)
            target.writestr(info, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return buffer.getvalue()


def upload(runtime: Runtime, data: bytes, name: str = "brev.docx") -> m.TemplateVersion:
    with unit_of_work(runtime.sessions) as session:
        version = upload_version(
            session,
            files=runtime.files,
            templates_dir=runtime.settings.templates_dir,
            kind=KIND,
            data=data,
            file_name=name,
            uploaded_by="Anna Arrangör",
            limits=limits_from_settings(runtime.settings),
            now=NOW,
        )
        session.expunge(version)
        return version


def set_active(runtime: Runtime, number: int | None) -> None:
    with unit_of_work(runtime.sessions) as session:
        activate(session, kind=KIND, number=number, activated_by="Anna Arrangör", now=NOW)


def letter_text(runtime: Runtime, organisation_id: int, meeting_id: int) -> str:
    maker = DocumentMaker(sessions=runtime.sessions, templates=runtime.templates)
    made = maker.make(KIND, meeting_id=meeting_id, organisation_id=organisation_id)
    return "\n".join(p.text for p in docx.Document(io.BytesIO(made.data)).paragraphs)


def ids(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        org = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
    return meeting, org


def test_a_checked_version_is_activated_rendered_by_the_renderer_and_rolled_back(
    runtime: Runtime, sample: object
) -> None:
    meeting_id, org_id = ids(runtime)
    assert SENTENCE not in letter_text(runtime, org_id, meeting_id)
    version = upload(runtime, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    assert version.number == 1
    assert version.report == []
    assert runtime.files.get(version.file_key) == letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}")
    # Uploaded is not active: documents still use the built-in template.
    assert SENTENCE not in letter_text(runtime, org_id, meeting_id)
    set_active(runtime, 1)
    assert SENTENCE in letter_text(runtime, org_id, meeting_id)
    with runtime.sessions() as session:
        (letter,) = [entry for entry in overview(session) if entry.spec.kind is KIND]
        assert letter.active is not None and letter.active.number == 1
        assert letter.activated_by == "Anna Arrangör"
    set_active(runtime, None)
    assert SENTENCE not in letter_text(runtime, org_id, meeting_id)
    with runtime.sessions() as session:
        (letter,) = [entry for entry in overview(session) if entry.spec.kind is KIND]
        assert letter.active is None and [v.number for v in letter.versions] == [1]


def test_activation_makes_regeneration_see_the_template_change(
    runtime: Runtime, sample: object, tmp_path: Path
) -> None:
    meeting_id, _ = ids(runtime)
    batch_id = start_batch(runtime.sessions, RecordingQueue(), meeting_id=meeting_id)
    with runtime.sessions() as session:
        doc_ids = list(
            session.scalars(
                select(m.GeneratedDocument.id).where(m.GeneratedDocument.batch_id == batch_id)
            )
        )
    render_here(runtime, doc_ids)
    templates_dir = runtime.settings.templates_dir
    assert (
        plan_regeneration(runtime.sessions, templates_dir, meeting_ids=[meeting_id]).changes == []
    )
    upload(runtime, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    assert (
        plan_regeneration(runtime.sessions, templates_dir, meeting_ids=[meeting_id]).changes == []
    )
    set_active(runtime, 1)
    changes = plan_regeneration(runtime.sessions, templates_dir, meeting_ids=[meeting_id]).changes
    assert changes and {change.kind for change in changes} == {KIND}
    with runtime.sessions() as session:
        letters = session.scalar(
            select(func.count())
            .select_from(m.GeneratedDocument)
            .where(m.GeneratedDocument.batch_id == batch_id, m.GeneratedDocument.kind == KIND)
        )
    assert len(changes) == letters
    # Rendering again records the new template by its digest; rolling back is a change again.
    batch_id = start_batch(runtime.sessions, RecordingQueue(), meeting_id=meeting_id)
    with runtime.sessions() as session:
        new_ids = list(
            session.scalars(
                select(m.GeneratedDocument.id).where(m.GeneratedDocument.batch_id == batch_id)
            )
        )
    render_here(runtime, new_ids)
    with runtime.sessions() as session:
        version_sha = session.scalars(select(m.TemplateVersion.sha256)).one()
        recorded = session.scalars(
            select(m.DocumentTemplate.sha256)
            .join(m.GeneratedDocument, m.GeneratedDocument.template_id == m.DocumentTemplate.id)
            .where(m.GeneratedDocument.batch_id == batch_id, m.GeneratedDocument.kind == KIND)
        ).all()
    assert recorded and set(recorded) == {version_sha}
    assert (
        plan_regeneration(runtime.sessions, templates_dir, meeting_ids=[meeting_id]).changes == []
    )
    set_active(runtime, None)
    assert plan_regeneration(runtime.sessions, templates_dir, meeting_ids=[meeting_id]).changes


def test_a_syntax_error_is_reported_with_its_location_and_cannot_be_activated(
    runtime: Runtime, sample: object
) -> None:
    meeting_id, org_id = ids(runtime)
    version = upload(runtime, letter_with("{{ organisation.name }}", "{{ organisation.name }"))
    assert has_errors(version.report)
    (problem,) = version.report
    assert problem["location"] == "word/document.xml, paragraph 6", problem
    assert "organisation.name" in problem["message"] or "}" in problem["message"]
    with pytest.raises(ActivationRefusedError), unit_of_work(runtime.sessions) as session:
        activate(session, kind=KIND, number=version.number, activated_by="Anna", now=NOW)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.ActiveTemplate)) == 0
    with pytest.raises(ActivationRefusedError):
        preview(
            runtime.sessions,
            files=runtime.files,
            templates=runtime.templates,
            kind=KIND,
            number=version.number,
        )
    assert letter_text(runtime, org_id, meeting_id)  # the built-in still renders


def test_an_unknown_variable_is_reported_and_numbers_go_on(
    runtime: Runtime, sample: object
) -> None:
    good = upload(runtime, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    bad = upload(runtime, letter_with("{{ organisation.name }}", "{{ organisation.nme }}"))
    assert (good.number, bad.number) == (1, 2)
    assert [p["severity"] for p in bad.report] == ["error"]
    assert "organisation.nme" in bad.report[0]["message"]
    same = upload(runtime, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    assert same.number == 3 and not has_errors(same.report)
    assert "version 1" in same.report[0]["message"]


def _zip_bomb() -> bytes:
    return letter_with(
        ANCHOR, ANCHOR, extra={"word/media/padding.xml": b"<a/>" + b" " * 60_000_000}
    )


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (
            lambda: letter_with(ANCHOR, ANCHOR, extra={"word/vbaProject.bin": b"x" * 100}),
            "brev.docx",
            "makro",
        ),
        (_zip_bomb, "brev.docx", "packa"),
        (lambda: LETTER.with_name("agenda.docx").read_bytes(), "brev.pptx", ""),
        (
            lambda: (PROJECT_ROOT / "doc_templates" / "checklist.xlsx").read_bytes(),
            "brev.xlsx",
            "Word",
        ),
        (lambda: b"<script>alert(1)</script> {{ 7*7 }}", "brev.docx", ""),
    ],
    ids=["macros", "zip-bomb", "named-as-pptx", "workbook", "markup"],
)
def test_a_refused_file_stores_nothing_and_says_why_in_swedish(
    runtime: Runtime, sample: object, data: object, name: str, words: str
) -> None:
    with pytest.raises(FileRejectedError) as refused:
        upload(runtime, data(), name)  # type: ignore[operator]
    text = " ".join(problem.render(Language.SV) for problem in refused.value.problems)
    assert words.casefold() in text.casefold()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.TemplateVersion)) == 0
    assert not (runtime.settings.file_store_dir / "templates").exists()


def test_a_preview_renders_the_candidate_for_the_first_organisation(
    runtime: Runtime, sample: object
) -> None:
    version = upload(runtime, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    shown = preview(
        runtime.sessions,
        files=runtime.files,
        templates=runtime.templates,
        kind=KIND,
        number=version.number,
    )
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(shown.data)).paragraphs)
    assert SENTENCE in text
    assert shown.organisation is not None and shown.organisation in text
    assert runtime.files.get(shown.file_key) == shown.data
    # A preview does not activate anything.
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.ActiveTemplate)) == 0


def test_the_command_line_uploads_activates_and_rolls_back(
    runtime: Runtime, sample: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in settings_environment(runtime.settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        good = tmp_path / "brev.docx"
        good.write_bytes(letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
        bad = tmp_path / "trasig.docx"
        bad.write_bytes(letter_with("{{ organisation.name }}", "{{ organisation.name }"))
        cli = CliRunner()
        result = cli.invoke(app, ["templates", "upload", str(good), "--kind", KIND.value])
        assert result.exit_code == 0, result.output
        assert "version 1 stored; it can be activated" in result.output
        result = cli.invoke(app, ["templates", "upload", str(bad), "--kind", KIND.value])
        assert result.exit_code == 1
        assert "error: word/document.xml, paragraph 6: unexpected '}'" in result.output
        result = cli.invoke(app, ["templates", "activate", KIND.value, "2"])
        assert result.exit_code != 0
        result = cli.invoke(app, ["templates", "activate", KIND.value, "1"])
        assert result.exit_code == 0, result.output
        meeting_id, org_id = ids(runtime)
        assert SENTENCE in letter_text(runtime, org_id, meeting_id)
        result = cli.invoke(app, ["templates", "list"])
        assert f"{KIND.value}: version 1; versions: 2 (errors), 1" in result.output
        result = cli.invoke(app, ["templates", "activate", KIND.value, "built-in"])
        assert result.exit_code == 0, result.output
        assert SENTENCE not in letter_text(runtime, org_id, meeting_id)
    finally:
        get_settings.cache_clear()


def test_a_real_worker_renders_with_the_version_active_when_it_renders(
    client: TestClient,
    runtime: Runtime,
    sample: object,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    meeting_id, org_id = ids(runtime)
    start_worker(concurrency=1)

    def letter_from_worker() -> str:
        batch = client.post(
            f"/api/v1/meetings/{meeting_id}/batches",
            json={"kinds": [KIND.value], "organisation_ids": [org_id]},
        ).json()
        wait_until(batch_complete(runtime, batch["id"]), what="the batch to finish")
        with runtime.sessions() as session:
            key = session.scalars(
                select(m.GeneratedDocument.file_key).where(
                    m.GeneratedDocument.batch_id == batch["id"]
                )
            ).one()
        assert key is not None
        data = runtime.files.get(key)
        return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)

    assert SENTENCE not in letter_from_worker()
    upload(runtime, letter_with(ANCHOR, f"{ANCHOR} {SENTENCE}"))
    set_active(runtime, 1)
    assert SENTENCE in letter_from_worker()
    set_active(runtime, None)
    assert SENTENCE not in letter_from_worker()
