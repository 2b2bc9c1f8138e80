"""The facts recognition decides from, kept per student, merged so that order and duplicates do not matter.

Every merge below is commutative and idempotent: whatever order the events come in,
and however often, the same set of events leaves the same facts.

- a result (host grade) keeps its latest event by (status REVOKED > CORRECTED > FINAL,
  then occurred_at, then event_id), plus the earliest time any version of it passed
  and the earliest time any version of it occurred;
- a mobility keeps every approved LA version it saw (the highest one is current,
  older ones tell which decisions a new version withdraws), the earliest ToR and
  cancellation, and registrar decisions;
- what was last emitted per (mobility, component) is kept to emit only changes.

Sizes are bounded (see the ``MAX_*`` constants); beyond them the oldest facts go.
Everything serialises to a JSON-compatible dict (it lives in a faust table, and the wire carries no Python objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from schemas.grading import UnknownGrade, UnknownScheme, scheme
from schemas.models import GradeStatus, LaComponent, LearningAgreement, ects_of

from .shapes import la_shape, shared

__all__ = ["Component", "GradeFact", "LaFact", "MobilityFacts", "RegistrarFact", "StudentFacts", "millis", "result_key", "shared"]

MAX_LA_VERSIONS = 16
MAX_REGISTRAR = 64
MAX_HELD_GRADES = 256
_PRECEDENCE = {GradeStatus.FINAL.value: 0, GradeStatus.CORRECTED.value: 1, GradeStatus.REVOKED.value: 2}


def millis(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def result_key(hei: str, result_id: str) -> str:
    """The key of a host result among a student's facts (a string: the collector does not track strings)."""
    return hei + "\x1f" + result_id


_new = object.__new__
_READ: dict[tuple[str, str], tuple[str, bool, bool]] = {}
_STATUS = {s: s.value for s in GradeStatus}


_DAYS: dict = {}


def _day(day) -> str:
    """``day.isoformat()``; results of a term share few days."""
    found = _DAYS.get(day)
    if found is None:
        if len(_DAYS) > 4096:
            _DAYS.clear()
        found = _DAYS[day] = day.isoformat()
    return found


def _read(scheme_id: str, raw: str) -> tuple[str, bool, bool]:
    """(label, readable, passing) of a grade as printed; unreadable labels are kept as printed, never guessed."""
    found = _READ.get((scheme_id, raw))
    if found is None:
        try:
            sch = scheme(scheme_id)
            label = sch.normalise(raw)
            found = (label, True, label in sch.passing)
        except (UnknownGrade, UnknownScheme):
            found = (raw, False, False)
        if len(_READ) < 16_384:
            _READ[(scheme_id, raw)] = found
    return found


