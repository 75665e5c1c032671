"""The organiser's meeting checklist: its context from plain facts, and its template rendered."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation

from service.documents.facts import MeetingFacts, PersonFacts
from service.documents.organiser_checklist import (
    ChecklistItemFacts,
    OrganisationStatusFacts,
    OrganiserChecklistFacts,
    build_organiser_checklist_context,
    delegation_status,
)
from service.engines.pptx_engine import PptxTemplate, pptx_spots
from service.engines.template_check import check_spots

TEMPLATE = Path(__file__).resolve().parents[2] / "doc_templates" / "organiser_checklist.pptx"
HOSTILE = 'Åbo & Söner <AB> "citat" {{ 7*7 }} {% for x in y %} 👩‍💼🚀'


def make_meeting(**overrides: Any) -> MeetingFacts:
    values: dict[str, Any] = {
        "title": "Benchmarking 2",
        "number": 2,
        "date": dt.date(2019, 9, 26),
        "upload_deadline": dt.date(2019, 9, 19),
        "theme": "Systematiskt förbättringsarbete",
        "start_time": dt.time(9, 30),
        "end_time": dt.time(16, 30),
        "place": "Södertälje",
        "venue": "Stadshuset",
    }
    values.update(overrides)
    return MeetingFacts(**values)


def make_facts(**overrides: Any) -> OrganiserChecklistFacts:
    """A meeting without its own checklist, three organisations, a next meeting."""
    values: dict[str, Any] = {
        "network_name": "Modellkommuner 2019",
        "meeting": make_meeting(),
        "organiser": "SKR",
        "project_platform": "Projektplatsen",
        "host_name": "Södertälje kommun",
        "mentor_names": ("Hedemora kommun", "Norrtälje kommun"),
        "round_label": "BM 2",
        "organisations": (
            OrganisationStatusFacts(
                "Hedemora kommun",
                roles=("politiker", "chef", "strateg"),
                self_assessment_submitted=True,
                contact=PersonFacts("Lena Holm", "strateg", email="lena@hedemora.example"),
                special_needs=(("Lena Holm", "Hörselslinga"), ("Per Ek", "Vegetarisk kost")),
            ),
            OrganisationStatusFacts("Kalmar kommun", roles=("chef", "controller")),
            OrganisationStatusFacts(HOSTILE, roles=("politiker", "chef")),
        ),
        "next_meeting": make_meeting(
            title="Benchmarking 3", number=3, date=dt.date(2019, 11, 21), place="Karlstad"
        ),
    }
    values.update(overrides)
    return OrganiserChecklistFacts(**values)


def by_text(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["text"]: row for row in rows}


# -- context --------------------------------------------------------------------------------


def test_without_own_items_the_default_list_has_deadlines_from_the_meeting_date() -> None:
    context = build_organiser_checklist_context(make_facts())

    before = by_text(context["before"])
    invitation = next(r for t, r in before.items() if t.startswith("Inbjudan med agenda"))
    assert invitation["due"] == "12 september 2019"  # two weeks before
    uploads = next(r for t, r in before.items() if t.startswith("Presentationerna uppladdade"))
    assert uploads["due"] == "19 september 2019"  # the meeting's upload deadline
    assert uploads["responsible"] == "Varje organisation"
    assert {r["due"] for r in context["during"]} == {"26 september 2019"}
    feedback = by_text(context["after"])["Återkoppla till SKR: Plus – Minus – Intressant"]
    assert feedback["due"] == "10 oktober 2019"  # two weeks after
    assert context["uses_default_items"] is True
    assert all(r["done"] == "☐" for phase in ("before", "during", "after") for r in context[phase])


def test_default_items_name_the_host_and_the_next_meeting() -> None:
    context = build_organiser_checklist_context(make_facts())

    assert by_text(context["before"])["Möjlighet att delta digitalt"]["responsible"] == (
        "Södertälje kommun"
    )
    texts = [r["text"] for r in context["during"]]
    assert "Planera in nästa benchmarkingträff (Benchmarking 3, 21 november 2019)" in texts
    assert any("mappen ”Benchmarking 2”" in r["text"] for r in context["after"])


def test_the_upload_deadline_follows_an_overridden_meeting_deadline() -> None:
    facts = make_facts(meeting=make_meeting(upload_deadline=dt.date(2019, 9, 16)))

    context = build_organiser_checklist_context(facts)

    uploads = [r for r in context["before"] if r["text"].startswith("Presentationerna")]
    assert uploads[0]["due"] == "16 september 2019"
    assert context["meeting"]["upload_deadline"] == "16 september 2019"


def test_own_items_replace_the_defaults_and_their_own_due_date_wins() -> None:
    items = (
        ChecklistItemFacts("before", "Inbjudan skickad", done=True),
        ChecklistItemFacts(
            "before",
            "Inbjudan till politikerna",
            done=False,
            due_date=dt.date(2019, 9, 1),
            responsible="Kommunstaben",
        ),
        ChecklistItemFacts("during", "Värd/mentor håller i mötet", done=None),
        ChecklistItemFacts("after", "Återkoppla till SKR", done=None),
        ChecklistItemFacts("after", "Fika till projektgruppen", done=True),
    )

    context = build_organiser_checklist_context(make_facts(items=items))

    assert context["before"] == [
        {"done": "☑", "text": "Inbjudan skickad", "responsible": "", "due": "12 september 2019"},
        {
            "done": "☐",
            "text": "Inbjudan till politikerna",
            "responsible": "Kommunstaben",
            "due": "1 september 2019",
        },
    ]
    assert context["during"] == [
        {
            "done": "☐",
            "text": "Värd/mentor håller i mötet",
            "responsible": "",
            "due": "26 september 2019",
        }
    ]
    assert [(r["done"], r["due"]) for r in context["after"]] == [
        ("☐", "10 oktober 2019"),
        ("☑", ""),
    ]
    assert context["uses_default_items"] is False


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        (("strateg", "chef", "politiker", "controller"), "komplett"),
        (("chef", "strateg"), "saknar politiker"),
        (("politiker",), "saknar chef och strateg"),
        ((), "saknar politiker, chef och strateg"),
    ],
)
def test_delegation_status_names_the_missing_roles(roles: tuple[str, ...], status: str) -> None:
    assert delegation_status(roles) == status


def test_status_per_organisation_is_display_ready() -> None:
    context = build_organiser_checklist_context(make_facts())

    assert context["round_label"] == "BM 2"
    assert context["organisations"][0] == {
        "name": "Hedemora kommun",
        "delegation": "komplett",
        "self_assessment": "inlämnad",
        "presentation": "–",
        "contact": "Lena Holm\nlena@hedemora.example",
        "special_needs": "Lena Holm: Hörselslinga\nPer Ek: Vegetarisk kost",
    }
    assert context["organisations"][1]["special_needs"] == "inga angivna"
    assert context["organisations"][1]["self_assessment"] == "saknas"
    assert context["organisations"][1]["delegation"] == "saknar politiker och strateg"
    assert context["organisations"][1]["contact"] == ""


def test_without_a_round_for_the_meeting_the_self_assessment_shows_a_dash() -> None:
    context = build_organiser_checklist_context(make_facts(round_label=None))

    assert context["round_label"] == ""
    assert {o["self_assessment"] for o in context["organisations"]} == {"–"}


def test_practical_frame_lists_time_place_host_and_key_dates() -> None:
    context = build_organiser_checklist_context(make_facts())

    practical = {row["label"]: row["text"] for row in context["practical"]}
    assert practical["Tid"] == "torsdag 26 september 2019, 09.30–16.30"
    assert practical["Plats"] == "Stadshuset, Södertälje"
    assert practical["Värd"].startswith("Södertälje kommun ")
    assert practical["Mentorer"] == "Hedemora kommun och Norrtälje kommun"
    assert "Inbjudan senast 12 september 2019" in practical["Viktiga datum"]


def test_without_host_mentors_or_next_meeting_the_context_still_reads_well() -> None:
    facts = make_facts(host_name=None, mentor_names=(), next_meeting=None, organiser=None)

    context = build_organiser_checklist_context(facts)

    practical = {row["label"]: row["text"] for row in context["practical"]}
    assert "Mentorer" not in practical
    assert "Arrangör" not in practical
    assert practical["Värd"].startswith("Värdorganisationen ")
    assert context["next_meeting"] is None
    assert "Planera in nästa benchmarkingträff" in [r["text"] for r in context["during"]]


# -- the template ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> PptxTemplate:
    return PptxTemplate.from_bytes(TEMPLATE.read_bytes(), name=TEMPLATE.name)


def render(template: PptxTemplate, facts: OrganiserChecklistFacts) -> Any:
    return Presentation(io.BytesIO(template.render(build_organiser_checklist_context(facts))))


def table_rows(slide: Any) -> list[list[str]]:
    frame = next(shape for shape in slide.shapes if shape.has_table)
    return [[cell.text for cell in row.cells] for row in frame.table.rows]


def slide_texts(slide: Any) -> list[str]:
    texts: list[str] = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            texts.extend(p.text for p in shape.text_frame.paragraphs)
        elif shape.has_table:
            texts.extend(cell.text for row in shape.table.rows for cell in row.cells)
    return texts


def test_the_template_has_the_six_slides_of_the_checklist(template: PptxTemplate) -> None:
    deck = render(template, make_facts())

    assert [slide.shapes.title.text for slide in deck.slides] == [
        "Checklista för benchmarkingträffar – Benchmarking 2, 26 september 2019, Södertälje kommun",
        "Praktiska förutsättningar",
        "Inför mötet",
        "Under mötet",
        "Efter mötet",
        "Status per organisation",
    ]


def test_each_phase_is_a_table_with_one_row_per_item(template: PptxTemplate) -> None:
    facts = make_facts()
    context = build_organiser_checklist_context(facts)

    deck = render(template, facts)

    for slide, phase in zip(list(deck.slides)[2:5], ("before", "during", "after"), strict=True):
        rows = table_rows(slide)
        assert rows[0] == ["Klart", "Punkt", "Ansvarig", "Senast"]
        assert rows[1:] == [
            [r["done"], r["text"], r["responsible"], r["due"]] for r in context[phase]
        ]
    assert "Nästa träff: Benchmarking 3, 21 november 2019, Karlstad" in slide_texts(deck.slides[3])


def test_status_slide_has_a_row_per_organisation_and_the_round_in_its_heading(
    template: PptxTemplate,
) -> None:
    deck = render(template, make_facts())

    rows = table_rows(deck.slides[5])
    assert rows[0] == [
        "Organisation",
        "Delegation",
        "Självskattning BM 2",
        "Presentation uppladdad",
        "Kontaktperson",
        "Särskilda behov",
    ]
    assert rows[1] == [
        "Hedemora kommun",
        "komplett",
        "inlämnad",
        "–",
        "Lena Holm\vlena@hedemora.example",  # python-pptx reads a line break as \v
        "Lena Holm: Hörselslinga\vPer Ek: Vegetarisk kost",
    ]
    assert rows[2][5] == "inga angivna"
    assert rows[3][0] == HOSTILE


def test_no_template_markers_remain_and_hostile_values_print_as_typed(
    template: PptxTemplate,
) -> None:
    deck = render(template, make_facts(host_name=HOSTILE))

    texts = [t for slide in deck.slides for t in slide_texts(slide)]
    assert any(HOSTILE in t for t in texts)
    assert not [t for t in texts if ("{{" in t or "{%" in t) and HOSTILE not in t]


def test_the_template_checks_clean_against_its_context() -> None:
    spots = pptx_spots(TEMPLATE.read_bytes(), name=TEMPLATE.name)

    problems = check_spots(spots, build_organiser_checklist_context(make_facts()))

    assert problems == []
    assert any(s.loop_variables == {"item": "before"} for s in spots)
