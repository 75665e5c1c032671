"""A measurement is named alike in the import file and the API; old names still read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError

from service.intake.entities import MeasurementCreate
from service.intake.programme_format import MeasurementIn

DATE = "2019-04-30"


def measurement(**values: Any) -> MeasurementIn:
    return MeasurementIn.model_validate({"date": DATE, **values})


def refusal(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        measurement(**values)
    (error,) = caught.value.errors()
    assert error["loc"] == ()  # the measurement itself, whose path the import reports
    return str(error["msg"])


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"value_women": 7.9, "value_men": 10.4}, id="names of the API"),
        pytest.param({"women": 7.9, "men": 10.4}, id="old names"),
        pytest.param({"value_women": 7.9, "men": 10.4}, id="one of each"),
    ],
)
def test_old_and_new_names_read_the_same(values: dict[str, float]) -> None:
    read = measurement(**values)

    assert (read.value_total, read.value_women, read.value_men) == (None, 7.9, 10.4)


def test_the_old_name_of_a_total_reads_as_the_total() -> None:
    assert measurement(value=38).value_total == measurement(value_total=38).value_total == 38


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"value": 38, "value_total": 38},
            "value is the old name of value_total: give value_total only (both are given)",
            id="total",
        ),
        pytest.param(
            {"value_women": 7.9, "women": 7.9, "value_men": 10.4},
            "women is the old name of value_women: give value_women only (both are given)",
            id="women",
        ),
        pytest.param(
            {"men": 10.4, "value_men": 9.0},
            "men is the old name of value_men: give value_men only (both are given)",
            id="men",
        ),
    ],
)
def test_a_value_given_by_both_its_names_is_refused_naming_them(
    values: dict[str, float], message: str
) -> None:
    assert refusal(**values) == f"Value error, {message}"


def test_a_measurement_without_a_value_names_the_fields_it_needs() -> None:
    assert refusal() == (
        "Value error, a measurement needs value_total, or value_women and/or value_men"
    )


def test_not_a_number_is_refused_as_in_the_api() -> None:
    document = json.loads(f'{{"date": "{DATE}", "value": NaN}}')

    with pytest.raises(ValidationError, match="finite number"):
        MeasurementIn.model_validate(document)
    with pytest.raises(ValidationError, match="finite number"):
        MeasurementCreate.model_validate({"date": DATE, "value_total": document["value"]})


def test_the_api_reads_only_its_own_names() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        MeasurementCreate.model_validate({"date": DATE, "women": 7.9})

    assert MeasurementCreate.model_validate({"date": DATE, "value_women": 7.9}).date == (
        dt.date(2019, 4, 30)
    )