class GradeFact:
    """The current state of one host result (all events with the same hei and result_id)."""

    FIELDS = (
        "hei", "result_id", "course_code", "label", "scheme_id", "readable", "passed", "ects", "attempt",
        "assessed_on", "status", "occ", "event_id", "isced", "year", "omobility_id", "trace_id", "first_pass",
        "first_seen",
    )
    # no __init__: ``GradeFact()`` is then object's own, cheaper than ``object.__new__`` (no argument tuple);
    # the constructors below fill every slot
    __slots__ = FIELDS

    @classmethod
    def from_fields(cls, v: dict) -> "GradeFact":
        """The fact of one Grade event, given its ``__dict__`` (a model keeps its fields there: one dict read each is
        cheaper than an attribute lookup, which a model's ``__getattr__`` keeps from being specialised)."""
        scheme_id = v["grading_scheme_id"]
        found = _READ.get((scheme_id, v["grade_label"]))
        label, readable, passed = found if found is not None else _read(scheme_id, v["grade_label"])
        occ = int(v["occurred_at"].timestamp() * 1000)
        status = _STATUS[v["status"]]
        if status == "REVOKED":
            passed = False
        day = _DAYS.get(v["assessed_on"])
        isced, year = v["isced_code"], v["academic_year"]
        f = cls()
        f.hei = shared(v["hei"])
        f.result_id = v["result_id"]
        f.course_code = shared(v["course_code"])
        f.label = label
        f.scheme_id = shared(scheme_id)
        f.readable = readable
        f.passed = passed
        f.ects = shared(str(v["ects"]))  # not by Decimal: 5 and 5.0 are equal but print apart
        f.attempt = v["attempt"]
        f.assessed_on = day if day is not None else _day(v["assessed_on"])
        f.status = status
        f.occ = occ
        f.event_id = v["event_id"]
        f.isced = shared(isced) if isced else None
        f.year = shared(year) if year else None
        f.omobility_id = v["omobility_id"] or None
        f.trace_id = v["trace_id"] or ""
        f.first_pass = occ if passed else None
        f.first_seen = occ
        return f

    @property
    def order(self) -> tuple:
        return (_PRECEDENCE[self.status], self.occ, self.event_id)

    @property
    def live(self) -> bool:
        return self.status != "REVOKED"

    @property
    def attempt_order(self) -> tuple:
        return (self.attempt, self.assessed_on, self.occ, self.event_id)

    def merge(self, new: "GradeFact") -> bool:
        """Fold another event of the same result in; True if anything changed."""
        changed = False
        if new.first_pass is not None and (self.first_pass is None or new.first_pass < self.first_pass):
            self.first_pass, changed = new.first_pass, True
        if new.first_seen < self.first_seen:
            self.first_seen, changed = new.first_seen, True
        if new.order > self.order:
            keep = self.first_pass, self.first_seen
            for name in self.FIELDS:
                setattr(self, name, getattr(new, name))
            self.first_pass, self.first_seen = keep
            changed = True
        return changed

    def to_list(self) -> list:
        return [getattr(self, name) for name in self.FIELDS]

    @classmethod
    def from_list(cls, values: list) -> "GradeFact":
        f = cls()
        (hei, f.result_id, course_code, label, scheme_id, f.readable, f.passed, ects, f.attempt, f.assessed_on,
         f.status, f.occ, f.event_id, isced, year, f.omobility_id, f.trace_id, f.first_pass, f.first_seen) = values
        f.hei, f.course_code, f.label, f.scheme_id, f.ects = shared(hei), shared(course_code), shared(label), \
            shared(scheme_id), shared(ects)
        f.isced = shared(isced) if isced else isced
        f.year = shared(year) if year else year
        return f


class Component:
    """What the rules read of an LA component (Table A or B), without the model: a state loaded from its row rebuilds
    its LAs as these, which costs a fraction of validating them again and holds a fraction of the memory."""

    __slots__ = ("course_code", "title", "ects", "isced_code", "recognition_conditions")

    def __init__(self, course_code: str, title: str, ects: Decimal, isced_code: str | None, recognition_conditions: str | None):
        self.course_code, self.title, self.ects = course_code, title, ects
        self.isced_code, self.recognition_conditions = isced_code, recognition_conditions

    @classmethod
    def of(cls, c: LaComponent) -> "Component":
        # slots filled straight from the model's fields: an LA copies several components, without an __init__ call each
        v = c.__dict__
        f = _new(cls)
        f.course_code, f.title, f.ects = v["course_code"], v["title"], v["ects"]
        f.isced_code, f.recognition_conditions = v["isced_code"], v["recognition_conditions"]
        return f

    @classmethod
    def of_json(cls, c: dict) -> "Component":
        """From the LA's JSON form (``model_dump(mode="json")``: ECTS as a number), as the model would read it."""
        ects = _ECTS.get(c["ects"])
        if ects is None:
            if len(_ECTS) >= 1024:
                _ECTS.clear()
            ects = _ECTS[c["ects"]] = ects_of(Decimal(str(c["ects"])))
        return cls(c["course_code"], c.get("title") or "", ects, c.get("isced_code"), c.get("recognition_conditions"))


_ECTS: dict[float, Decimal] = {}  # an LA's JSON number -> its ECTS (a few values recur: 5, 7.5, 15 ...)


