"""HttpSource reading an append-only change list by position: page-number, offset and next-link paging."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.sdk import BadRecord, NativeRecord, SourceUnavailable
from connectors.sources import HttpSource
from tests.connectors.servers import ScriptedServer

ROWS = [{"id": i, "v": f"row{i}"} for i in range(7)]


def _page_route(rows: list[Any]):
    def route(q: dict) -> tuple[int, dict, bytes]:
        page, size = int(q["pageNumber"][0]), int(q["pageSize"][0])
        chunk = rows[(page - 1) * size: page * size]
        return 200, {"Content-Type": "application/json"}, json.dumps({"items": chunk}).encode()
    return route


def _read(source: HttpSource, cursor: Any) -> list[Any]:
    try:
        return list(source.read(cursor))
    finally:
        source.close()


def test_page_numbers_resume_inside_a_page_and_cursor_counts_records() -> None:
    with ScriptedServer() as srv:
        srv.routes["/list"] = _page_route(ROWS)

        def source() -> HttpSource:
            return HttpSource("list", f"{srv.url}/list", records_path="items", paging="page", page_param="pageNumber",
                              limit_param="pageSize", first_page=1, page_size=3, append_only=True,
                              cursor_param=None, basic_auth=("hub", "pw"))

        items = _read(source(), None)
        assert [i.data["v"] for i in items] == [r["v"] for r in ROWS]
        assert [i.cursor for i in items] == [{"position": n} for n in range(1, 8)]
        assert [q["pageNumber"] for _, q, _ in srv.requests] == [["1"], ["2"], ["3"]]
        assert srv.requests[0][2]["Authorization"] == "Basic aHViOnB3"  # hub:pw
        srv.requests.clear()
        later = _read(source(), {"position": 4})  # inside page 2: its first record is not repeated
        assert [i.data["v"] for i in later] == ["row4", "row5", "row6"]
        assert [q["pageNumber"] for _, q, _ in srv.requests] == [["2"], ["3"]]
        ROWS.append({"id": 7, "v": "row7"})
        try:
            assert [i.data["v"] for i in _read(source(), later[-1].cursor)] == ["row7"]  # appended since
        finally:
            ROWS.pop()


def test_offset_and_next_link_start_at_the_position() -> None:
    def route(q: dict) -> tuple[int, dict, bytes]:
        skip, top = int(q.get("$skip", ["0"])[0]), int(q.get("$top", ["2"])[0])
        chunk = ROWS[skip: skip + top]
        nxt = f"/odata?$skip={skip + top}&$top={top}" if skip + top < len(ROWS) else ""
        return 200, {"Content-Type": "application/json"}, json.dumps({"d": {"results": chunk, "__next": nxt}}).encode()

    with ScriptedServer() as srv:
        srv.routes["/odata"] = route
        for paging in ("offset", "next_link"):
            source = HttpSource("o", f"{srv.url}/odata", records_path="d.results", paging=paging, next_link="d.__next",
                                offset_param="$skip", limit_param="$top", page_size=2, append_only=True,
                                cursor_param=None)
            items = _read(source, {"position": 3})
            assert [i.data["id"] for i in items] == [3, 4, 5, 6], paging
            assert items[-1].cursor == {"position": 7}


def test_a_page_that_does_not_parse_is_retried_not_skipped_and_a_non_object_is_a_bad_record() -> None:
    with ScriptedServer() as srv:
        srv.routes["/list"] = lambda q: (200, {"Content-Type": "application/json"}, b'{"items": [1, {"id": 9}]')
        source = HttpSource("list", f"{srv.url}/list", records_path="items", paging="page", page_param="pageNumber",
                            limit_param="pageSize", first_page=1, append_only=True, cursor_param=None)
        with pytest.raises(SourceUnavailable, match="not JSON"):
            _read(source, None)
        srv.routes["/list"] = lambda q: (200, {"Content-Type": "application/json"}, b'{"items": [1, {"id": 9}]}')
        items = _read(source, None)
        assert isinstance(items[0], BadRecord) and items[0].cursor == {"position": 1}
        assert isinstance(items[1], NativeRecord) and items[1].identity == "9"
