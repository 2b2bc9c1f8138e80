"""The OpenAPI spec the app serves, fuzzed with schemathesis: no request gets a 5xx.

Every operation of ``/api/openapi.json`` is called with requests schemathesis
generates from the spec, valid ones and ones that break it (negative mode), as a
registrar, an admin and the alliance (bearer tokens), so scoped, refused and
allowed paths are all exercised; approvals go to real Kafka topics of their own.
(schemathesis' pytest plugin does not run under pytest 9, so the operations are
driven through its strategies directly.)
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis (a test dependency)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
ROLES = ("reg-hh", "admin1", "alliance1")
EXPECTED = {"GET /api/me", "GET /api/decisions", "GET /api/decisions/{omobility_id}/{component}", "POST /api/decide",
            "GET /api/students", "GET /api/monitor", "GET /api/ops", "GET /api/dead-letters/{ref}", "GET /api/export",
            "GET /healthz", "GET /metrics"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_errors(kafka_site, mode):
    schema = schemathesis.openapi.from_url(f"{kafka_site.url}/api/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {op.label for op in operations} == EXPECTED
    failures: list[str] = []
    calls = 0

    for op in operations:
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        @given(case=op.as_strategy(generation_mode=mode))
        def run(case):
            nonlocal calls
            for role in ROLES:
                response = case.call(base_url=kafka_site.url, headers={"Authorization": f"Bearer {kafka_site.tokens[role]}"}, timeout=30)
                calls += 1
                if response.status_code >= 500:
                    failures.append(f"{op.label} as {role}: {response.status_code} {response.request.url} {response.text[:200]}")  # noqa: B023 (run() is called within this iteration)
                    return
                case.validate_response(response, checks=(not_a_server_error,))

        try:
            run()
        except Unsatisfiable:  # nothing to break: an operation without parameters has no invalid requests
            assert mode is GenerationMode.NEGATIVE, op.label
        except Exception as exc:  # a schemathesis check failure names the request; keep going for the whole report
            failures.append(f"{op.label}: {type(exc).__name__}: {str(exc)[:300]}")
    assert calls > 100
    assert not failures, "\n".join(failures)