class _Group(NamedTuple):
    group_id: str
    studied: tuple[str, ...]
    recognized: tuple[str, ...]


class _Studied(NamedTuple):
    """What the rules read of a Table A component (its field, for a grade conversion), and its code for ``la_shape``."""

    course_code: str
    isced_code: str | None


class _Agreement(NamedTuple):
    """An LA's parts as ``la_shape`` reads them."""

    components_studied: tuple  # LaComponents, or _Studied of a state row
    components_recognized: tuple[Component, ...]
    recognition_groups: tuple[_Group, ...]


class LaFact:
    """One approved LA version with the lookups the rules need (computed once: LAs are few, events many).

    Only ``a_isced`` (Table A code -> its ISCED field, all the rules read of Table A) and
    ``table_b`` (code -> component) are its own; the other lookups are its shape's (``shapes.la_shape``), shared with versions of the same courses and groups: read only.
    The LA itself is kept as its JSON form (``dumped``), which is what a state row holds of it.
    """

    __slots__ = ("version", "event_id", "occ", "a_isced", "table_b", "in_la", "groups", "b_keys", "need_keys",
                 "need_groups", "extra", "studied", "dumped", "_la")

    def __init__(self, la: LearningAgreement, event_id: str, occ: int):
        self._la: LearningAgreement | None = la  # until its JSON form is made (a batch's end writes the state)
        self.dumped: dict | None = None
        self._build(la.version, _Agreement(la.components_studied, tuple(map(Component.of, la.components_recognized)),
                                           la.recognition_groups),
                    event_id, occ)

    def _build(self, version: int, la: _Agreement, event_id: str, occ: int) -> None:
        self.version, self.event_id, self.occ = version, event_id, occ
        (a_codes, b_codes, self.in_la, self.groups, self.b_keys, self.need_keys, self.need_groups, self.studied,
         self.extra) = la_shape(la)
        # strings only, no objects of its own: a dict the collector does not track
        self.a_isced: dict[str, str | None] = dict(zip(a_codes, [c.isced_code for c in la.components_studied]))
        self.table_b: dict[str, Component] = dict(zip(b_codes, la.components_recognized))

    def extra_of(self, code: str) -> str:
        """What a decision id records of the group of Table B ``code`` (what the LA asked of it)."""
        return self.extra[code]

    @property
    def order(self) -> tuple:
        return (self.occ, self.event_id)

    def to_dict(self) -> dict:
        if self.dumped is None:
            self.dumped = self._la.model_dump(mode="json")
            self._la = None
        return {"event_id": self.event_id, "occ": self.occ, "la": self.dumped}

    @classmethod
    def from_dict(cls, d: dict) -> "LaFact":
        """From :meth:`to_dict`'s form (a state row this hub wrote: its LA was validated when it came in)."""
        la = d["la"]
        f = _new(cls)
        f._la, f.dumped = None, la
        groups = tuple([_Group(g["group_id"], tuple(g["studied"]), tuple(g["recognized"])) for g in la.get("recognition_groups") or ()])
        f._build(la["version"], _Agreement([_Studied(c["course_code"], c.get("isced_code")) for c in la["components_studied"]],
                                           tuple(map(Component.of_json, la["components_recognized"])), groups),
                 d["event_id"], d["occ"])
        return f


@dataclass
class RegistrarFact:
    event_id: str
    occ: int
    target: str
    component: str
    action: str
    ects: str | None
    grade: str | None
    registrar: str
    reason: str
    trace_id: str

    @property
    def order(self) -> tuple:
        return (self.occ, self.event_id)


@dataclass(slots=True)
class Moment:
    """A lifecycle fact that happens once (ToR issued, cancelled): the earliest event wins."""

    event_id: str
    occ: int
    trace_id: str = ""

    @property
    def order(self) -> tuple:
        return (self.occ, self.event_id)


