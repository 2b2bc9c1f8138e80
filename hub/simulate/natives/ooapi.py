"""Fontys (fontys.nl): Open Education API v5 JSON (persons, offerings, associations), served paged.

``fontys.nl/ooapi/{persons,offerings,associations}.jsonl`` hold one OOAPI object per line.
``associations.jsonl`` lists association *versions* in the order they changed: an association
(one student in one course offering, one attempt) appears when the student registers (``result``
null), again when a result is attested, corrected (``consumers[].resultStatus`` CORRECTED) or
revoked (``state`` canceled with a result); ``state`` canceled without a result is a withdrawal.
HEROES fields ride in OOAPI's own extension point, ``consumers`` with ``consumerKey`` heroes-hub.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import IO, Any

from hub.simulate._catalogue import Course
from hub.simulate._delivery import utc
from hub.simulate._grades import unknown_label
from hub.simulate._rand import derived_uuid, iso
from hub.simulate.natives._base import SisWriter
from schemas.grading import SCHEMES

CONSUMER = "heroes-hub"
_VALUE_TYPE = {"fontys.nl/1-10": "1-10", "fontys.nl/pass-fail": "pass-or-fail", "fontys.nl/OGSU": "OGSU"}


@lru_cache(maxsize=4096)
def _person_id(number: str) -> str:
    return derived_uuid("person", "fontys.nl", number)


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


class OoapiWriter(SisWriter):
    FORMAT = "ooapi"
    BAD_KINDS = ("invalid_record", "unknown_grade_label", "unknown_course", "unknown_institution")

    def open(self) -> None:
        folder = self.ctx.folder / "ooapi"
        folder.mkdir(parents=True, exist_ok=True)
        self.persons: IO[str] = (folder / "persons.jsonl").open("w", encoding="utf-8")
        self.assoc: IO[str] = (folder / "associations.jsonl").open("w", encoding="utf-8")
        cal = self.ctx.cal
        with (folder / "offerings.jsonl").open("w", encoding="utf-8") as fh:
            for c in self.ctx.catalogue.courses:
                fh.write(_dump({
                    "offeringId": c.native_uid("offering"),
                    "primaryCode": {"codeType": "offeringCode", "code": f"{c.code}-{cal.y0}-{c.term}"},
                    "offeringType": "course", "name": [{"language": "en-GB", "value": c.title}],
                    "teachingLanguage": "eng", "resultExpected": True, "resultValueType": _VALUE_TYPE[c.scheme_id],
                    "startDate": cal.term_start(c.term).isoformat(), "endDate": cal.term_end(c.term).isoformat(),
                    "academicSession": {"academicSessionId": f"{cal.year}-{c.term}", "name": [{"language": "en-GB", "value": cal.local_term("fontys.nl", c.term)}]},
                    "course": {"courseId": c.native_uid("course"), "primaryCode": {"codeType": "identifier", "code": c.code},
                               "studyLoad": {"studyLoadUnit": "ects", "value": float(c.ects)}, "fieldsOfStudy": c.isced},
                    "consumers": [{"consumerKey": CONSUMER, "gradingSchemeId": c.scheme_id}],
                }))
        self.ctx.counts.reference["offerings"] += len(self.ctx.catalogue.courses)

    def close(self) -> None:
        self.persons.close()
        self.assoc.close()

    def _person(self, person_id: str, number: str, esi: str, given: str, family: str) -> dict[str, Any]:
        prefix, _, surname = family.rpartition(" ")
        return {"personId": person_id, "primaryCode": {"codeType": "studentNumber", "code": number},
                "givenName": given, "surnamePrefix": prefix or None, "surname": surname, "displayName": f"{given} {family}",
                "affiliations": ["student"], "mail": f"{number}@student.fontys.nl",
                "otherCodes": [{"codeType": "esi", "code": esi}]}

    def student(self, r: dict[str, Any]) -> None:
        self.persons.write(_dump(self._person(_person_id(r["sid"]), r["sid"], r["esi"], r["given"], r["family"])))

    def _association(self, r: dict[str, Any], course: Course, *, offering: str | None = None, person: str | None = None,
                     score: Any = None, ects: Any = None) -> dict[str, Any]:
        result = None
        if r["k"] == "grade":
            passed = SCHEMES[course.scheme_id].is_pass(r["label"]) if score is None else False
            result = {"state": "completed", "pass": "passed" if passed else "failed",
                      "score": r["label"] if score is None else score, "resultDate": r["on"],
                      "studyLoad": {"studyLoadUnit": "ects", "value": float(course.ects) if ects is None else ects}}
        state = "canceled" if r.get("status") == "WITHDRAWN" or r.get("st") == "REVOKED" else "associated"
        consumer: dict[str, Any] = {"consumerKey": CONSUMER, "modifiedAt": iso(utc(r["t"]))}
        if r["k"] == "grade":
            consumer.update(attempt=r["att"], resultStatus=r["st"])
        return {"associationId": r["rid"], "associationType": "courseOfferingAssociation", "role": "student",
                "state": state, "remoteState": state,
                "person": {"personId": person or _person_id(r["sid"])},
                "offering": {"offeringId": offering or course.native_uid("offering")},
                "result": result, "consumers": [consumer]}

    def record(self, r: dict[str, Any], course: Course) -> None:
        self.assoc.write(_dump(self._association(r, course)))

    def bad(self, badness: str, near: dict[str, Any], course: Course) -> tuple[dict[str, Any], str]:
        rng = self.ctx.rng
        r = self.sample_grade(near, course, rng.uuid())
        if badness == "invalid_record":
            obj = self._association(r, course, ects="vijf")
            detail = "result.studyLoad.value is not a number"
        elif badness == "unknown_grade_label":
            obj = self._association(r, course, score=unknown_label(rng, course.scheme_id))
            detail = f"score {obj['result']['score']!r} is not a grade of {course.scheme_id}"
        elif badness == "unknown_course":
            obj = self._association(r, course, offering=rng.uuid())
            detail = f"offeringId {obj['offering']['offeringId']} is not in /offerings"
        else:
            person = rng.uuid()
            number = f"{rng.randint(5000000, 5999999)}"
            self.persons.write(_dump(self._person(person, number, f"urn:schac:personalUniqueCode:int:esi:tue.nl:{number}",
                                                  "Visiting", "Student")))
            self.ctx.counts.reference["students"] += 1
            self.ctx.counts.deliveries += 1
            obj = self._association({**r, "sid": number}, course, person=person)
            detail = "the person's ESI is issued by tue.nl, not a HEROES partner"
        self.assoc.write(_dump(obj))
        return {"associationId": obj["associationId"]}, detail
