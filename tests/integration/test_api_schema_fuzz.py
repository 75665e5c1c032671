"""A bounded schemathesis run against the OpenAPI schema: no generated request answers 500.

Every operation of the schema gets a few generated requests (valid by the schema: ids of any
size, strings of any shape) with the organiser's key, on PostgreSQL (where an id past the
32-bit column answered 500) holding the sample programme. Bounded: ``EXAMPLES`` requests per
operation, no shrinking, no example database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from service.intake.programme_import import ImportSummary
from tests.conftest import TEST_API_KEY

pytestmark = pytest.mark.integration

EXAMPLES = 6
ORGANISER = {"X-API-Key": TEST_API_KEY}


def fuzz(operation: Any, server_errors: list[str]) -> None:
    """Up to ``EXAMPLES`` generated requests to one operation; each 5xx is noted."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(headers=ORGANISER)
        if response.status_code >= 500:
            server_errors.append(
                f"{label}: {response.status_code} for {case.formatted_path} "
                f"query={case.query} body={str(case.body)[:200]}"
            )

    run()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_no_generated_request_answers_a_server_error(
    client: TestClient, sample: ImportSummary
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the schema lost its operations"
    server_errors: list[str] = []
    for operation in operations:
        fuzz(operation, server_errors)
    assert not server_errors, "\n".join(server_errors[:30])
