"""``benchdocs templates check``: the shipped templates, broken copies, LibreOffice re-saves."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from typer.testing import CliRunner, Result

from service.cli.templates import check_template, sample_contexts, templates_app
from service.database.facts.loaders import LOADERS
from service.database.facts.organiser_checklist import load_organiser_checklist_facts
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.documents.organiser_checklist import build_organiser_checklist_context
from service.domain.kinds import DocumentKind
from service.engines.pptx_engine import PptxTemplate
from tests.conftest import CHILD_TIMEOUT, require_tools

pytestmark = pytest.mark.integration

TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"
DECK = TEMPLATES / "deck_benchmarking.pptx"
ORGANISER_CHECKLIST = TEMPLATES / "organiser_checklist.pptx"
# Not in the catalogue yet: the lead registers it; the test builds its spec here.
ORGANISER_CHECKLIST_SPEC = DocumentSpec(
    kind=DocumentKind.ORGANISER_CHECKLIST,
    title="Checklista för benchmarkingträffar",
    template_file=ORGANISER_CHECKLIST.name,
    per_organisation=False,
    build_context=build_organiser_checklist_context,
    offers_pdf=True,
)


def check(*args: str) -> Result:
    return CliRunner().invoke(templates_app, ["check", *args])


def edited_deck(tmp_path: Path, edit: Any) -> Path:
    """A copy of the shipped deck, changed by ``edit(presentation)``, under the same name."""
    prs = Presentation(str(DECK))
    edit(prs)
    path = tmp_path / DECK.name
    prs.save(str(path))
    return path


def shape(slide: Any, name: str) -> Any:
    return next(s for s in slide.shapes if s.name == name)


def test_the_shipped_deck_checks_clean() -> None:
    result = check(str(DECK))

    assert result.exit_code == 0, result.output
    assert "deck_benchmarking.pptx: no problems (kind 'deck')" in result.stdout


def test_an_unknown_variable_and_a_broken_tag_are_both_reported_in_one_run(
    tmp_path: Path,
) -> None:
    def break_it(prs: Any) -> None:
        prs.slides[0].shapes.title.text_frame.text = "{{ meeting.title "
        shape(prs.slides[2], "Organisation").table.cell(0, 1).text = "{{ organisation.nme }}"

    result = check(str(edited_deck(tmp_path, break_it)))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "slide 1, shape 'Title 1', paragraph 1: unexpected end of template, expected "
        "'end of print statement'.",
        "slide 3, shape 'Organisation', row 1, cell 2, paragraph 1: unknown variable "
        "'organisation.nme': 'organisation' has no 'nme' (did you mean 'name'?)",
    ]
    assert "2 problem(s) in deck_benchmarking.pptx" in result.stderr


def test_an_unknown_key_of_a_row_loops_items_is_reported(tmp_path: Path) -> None:
    def break_it(prs: Any) -> None:
        table = shape(prs.slides[1], "Delegation").table
        assert table.cell(1, 0).text == "{%tr for p in delegation %}"
        table.cell(2, 1).text = "{{ p.nme }}"

    result = check(str(edited_deck(tmp_path, break_it)), "--kind", "deck")

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "slide 2, shape 'Delegation', row 3, cell 2, paragraph 1: unknown variable 'p.nme': "
        "the items of 'delegation' have no 'nme' (did you mean 'name'?)"
    ]


def test_a_chart_name_on_a_text_box_is_found_by_loading_the_template(tmp_path: Path) -> None:
    def break_it(prs: Any) -> None:
        shape(prs.slides[1], "Kontaktperson").name = "chart:area_chart"

    result = check(str(edited_deck(tmp_path, break_it)))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "slide 2, shape 'chart:area_chart': shape named 'chart:…' is not a chart"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "deck"], "error: bad.pptx: not a readable pptx file"),
        ([], "error: bad.pptx: no document kind uses a template of this name; pass --kind"),
        (["--kind", "dekc"], "error: document kind 'dekc' is unknown (known: deck"),
    ],
)
def test_what_cannot_be_checked_exits_2_with_a_precise_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    path = tmp_path / "bad.pptx"
    path.write_bytes(b"%PDF-1.4 not a presentation")

    result = check(str(path), *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_missing_file_or_an_unknown_format_exits_2(tmp_path: Path) -> None:
    missing = check(str(tmp_path / "nothing.pptx"))
    (tmp_path / "mall.odp").write_bytes(b"x")
    other = check(str(tmp_path / "mall.odp"), "--kind", "deck")

    assert missing.exit_code == 2
    assert "nothing.pptx: cannot read the file" in missing.stderr
    assert other.exit_code == 2
    assert "mall.odp: cannot check '.odp' files (known: " in other.stderr


def test_the_organiser_checklist_checks_clean_against_its_sample_context() -> None:
    problems = check_template(
        ORGANISER_CHECKLIST.read_bytes(),
        name=ORGANISER_CHECKLIST.name,
        spec=ORGANISER_CHECKLIST_SPEC,
        loader=load_organiser_checklist_facts,
    )

    assert problems == []


# -- templates saved again by LibreOffice ---------------------------------------------------


@pytest.fixture(scope="module")
def resaved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deck and the organiser checklist, opened and saved again by LibreOffice."""
    require_tools("soffice")
    work = tmp_path_factory.mktemp("resaved")
    (work / "in").mkdir()
    for template in (DECK, ORGANISER_CHECKLIST):
        shutil.copy(template, work / "in" / template.name)
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{work}/lo",
            "--convert-to",
            "pptx",
            "--outdir",
            str(work / "out"),
            str(work / "in" / DECK.name),
            str(work / "in" / ORGANISER_CHECKLIST.name),
        ],
        check=True,
        capture_output=True,
        timeout=CHILD_TIMEOUT,
    )
    return work / "out"


def slide_1_texts(data: bytes) -> list[str]:
    slide = Presentation(io.BytesIO(data)).slides[0]
    return [p.text for s in slide.shapes if s.has_text_frame for p in s.text_frame.paragraphs]


def test_a_deck_saved_by_libreoffice_still_checks_clean_and_renders(resaved: Path) -> None:
    path = resaved / DECK.name
    assert path.read_bytes() != DECK.read_bytes()

    result = check(str(path))
    contexts = sample_contexts(CATALOGUE[DocumentKind.DECK], LOADERS[DocumentKind.DECK])
    rendered = PptxTemplate.from_bytes(path.read_bytes(), name=path.name).render(
        contexts["Askersunds kommun"]
    )

    assert result.exit_code == 0, result.output
    assert "Askersunds kommun" in slide_1_texts(rendered)


def test_an_organiser_checklist_saved_by_libreoffice_still_checks_clean_and_renders(
    resaved: Path,
) -> None:
    path = resaved / ORGANISER_CHECKLIST.name
    data = path.read_bytes()

    problems = check_template(
        data, name=path.name, spec=ORGANISER_CHECKLIST_SPEC, loader=load_organiser_checklist_facts
    )
    (context,) = sample_contexts(ORGANISER_CHECKLIST_SPEC, load_organiser_checklist_facts).values()
    rendered = PptxTemplate.from_bytes(data, name=path.name).render(context)

    assert problems == []
    assert any("Södertälje kommun" in text for text in slide_1_texts(rendered))
