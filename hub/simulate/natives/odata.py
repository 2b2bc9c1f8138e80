"""Thomas More (thomasmore.be): KU Loket's SAP back end as OData v2 JSON entity sets.

``thomasmore.be/odata/{Students,Modules,Registrations,Results}.jsonl`` hold one entity per
line, in the order SAP changed them (a result appears again when corrected or revoked, with a
higher ``ChangeCounter``).  Served as ``{"d": {"results": [...], "__next": "..."}}`` pages.
Dates are OData v2 ``/Date(<ms since epoch, UTC>)/``; numbers are Edm.Decimal strings.
``Status``: F final, C corrected, R revoked (results); REG registered, WDR withdrawn.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import IO, Any

from hub.simulate._catalogue import Course
from hub.simulate._grades import unknown_label
from hub.simulate.natives._base import SisWriter

SERVICE = "ZHEROES_STUDENT_SRV"
_STATUS = {"FINAL": "F", "CORRECTED": "C", "REVOKED": "R"}
_SCALE = {"thomasmore.be/0-20": "0-20", "thomasmore.be/pass-fail": "GESLAAGD"}


def odata_date(value: int | date) -> str:
    if isinstance(value, date):
        value = int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp() * 1000)
    return f"/Date({value})/"


def _meta(entity_set: str, key: str, kind: str) -> dict[str, str]:
    uri = f"{entity_set}('{key}')"
    return {"id": uri, "uri": uri, "type": f"{SERVICE}.{kind}"}


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


class ODataWriter(SisWriter):
    FORMAT = "odata"
    BAD_KINDS = ("invalid_record", "unknown_grade_label", "unknown_course")

    def open(self) -> None:
        folder = self.ctx.folder / "odata"
        folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, IO[str]] = {n: (folder / f"{n}.jsonl").open("w", encoding="utf-8")
                                          for n in ("Students", "Registrations", "Results")}
        cal = self.ctx.cal
        with (folder / "Modules.jsonl").open("w", encoding="utf-8") as fh:
            for c in self.ctx.catalogue.courses:
                fh.write(_dump({"__metadata": _meta("Modules", c.code, "Module"), "ModuleCode": c.code,
                                "ModuleId": str(50_000_000 + int(c.uid[:7], 16) % 9_000_000), "Title": c.title,
                                "Ects": f"{c.ects:.1f}", "IscedCode": c.isced, "GradingScale": _SCALE[c.scheme_id],
                                "AcademicYear": str(cal.y0), "Term": f"S{c.term}"}))
        self.ctx.counts.reference["modules"] += len(self.ctx.catalogue.courses)

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()

    def student(self, r: dict[str, Any]) -> None:
        self.files["Students"].write(_dump({
            "__metadata": _meta("Students", r["sid"], "Student"), "StudentNumber": r["sid"], "Esi": r["esi"],
            "FirstName": r["given"], "LastName": r["family"], "ProgramIsced": r["isced"], "ChangedAt": odata_date(r["t"])}))

    def _result(self, r: dict[str, Any], course: Course, grade: str | None = None, ects: str | None = None,
                module: str | None = None, exam: str | None = None) -> dict[str, Any]:
        return {"__metadata": _meta("Results", r["rid"], "Result"), "ResultId": r["rid"], "ChangeCounter": r["v"],
                "StudentNumber": r["sid"], "ModuleCode": module or course.code, "Grade": grade or r["label"],
                "Attempt": str(r["att"]), "ExamDate": exam or odata_date(date.fromisoformat(r["on"])),
                "Status": _STATUS[r["st"]], "Ects": ects or f"{course.ects:.1f}", "AcademicYear": str(self.ctx.cal.y0),
                "ChangedAt": odata_date(r["t"])}

    def record(self, r: dict[str, Any], course: Course) -> None:
        if r["k"] == "enrolment":
            self.files["Registrations"].write(_dump({
                "__metadata": _meta("Registrations", r["rid"], "Registration"), "RegistrationId": r["rid"],
                "ChangeCounter": r["v"], "StudentNumber": r["sid"], "ModuleCode": course.code,
                "AcademicYear": str(self.ctx.cal.y0), "Term": f"S{course.term}",
                "Status": "REG" if r["status"] == "REGISTERED" else "WDR", "ChangedAt": odata_date(r["t"])}))
        else:
            self.files["Results"].write(_dump(self._result(r, course)))

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, f"{rng.randint(9_000_000_000, 9_999_999_999)}")
        if badness == "invalid_record":
            obj = self._result(r, course, ects="zes", exam="/Date(morgen)/")
            detail = "Ects and ExamDate are not Edm values"
        elif badness == "unknown_grade_label":
            obj = self._result(r, course, grade=unknown_label(rng, course.scheme_id))
            detail = f"Grade {obj['Grade']!r} is not a grade of {course.scheme_id}"
        else:
            obj = self._result(r, course, module=f"YX{rng.randint(1000, 9999)}")
            detail = f"ModuleCode {obj['ModuleCode']} is not in Modules"
        self.files["Results"].write(_dump(obj))
        return {"ResultId": obj["ResultId"]}, detail
