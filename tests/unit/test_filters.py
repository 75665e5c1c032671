"""Swedish filters, as templates use them."""

from __future__ import annotations

import datetime as dt

from service.documents.swedish_filters import SWEDISH_FILTERS, sv_sort, swedish_sort_key
from service.engines.jinja_env import make_environment


def render(source: str, **context: object) -> str:
    return make_environment(filters=SWEDISH_FILTERS).from_string(source).render(**context)


def test_dates_weekdays_numbers_and_percentages_read_as_swedish() -> None:
    assert render("{{ d | sv_date }}, {{ d | sv_weekday }}", d=dt.date(2019, 11, 28)) == (
        "28 november 2019, torsdag"
    )
    assert render("{{ '2019-09-26' | sv_date }}") == "26 september 2019"
    assert render("{{ x | sv_number }}", x=1234.5) == "1\u00a0234,5"
    assert render("{{ x | sv_percent }}", x=42) == "42\u00a0%"
    assert render("{{ x | sv_percent(1, share=True) }}", x=0.4567) == "45,7\u00a0%"
    assert render("{{ x | sv_number }}", x=None) == "–"


def test_swedish_order_puts_a_ring_a_umlaut_o_umlaut_after_z() -> None:
    names = ["Örebro", "Ängelholm", "Åmål", "Zinkgruvan", "Arboga", "Eskilstuna", "Älvsbyn"]

    assert sv_sort(names) == [
        "Arboga",
        "Eskilstuna",
        "Zinkgruvan",
        "Åmål",
        "Älvsbyn",
        "Ängelholm",
        "Örebro",
    ]
    assert swedish_sort_key("émile") < swedish_sort_key("erik") < swedish_sort_key("ödla")


def test_records_sort_by_an_attribute_in_templates() -> None:
    people = [{"name": "Östen"}, {"name": "Anna"}, {"name": "Åsa"}]

    assert (
        render(
            "{% for p in people | sv_sort(attribute='name') %}{{ p.name }} {% endfor %}",
            people=people,
        )
        == "Anna Åsa Östen "
    )
