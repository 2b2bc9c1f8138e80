"""EwpSource: a broken document in a batched get is its own dead letter; OMobilities; LA versions applied."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree

from connectors.sdk import BadRecord, Checkpoint, NativeRecord
from connectors.sources import EwpSource, parse_la
from tests.connectors.servers import ScriptedServer

HX = "https://heroes-alliance.eu/hub/ewp-extension/v1"


def _mobility(oid: str) -> str:
    return (f"<student-mobility><omobility-id>{oid}</omobility-id><sending-hei><hei-id>hh.se</hei-id></sending-hei>"
            f"<receiving-hei><hei-id>ucn.dk</hei-id></receiving-hei><student><global-id>esi-{oid}</global-id></student>"
            f"<planned-arrival-date>2025-09-01</planned-arrival-date><hx:lifecycle xmlns:hx=\"{HX}\">"
            f"<hx:nominated-at>2025-04-01T10:00:00Z</hx:nominated-at></hx:lifecycle></student-mobility>")


DOCS = {"m1": _mobility("m1"), "m2": _mobility("m2")[:60], "m3": _mobility("m3")}  # m2 is cut off


def test_a_broken_document_is_its_own_dead_letter_and_the_others_are_published() -> None:
    def get(q: dict) -> tuple[int, dict, bytes]:
        body = "".join(DOCS[i] for i in q["omobility_id"])
        return 200, {}, f"<omobilities-get-response>{body}</omobilities-get-response>".encode()

    with ScriptedServer() as srv:
        srv.routes["/index"] = lambda q: (200, {}, b"<r>" + b"".join(
            f"<omobility-id>{i}</omobility-id>".encode() for i in DOCS) + b"</r>")
        srv.routes["/get"] = get
        source = EwpSource("m", f"{srv.url}/index", f"{srv.url}/get", document="omobility", get_batch=10,
                           params={"sending_hei_id": "hh.se"})
        try:
            items = list(source.read(None))
        finally:
            source.close()
        gets = [q["omobility_id"] for p, q, _ in srv.requests if p == "/get"]
    assert gets == [["m1", "m2", "m3"], ["m1"], ["m2"], ["m3"]]
    good = [i for i in items if isinstance(i, NativeRecord)]
    bad = [i for i in items if isinstance(i, BadRecord)]
    assert [i.identity for i in good] == ["m1", "m3"] and isinstance(items[-1], Checkpoint)
    assert len(bad) == 1 and bad[0].identity == "m2" and "not well-formed" in bad[0].reason
    m1 = good[0].data
    assert (m1.sending_hei, m1.receiving_hei, m1.student_esi, m1.planned_start.isoformat()) == (
        "hh.se", "ucn.dk", "esi-m1", "2025-09-01")
    assert m1.lifecycle == {"nominated-at": datetime(2025, 4, 1, 10, tzinfo=UTC)}


def _c(code: str, status: str = "") -> str:
    attr = f' status="{status}"' if status else ""
    return (f"<component{attr}><los-code>{code}</los-code><term-id><term-number>1</term-number></term-id>"
            f"<credit><scheme>ects</scheme><value>5</value></credit></component>")


def _signed(day: int) -> str:
    return f"<receiving-hei-signature><timestamp>2025-06-{day:02d}T10:00:00Z</timestamp></receiving-hei-signature>"


def test_approved_changes_are_applied_to_the_first_version_with_their_groups() -> None:
    la = etree.fromstring(
        f'<la xmlns:hx="{HX}"><omobility-id>m</omobility-id><sending-hei><hei-id>hh.se</hei-id></sending-hei>'
        "<receiving-hei><hei-id>ucn.dk</hei-id></receiving-hei><receiving-academic-year-id>2025/2026"
        "</receiving-academic-year-id>"
        f"<first-version><components-studied>{_c('A1')}{_c('A2')}</components-studied>"
        f"<components-recognized>{_c('B1')}</components-recognized>{_signed(1)}</first-version>"
        f"<approved-changes><components-studied>{_c('A1', 'deleted')}{_c('A3', 'inserted')}</components-studied>"
        f"{_signed(9)}</approved-changes>"
        f'<changes-proposal><components-studied>{_c("A9", "inserted")}</components-studied></changes-proposal>'
        '<hx:recognition-groups la-version="2"><hx:group id="g"><hx:studied los-code="A3"/>'
        '<hx:recognized los-code="B1"/></hx:group></hx:recognition-groups></la>')
    v1, v2 = parse_la(la).versions()
    assert (v1.number, [c.los_code for c in v1.components_studied], v1.recognition_groups) == (1, ["A1", "A2"], ())
    assert (v2.number, [c.los_code for c in v2.components_studied]) == (2, ["A3", "A2"])
    assert [c.los_code for c in v2.components_recognized] == ["B1"] and v2.components_studied[0].status is None
    assert v2.recognition_groups == (("g", ("A3",), ("B1",)),)
    assert v2.approved_at == datetime(2025, 6, 9, 10, tzinfo=UTC)
    assert v1.components_studied[0].term_id == "2025/2026-1" and v1.components_studied[0].ects == Decimal(5)