class MobilityFacts:
    """What the rules know of one mobility: its header, LA versions, ToR, cancellation, registrar decisions.

    Slots and a plain ``__init__``: every student holds one per mobility for as long as the
    worker runs, and the collector walks each container it holds.
    """

    __slots__ = ("omobility_id", "sending_hei", "receiving_hei", "year", "isced", "header_occ", "header_event", "las",
                 "current", "tor", "cancel", "registrar", "emitted", "memo", "view", "older")

    def __init__(self, omobility_id: str, sending_hei: str = "", receiving_hei: str = "", year: str = "",
                 isced: str | None = None, header_order: tuple | list = ()):
        self.omobility_id, self.sending_hei, self.receiving_hei = omobility_id, sending_hei, receiving_hei
        self.year, self.isced = year, isced
        # the (time, event id) of the latest header seen, as two slots rather than a tuple replaced by every event
        self.header_occ: int | None = header_order[0] if header_order else None
        self.header_event: str = header_order[1] if header_order else ""
        self.las: dict[int, LaFact] = {}
        # the highest LA version, which decides (kept as LA versions change: every evaluation reads it)
        self.current: LaFact | None = None
        self.tor: Moment | None = None
        self.cancel: Moment | None = None
        self.registrar: dict[str, RegistrarFact] = {}
        self.emitted: dict[str, tuple[str, int, str]] = {}  # key -> (decision_id, version, rule)
        # not persisted: per key worked out, the decision ids a registrar decision could act on (see rules.py)
        self.memo: dict[str, tuple] = {}
        # not persisted: the results this mobility owns, by course (views.CourseView), None until needed
        self.view = None
        # not persisted: the older LA versions with their cutoffs (keys.OpenKeys._older), None until needed
        self.older: list[tuple] | None = None

    @property
    def header_order(self) -> tuple:
        return () if self.header_occ is None else (self.header_occ, self.header_event)

    @property
    def known(self) -> bool:
        return bool(self.receiving_hei)

    def merge_header(self, v: dict, occ: int) -> bool:
        """Fold in the header of a Mobility event given by its fields (its ``__dict__``, see ``GradeFact.from_fields``)
        and time (epoch ms); True if a field changed."""
        event_id, last = v["event_id"], self.header_occ
        newer = last is None or occ > last or (occ == last and event_id > self.header_event)
        sending, receiving, year, isced = v["sending_hei"], v["receiving_hei"], v["receiving_academic_year"] or "", \
            v["isced_code"] or None
        if sending == self.sending_hei and receiving == self.receiving_hei and year == self.year and isced == self.isced:
            if newer:  # most lifecycle events repeat the header
                self.header_occ, self.header_event = occ, event_id
            return False
        # a field is set when the event is newer or it is still empty; values as shared strings (see shared)
        changed = False
        if sending and (newer or not self.sending_hei) and self.sending_hei != sending:
            self.sending_hei, changed = shared(sending), True
        if receiving and (newer or not self.receiving_hei) and self.receiving_hei != receiving:
            self.receiving_hei, changed = shared(receiving), True
        if year and (newer or not self.year) and self.year != year:
            self.year, changed = shared(year), True
        if isced and (newer or not self.isced) and self.isced != isced:
            self.isced, changed = shared(isced), True
        if newer:
            self.header_occ, self.header_event = occ, event_id
        return changed

    def merge_la(self, la: LearningAgreement, event_id: str, occ: int) -> bool:
        old = self.las.get(la.version)
        if old is not None and old.order >= (occ, event_id):
            return False
        self.las[la.version] = LaFact(la, event_id, occ)
        while len(self.las) > MAX_LA_VERSIONS:
            del self.las[min(self.las)]
        self.current = self.las[max(self.las)]
        self.older = None
        return True

    def merge_moment(self, name: str, moment: Moment) -> bool:
        old = getattr(self, name)
        if old is not None and old.order <= moment.order:
            return False
        setattr(self, name, moment)
        return True

    def merge_registrar(self, fact: RegistrarFact) -> bool:
        if fact.event_id in self.registrar:
            return False
        self.registrar[fact.event_id] = fact
        if len(self.registrar) > MAX_REGISTRAR:
            del self.registrar[min(self.registrar.values(), key=lambda r: r.order).event_id]
        return True

    def to_dict(self) -> dict:
        return {
            "sending_hei": self.sending_hei, "receiving_hei": self.receiving_hei, "year": self.year,
            "isced": self.isced, "header_order": list(self.header_order),
            "las": [la.to_dict() for _, la in sorted(self.las.items())],
            "tor": None if self.tor is None else [self.tor.event_id, self.tor.occ, self.tor.trace_id],
            "cancel": None if self.cancel is None else [self.cancel.event_id, self.cancel.occ, self.cancel.trace_id],
            "registrar": [list(vars(r).values()) for r in self.registrar.values()],
            "emitted": {k: list(v) for k, v in self.emitted.items()},
        }

    @classmethod
    def from_dict(cls, omobility_id: str, d: dict) -> "MobilityFacts":
        m = cls(omobility_id, d["sending_hei"], d["receiving_hei"], d["year"], d["isced"], tuple(d["header_order"]))
        for item in d["las"]:
            la = LaFact.from_dict(item)
            m.las[la.version] = la
        m.current = m.las[max(m.las)] if m.las else None
        m.tor = Moment(*d["tor"]) if d["tor"] else None
        m.cancel = Moment(*d["cancel"]) if d["cancel"] else None
        m.registrar = {r[0]: RegistrarFact(*r) for r in d["registrar"]}
        m.emitted = {k: (v[0], v[1], v[2]) for k, v in d["emitted"].items()}
        return m


