"""VIKO (viko.lt): webhook pushes, one JSON body per line of ``viko.lt/webhooks.jsonl``.

Each line is the exact body VIKO's AIS posts (UTF-8 JSON, one object, no newline inside), in
posting order; ``hub.simulate.push_webhooks`` replays them to a URL with a bearer token.  A
body's ``id`` is its event id: a retried post (a duplicate) repeats it.  ``type`` is one of
student.created, enrolment.created, enrolment.withdrawn, grade.recorded, grade.corrected,
grade.revoked.  ``viko.lt/courses.json`` is the course catalogue.  Bad bodies stay bad on the
line: cut-off JSON, or bytes in ISO-8859-13 (Baltic) instead of UTF-8.
"""

from __future__ import annotations

import json
from typing import IO, Any

from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._grades import unknown_label
from hub.simulate._rand import derived_uuid, iso
from hub.simulate.natives._base import SisWriter

_TYPES = {("enrolment", "REGISTERED"): "enrolment.created", ("enrolment", "WITHDRAWN"): "enrolment.withdrawn",
          ("grade", "FINAL"): "grade.recorded", ("grade", "CORRECTED"): "grade.corrected",
          ("grade", "REVOKED"): "grade.revoked"}
_SCALE = {"viko.lt/1-10": "1-10", "viko.lt/pass-fail": "įskaityta/neįskaityta"}


def _body(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class WebhookWriter(SisWriter):
    FORMAT = "webhook"
    BAD_KINDS = ("broken_json", "wrong_encoding", "unknown_grade_label", "unknown_course", "unknown_institution")

    def open(self) -> None:
        self.ctx.folder.mkdir(parents=True, exist_ok=True)
        self.fh: IO[bytes] = (self.ctx.folder / "webhooks.jsonl").open("wb")
        self.line = 0
        courses = [{"code": c.code, "title": c.title, "ects": float(c.ects), "isced": c.isced, "scale": _SCALE[c.scheme_id],
                    "term": self.ctx.cal.term_id(c.term)} for c in self.ctx.catalogue.courses]
        (self.ctx.folder / "courses.json").write_text(json.dumps(courses, ensure_ascii=False, indent=1), encoding="utf-8")
        self.ctx.counts.reference["courses"] += len(courses)

    def close(self) -> None:
        self.fh.close()

    def _post(self, data: bytes) -> int:
        self.fh.write(data + b"\n")
        self.line += 1
        return self.line

    def student(self, r: dict[str, Any]) -> None:
        self._post(_body({"id": derived_uuid("viko.lt", "student", r["sid"]), "type": "student.created",
                          "sent_at": iso(utc(r["d"])), "occurred_at": iso(utc(r["t"])), "institution": "viko.lt",
                          "student": {"id": r["sid"], "esi": r["esi"], "study_field": r["isced"]}}).encode())

    def _message(self, r: dict[str, Any], course: Course, *, code: str | None = None, value: str | None = None,
                 institution: str = "viko.lt", event_id: str | None = None) -> dict[str, Any]:
        status = r["status"] if r["k"] == "enrolment" else r["st"]
        msg: dict[str, Any] = {
            "id": event_id or r["eid"], "type": _TYPES[(r["k"], status)], "sent_at": iso(utc(r["d"])),
            "occurred_at": iso(utc(r["t"])), "institution": institution,
            "student": {"id": r["sid"], "esi": r["esi"]},
            "course": {"code": code or course.code, "ects": float(course.ects), "term": self.ctx.cal.term_id(course.term)},
        }
        if r["k"] == "grade":
            msg["grade"] = {"result_id": r["rid"], "value": value or r["label"], "scale": _SCALE[course.scheme_id],
                            "attempt": r["att"], "date": r["on"]}
        return msg

    def record(self, r: dict[str, Any], course: Course) -> None:
        self._post(_body(self._message(r, course)).encode())

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, rng.uuid())
        event_id = rng.uuid()
        if badness == "broken_json":
            text = _body(self._message(r, course, event_id=event_id))
            data, detail = text[: len(text) // 2].encode(), "the body is cut off mid-object"
        elif badness == "wrong_encoding":
            text = _body(self._message({**r, "label": "neįskaityta"}, course, event_id=event_id))
            data, detail = text.encode("iso8859_13"), "the body is ISO-8859-13, not UTF-8"
        elif badness == "unknown_grade_label":
            value = unknown_label(rng, course.scheme_id)
            data = _body(self._message(r, course, value=value, event_id=event_id)).encode()
            detail = f"grade {value!r} is not a grade of {course.scheme_id}"
        elif badness == "unknown_course":
            code = f"XXF-ZZ{rng.randint(1000, 9999)}"
            data = _body(self._message(r, course, code=code, event_id=event_id)).encode()
            detail = f"course {code} is not in courses.json"
        else:
            data = _body(self._message(r, course, institution="vilniustech.lt", event_id=event_id)).encode()
            detail = "institution vilniustech.lt is not a HEROES partner"
        return {"file": f"{self.ctx.hei}/webhooks.jsonl", "line": self._post(data), "id": event_id}, detail
