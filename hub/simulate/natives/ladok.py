"""Halmstad (hh.se): a Ladok 3 Atom feed, grades as ids resolved through a grading-scale lookup.

``hh.se/feed/<n>.xml`` are full archive pages (oldest is 1) and ``hh.se/feed/recent.xml``
the newest page; pages link by ``prev-archive``/``next-archive`` with path-absolute
hrefs (``/uppfoljning/feed/12``) and list entries newest first, as Ladok does.
Lookups: ``hh.se/grunddata/betygsskala.json`` (BetygsskalaID -> grades {BetygsgradID -> label})
and ``hh.se/grunddata/kurstillfallen.json`` (KurstillfalleUID -> course code, credits, scale).

Entries: ``LokalStudentEvent`` (StudentUID and the student's ESI), ``RegistreringEvent`` /
``AvbrottEvent`` (registered / withdrawn), ``ResultatPaHelKursAttesteratEvent`` (an attested
result; ``events:Handelsetyp`` UPPDATERAD marks a correction of the same ResultatUID) and
``AttesteratResultatMakuleratEvent`` (the named result is revoked).  Ladok has no attempt number.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._rand import derived_uuid, iso
from hub.simulate.natives._base import SisWriter
from schemas.grading import SCHEMES

PAGE_SIZE = 100
LAROSATE_ID = "16"
FEED_PATH = "/uppfoljning/feed"
# hub scheme -> (BetygsskalaID, Kod, {label: BetygsgradID})
SCALES: dict[str, tuple[int, str, dict[str, int]]] = {
    "hh.se/pass-fail": (2, "UG", {"U": 2301, "G": 2302}),
    "hh.se/U-G-VG": (3, "UVG", {"U": 2321, "G": 2322, "VG": 2323}),
    "hh.se/U-3-4-5": (4, "TH", {"U": 2341, "3": 2343, "4": 2344, "5": 2345}),
    "hh.se/A-F": (131657, "AF", {"A": 131658, "B": 131659, "C": 131660, "D": 131661, "E": 131662, "Fx": 131663, "F": 131664}),
}
_NS = {
    "resultat": 'xmlns:rr="http://schemas.ladok.se/resultat"',
    "studiedeltagande": 'xmlns:sd="http://schemas.ladok.se/studiedeltagande"',
    "studentinformation": 'xmlns:si="http://schemas.ladok.se/studentinformation"',
}
_COMMON_NS = 'xmlns:base="http://schemas.ladok.se" xmlns:dap="http://schemas.ladok.se/dap" xmlns:events="http://schemas.ladok.se/events"'


def grading_scale_lookup() -> dict[str, Any]:
    """The grading-scale lookup: BetygsskalaID -> {Kod, scheme_id, grades: {BetygsgradID -> label}}."""
    return {str(sid): {"Kod": kod, "scheme_id": scheme_id, "grades": {str(i): label for label, i in grades.items()}}
            for scheme_id, (sid, kod, grades) in SCALES.items()}


def _ts(t: datetime) -> str:
    return iso(t)


class LadokWriter(SisWriter):
    FORMAT = "ladok-atom"
    BAD_KINDS = ("broken_xml", "unknown_grade_label", "unknown_course", "invalid_record")

    def open(self) -> None:
        self.feed = self.ctx.folder / "feed"
        self.feed.mkdir(parents=True, exist_ok=True)
        self.page: list[tuple[str, str]] = []  # (updated, entry xml), oldest first
        self.number = 1
        self._write_lookups()

    def _write_lookups(self) -> None:
        folder = self.ctx.folder / "grunddata"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "betygsskala.json").write_text(json.dumps(grading_scale_lookup(), indent=1, ensure_ascii=False), encoding="utf-8")
        rows = []
        for c in self.ctx.catalogue.courses:
            rows.append({"Uid": c.native_uid("kurstillfalle"), "KursUID": c.native_uid("kurs"),
                         "UtbildningsinstansUID": c.native_uid("utbildningsinstans"), "Utbildningskod": c.code,
                         "Benamning": {"en": c.title}, "Omfattning": str(c.ects), "BetygsskalaID": SCALES[c.scheme_id][0],
                         "Studieperiod": self.ctx.cal.local_term("hh.se", c.term), "ISCED": c.isced})
        (folder / "kurstillfallen.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
        self.ctx.counts.reference["courses"] += len(rows)

    # -- entries ---------------------------------------------------------------
    def _entry(self, domain: str, event: str, entry_id: str, updated: datetime, body: str, handelsetyp: str = "") -> None:
        kind = f"{'' if not handelsetyp else f'<events:Handelsetyp>{handelsetyp}</events:Handelsetyp>'}"
        prefix = {"resultat": "rr", "studiedeltagande": "sd", "studentinformation": "si"}[domain]
        content = (
            f'<{prefix}:{event} {_NS[domain]} {_COMMON_NS}>'
            f"<events:HandelseUID>{derived_uuid(entry_id, 'handelse')}</events:HandelseUID>"
            f"<events:EventContext><events:AnvandareUID>{derived_uuid('ladok-user', domain)}</events:AnvandareUID>"
            f"<events:Anvandarnamn>feedevent@ladokintern.se</events:Anvandarnamn>"
            f"<events:LarosateID>{LAROSATE_ID}</events:LarosateID></events:EventContext>{kind}{body}</{prefix}:{event}>"
        )
        self._add(domain, event, entry_id, updated, f'<content type="application/vnd.ladok+xml">{content}</content>')

    def _add(self, domain: str, event: str, entry_id: str, updated: datetime, content: str) -> None:
        stamp = _ts(updated)
        xml = (f'<entry><category term="http://schemas.ladok.se/{domain}/{event}" label="Event-typ"/>'
               f"<id>{entry_id}</id><updated>{stamp}</updated>{content}</entry>")
        if len(self.page) == PAGE_SIZE:
            self._flush(final=False)
        self.page.append((stamp, xml))

    def student(self, r: dict[str, Any]) -> None:
        body = (f"<si:Efternamn>{escape(r['family'])}</si:Efternamn>"
                f"<si:EuropeanStudentIdentifier>{escape(r['esi'])}</si:EuropeanStudentIdentifier>"
                f"<si:ExterntStudentUID>{derived_uuid(r['esi'], 'extern')}</si:ExterntStudentUID>"
                f"<si:Fodelsedata>{r['birth']}</si:Fodelsedata><si:Fornamn>{escape(r['given'])}</si:Fornamn>"
                f"<si:Kon>{r['gender']}</si:Kon><si:StudentUID>{r['sid']}</si:StudentUID>")
        self._entry("studentinformation", "LokalStudentEvent", derived_uuid("hh.se", "student", r["sid"]), utc(r["t"]),
                    body, "SKAPAD")

    def _course_ids(self, course: Course, kurstillfalle: str | None = None) -> dict[str, str]:
        return {"KursUID": course.native_uid("kurs"), "KursinstansUID": course.native_uid("kursinstans"),
                "KurstillfalleUID": kurstillfalle or course.native_uid("kurstillfalle"),
                "UtbildningsinstansUID": course.native_uid("utbildningsinstans")}

    def record(self, r: dict[str, Any], course: Course) -> None:
        ids = self._course_ids(course)
        if r["k"] == "enrolment":
            event = "RegistreringEvent" if r["status"] == "REGISTERED" else "AvbrottEvent"
            body = (f"<sd:KurstillfalleUID>{ids['KurstillfalleUID']}</sd:KurstillfalleUID>"
                    f"<sd:Period>{self.ctx.cal.local_term('hh.se', course.term)}</sd:Period>"
                    f"<sd:StudentUID>{r['sid']}</sd:StudentUID>"
                    f"<sd:UtbildningsinstansUID>{ids['UtbildningsinstansUID']}</sd:UtbildningsinstansUID>")
            self._entry("studiedeltagande", event, r["eid"], utc(r["t"]), body)
            return
        self._grade(r, course, ids, r["eid"])

    def _grade(self, r: dict[str, Any], course: Course, ids: dict[str, str], entry_id: str,
               grade_id: str | None = None, exam_date: str | None = None) -> None:
        scale_id, _, grades = SCALES[course.scheme_id]
        common = (f"<rr:KursUID>{ids['KursUID']}</rr:KursUID><rr:KursinstansUID>{ids['KursinstansUID']}</rr:KursinstansUID>"
                  f"<rr:KurstillfalleUID>{ids['KurstillfalleUID']}</rr:KurstillfalleUID>")
        tail = (f"<rr:StudentUID>{r['sid']}</rr:StudentUID>"
                f"<rr:UtbildningsinstansUID>{ids['UtbildningsinstansUID']}</rr:UtbildningsinstansUID>")
        passed = SCHEMES[course.scheme_id].is_pass(r["label"])
        points = str(course.ects) if passed else "0.0"
        day = utc(r["t"]).date().isoformat()
        revoked = r["st"] == "REVOKED"  # the revoked result is named in full, so its label stays readable
        body = (f"<rr:Beslut><rr:BeslutUID>{derived_uuid(entry_id, 'beslut')}</rr:BeslutUID><rr:Beslutsdatum>{day}</rr:Beslutsdatum>"
                f"<rr:Beslutsfattare>Examinator {course.code}</rr:Beslutsfattare></rr:Beslut>{common}"
                f"<rr:Resultat><rr:BetygsgradID>{grade_id or grades[r['label']]}</rr:BetygsgradID>"
                f"<rr:BetygsskalaID>{scale_id}</rr:BetygsskalaID><rr:Examinationsdatum>{exam_date or r['on']}</rr:Examinationsdatum>"
                f"<rr:GiltigSomSlutbetyg>true</rr:GiltigSomSlutbetyg><rr:OmfattningsPoang>{course.ects}</rr:OmfattningsPoang>"
                f"<rr:PrestationsPoang>{points}</rr:PrestationsPoang><rr:ResultatUID>{r['rid']}</rr:ResultatUID></rr:Resultat>{tail}")
        event = "AttesteratResultatMakuleratEvent" if revoked else "ResultatPaHelKursAttesteratEvent"
        self._entry("resultat", event, entry_id, utc(r["t"]), body, "UPPDATERAD" if r["st"] == "CORRECTED" else "")

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        entry_id = rng.uuid()
        r = self.sample_grade(near, course, rng.uuid())
        ids = self._course_ids(course)
        if badness == "broken_xml":
            text = escape('<rr:ResultatPaHelKursAttesteratEvent xmlns:rr="http://schemas.ladok.se/resultat"><rr:Resultat><rr:BetygsgradID>2302</rr:Betygsgrad')
            self._add("resultat", "ResultatPaHelKursAttesteratEvent", entry_id, utc(near["t"]),
                      f'<content type="application/vnd.ladok+xml">{text}</content>')
            detail = "entry content is truncated XML text, not an element"
        elif badness == "unknown_grade_label":
            self._grade(r, course, ids, entry_id, grade_id="2399")
            detail = f"BetygsgradID 2399 is not a grade of BetygsskalaID {SCALES[course.scheme_id][0]}"
        elif badness == "unknown_course":
            ids = self._course_ids(course, kurstillfalle=rng.uuid())
            self._grade(r, course, ids, entry_id)
            detail = f"KurstillfalleUID {ids['KurstillfalleUID']} is not in grunddata/kurstillfallen.json"
        else:
            self._grade(r, course, ids, entry_id, exam_date="2026-02-30")
            detail = "Examinationsdatum 2026-02-30 is not a date"
        return {"entry_id": entry_id}, detail

    # -- pages -----------------------------------------------------------------
    def _links(self, number: int, recent: bool) -> str:
        links = [f'<link rel="self" type="application/atom+xml" href="{FEED_PATH}/{"recent" if recent else number}"/>']
        if recent:
            links.append(f'<link rel="via" type="application/atom+xml" href="{FEED_PATH}/{number}"/>')
        if number > 1:
            links.append(f'<link rel="prev-archive" type="application/atom+xml" href="{FEED_PATH}/{number - 1}"/>')
        if not recent:
            links.append(f'<link rel="next-archive" type="application/atom+xml" href="{FEED_PATH}/{number + 1}"/>')
        return "".join(links)

    def _flush(self, final: bool) -> None:
        entries = list(reversed(self.page))  # newest first, as Ladok lists them
        updated = max((u for u, _ in self.page), default=iso(self.ctx.cal.start_of_year()))
        text = ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
                '<title type="text">Events for Ladok3.Uppfoljning</title>'
                f"{self._links(self.number, final)}<id>urn:id:{self.number}</id>"
                f'<generator uri="http://ladok.se/uppfoljning">Uppfoljning</generator><updated>{updated}</updated>\n'
                + "\n".join(x for _, x in entries) + "\n</feed>\n")
        name = "recent.xml" if final else f"{self.number}.xml"
        (self.feed / name).write_text(text, encoding="utf-8")
        self.page = []
        if not final:
            self.number += 1

    def close(self) -> None:
        self._flush(final=True)
        (self.feed / "pages.json").write_text(json.dumps({"recent": self.number, "page_size": PAGE_SIZE}), encoding="utf-8")


def feed_page_path(folder: Path, which: str) -> Path | None:
    """The file behind ``/uppfoljning/feed/<which>`` (``recent`` or a number), or None."""
    feed = folder / "feed"
    info = json.loads((feed / "pages.json").read_text())
    if which == "recent" or which == str(info["recent"]):
        return feed / "recent.xml"
    if which.isdigit() and 1 <= int(which) < info["recent"]:
        return feed / f"{which}.xml"
    return None