class StudentFacts:
    """All recognition facts of one student (ESI): mobilities and host results."""

    __slots__ = ("esi", "issuer", "mobilities", "grades")

    def __init__(self, esi: str):
        self.esi = esi
        # the HEI that issued the ESI (``...:esi:<schac>:<code>``), or "" for a national ESI
        parts = esi.rsplit(":", 2)
        self.issuer = parts[1] if len(parts) == 3 and "." in parts[1] else ""
        self.mobilities: dict[str, MobilityFacts] = {}
        self.grades: dict[str, GradeFact] = {}  # by result_key(hei, result_id)

    def is_home_result(self, hei: str) -> bool:
        """Whether a result of ``hei`` is the student's own home result (the ESI's issuer, a sending HEI)."""
        if hei == self.issuer:
            return True
        for m in self.mobilities.values():
            if m.sending_hei == hei:
                return True
        return False

    def mobility(self, omobility_id: str) -> MobilityFacts:
        m = self.mobilities.get(omobility_id)
        if m is None:
            m = self.mobilities[omobility_id] = MobilityFacts(omobility_id)
        return m

    def merge_grade(self, fact: GradeFact) -> bool:
        key = result_key(fact.hei, fact.result_id)
        old = self.grades.get(key)
        if old is None:
            self.grades[key] = fact
            self._bound()
            return True
        return old.merge(fact)

    def _bound(self) -> None:
        if len(self.grades) <= MAX_HELD_GRADES:
            return
        hosts = {m.receiving_hei for m in self.mobilities.values()}
        held = [g for g in self.grades.values() if g.hei not in hosts]
        for g in sorted(held, key=lambda g: g.order)[: len(self.grades) - MAX_HELD_GRADES]:
            del self.grades[result_key(g.hei, g.result_id)]

    def to_dict(self) -> dict:
        return {
            "esi": self.esi,
            "mobilities": {k: m.to_dict() for k, m in self.mobilities.items()},
            "grades": [g.to_list() for g in self.grades.values()],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "StudentFacts":
        s = cls(d["esi"])
        s.mobilities = {k: MobilityFacts.from_dict(k, v) for k, v in d["mobilities"].items()}
        for values in d["grades"]:
            g = GradeFact.from_list(values)
            s.grades[result_key(g.hei, g.result_id)] = g
        return s
