"""SeAMK (seamk.fi): Peppi-style REST JSON (students, course units, enrolments, attainments).

``seamk.fi/peppi/{students,course-units,enrolments,attainments}.jsonl``, one object per line in
change order; served as Spring-style pages ``{"content": [...], "number", "size",
"totalElements", "totalPages", "last"}``.  Times carry Finland's UTC offset (``+02:00``/``+03:00``).
Attainment ``state``: VALID, CORRECTED (a later version of the same ``id``), INVALIDATED (revoked).
"""

from __future__ import annotations

import json
from typing import IO, Any

from hub.simulate._calendar import local_time
from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._grades import unknown_label
from hub.simulate.natives._base import SisWriter

_STATE = {"FINAL": "VALID", "CORRECTED": "CORRECTED", "REVOKED": "INVALIDATED"}
_SCALE = {"seamk.fi/0-5": "0-5", "seamk.fi/pass-fail": "HYV-HYL"}


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


class PeppiWriter(SisWriter):
    FORMAT = "peppi"
    BAD_KINDS = ("invalid_record", "unknown_grade_label", "unknown_course")

    def _ts(self, t_ms: int) -> str:
        return local_time(utc(t_ms), "seamk.fi").isoformat(timespec="seconds")

    def open(self) -> None:
        folder = self.ctx.folder / "peppi"
        folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, IO[str]] = {n: (folder / f"{n}.jsonl").open("w", encoding="utf-8")
                                          for n in ("students", "enrolments", "attainments")}
        with (folder / "course-units.jsonl").open("w", encoding="utf-8") as fh:
            for c in self.ctx.catalogue.courses:
                fh.write(_dump({"code": c.code, "name": {"en": c.title}, "credits": float(c.ects),
                                "gradeScale": _SCALE[c.scheme_id], "iscedCode": c.isced,
                                "term": self.ctx.cal.local_term("seamk.fi", c.term)}))
        self.ctx.counts.reference["course_units"] += len(self.ctx.catalogue.courses)

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()

    def student(self, r: dict[str, Any]) -> None:
        self.files["students"].write(_dump({"studentNumber": r["sid"], "esi": r["esi"], "firstNames": r["given"],
                                            "lastName": r["family"], "studyField": r["isced"], "modifiedAt": self._ts(r["t"])}))

    def _attainment(self, r: dict[str, Any], course: Course, grade: str | None = None, credits: Any = None,
                    code: str | None = None) -> dict[str, Any]:
        return {"id": int(r["rid"]), "studentNumber": r["sid"], "courseUnitCode": code or course.code,
                "grade": grade or r["label"], "gradeScale": _SCALE[course.scheme_id],
                "credits": float(course.ects) if credits is None else credits, "attainmentDate": r["on"],
                "attemptNumber": r["att"], "state": _STATE[r["st"]], "modifiedAt": self._ts(r["t"])}

    def record(self, r: dict[str, Any], course: Course) -> None:
        if r["k"] == "enrolment":
            self.files["enrolments"].write(_dump({
                "id": int(r["rid"]), "studentNumber": r["sid"], "courseUnitCode": course.code,
                "term": self.ctx.cal.local_term("seamk.fi", course.term),
                "state": "ENROLLED" if r["status"] == "REGISTERED" else "CANCELLED", "modifiedAt": self._ts(r["t"])}))
        else:
            self.files["attainments"].write(_dump(self._attainment(r, course)))

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, str(rng.randint(90_000_000, 99_999_999)))
        if badness == "invalid_record":
            obj = self._attainment(r, course, credits="viisi")
            detail = "credits is not a number"
        elif badness == "unknown_grade_label":
            obj = self._attainment(r, course, grade=unknown_label(rng, course.scheme_id))
            detail = f"grade {obj['grade']!r} is not a grade of {course.scheme_id}"
        else:
            obj = self._attainment(r, course, code=f"XX00ZZ{rng.randint(10, 99)}")
            detail = f"courseUnitCode {obj['courseUnitCode']} is not in course-units"
        self.files["attainments"].write(_dump(obj))
        return {"id": obj["id"]}, detail
