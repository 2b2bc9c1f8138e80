"""Decision candidates, their derived ids, and the RecognitionDecision events built from them.

A candidate is what the rules conclude for one (mobility, component) from the
current facts.  Its ``id`` is a short SHA-256 of the mobility, the component, the
outcome (status, rule, ECTS, grade), what the LA asked of it (group, conditions)
and the sorted ids of the input events, so the same facts always give the same
id and an unchanged outcome is never emitted twice.  The envelope is derived too:
``occurred_at`` = ``recorded_at`` = the latest ``occurred_at`` among the inputs,
``event_id`` = uuid5 of the decision id.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

from schemas.models import DecisionStatus, HostGrade, LaComponent, Provenance, RecognitionDecision

from schemas.building import built, setters
from .conversion import Converted
from .ids import uuid5_namer

__all__ = ["Candidate", "build_decision", "build_event", "cents", "decision_id", "ects_text", "host_grades"]

ZERO = Decimal("0.00")
_CENT = Decimal("0.01")
_ECTS_TEXT: dict[Decimal, str] = {}
_STATUS_TEXT = {s: s.value for s in DecisionStatus}
_DECIMALS: dict[str, Decimal] = {}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-hub.eu/recognition/decisions")


class Candidate:
    """One concluded outcome for a component; ``ctx`` keeps what the reason and provenance cite."""

    __slots__ = ("key", "status", "rule", "ects", "grade", "imap", "inputs", "occ", "id", "reason", "ctx")

    def __init__(
        self,
        omobility_id: str,
        key: str,
        status: DecisionStatus,
        rule: str,
        inputs: dict[str, int],
        reason: Callable[[], str],
        *,
        ects: Decimal = ZERO,
        grade: str | None = None,
        extra: str = "",
        ctx: "Ctx",
        ordered: tuple[str, ...] | None = None,
        occ: int | None = None,
    ):
        self.key, self.status, self.rule, self.ects, self.grade = key, status, rule, ects, grade
        self.imap = inputs
        # ordered and occ: the sorted input ids and the latest time, when the caller has them already
        self.inputs = tuple(sorted(inputs)) if ordered is None else ordered
        self.occ = (max(inputs.values()) if inputs else 0) if occ is None else occ
        self.reason, self.ctx = reason, ctx
        self.id = decision_id(omobility_id, key, _STATUS_TEXT[status], rule, ects, grade, extra, ",".join(self.inputs))


def ects_text(ects: Decimal) -> str:
    """``f"{ects:.2f}"``; there are few distinct amounts."""
    found = _ECTS_TEXT.get(ects)
    if found is None or not ects:  # -0 equals 0 but prints apart: zero is never cached
        if len(_ECTS_TEXT) > 1024:
            _ECTS_TEXT.clear()
        found = f"{ects:.2f}"
        if ects:
            _ECTS_TEXT[ects] = found
    return found


def decision_id(omobility_id: str, key: str, status: str, rule: str, ects: Decimal, grade: str | None, extra: str,
                inputs: str) -> str:
    """The id of an outcome (see the module docstring); ``inputs``: the sorted input ids joined by commas."""
    text = "\x1f".join((omobility_id, key, status, rule, ects_text(ects), grade or "", extra, inputs))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class Ctx:
    """What a decision rests on, for its provenance."""

    __slots__ = ("la_version", "group_id", "host", "converted", "component", "decided_by", "home_scheme_id")

    def __init__(self, la_version: int, group_id: str, host=(), converted: Converted | None = None,
                 component: LaComponent | None = None, decided_by: str | None = None,
                 home_scheme_id: str | None = None):
        self.la_version, self.group_id, self.host, self.converted = la_version, group_id, tuple(host), converted
        self.component, self.decided_by, self.home_scheme_id = component, decided_by, home_scheme_id


_HOST_GRADE_FIELDS = {"result_id", "course_code", "grade_label", "grading_scheme_id", "ects", "attempt", "passed",
                      "event_id"}
_PROVENANCE_FIELDS = {"la_version", "group_id", "host_grades", "conversion", "input_event_ids"}
_DECISION_FIELDS = {
    "event_id", "event_type", "source_hei", "occurred_at", "recorded_at", "schema_version", "trace_id", "decision_id",
    "omobility_id", "student_esi", "home_hei", "host_hei", "home_component", "home_component_title", "version",
    "status", "ects", "converted_grade", "home_scheme_id", "rule", "reason", "supersedes", "decided_by", "provenance",
}

_HOST_GRADE_SET, _PROVENANCE_SET, _DECISION_SET = (setters(HostGrade), setters(Provenance),
                                                 setters(RecognitionDecision))
# a decision's fields in the model's order, the constant ones set: ``build_event`` fills a copy, which is sized for
# all of them at once (a literal of this many entries grows its table as it goes)
_DECISION_TEMPLATE = dict.fromkeys(RecognitionDecision.model_fields)
_DECISION_TEMPLATE.update(event_type="RecognitionDecision", schema_version=1)


_uuid5 = uuid5_namer(_NAMESPACE)  # str(uuid.uuid5(_NAMESPACE, name)), without building UUID objects


def _host_grade(g) -> HostGrade:
    """The HostGrade of a result's current event.

    Built anew for each event's decisions (which share them, see ``host_grades``): kept across events,
    they cost the collector and the cache more than building them (measured with cachegrind).
    """
    return built(HostGrade, _HOST_GRADE_FIELDS, _HOST_GRADE_SET, {
        "result_id": g.result_id, "course_code": g.course_code, "grade_label": g.label,
        "grading_scheme_id": g.scheme_id, "ects": _decimal(g.ects), "attempt": g.attempt, "passed": g.passed,
        "event_id": g.event_id,
    })


def _decimal(text: str) -> Decimal:
    """``Decimal(text)``: equal texts give equal decimals, and a result's ECTS take few values."""
    found = _DECIMALS.get(text)
    if found is None:
        if len(_DECIMALS) > 1024:
            _DECIMALS.clear()
        found = _DECIMALS[text] = Decimal(text)
    return found


