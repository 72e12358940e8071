"""schemathesis against the app's own /openapi.json: no 5xx, no response breaking its schema.

Bounded: a few generated requests per operation on the embedded SQLite store, with a real token.
(schemathesis' pytest plugin does not run under this pytest; its strategies are used directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from infrastructure.cli.http_app import create_app
from infrastructure.settings import Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    store = Path(tmp_path_factory.mktemp("schema")) / "store.sqlite"
    # Generous rate limit: the fuzzer sends many commands on purpose.
    app = create_app(f"sqlite:///{store}", Settings(command_rate_limit=100_000))
    services = app.state.services
    _, token = services.tokens.create("schemathesis")
    yield app, token
    services.close()


def test_every_operation_answers_within_its_schema_and_never_with_5xx(
    served: tuple[Any, str],
) -> None:
    app, token = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
