"""SeAMK Peppi connector on the served simulation: the standard suite, counts and hub events."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.partners.seamk_peppi import SeamkPeppi, term_id
from connectors.sdk import ConnectorRunner, CursorStore, MemoryPublisher, StopConnector
from tests.connectors.partners.http_alliance import SimulatedSuite
from tests.connectors.servers import Answer, ScriptedServer


class TestSeamkPeppi(SimulatedSuite):
    connector_class = SeamkPeppi
    source = "seamk.fi/sis"
    bad_kinds: ClassVar[dict[str, str]] = {"unknown_grade_label": "unknown_grade"}

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        return {"api_url": self.alliance.urls["seamk.fi"] + "/peppi/api/v1", "page_size": 40, "poll_interval": 0.1}


def test_peppi_terms() -> None:
    assert term_id("2025-2026 syksy") == "2025/2026-1"
    assert term_id("2025-2026 kevät") == "2025/2026-2"


def _page(items: list[dict[str, Any]]) -> Answer:
    body = {"content": items, "number": 0, "size": 100, "totalElements": len(items), "totalPages": 1, "last": True}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


ENROLMENT = {"id": 1, "studentNumber": "e2100001", "courseUnitCode": "MA00AB12", "term": "2025-2026 syksy",
             "state": "ENROLLED", "modifiedAt": "2025-08-18T10:34:54+03:00"}
STUDENT = {"studentNumber": "e2100001", "esi": "urn:schac:personalUniqueCode:int:esi:seamk.fi:e2100001"}
UNIT = {"code": "MA00AB12", "credits": 5.0, "gradeScale": "0-5", "iscedCode": "0811", "term": "2025-2026 syksy"}


def _peppi(server: ScriptedServer) -> None:
    server.routes["/peppi/api/v1/enrolments"] = lambda q: _page([ENROLMENT] if q.get("page") == ["0"] else [])
    server.routes["/peppi/api/v1/attainments"] = lambda q: _page([])
    server.routes["/peppi/api/v1/students"] = lambda q: _page([STUDENT] if q.get("page") == ["0"] else [])
    server.routes["/peppi/api/v1/course-units"] = lambda q: _page([UNIT] if q.get("page") == ["0"] else [])


def test_a_lookup_the_sis_cannot_answer_now_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        _peppi(server)
        server.fail["/peppi/api/v1/students"] = deque([(503, {"Retry-After": "0"}, b"busy")])
        connector = SeamkPeppi(api_url=server.url + "/peppi/api/v1")
        runner = ConnectorRunner(connector, MemoryPublisher(), CursorStore(tmp_path / "c.sqlite"))
        outcomes = [o for _, _, o in runner.outcomes(cursors={"enrolments": None, "attainments": None})]
    assert [o.dead_letter for o in outcomes] == [None]
    assert outcomes[0].outputs[0].event.student_esi == STUDENT["esi"]
    assert sum(1 for path, _, _ in server.requests if path.endswith("/students")) == 2


def test_refused_credentials_stop_the_connector_naming_the_setting(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        server.routes["/peppi/api/v1/enrolments"] = lambda q: (401, {}, b"unauthorised")
        connector = SeamkPeppi(api_url=server.url + "/peppi/api/v1", token="wrong")
        runner = ConnectorRunner(connector, MemoryPublisher(), CursorStore(tmp_path / "c.sqlite"))
        with pytest.raises(StopConnector, match="HUB_SEAMK_TOKEN"):
            runner.run(once=True)
        assert server.requests[0][2]["Authorization"] == "Bearer wrong"