_LAST_HOSTS: list = [None, ()]  # the results last cited and their HostGrades: a group's components cite the same


def host_grades(host: tuple) -> tuple[HostGrade, ...]:
    if host is _LAST_HOSTS[0]:
        return _LAST_HOSTS[1]
    found = tuple([_host_grade(g) for g in host])
    _LAST_HOSTS[0], _LAST_HOSTS[1] = host, found
    return found


_AT: dict[int, datetime] = {}
_CENTS: dict[Decimal, Decimal] = {}


def _at(occ: int) -> datetime:
    """The UTC time of epoch milliseconds; the decisions of one event share it."""
    found = _AT.get(occ)
    if found is None:
        if len(_AT) > 256:
            _AT.clear()
        found = _AT[occ] = datetime.fromtimestamp(occ / 1000, tz=timezone.utc)
    return found


def cents(ects: Decimal) -> Decimal:
    """The ECTS as a decision carries them (two decimals)."""
    found = _CENTS.get(ects)
    if found is None or not ects:  # -0 equals 0 but keeps its sign: zero is never cached
        if len(_CENTS) > 1024:
            _CENTS.clear()
        found = ects.quantize(_CENT)
        if ects:
            _CENTS[ects] = found
    return found


def build_decision(
    d: Candidate,
    *,
    omobility_id: str,
    student_esi: str,
    home_hei: str,
    host_hei: str,
    previous: tuple[str, int] | None,
    trace_id: str,
) -> RecognitionDecision:
    """The event for a candidate, versioned after ``previous`` (decision id, version) if any.

    Built without re-validation (every value is already in its model type: ECTS
    quantised, timestamps in UTC milliseconds); a test checks the canonical JSON
    round trip of built decisions.
    """
    ctx = d.ctx
    comp = ctx.component
    converted = ctx.converted
    grade = d.grade
    return build_event(
        d.id, d.key[2:], d.status, d.rule, cents(d.ects), grade, d.reason(), d.occ, ctx.la_version, ctx.group_id,
        host_grades(ctx.host), converted.conversion if converted is not None else None, d.inputs,
        comp.title if comp is not None else "", ctx.home_scheme_id if grade is not None else None, ctx.decided_by,
        omobility_id, student_esi, home_hei, host_hei, previous, trace_id,
    )


def build_event(did, component, status, rule, ects, grade, reason, occ, la_version, group_id, host_grades,
                conversion, inputs, title, home_scheme_id, decided_by, omobility_id, student_esi, home_hei, host_hei,
                previous, trace_id) -> RecognitionDecision:
    """The RecognitionDecision of an outcome given field by field (``build_decision`` and the rules' common case).

    ``ects`` as ``cents`` gives them.
    """
    at = _at(occ)
    provenance = built(Provenance, _PROVENANCE_FIELDS, _PROVENANCE_SET, {
        "la_version": la_version,
        "group_id": group_id,
        "host_grades": host_grades,
        "conversion": conversion,
        "input_event_ids": inputs,
    })
    values = _DECISION_TEMPLATE.copy()  # sized for every field at once, in the model's order
    values["event_id"] = _uuid5(did)
    values["source_hei"] = home_hei
    values["occurred_at"] = values["recorded_at"] = at
    values["trace_id"] = trace_id
    values["decision_id"] = did
    values["omobility_id"] = omobility_id
    values["student_esi"] = student_esi
    values["home_hei"] = home_hei
    values["host_hei"] = host_hei
    values["home_component"] = component
    values["home_component_title"] = title
    values["version"] = (previous[1] + 1) if previous else 1
    values["status"] = status
    values["ects"] = ects
    values["converted_grade"] = grade
    values["home_scheme_id"] = home_scheme_id
    values["rule"] = rule
    values["reason"] = reason
    values["supersedes"] = previous[0] if previous else None
    values["decided_by"] = decided_by
    values["provenance"] = provenance
    return built(RecognitionDecision, _DECISION_FIELDS, _DECISION_SET, values)
