"""The agenda, feedback letter and feedback summary: contexts from facts, rendered and read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from docxtpl import DocxTemplate as DocxtplTemplate
from jinja2.sandbox import SandboxedEnvironment

from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    InitiativeFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
    PlanActivityFacts,
    RoundFacts,
)
from service.documents.meeting_documents import (
    AgendaFacts,
    AgendaItemFacts,
    FeedbackLetterFacts,
    FeedbackSummaryFacts,
    MeetingOutlineFacts,
    NetworkFacts,
    TransferableFacts,
    build_agenda_context,
    build_feedback_letter_context,
    build_feedback_summary_context,
    mentions_organisation,
    organisation_aliases,
)
from service.domain.movement import QuestionRef, Scale
from service.engines.docx_engine import DocxTemplate
from tests.conftest import CHILD_TIMEOUT

TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"
HOSTILE = 'Åbo & Söner <AB> "citat" {{ 7*7 }} {% for x in y %} 👩‍💼'

# -- builders -------------------------------------------------------------------------------


def person(name: str, role: str, title: str | None = None) -> PersonFacts:
    return PersonFacts(name, role, title=title, email=f"{name.split()[0].lower()}@x.example")


def organisation(name: str, **overrides: Any) -> OrganisationFacts:
    values: dict[str, Any] = {
        "name": name,
        "programme_role": "benchmarkingorganisation",
        "group_name": "Grupp Bergslagen",
        "contact": person("Sofia Lindqvist", "strateg", "utvecklingsstrateg"),
        "delegation": (
            person("Sofia Lindqvist", "strateg", "utvecklingsstrateg"),
            person("Jonas Berg", "politiker", "kommunalråd"),
            person("Ahmed Karimi", "controller"),
        ),
    }
    return OrganisationFacts(**{**values, **overrides})


def meeting(number: int = 2, **overrides: Any) -> MeetingFacts:
    values: dict[str, Any] = {
        "title": f"Benchmarking {number}",
        "number": number,
        "date": dt.date(2019, 9, 26),
        "upload_deadline": dt.date(2019, 9, 19),
        "theme": "Systematiskt förbättringsarbete",
        "start_time": dt.time(9, 30),
        "end_time": dt.time(16, 30),
        "place": "Södertälje",
        "venue": "Stadshuset",
        "checklist_tab": f"BM {number}",
    }
    return MeetingFacts(**{**values, **overrides})


HOST = organisation("Södertälje kommun", contact=person("Camilla Nyström", "strateg", "strateg MR"))
ASKERSUND = organisation("Askersunds kommun")
OUTLINE = MeetingOutlineFacts(
    meeting=meeting(),
    host=HOST,
    goals=("Idéer att ta med hem", "En plan för fortsättningen"),
    preparations=("Gemensam självskattning (fliken BM 2)", "Se filmen"),
)
NEXT = MeetingOutlineFacts(
    meeting=meeting(
        3,
        date=dt.date(2019, 11, 21),
        upload_deadline=dt.date(2019, 11, 14),
        theme="Följa upp och analysera resultaten",
        place="Karlstad",
    ),
    host=organisation("Region Värmland"),
)
NETWORK = NetworkFacts("Modellkommuner 2019", "SKR", "Projektplatsen")
ITEMS = (
    AgendaItemFacts("Kaffe och registrering", dt.time(9, 30), dt.time(10), "Södertälje kommun"),
    AgendaItemFacts(
        "Presentationer del 1: Askersund, Fagersta", dt.time(10), dt.time(11), "Strateger"
    ),
    AgendaItemFacts("Lunch", dt.time(12), dt.time(13), "Södertälje kommun", "paus"),
    AgendaItemFacts("Askersunds idéer", dt.time(13), dt.time(14), "Region Värmland"),
    AgendaItemFacts("Fika", dt.time(15), dt.time(15, 15), None, "paus"),
)


def make_agenda_facts(**overrides: Any) -> AgendaFacts:
    values: dict[str, Any] = {
        "network": NETWORK,
        "outline": OUTLINE,
        "items": ITEMS,
        "organisations": (HOST, ASKERSUND),
        "highlight": None,
    }
    return AgendaFacts(**{**values, **overrides})


def make_letter_facts(**overrides: Any) -> FeedbackLetterFacts:
    checklist = ChecklistFacts(
        scale=Scale(1, 3),
        areas=(AreaFacts("A1", "Politisk styrning"), AreaFacts("A2", "Uppföljning")),
        questions=(QuestionRef("Q1", "A1"), QuestionRef("Q2", "A1"), QuestionRef("Q3", "A2")),
        question_texts={"Q1": "Beslut", "Q2": "Resultat", "Q3": "Uppföljning per kön"},
    )
    values: dict[str, Any] = {
        "network": NETWORK,
        "outline": OUTLINE,
        "organisation": ASKERSUND,
        "letter_date": dt.date(2019, 9, 26),
        "checklist": checklist,
        "previous_round": RoundFacts("BM 1", {"Q1": 2, "Q2": 1, "Q3": 2}),
        "current_round": RoundFacts("BM 2", {"Q1": 2, "Q2": 2, "Q3": 3}, {"Q3": "Ny rutin"}),
        "initiatives": (
            InitiativeFacts("Könsuppdelad statistik", status="genomförd", results="92 %"),
        ),
        "ideas": ("Ta efter Hedemoras analysmall",),
        "own_transferable": (
            TransferableFacts("Askersunds kommun", "Könsuppdelad statistik", ("Bolagen",)),
        ),
        "others_transferable": (TransferableFacts("Hedemora kommun", "Analysstöd", ()),),
        "plan": (
            PlanActivityFacts(
                "Analysmall", person("Ahmed Karimi", "controller"), dt.date(2019, 11, 15)
            ),
        ),
        "next_meeting": NEXT,
    }
    return FeedbackLetterFacts(**{**values, **overrides})


def make_summary_facts(**overrides: Any) -> FeedbackSummaryFacts:
    values: dict[str, Any] = {
        "network": NETWORK,
        "outline": OUTLINE,
        "organisations": (
            organisation("Hedemora kommun", programme_role="mentor"),
            ASKERSUND,
            HOST,
        ),
        "author": HOST,
        "sent_to": "SKR:s processledare",
        "plus": ("Konkreta resultat",),
        "minus": ("För lite tid",),
        "interesting": ("Kvartalsvis uppföljning",),
        "ideas_per_organisation": (("Askersunds kommun", ("Analysmall", "Kolada")),),
        "next_meeting": NEXT,
    }
    return FeedbackSummaryFacts(**{**values, **overrides})


def empty_agenda() -> AgendaFacts:
    return make_agenda_facts(
        outline=MeetingOutlineFacts(meeting(theme=None, start_time=None, end_time=None)),
        items=(),
        organisations=(),
    )


def empty_letter() -> FeedbackLetterFacts:
    return FeedbackLetterFacts(
        network=NetworkFacts("Nätverket"),
        outline=MeetingOutlineFacts(meeting()),
        organisation=OrganisationFacts("Askersunds kommun"),
        letter_date=dt.date(2019, 9, 26),
        checklist=None,
        previous_round=None,
        current_round=None,
    )


def empty_summary() -> FeedbackSummaryFacts:
    return FeedbackSummaryFacts(
        network=NetworkFacts("Nätverket"),
        outline=MeetingOutlineFacts(meeting()),
        organisations=(),
    )


DOCUMENTS: dict[
    str, tuple[Callable[[Any], dict[str, Any]], Callable[[], Any], Callable[[], Any]]
] = {
    "agenda.docx": (build_agenda_context, make_agenda_facts, empty_agenda),
    "feedback_letter.docx": (build_feedback_letter_context, make_letter_facts, empty_letter),
    "feedback_summary.docx": (build_feedback_summary_context, make_summary_facts, empty_summary),
}


def render(file_name: str, context: dict[str, Any]) -> Any:
    template = DocxTemplate.from_bytes((TEMPLATES / file_name).read_bytes(), name=file_name)
    return docx.Document(io.BytesIO(template.render(context)))


def all_texts(doc: Any) -> list[str]:
    texts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            texts.extend(cell.text for cell in row.cells)
    for section in doc.sections:
        texts.extend(p.text for p in section.header.paragraphs)
        texts.extend(p.text for p in section.footer.paragraphs)
    return texts


def table_after(doc: Any, heading: str) -> Any:
    """The first table after the heading paragraph with this text."""
    body = doc.element.body
    start = next(p._p for p in doc.paragraphs if p.text == heading)
    for element in start.itersiblings():
        if element.tag == qn("w:tbl"):
            return next(t for t in doc.tables if t._tbl is element)
    raise AssertionError(f"no table after {heading!r} in {body}")


def rows_of(table: Any) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


# -- highlighting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "aliases"),
    [
        ("Askersunds kommun", ("Askersunds kommun", "Askersunds", "Askersund")),
        ("Region Värmland", ("Region Värmland", "Värmland")),
        ("Hällefors kommun", ("Hällefors kommun", "Hällefors", "Hällefor")),
        ("Västra Götalandsregionen", ("Västra Götalandsregionen",)),
    ],
)
def test_an_organisation_is_also_known_by_its_short_name(
    name: str, aliases: tuple[str, ...]
) -> None:
    assert organisation_aliases(name) == aliases


@pytest.mark.parametrize(
    ("text", "name", "mentioned"),
    [
        ("Presentationer del 1: Askersund, Fagersta", "Askersunds kommun", True),
        ("Ta efter Askersunds mall", "Askersunds kommun", True),
        ("Region Värmland (värd BM 3)", "Region Värmland", True),
        ("Pröva Värmlands uppföljning", "Region Värmland", True),
        ("Mentorer (Hedemora, Norrtälje)", "Mora kommun", False),
        ("Askersundsvägen 3", "Askersunds kommun", False),
        ("Lunch", "Askersunds kommun", False),
    ],
)
def test_a_text_mentions_an_organisation_by_any_of_its_names(
    text: str, name: str, mentioned: bool
) -> None:
    assert mentions_organisation(text, name) is mentioned


def test_the_agenda_marks_the_rows_that_name_the_highlighted_organisation() -> None:
    context = build_agenda_context(make_agenda_facts(highlight=ASKERSUND))

    assert [row["highlighted"] for row in context["programme"]] == [
        False,
        True,
        False,
        True,
        False,
    ]
    assert context["highlight"] == "Askersunds kommun"


def test_the_meeting_agenda_marks_no_rows() -> None:
    context = build_agenda_context(make_agenda_facts())

    assert not any(row["highlighted"] for row in context["programme"])
    assert context["highlight"] is None


# -- contexts -------------------------------------------------------------------------------


def test_the_agenda_context_is_display_ready_swedish() -> None:
    context = build_agenda_context(make_agenda_facts())

    assert context["meeting"]["date"] == "26 september 2019"
    assert context["meeting"]["weekday"] == "torsdag"
    assert context["meeting"]["full_title"] == "Benchmarking 2: Systematiskt förbättringsarbete"
    assert [row["time"] for row in context["programme"]][:2] == ["09.30–10.00", "10.00–11.00"]
    assert context["practical"]["breaks"] == "Lunch 12.00–13.00, Fika 15.00–15.15"
    assert context["organisations"][1]["delegation"] == (
        "Politiker: Jonas Berg, kommunalråd\n"
        "Strateg: Sofia Lindqvist, utvecklingsstrateg\n"
        "Controller: Ahmed Karimi"
    )


def test_missing_facts_become_visible_placeholders() -> None:
    agenda = build_agenda_context(empty_agenda())
    summary = build_feedback_summary_context(empty_summary())

    assert agenda["goals"] == ["[Fyll i träffens mål]"]
    assert agenda["host"]["name"] == "[Fyll i värd]"
    assert summary["plus"] == ["[Fyll i vad som fungerade bra]"]
    assert summary["next_meeting"] is None


def test_the_letter_shows_the_movement_between_rounds() -> None:
    movement = build_feedback_letter_context(make_letter_facts())["movement"]

    assert (movement["previous_sum"], movement["current_sum"], movement["max_sum"]) == (
        "5",
        "7",
        "9",
    )
    assert movement["delta"] == "+2"
    assert movement["areas"] == [
        {"name": "Politisk styrning", "previous": "1,50", "current": "2,00", "delta": "+0,50"},
        {"name": "Uppföljning", "previous": "2,00", "current": "3,00", "delta": "+1,00"},
    ]
    assert [(q["number"], q["text"], q["change"], q["comment"]) for q in movement["changed"]] == [
        ("2", "Resultat", "1 → 2 (+1)", ""),
        ("3", "Uppföljning per kön", "2 → 3 (+1)", "Ny rutin"),
    ]


def test_a_letter_without_a_previous_round_shows_dashes() -> None:
    movement = build_feedback_letter_context(make_letter_facts(previous_round=None))["movement"]

    assert (movement["previous_sum"], movement["current_sum"], movement["delta"]) == (
        "–",
        "7",
        "–",
    )
    assert movement["changed"] == []


# -- the templates' contract ----------------------------------------------------------------


@pytest.mark.parametrize("file_name", list(DOCUMENTS))
@pytest.mark.parametrize("variant", ["full", "empty"])
def test_every_variable_of_a_template_is_provided_by_its_context_builder(
    file_name: str, variant: str
) -> None:
    build, full, empty = DOCUMENTS[file_name]
    context = build(full() if variant == "full" else empty())
    path = TEMPLATES / file_name
    docxtpl_names = DocxtplTemplate(path).get_undeclared_template_variables(
        jinja_env=SandboxedEnvironment()
    )
    engine_names = DocxTemplate.from_bytes(path.read_bytes(), name=file_name).variables

    assert docxtpl_names <= context.keys()
    assert engine_names <= context.keys()


@pytest.mark.parametrize("file_name", list(DOCUMENTS))
def test_each_template_renders_without_facts_and_leaves_no_tags(file_name: str) -> None:
    build, _, empty = DOCUMENTS[file_name]

    texts = all_texts(render(file_name, build(empty())))

    assert not [t for t in texts if "{{" in t or "{%" in t]


@pytest.mark.parametrize("file_name", list(DOCUMENTS))
def test_hostile_data_prints_as_typed_in_each_template(file_name: str) -> None:
    build, full, _ = DOCUMENTS[file_name]
    facts = full()
    outline = dataclasses.replace(facts.outline, goals=(HOSTILE,), meeting=meeting(place=HOSTILE))

    texts = all_texts(render(file_name, build(dataclasses.replace(facts, outline=outline))))

    assert any(HOSTILE in t for t in texts)
    assert not [t for t in texts if ("{{" in t or "{%" in t) and HOSTILE not in t]


def test_the_agenda_highlights_exactly_the_rows_naming_the_organisation() -> None:
    result = render("agenda.docx", build_agenda_context(make_agenda_facts(highlight=ASKERSUND)))

    programme = table_after(result, "Program")
    shaded = [
        any(
            (shd := cell._tc.tcPr.find(qn("w:shd"))) is not None and shd.get(qn("w:fill")) != "auto"
            for cell in row.cells
        )
        for row in programme.rows[1:]
    ]
    bold = [bool(row.cells[1].paragraphs[0].runs[0].bold) for row in programme.rows[1:]]
    assert shaded == bold == [False, True, False, True, False]
    assert any("Agenda för Askersunds kommun" in t for t in all_texts(result))


def test_the_meeting_agenda_has_no_highlight_note() -> None:
    result = render("agenda.docx", build_agenda_context(make_agenda_facts()))

    assert not [t for t in all_texts(result) if t.startswith("Agenda för")]
    assert [row[0] for row in rows_of(table_after(result, "Program"))] == [
        "Tid",
        "09.30–10.00",
        "10.00–11.00",
        "12.00–13.00",
        "13.00–14.00",
        "15.00–15.15",
    ]


# -- LibreOffice ----------------------------------------------------------------------------

needs_libreoffice = pytest.mark.needs_tools("soffice", "pdftotext")


def convert(files: list[Path], *, to: str, out: Path, profile: Path) -> None:
    """Convert with a cold LibreOffice of its own (a private profile), or fail."""
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{profile}",
            "--convert-to",
            to,
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=CHILD_TIMEOUT,
    )


@needs_libreoffice
def test_libreoffice_turns_each_document_into_a_pdf_with_its_title(tmp_path: Path) -> None:
    titles = {
        "agenda.docx": "Agenda – Benchmarking 2: Systematiskt förbättringsarbete",
        "feedback_letter.docx": "Återkoppling efter Benchmarking 2",
        "feedback_summary.docx": "Plus – Minus – Intressant",
    }
    sources = []
    for file_name, (build, full, _) in DOCUMENTS.items():
        template = DocxTemplate.from_bytes((TEMPLATES / file_name).read_bytes(), name=file_name)
        sources.append(tmp_path / file_name)
        sources[-1].write_bytes(template.render(build(full())))

    convert(sources, to="pdf", out=tmp_path / "pdf", profile=tmp_path / "profile")

    for file_name, title in titles.items():
        pdf = tmp_path / "pdf" / file_name.replace(".docx", ".pdf")
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert title in " ".join(text.split())


@needs_libreoffice
def test_templates_saved_again_by_libreoffice_still_render(tmp_path: Path) -> None:
    originals = []
    for file_name in DOCUMENTS:
        originals.append(tmp_path / "in" / file_name)
        originals[-1].parent.mkdir(exist_ok=True)
        originals[-1].write_bytes((TEMPLATES / file_name).read_bytes())

    convert(originals, to="docx", out=tmp_path / "out", profile=tmp_path / "profile")

    def render_saved(file_name: str, context: dict[str, Any]) -> Any:
        saved = (tmp_path / "out" / file_name).read_bytes()
        return docx.Document(
            io.BytesIO(DocxTemplate.from_bytes(saved, name=file_name).render(context))
        )

    agenda = render_saved(
        "agenda.docx", build_agenda_context(make_agenda_facts(highlight=ASKERSUND))
    )
    assert [row[1] for row in rows_of(table_after(agenda, "Program"))][1:] == [
        item.item for item in ITEMS
    ]
    letter = render_saved(
        "feedback_letter.docx", build_feedback_letter_context(make_letter_facts())
    )
    assert any("5 → 7 av 9 (+2)" in t for t in all_texts(letter))
    summary = render_saved(
        "feedback_summary.docx", build_feedback_summary_context(make_summary_facts())
    )
    texts = all_texts(summary)
    for expected in ("Konkreta resultat", "För lite tid", "Kvartalsvis uppföljning"):
        assert expected in texts
    for doc in (agenda, letter, summary):
        assert not [t for t in all_texts(doc) if "{{" in t or "{%" in t]


def test_a_networks_letters_share_one_index_of_names_whose_lowered_targets_are_the_plain_ones() -> (
    None
):
    from service.documents.blocks import ProperNames, lower_initial
    from service.documents.meeting_documents import _aliases

    names = ["Askersunds kommun", "Region Värmland", "Fagersta kommun"]
    index = _aliases(frozenset(names))
    assert _aliases(frozenset(reversed(names))) is index  # every letter of the network
    assert isinstance(index, ProperNames)
    for text in ["Alla nämnder", "Askersund och Fagersta", "Värmlands kommuner", "LSS", ""]:
        assert index.lower_initial(text) == lower_initial(text, index)
        assert index.lower_initial(text) == lower_initial(text, index)  # remembered: the same
    assert index.lower_initial("Alla nämnder") == "alla nämnder"
    assert index.lower_initial("Askersund och Fagersta") == "Askersund och Fagersta"
