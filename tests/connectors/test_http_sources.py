"""HTTP polling and Atom feed sources against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from collections import deque
from datetime import date, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, SecretStr

from connectors.sdk import (
    Connector,
    ConnectorRunner,
    ConnectorSettings,
    CursorStore,
    MemoryPublisher,
    RecordRejected,
    StopConnector,
)
from connectors.sources import AtomEntry, AtomFeedSource, HttpSource
from schemas.models import Grade
from tests.connectors.helpers import dead_letters, events, run_once
from tests.connectors.servers import ScriptedServer


class Settings(ConnectorSettings):
    url: str
    token: SecretStr = SecretStr("secret")
    format: str = "json"


class PeppiResult(BaseModel):
    id: str
    student: str
    course: str
    grade: str
    credits: Decimal
    date: date
    modified: str


def grade(r: PeppiResult, s: Settings) -> Grade:
    return Grade(source_hei="seamk.fi", hei="seamk.fi", student_id=r.student, result_id=r.id, course_code=r.course,
                 grade_label=r.grade, grading_scheme_id="seamk.fi:0-5", ects=r.credits, assessed_on=r.date,
                 status="FINAL", occurred_at=datetime.fromisoformat(r.modified))


class PeppiLike(Connector):
    hei = "seamk.fi"
    name = "http_test"
    settings_class = Settings
    mappings = {"results": grade}

    def sources(self, s: Settings) -> list[HttpSource]:
        if s.format == "xml":
            return [HttpSource("results", s.url, format="xml", records_path="//result", cursor_param="modified_since",
                               cursor_field="modified", paging="offset", page_size=2, credentials_setting="HUB_SEAMK_TOKEN",
                               bearer_token=s.token, backoff_base=0.05, poll_interval=0.1)]
        return [HttpSource("results", s.url, records_path="data", cursor_field="modified", paging="next_link",
                           next_link="links.next", bearer_token=s.token, credentials_setting="HUB_SEAMK_TOKEN",
                           backoff_base=0.05, poll_interval=0.1)]


def _results(tag: str, n: int) -> list[dict]:
    return [{"id": f"r{i}", "student": f"{tag}-{i}", "course": "KT00", "grade": str(i % 6), "credits": "5.0",
             "date": "2025-06-01", "modified": f"2025-06-0{1 + i // 2}T10:00:00+00:00"} for i in range(n)]


def _json_route(rows: list[dict], page_size: int = 3):
    def route(q: dict) -> tuple[int, dict, bytes]:
        since = q.get("modified_since", [""])[0]
        page = int(q.get("page", ["1"])[0])
        match = [r for r in rows if r["modified"] >= since]
        chunk = match[(page - 1) * page_size: page * page_size]
        links = {"next": f"/results?page={page + 1}&modified_since={since}"} if page * page_size < len(match) else {}
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": chunk, "links": links}).encode()
    return route


@pytest.mark.kafka
def test_http_json_paging_retries_cursor_and_dead_letters(broker, registry, tmp_path):
    tag = uuid.uuid4().hex[:8]
    rows = _results(tag, 7)
    rows[4]["credits"] = "lots"  # not a number: dead letter, the rest goes on
    with ScriptedServer() as srv:
        srv.routes["/results"] = _json_route(rows)
        srv.fail["/results"] = deque([(429, {"Retry-After": "1"}, b"slow down"), (503, {}, b"maintenance")])
        conn = PeppiLike(url=f"{srv.url}/results")
        db = tmp_path / "c.sqlite"
        totals = run_once(conn, broker, registry, db)
        assert totals.published["sis.seamk.fi.grades"] == 6
        assert totals.rejected == {"invalid_record": 1}
        assert len(srv.requests) == 2 + 3  # two refusals, then three pages
        assert all(h.get("Authorization") == "Bearer secret" for _, _, h in srv.requests)
        saved = CursorStore(db).load("results")
        assert saved == {"since": rows[-1]["modified"], "seen": ["r6"]}

        srv.requests.clear()
        again = run_once(conn, broker, registry, db)
        assert sum(again.published.values()) == 0, "a re-run from the saved cursor published again"
        assert srv.requests[0][1]["modified_since"] == [rows[-1]["modified"]]

    published = events(broker, registry, "sis.seamk.fi.grades", tag)
    assert sorted(r["student_id"] for r in published) == sorted(f"{tag}-{i}" for i in range(7) if i != 4)
    letters = [r for r in dead_letters(broker, registry, "http_test.results") if tag.encode() in r["payload"]]
    assert len(letters) == 1 and "credits" in letters[0]["reason"]
    assert json.loads(letters[0]["payload"])["credits"] == "lots"
    assert letters[0]["source_location"].startswith(f"GET {srv.url}/results")


def test_http_401_stops_with_the_setting_to_fix(tmp_path):
    with ScriptedServer() as srv:
        srv.routes["/results"] = lambda q: (401, {}, b"bad token")
        runner = ConnectorRunner(PeppiLike(url=f"{srv.url}/results"), MemoryPublisher(), CursorStore(tmp_path / "c.sqlite"))
        with pytest.raises(StopConnector, match="answered 401.*check HUB_SEAMK_TOKEN"):
            runner.run(once=True)
        assert len(srv.requests) == 1, "a 401 must not be retried"


def test_http_404_stops_and_persistent_5xx_gives_up(tmp_path):
    with ScriptedServer() as srv:
        srv.routes["/results"] = lambda q: (404, {}, b"no such API")
        runner = ConnectorRunner(PeppiLike(url=f"{srv.url}/results"), MemoryPublisher(), CursorStore(tmp_path / "c.sqlite"))
        with pytest.raises(StopConnector, match="answered 404.*check the URL"):
            runner.run(once=True)


def test_http_xml_offset_paging_and_bad_page(tmp_path):
    tag = uuid.uuid4().hex[:8]
    rows = _results(tag, 5)

    def route(q: dict) -> tuple[int, dict, bytes]:
        offset, limit = int(q["offset"][0]), int(q["limit"][0])
        if offset == 2:
            return 200, {"Content-Type": "application/xml"}, b"<results><result><id>r2</id>"  # truncated page
        items = "".join("<result>" + "".join(f"<{k}>{v}</{k}>" for k, v in r.items()) + "</result>"
                        for r in rows[offset: offset + limit])
        return 200, {"Content-Type": "application/xml"}, f"<results>{items}</results>".encode()

    with ScriptedServer() as srv:
        srv.routes["/results.xml"] = route
        publisher = MemoryPublisher()
        runner = ConnectorRunner(PeppiLike(url=f"{srv.url}/results.xml", format="xml"), publisher,
                                 CursorStore(tmp_path / "c.sqlite"))
        totals = runner.run(once=True)
    assert totals.published["sis.seamk.fi.grades"] == 3  # pages 0-1 and 4; page 2-3 is broken
    assert totals.rejected == {"parse": 1}
    offsets = [q["offset"][0] for _, q, _ in srv.requests]
    assert offsets == ["0", "2", "4"]


# --- Atom feed (Ladok style) -------------------------------------------------------------

LADOK = "http://schemas.ladok.se/resultat"


def _entry(i: int, tag: str, bad: bool = False) -> str:
    grade_id = "x" if bad else str(10 + i % 3)
    return f"""<entry><id>{tag}-e{i:03d}</id><updated>2025-06-01T10:{i:02d}:00Z</updated>
