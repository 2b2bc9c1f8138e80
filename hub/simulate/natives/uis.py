"""MENDELU (mendelu.cz): UIS XML export files, one per nightly export run.

``mendelu.cz/exports/uis-export-<YYYYMMDD-HHMM>.xml`` (local Prague time) holds the day's changes
in order: ``student`` (UČO and ESI), ``zapis`` (course registration: stav zapsano/zruseno) and
``hodnoceni`` (grade: znamka, pokus = attempt, stav platne/opraveno/zruseno = final/corrected/
revoked, verze = version of the same ``id``).  ``mendelu.cz/predmety.xml`` is the course list.
A broken or wrongly encoded export is a file of its own, ``...-oprava-<n>.xml``, holding only
bad records, so every other export file parses.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hub.simulate._calendar import local_time
from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._grades import unknown_label
from hub.simulate.natives._base import SisWriter

NS = "https://is.mendelu.cz/xml/uis-export/1"
_STATE = {"FINAL": "platne", "CORRECTED": "opraveno", "REVOKED": "zruseno"}
_SCALE = {"mendelu.cz/A-F": "A-F", "mendelu.cz/Z-N": "Z-N"}


def _attrs(**values: object) -> str:
    return " ".join(f"{k.replace('_', '-')}={quoteattr(str(v))}" for k, v in values.items())


class UisWriter(SisWriter):
    FORMAT = "uis-xml"
    BAD_KINDS = ("broken_xml", "wrong_encoding", "unknown_grade_label", "unknown_course")

    def _ts(self, t_ms: int) -> str:
        return local_time(utc(t_ms), "mendelu.cz").isoformat(timespec="seconds")

    def open(self) -> None:
        self.folder = self.ctx.folder / "exports"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.slot = -1
        self.items: list[str] = []
        self.repairs = 0
        cal = self.ctx.cal
        rows = "".join(
            f"<predmet {_attrs(kod=c.code, kredity=c.ects, isced=c.isced, stupnice=_SCALE[c.scheme_id], obdobi=cal.local_term('mendelu.cz', c.term))}>"
            f'<nazev xml:lang="en">{escape(c.title)}</nazev></predmet>\n' for c in self.ctx.catalogue.courses)
        (self.ctx.folder / "predmety.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<predmety xmlns="{NS}" instituce="mendelu.cz">\n{rows}</predmety>\n',
            encoding="utf-8")
        self.ctx.counts.reference["courses"] += len(self.ctx.catalogue.courses)

    def _name(self, slot: int, suffix: str = "") -> str:
        return f"uis-export-{local_time(utc(slot), 'mendelu.cz').strftime('%Y%m%d-%H%M')}{suffix}.xml"

    def _document(self, slot: int, items: list[str]) -> str:
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<uis-export xmlns="{NS}" instituce="mendelu.cz" '
                f'vytvoreno="{self._ts(slot)}">\n' + "".join(items) + "</uis-export>\n")

    def _add(self, delivered: int, item: str) -> None:
        if delivered != self.slot:
            self._flush()
            self.slot = delivered
        self.items.append(item + "\n")

    def _flush(self) -> None:
        if self.items:
            (self.folder / self._name(self.slot)).write_text(self._document(self.slot, self.items), encoding="utf-8")
        self.items = []

    def close(self) -> None:
        self._flush()

    def student(self, r: dict[str, Any]) -> None:
        self._add(r["d"], f"<student {_attrs(uco=r['sid'], esi=r['esi'], jmeno=r['given'], prijmeni=r['family'], obor_isced=r['isced'], zmeneno=self._ts(r['t']))}/>")

    def _grade(self, r: dict[str, Any], course: Course, code: str | None = None, label: str | None = None) -> str:
        return (f"<hodnoceni {_attrs(id=r['rid'], verze=r['v'], uco=r['sid'], predmet=code or course.code, znamka=label or r['label'], pokus=r['att'], datum=r['on'], stav=_STATE[r['st']], zmeneno=self._ts(r['t']))}/>")

    def record(self, r: dict[str, Any], course: Course) -> None:
        if r["k"] == "enrolment":
            self._add(r["d"], f"<zapis {_attrs(id=r['rid'], uco=r['sid'], predmet=course.code, obdobi=self.ctx.cal.local_term('mendelu.cz', course.term), stav='zapsano' if r['status'] == 'REGISTERED' else 'zruseno', zmeneno=self._ts(r['t']))}/>")
        else:
            self._add(r["d"], self._grade(r, course))

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, str(rng.randint(90_000_000, 99_999_999)))
        if badness in ("unknown_grade_label", "unknown_course"):
            if badness == "unknown_grade_label":
                label = unknown_label(rng, course.scheme_id)
                item, detail = self._grade(r, course, label=label), f"znamka {label!r} is not a grade of {course.scheme_id}"
            else:
                code = f"XXX-{rng.choice('QWZ')}{rng.randint(10, 99)}"
                item, detail = self._grade(r, course, code=code), f"predmet {code} is not in predmety.xml"
            self._add(near["d"], item)
            return {"file": f"{self.rel(self.folder)}/{self._name(near['d'])}", "id": r["rid"]}, detail
        self.repairs += 1
        name = self._name(near["d"], f"-oprava-{self.repairs}")
        student = f"<student {_attrs(uco=r['sid'], esi=r['esi'], jmeno='Ondřej', prijmeni='Dvořák', obor_isced='0811', zmeneno=self._ts(r['t']))}/>\n"
        text = self._document(near["d"], [student, self._grade(r, course) + "\n"])
        if badness == "broken_xml":
            data, detail = text[: len(text) * 2 // 3].encode("utf-8"), "the export file is cut off"
        else:
            data, detail = text.encode("cp1250"), "declared UTF-8 but written in windows-1250"
        (self.folder / name).write_bytes(data)
        return {"file": f"{self.rel(self.folder)}/{name}", "id": r["rid"]}, detail
