"""The template checker: spots found in pptx files, and every problem of their Jinja text."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches

from service.documents.deck import build_deck_context
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    DeckFacts,
    InitiativeFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
    PlanActivityFacts,
    RoundFacts,
)
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.movement import QuestionRef, Scale
from service.engines.inspection import TemplateProblem, TemplateSpot
from service.engines.pptx_engine import pptx_spots
from service.engines.template_check import check_spots, merge_schemas
from service.errors import TemplateError

DECK_TEMPLATE = Path(__file__).resolve().parents[2] / "doc_templates" / "deck_benchmarking.pptx"

SCHEMA: dict[str, Any] = {
    "organisation": {"name": "Askersunds kommun", "contact": None},
    "meeting": {"title": "Benchmarking 2", "date": "26 september 2019"},
    "delegation": [{"name": "Jonas Berg", "role": "Politiker"}],
    "initiatives": [{"title": "Statistik", "steps": [{"text": "a"}]}],
    "settings": {"items": ["a"]},
}


def problems_of(*sources: str, loops: dict[str, str] | None = None) -> list[str]:
    spots = [TemplateSpot(f"spot {n}", s, loops or {}) for n, s in enumerate(sources, 1)]
    return [str(p) for p in check_spots(spots, SCHEMA, filters=SWEDISH_FILTERS)]


# -- check_spots ----------------------------------------------------------------------------


def test_known_paths_filters_and_loops_are_fine() -> None:
    assert (
        problems_of(
            "{{ organisation.name }} {{ meeting.date | sv_date }}",
            "{% for p in delegation | sv_sort(attribute='name') %}{{ p.role }}{% endfor %}",
            "{% if organisation.contact %}{{ organisation.contact.name }}{% endif %}",
            "{{ delegation | map(attribute='name') | join(', ') }} {{ delegation | length }}",
            "{% set n = namespace(count=0) %}{% set n.count = 1 %}{{ n.count }} {{ range(2) }}",
            "{% for i in initiatives %}{{ loop.index }}{{ i.steps[0].text }}{% endfor %}",
        )
        == []
    )


def test_unknown_names_and_keys_are_reported_with_a_suggestion() -> None:
    assert problems_of("{{ organisaton.name }}", "{{ organisation.nme }}") == [
        "spot 1: unknown variable 'organisaton' (did you mean 'organisation'?)",
        "spot 2: unknown variable 'organisation.nme': 'organisation' has no 'nme' "
        "(did you mean 'name'?)",
    ]


def test_item_keys_are_checked_through_loops_in_the_spot_and_around_it() -> None:
    inside = problems_of("{% for p in delegation %}{{ p.nme }}{% endfor %}")
    around = problems_of("{{ p.nme }}", loops={"p": "delegation"})
    nested = problems_of(
        "{{ s.txt }}", loops={"initiative": "initiatives", "s": "initiative.steps"}
    )

    expected = "unknown variable 'p.nme': the items of 'delegation' have no 'nme'"
    assert inside == [f"spot 1: {expected} (did you mean 'name'?)"]
    assert around == inside
    assert nested == [
        "spot 1: unknown variable 's.txt': the items of 'initiative.steps' have no 'txt' "
        "(did you mean 'text'?)"
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ meeting.title ", "unexpected end of template, expected 'end of print statement'."),
        ("{% foo %}", "Encountered unknown tag 'foo'."),
        ("Hej {{ name }", "unexpected '}'"),
        ("{{ meeting.title | sv_dat }}", "unknown filter 'sv_dat' (did you mean 'sv_date'?)"),
        (
            "{% if meeting is nothing %}x{% endif %}",
            "unknown test 'nothing' (did you mean 'string'?)",
        ),
    ],
)
def test_syntax_errors_and_unknown_filters_are_reported(source: str, message: str) -> None:
    assert problems_of(source) == [f"spot 1: {message}"]


def test_a_for_without_endfor_in_one_spot_is_reported_and_its_names_still_checked() -> None:
    assert problems_of("{% for x in delegaton %}{{ x }}") == [
        "spot 1: unknown variable 'delegaton' (did you mean 'delegation'?)",
        "spot 1: Unexpected end of template. Jinja was looking for the following tags: "
        "'endfor' or 'else'. The innermost block that needs to be closed is 'for'.",
    ]


def test_an_unknown_filter_inside_an_if_is_reported_although_jinja_compiles_it() -> None:
    assert problems_of("{% if organisation %}{{ organisation.name | shout }}{% endif %}") == [
        "spot 1: unknown filter 'shout' (did you mean 'sort'?)"
    ]


def test_every_problem_of_a_spot_is_reported_once_each() -> None:
    assert problems_of("{{ a }} {{ a }} {{ meeting.titel }} {{ b }}") == [
        "spot 1: unknown variable 'a' (known: delegation, initiatives, meeting, organisation, "
        "settings)",
        "spot 1: unknown variable 'meeting.titel': 'meeting' has no 'titel' "
        "(did you mean 'title'?)",
        "spot 1: unknown variable 'b' (known: delegation, initiatives, meeting, organisation, "
        "settings)",
    ]


def test_reading_a_list_as_a_record_and_a_key_that_is_a_dict_method_are_reported() -> None:
    assert problems_of("{{ delegation.name }}", "{{ settings.items }}") == [
        "spot 1: unknown variable 'delegation.name': 'delegation' is a list",
        "spot 2: 'settings.items' reads the method 'items' of a dictionary, not its key; "
        "write settings['items']",
    ]


def test_guards_and_sandbox_rules() -> None:
    assert problems_of("{% if extra is defined %}{{ extra }}{% endif %}") == []
    assert problems_of("{{ organisation.__class__ }}") == [
        "spot 1: 'organisation.__class__': attributes starting with '_' cannot be read in a "
        "template"
    ]
    assert problems_of("{% include 'other.txt' %}") == [
        "spot 1: '{% include %}' cannot be used: a template here has no other templates to load"
    ]


def test_row_markers_pair_across_spots_and_report_what_is_left_open() -> None:
    paired = [
        str(p)
        for p in check_spots(
            [
                TemplateSpot("row 2", "{%tr for p in delegation %}"),
                TemplateSpot("row 3, cell 1", "{{ p.name }}", {"p": "delegation"}),
                TemplateSpot("row 4", "{%tr endfor %}"),
            ],
            SCHEMA,
        )
    ]
    unclosed = problems_of("{%tr for p in delegaton %}")
    stray = problems_of("{%tr endfor %}")

    assert paired == []
    assert unclosed == [
        "spot 1: unknown variable 'delegaton' (did you mean 'delegation'?)",
        "spot 1: '{%tr for %}' without '{%tr endfor %}' below it",
    ]
    assert stray == ["spot 1: '{%tr endfor %}' without '{%tr for %}' above it"]


def test_blocks_may_span_spots_as_docxtpl_paragraphs_do() -> None:
    assert (
        problems_of(
            "{%p if organisation.contact %}",
            "Kontakt: {{ organisation.contact.name }}",
            "{%p else %}",
            "Ingen kontakt",
            "{%p endif %}",
        )
        == []
    )
    assert problems_of("{%p if organisation.nme %}", "x") == [
        "spot 1: unknown variable 'organisation.nme': 'organisation' has no 'nme' "
        "(did you mean 'name'?)",
        "spot 1: Unexpected end of template. Jinja was looking for the following tags: 'elif' "
        "or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
    ]


def test_slide_markers_must_stand_alone_and_once_per_slide() -> None:
    spots = [
        TemplateSpot("slide 7, shape 'Loop'", "{%slide for i in initiatives %}"),
        TemplateSpot("slide 7, shape 'Again'", "{%slide for j in initiativs %}"),
        TemplateSpot("slide 8, shape 'Text', paragraph 1", "Hej {%slide for i in initiatives %}"),
    ]

    problems = [str(p) for p in check_spots(spots, SCHEMA)]

    assert problems == [
        "slide 7, shape 'Again': a slide can have only one '{%slide for %}'",
        "slide 7, shape 'Again': unknown variable 'initiativs' (did you mean 'initiatives'?)",
        "slide 8, shape 'Text', paragraph 1: '{%slide for %}' must be the only text of its "
        "text box",
    ]


def test_problems_come_in_document_order_with_their_locations() -> None:
    spots = [
        TemplateSpot("slide 1, shape 'A', row 2", "{%tr for p in delegation %}"),
        TemplateSpot("slide 1, shape 'A', row 3, cell 1, paragraph 1", "{{ p.x }}", {"p": "d"}),
        TemplateSpot("slide 2, shape 'B', paragraph 1", "{{ nothing }}"),
    ]

    problems = check_spots(spots, SCHEMA)

    assert [p.location for p in problems] == [
        "slide 1, shape 'A', row 2",
        "slide 2, shape 'B', paragraph 1",
    ]
    assert isinstance(problems[0], TemplateProblem)


# -- merge_schemas --------------------------------------------------------------------------


def test_merge_schemas_unions_keys_and_the_items_of_lists() -> None:
    first: dict[str, Any] = {"organisation": {"name": "A"}, "delegation": [], "contact": None}
    second = {
        "organisation": {"name": "B", "type": "kommun"},
        "delegation": [{"name": "P"}, {"name": "Q", "title": "KSO"}],
        "contact": {"email": "x@example.org"},
    }

    merged = merge_schemas([first, second])

    assert merged == {
        "organisation": {"name": "A", "type": "kommun"},
        "delegation": [{"name": "P", "title": "KSO"}],
        "contact": {"email": "x@example.org"},
    }
    assert merge_schemas([]) == {}


def test_an_empty_list_in_one_sample_does_not_hide_another_samples_items() -> None:
    samples: list[dict[str, Any]] = [{"delegation": []}, {"delegation": [{"name": "P"}]}]
    spots = [TemplateSpot("cell", "{{ p.nme }}", {"p": "delegation"})]

    assert check_spots(spots, samples[0]) == []  # nothing known about the items: no check
    assert [p.message for p in check_spots(spots, merge_schemas(samples))] == [
        "unknown variable 'p.nme': the items of 'delegation' have no 'nme' (did you mean 'name'?)"
    ]


# -- pptx_spots -----------------------------------------------------------------------------


def to_bytes(prs: Any) -> bytes:
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def build_test_deck() -> bytes:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    box.name = "Rubrik"
    p = box.text_frame.paragraphs[0]
    for text in ("Hej {{ organ", "isation.", "nme }}"):  # a tag split over three runs
        p.add_run().text = text
    box.text_frame.add_paragraph().text = "no tags here"
    rows = [["Namn", "Roll"], ["{%tr for p in delegation %}", ""], ["{{ p.name }}", "{{ p.role }}"]]
    frame = slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(1.2))
    frame.name = "Delegation"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            frame.table.cell(r, c).text = text
    slide.notes_slide.notes_text_frame.text = "Till {{ organisation.name }}"
    repeated = prs.slides.add_slide(prs.slide_layouts[6])
    loop = repeated.shapes.add_textbox(Inches(1), Inches(6), Inches(6), Inches(1))
    loop.name = "Loop"
    loop.text_frame.text = "{%slide for initiative in initiatives %}"
    data = CategoryChartData()  # type: ignore[no-untyped-call]
    data.categories = ["A"]
    data.add_series("S", (1.0,))  # type: ignore[no-untyped-call]
    chart = repeated.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1), Inches(4), Inches(3), data
    )
    chart.name = "chart:initiative.chart"
    return to_bytes(prs)


def test_pptx_spots_name_each_place_like_the_engines_errors_and_carry_loop_variables() -> None:
    spots = pptx_spots(build_test_deck(), name="test.pptx")

    assert [(s.location, s.source, dict(s.loop_variables)) for s in spots] == [
        ("slide 1, shape 'Rubrik', paragraph 1", "Hej {{ organisation.nme }}", {}),
        ("slide 1, shape 'Delegation', row 2", "{%tr for p in delegation %}", {}),
        (
            "slide 1, shape 'Delegation', row 3, cell 1, paragraph 1",
            "{{ p.name }}",
            {"p": "delegation"},
        ),
        (
            "slide 1, shape 'Delegation', row 3, cell 2, paragraph 1",
            "{{ p.role }}",
            {"p": "delegation"},
        ),
        (
            "slide 1, notes shape 'Notes Placeholder 2', paragraph 1",
            "Till {{ organisation.name }}",
            {},
        ),
        ("slide 2, shape 'Loop'", "{%slide for initiative in initiatives %}", {}),
        (
            "slide 2, shape 'chart:initiative.chart'",
            "{{ initiative.chart }}",
            {"initiative": "initiatives"},
        ),
    ]


def test_a_pptx_with_several_problems_reports_them_all_at_once() -> None:
    spots = pptx_spots(build_test_deck(), name="test.pptx")

    problems = [str(p) for p in check_spots(spots, SCHEMA)]

    assert problems == [
        "slide 1, shape 'Rubrik', paragraph 1: unknown variable 'organisation.nme': "
        "'organisation' has no 'nme' (did you mean 'name'?)",
        "slide 1, shape 'Delegation', row 2: '{%tr for %}' without '{%tr endfor %}' below it",
        "slide 2, shape 'chart:initiative.chart': unknown variable 'initiative.chart': "
        "the items of 'initiatives' have no 'chart' (known: steps, title)",
    ]


def test_pptx_spots_of_a_file_that_is_not_a_pptx_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match=r"broken\.pptx: not a readable pptx file"):
        pptx_spots(b"not a zip", name="broken.pptx")


def test_the_shipped_deck_template_checks_clean_against_the_deck_context() -> None:
    person = PersonFacts("Sara Strateg", "strateg", title="Strateg", email="s@example.org")
    meeting = MeetingFacts(
        title="Benchmarking 2",
        number=2,
        date=dt.date(2019, 9, 26),
        upload_deadline=dt.date(2019, 9, 19),
    )
    facts = DeckFacts(
        network_name="Nätverket",
        organisation=OrganisationFacts(
            name="Askersunds kommun", contact=person, delegation=(person,)
        ),
        meeting=meeting,
        checklist=ChecklistFacts(
            scale=Scale(1, 3),
            areas=(AreaFacts("A1", "Styrning"),),
            questions=(QuestionRef("Q1", "A1"),),
            question_texts={"Q1": "Ett påstående"},
        ),
        previous_round=RoundFacts("BM 1", {"Q1": 1}),
        current_round=RoundFacts("BM 2", {"Q1": 2}, {"Q1": "Bättre"}),
        initiatives=(InitiativeFacts("Statistik", owner=person),),
        plan=(PlanActivityFacts("Analys", owner=person, deadline=dt.date(2019, 11, 15)),),
        next_meeting=meeting,
    )
    spots = pptx_spots(DECK_TEMPLATE.read_bytes(), name=DECK_TEMPLATE.name)

    problems = check_spots(spots, build_deck_context(facts))

    assert problems == []
    assert len(spots) > 50