<category term="{LADOK}/ResultatPaHelKursAttesteratEvent"/>
<content type="application/vnd.ladok+xml"><ResultatPaHelKursAttesteratEvent xmlns="{LADOK}">
<StudentUID>{tag}-s{i}</StudentUID><KursUID>K{i % 4}</KursUID>
<Resultat><BetygsgradID>{grade_id}</BetygsgradID><ResultatUID>res-{i}</ResultatUID>
<Examinationsdatum>2025-05-30</Examinationsdatum><OmfattningsPoang>7.5</OmfattningsPoang></Resultat>
</ResultatPaHelKursAttesteratEvent></content></entry>"""


def _page(self_href: str, entries: list[str], prev: str | None, nxt: str | None) -> bytes:
    links = f'<link rel="self" href="{self_href}"/>'
    links += f'<link rel="prev-archive" href="{prev}"/>' if prev else ""
    links += f'<link rel="next-archive" href="{nxt}"/>' if nxt else ""
    # newest first, as feeds list them
    return f'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:id:x</id>{links}{"".join(reversed(entries))}</feed>'.encode()


class LadokSettings(ConnectorSettings):
    url: str


SCALE = {"10": "U", "11": "G", "12": "VG"}


def ladok_grade(e: AtomEntry, s: LadokSettings) -> Grade:
    label = SCALE.get(e.text("Resultat/BetygsgradID") or "")
    if label is None:
        raise RecordRejected(e, f"unknown BetygsgradID {e.text('Resultat/BetygsgradID')!r}", "unknown_grade")
    return Grade(source_hei="hh.se", hei="hh.se", student_id=e.text("StudentUID"), result_id=e.text("Resultat/ResultatUID"),
                 course_code=e.text("KursUID"), grade_label=label, grading_scheme_id="hh.se:U-G-VG",
                 ects=Decimal(e.text("Resultat/OmfattningsPoang")), assessed_on=date.fromisoformat(e.text("Resultat/Examinationsdatum")),
                 status="FINAL", occurred_at=datetime.fromisoformat(e.updated.replace("Z", "+00:00")))


class LadokLike(Connector):
    hei = "hh.se"
    name = "atom_test"
    settings_class = LadokSettings
    mappings = {"results": ladok_grade}

    def sources(self, s: LadokSettings) -> list[AtomFeedSource]:
        return [AtomFeedSource("results", s.url, credentials_setting="HUB_HH_CLIENT_CERT", backoff_base=0.05,
                               poll_interval=0.1)]


@pytest.mark.kafka
def test_atom_reads_from_the_oldest_archive_resumes_and_dead_letters(broker, registry, tmp_path):
    tag = uuid.uuid4().hex[:8]
    entries = [_entry(i, tag, bad=(i == 4)) for i in range(9)]
    pages = {"/feed/1": entries[0:3], "/feed/2": entries[3:6], "/feed/recent": entries[6:9]}
    with ScriptedServer() as srv:
        srv.routes["/feed/1"] = lambda q: (200, {}, _page("/feed/1", pages["/feed/1"], None, "/feed/2"))
        srv.routes["/feed/2"] = lambda q: (200, {}, _page("/feed/2", pages["/feed/2"], "/feed/1", "/feed/recent"))
        srv.routes["/feed/recent"] = lambda q: (200, {}, _page("/feed/recent", pages["/feed/recent"], "/feed/2", None))
        srv.fail["/feed/2"] = deque([(502, {}, b"bad gateway")])
        db = tmp_path / "c.sqlite"
        conn = LadokLike(url=f"{srv.url}/feed/recent")
        totals = run_once(conn, broker, registry, db)
        assert totals.published["sis.hh.se.grades"] == 8
        assert totals.rejected == {"unknown_grade": 1}
        assert CursorStore(db).load("results") == {"entry": f"{tag}-e008", "page": None}

        # two new entries: the recent page fills up and becomes archive 3
        pages["/feed/3"] = entries[6:9] + [_entry(9, tag)]
        pages["/feed/recent"] = [_entry(10, tag)]
        srv.routes["/feed/2"] = lambda q: (200, {}, _page("/feed/2", pages["/feed/2"], "/feed/1", "/feed/3"))
        srv.routes["/feed/3"] = lambda q: (200, {}, _page("/feed/3", pages["/feed/3"], "/feed/2", "/feed/recent"))
        srv.routes["/feed/recent"] = lambda q: (200, {}, _page("/feed/recent", pages["/feed/recent"], "/feed/3", None))
        again = run_once(conn, broker, registry, db)
        assert again.published["sis.hh.se.grades"] == 2

    published = events(broker, registry, "sis.hh.se.grades", tag)
    order = [r["student_id"] for r in published if r["student_id"]]
    assert sorted(order) == sorted(f"{tag}-s{i}" for i in range(11) if i != 4)
    assert len(order) == 10, "an entry was published twice"
    letters = [r for r in dead_letters(broker, registry, "atom_test.results") if tag.encode() in r["payload"]]
    assert len(letters) == 1 and "BetygsgradID 'x'" in letters[0]["reason"]


def test_atom_entries_oldest_first_within_a_page(tmp_path):
    tag = uuid.uuid4().hex[:8]
    with ScriptedServer() as srv:
        srv.routes["/feed/recent"] = lambda q: (200, {}, _page("/feed/recent", [_entry(i, tag) for i in range(4)], None, None))
        runner = ConnectorRunner(LadokLike(url=f"{srv.url}/feed/recent"), MemoryPublisher(), CursorStore(tmp_path / "c.sqlite"))
        seen = [out.event.student_id for _, _, o in runner.outcomes() for out in o.outputs]
    assert seen == [f"{tag}-s{i}" for i in range(4)]
