"""The partners' APIs answer over real HTTP on loopback, paged as the real systems page."""

from __future__ import annotations

import json
import socket
from urllib.parse import urljoin

import httpx
import pytest
from lxml import etree

from hub.simulate import serve_partner_apis
from hub.simulate._serve import SimulationNotFound

ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture(scope="module")
def apis(sim):
    running = serve_partner_apis(sim.root)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=20) as c:
        yield c


def _good_ids(sim, hei: str) -> set[str]:
    return {json.loads(x)["event_id"] for x in (sim.root / "hub-events.jsonl").read_text().splitlines()
            if f'"source_hei":"{hei}"' in x and '"event_type":"Mobility"' not in x}


def test_ladok_feed_pages_back_from_recent_by_prev_archive(sim, apis, client):
    url, entries, pages = urljoin(apis.urls["hh.se"], "/uppfoljning/feed/recent"), [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        feed = etree.fromstring(r.content)
        entries += feed.findall("a:entry", ATOM)
        prev = feed.find("a:link[@rel='prev-archive']", ATOM)
        url = urljoin(url, prev.get("href")) if prev is not None else None
        pages += 1
    assert pages >= 2
    assert len(entries) == sim.counts["sources"]["hh.se/sis"]["deliveries"]
    ids = {e.findtext("a:id", namespaces=ATOM) for e in entries}
    assert _good_ids(sim, "hh.se") <= ids  # every good hh.se event is an entry of the feed
    terms = {e.find("a:category", ATOM).get("term").rsplit("/", 1)[-1] for e in entries}
    assert {"ResultatPaHelKursAttesteratEvent", "RegistreringEvent", "LokalStudentEvent"} <= terms
    revoked = '"source_hei":"hh.se"' in (sim.root / "hub-events.jsonl").read_text() and any(
        '"source_hei":"hh.se"' in x and '"status":"REVOKED"' in x for x in (sim.root / "hub-events.jsonl").read_text().splitlines())
    assert ("AttesteratResultatMakuleratEvent" in terms) == revoked
    scales = client.get(urljoin(apis.urls["hh.se"], "/resultat/grunddata/betygsskala")).json()
    assert scales["3"]["grades"]["2323"] == "VG"


def test_ooapi_associations_page_to_the_end(sim, apis, client):
    items, number = [], 1
    while True:
        page = client.get(f"{apis.urls['fontys.nl']}/associations", params={"pageSize": 50, "pageNumber": number}).json()
        items += page["items"]
        if not page["hasNextPage"]:
            break
        number += 1
    assert len(items) == len((sim.root / "fontys.nl/ooapi/associations.jsonl").read_text().splitlines())
    assert {i["state"] for i in items} == {"associated", "canceled"}
    offering = items[-1]["offering"]["offeringId"]
    r = client.get(f"{apis.urls['fontys.nl']}/offerings/{offering}")
    assert r.status_code in (200, 404)  # 404 for the bad records that name an unknown offering
    persons = client.get(f"{apis.urls['fontys.nl']}/persons", params={"pageSize": 250}).json()["items"]
    assert any(c["codeType"] == "esi" for p in persons for c in p["otherCodes"])


def test_odata_follows_next_and_peppi_pages(sim, apis, client):
    url, results = f"{apis.urls['thomasmore.be']}/sap/opu/odata/sap/ZHEROES_STUDENT_SRV/Results?$format=json&$top=100", []
    while url:
        d = client.get(url).json()["d"]
        results += d["results"]
        url = d.get("__next")
    assert len(results) == len((sim.root / "thomasmore.be/odata/Results.jsonl").read_text().splitlines())
    page, total = 0, []
    while True:
        body = client.get(f"{apis.urls['seamk.fi']}/peppi/api/v1/attainments", params={"page": page, "size": 40}).json()
        total += body["content"]
        if body["last"]:
            break
        page += 1
    assert len(total) == body["totalElements"]


def test_ewp_index_and_get(sim, apis, client):
    rows = [json.loads(x) for x in (sim.root / "fontys.nl/ewp/index.jsonl").read_text().splitlines()]
    base = apis.urls["fontys.nl"]
    index = etree.fromstring(client.get(f"{base}/ewp/omobility-las/index", params={"sending_hei_id": "fontys.nl"}).content)
    ids = index.xpath("//*[local-name()='omobility-id']/text()")
    assert sorted(ids) == sorted(r["omobility_id"] for r in rows if r["api"] == "omobility-las")
    latest = max(r["modified_at"] for r in rows if r["api"] == "omobility-las")
    newer = client.get(f"{base}/ewp/omobility-las/index", params={"sending_hei_id": "fontys.nl", "modified_since": latest})
    assert etree.fromstring(newer.content).xpath("//*[local-name()='omobility-id']") == []
    good = [r["omobility_id"] for r in rows if r["api"] == "omobility-las" and r["good"]]
    r = client.post(f"{base}/ewp/omobility-las/get", data={"sending_hei_id": "fontys.nl", "omobility_id": good[:3]})
    las = etree.fromstring(r.content).xpath("//*[local-name()='la']")
    assert len(las) == len(good[:3])
    broken = [x["omobility_id"] for x in sim.jsonl("expected/bad.jsonl") if x["source"] == "fontys.nl/ewp" and x["kind"] == "broken_xml"]
    for oid in broken:
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(client.get(f"{base}/ewp/omobility-las/get", params={"sending_hei_id": "fontys.nl", "omobility_id": oid}).content)
    assert client.get(f"{base}/ewp/omobility-las/index", params={"sending_hei_id": "hh.se"}).status_code == 400
    tors = [json.loads(x) for h in ("fontys.nl", "thomasmore.be") for x in (sim.root / h / "ewp/index.jsonl").read_text().splitlines()]
    tor = next(t for t in tors if t["api"] == "imobility-tors")
    host = tor["receiving_hei"]
    doc = etree.fromstring(client.get(f"{apis.urls[host]}/ewp/imobility-tors/get",
                                      params={"receiving_hei_id": host, "omobility_id": tor["omobility_id"]}).content)
    assert doc.xpath("//*[local-name()='resultLabel']")


def test_stop_frees_the_ports(sim):
    running = serve_partner_apis(sim.root)
    ports = [int(u.rsplit(":", 1)[1]) for u in running.urls.values()]
    assert len(set(ports)) == 9
    running.stop()
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0


def test_serving_a_folder_that_is_no_simulation_says_so(tmp_path):
    with pytest.raises(SimulationNotFound, match="hub simulate"):
        serve_partner_apis(tmp_path)
