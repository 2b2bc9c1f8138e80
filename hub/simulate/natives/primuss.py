"""Deggendorf (th-deg.de): PRIMUSS CSV exports, German headers, ``;``, decimal comma, cp1252, CRLF.

PRIMUSS exports twice a week; each export writes up to three files into ``th-deg.de/exports/``:
``Notenexport_<YYYYMMDD_HHMM>.csv`` (grades), ``Anmeldungen_<...>.csv`` (exam registrations)
and ``Studierende_<...>.csv`` (students with their ESI), named by local (Europe/Berlin) time.
``th-deg.de/Pruefungen.csv`` is the exam catalogue.  A grade row has no time of its own: its
event time is the exam date (``Prüfungsdatum``) at 00:00 Europe/Berlin.  ``Status``:
endgültig (final), korrigiert (corrected), annulliert (revoked).  Names PRIMUSS cannot store in
cp1252 come out with ``?``, as Windows exports do.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from typing import IO, Any

from hub.simulate._calendar import local_time
from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._grades import unknown_label
from hub.simulate.natives._base import SisWriter

ENCODING = "cp1252"
HEADERS = {
    "Notenexport": ("Matrikelnummer", "Prüfungsnummer", "Note", "ECTS", "Prüfungsdatum", "Versuch", "Status"),
    "Anmeldungen": ("Matrikelnummer", "Prüfungsnummer", "Semester", "Zeitstempel", "Status"),
    "Studierende": ("Matrikelnummer", "ESI", "Studiengang", "Nachname", "Vorname"),
}
_STATUS = {"FINAL": "endgültig", "CORRECTED": "korrigiert", "REVOKED": "annulliert"}
_SCALE = {"th-deg.de/1-5": "1,0-5,0", "th-deg.de/pass-fail": "mit/ohne Erfolg"}


def _row(values: tuple[str, ...] | list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def german_date(value: str) -> str:
    d = date.fromisoformat(value)
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def exam_time(exam_date: str) -> datetime:
    """A grade's event time in PRIMUSS: 00:00 Europe/Berlin on the exam date."""
    d = date.fromisoformat(exam_date)
    noon = datetime(d.year, d.month, d.day, 12, tzinfo=timezone.utc)
    offset = local_time(noon, "th-deg.de").utcoffset() or timedelta()
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc) - offset


class PrimussWriter(SisWriter):
    FORMAT = "primuss-csv"
    BAD_KINDS = ("broken_csv", "wrong_encoding", "unknown_grade_label", "unknown_course", "invalid_record")

    def open(self) -> None:
        self.folder = self.ctx.folder / "exports"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.slot = -1
        self.files: dict[str, tuple[IO[bytes], list[int]]] = {}
        with (self.ctx.folder / "Pruefungen.csv").open("wb") as fh:
            fh.write(_row(("Prüfungsnummer", "Bezeichnung", "ECTS", "Notenskala", "ISCED", "Semester")).encode(ENCODING))
            for c in self.ctx.catalogue.courses:
                fh.write(_row((c.code, c.title, _comma(c.ects), _SCALE[c.scheme_id], c.isced,
                               self.ctx.cal.local_term("th-deg.de", c.term))).encode(ENCODING, "replace"))
        self.ctx.counts.reference["exams"] += len(self.ctx.catalogue.courses)

    def occurred(self, r: dict[str, Any]) -> int:
        return int(exam_time(r["on"]).timestamp() * 1000) if r["k"] == "grade" else r["t"]

    def _file(self, kind: str, delivered: int) -> tuple[IO[bytes], list[int]]:
        if delivered != self.slot:
            self._close_files()
            self.slot = delivered
        if kind not in self.files:
            stamp = local_time(utc(delivered), "th-deg.de").strftime("%Y%m%d_%H%M")
            path = self.folder / f"{kind}_{stamp}.csv"
            fh = path.open("wb")
            fh.write(_row(HEADERS[kind]).encode(ENCODING))
            self.files[kind] = (fh, [1])
        return self.files[kind]

    def _write(self, kind: str, delivered: int, data: bytes) -> str:
        fh, line = self._file(kind, delivered)
        fh.write(data)
        line[0] += 1
        return f"{self.rel(self.folder)}/{fh.name.rsplit('/', 1)[-1]}:{line[0]}"

    def _close_files(self) -> None:
        for fh, _ in self.files.values():
            fh.close()
        self.files = {}

    def close(self) -> None:
        self._close_files()

    def student(self, r: dict[str, Any]) -> None:
        self._write("Studierende", r["d"], _row((r["sid"], r["esi"], r["isced"], r["family"], r["given"])).encode(ENCODING, "replace"))

    def _grade_row(self, r: dict[str, Any], course: Course, **override: str) -> tuple[str, ...]:
        values = {"Matrikelnummer": r["sid"], "Prüfungsnummer": course.code, "Note": r["label"],
                  "ECTS": _comma(course.ects), "Prüfungsdatum": german_date(r["on"]), "Versuch": str(r["att"]),
                  "Status": _STATUS[r["st"]], **override}
        return tuple(values[h] for h in HEADERS["Notenexport"])

    def record(self, r: dict[str, Any], course: Course) -> None:
        if r["k"] == "enrolment":
            stamp = local_time(utc(r["t"]), "th-deg.de").strftime("%d.%m.%Y %H:%M:%S")
            row = (r["sid"], course.code, self.ctx.cal.local_term("th-deg.de", course.term), stamp,
                   "angemeldet" if r["status"] == "REGISTERED" else "abgemeldet")
            self._write("Anmeldungen", r["d"], _row(row).encode(ENCODING))
        else:
            self._write("Notenexport", r["d"], _row(self._grade_row(r, course)).encode(ENCODING))

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, "", attempt=9)
        row = self._grade_row(r, course)
        if badness == "broken_csv":
            data, detail = _row(row[:3] + row[4:6]).encode(ENCODING), "5 fields where the header has 7"
        elif badness == "wrong_encoding":
            data, detail = _row(row).encode("cp437"), "the row is cp437, not cp1252 (byte 0x81 for ü)"
        elif badness == "unknown_grade_label":
            label = unknown_label(rng, course.scheme_id)
            data, detail = _row(self._grade_row(r, course, Note=label)).encode(ENCODING), f"Note {label!r} is not a grade of {course.scheme_id}"
        elif badness == "unknown_course":
            number = f"9{rng.randint(100, 999)}"
            data, detail = _row(self._grade_row(r, course, **{"Prüfungsnummer": number})).encode(ENCODING), \
                f"Prüfungsnummer {number} is not in Pruefungen.csv"
        else:
            data, detail = _row(self._grade_row(r, course, ECTS="fünf", **{"Prüfungsdatum": "31.02.2026"})).encode(ENCODING), \
                "ECTS and Prüfungsdatum are not a number and a date"
        where = self._write("Notenexport", near["d"], data)
        file, line = where.rsplit(":", 1)
        return {"file": file, "line": int(line)}, detail


def _comma(value: object) -> str:
    text = f"{float(str(value)):.1f}"
    return text.replace(".", ",")
