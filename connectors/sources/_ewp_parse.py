"""EWP documents as plain structures: OMobilities, OMobility Learning Agreements (v1), IMobility ToRs (v2, ELMO).

Elements are matched by local name, so the parser reads every minor version of
the EWP namespaces. A document that lacks what recognition needs raises
``ValueError`` with the missing element named (the SDK dead-letters it). The
HEROES extension (namespace ``HX``) adds lifecycle times to an OMobility and
recognition groups to an LA version.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

HX = "https://heroes-alliance.eu/hub/ewp-extension/v1"


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name] if el is not None else []


def _child(el: Any, *path: str) -> Any:
    for name in path:
        found = _children(el, name)
        el = found[0] if found else None
    return el


def _text(el: Any, *path: str) -> str | None:
    node = _child(el, *path)
    return (node.text or "").strip() if node is not None and node.text is not None else None


def _required(el: Any, *path: str) -> str:
    value = _text(el, *path)
    if not value:
        raise ValueError(f"missing <{'/'.join(path)}> in <{etree.QName(el).localname}>")
    return value


def _day(text: str | None) -> date | None:
    """An xs:date, or None for a missing or year-month-only value."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ects(el: Any) -> Decimal | None:
    for credit in _children(el, "credit"):
        if (_text(credit, "scheme") or "ects").lower() == "ects":
            try:
                return Decimal(_text(credit, "value") or "")
            except InvalidOperation:
                raise ValueError(f"credit value {_text(credit, 'value')!r} is not a number") from None
    return None


@dataclass(frozen=True)
class EwpComponent:
    """One component of a Learning Agreement table (A: studied at the host, B: recognised at home)."""

    los_code: str
    title: str = ""
    los_id: str | None = None
    loi_id: str | None = None
    term_id: str = ""
    ects: Decimal | None = None
    recognition_conditions: str | None = None
    status: str | None = None  # inserted | deleted, in a changes proposal

    def same_course(self, other: EwpComponent) -> bool:
        return (self.los_id == other.los_id) if self.los_id and other.los_id else self.los_code == other.los_code


Group = tuple[str, tuple[str, ...], tuple[str, ...]]  # id, studied los-codes, recognized los-codes


@dataclass(frozen=True)
class LaVersion:
    """``first-version``, ``approved-changes`` or ``changes-proposal`` of an LA; or, from
    ``LearningAgreementDoc.versions()``, an approved version with its number and full tables."""

    components_studied: tuple[EwpComponent, ...]
    components_recognized: tuple[EwpComponent, ...]
    virtual_components: tuple[EwpComponent, ...] = ()
    proposal_id: str | None = None
    student_signed_at: str | None = None
    sending_signed_at: str | None = None
    receiving_signed_at: str | None = None
    number: int = 0
    recognition_groups: tuple[Group, ...] = ()

    @property
    def approved_at(self) -> datetime | None:
        """When the receiving HEI signed it."""
        return _moment(self.receiving_signed_at)


@dataclass(frozen=True)
class LearningAgreementDoc:
    omobility_id: str
    sending_hei: str
    receiving_hei: str
    student_global_id: str | None
    receiving_academic_year: str = ""
    start: str | None = None
    end: str | None = None
    isced_f_code: str | None = None
    first_version: LaVersion | None = None
    approved_changes: LaVersion | None = None
    changes_proposal: LaVersion | None = None
    element: Any = field(default=None, repr=False, compare=False)

    @property
    def start_date(self) -> date | None:
        return _day(self.start)

    @property
    def end_date(self) -> date | None:
        return _day(self.end)

    @property
    def approved(self) -> LaVersion | None:
        """The version in force: the latest of ``versions()``, None before the receiving HEI signed."""
        versions = self.versions()
        return versions[-1] if versions else None

    def versions(self) -> list[LaVersion]:
        """Version 1 (``first-version``) and 2 (``approved-changes`` applied to it, as EWP lists only the
        changes), each once the receiving HEI signed it; a pending ``changes-proposal`` is not one.
        ``ValueError`` if a component has no ECTS credit or the changes delete one the first version lacks."""
        first, changes = self.first_version, self.approved_changes
        if first is None or first.approved_at is None:
            return []
        for v in (first, changes):
            for c in (*v.components_studied, *v.components_recognized) if v is not None else ():
                if c.ects is None:
                    raise ValueError(f"component {c.los_code} has no ECTS <credit>")
        out = [replace(first, number=1, recognition_groups=_groups(self.element, 1))]
        if changes is not None and changes.approved_at is not None:
            out.append(replace(changes, number=2, recognition_groups=_groups(self.element, 2),
                               components_studied=_apply(first.components_studied, changes.components_studied),
                               components_recognized=_apply(first.components_recognized,
                                                            changes.components_recognized)))
        return out


@dataclass(frozen=True)
class TorResult:
    """One result of a ToR (an ELMO learningOpportunityInstance with its specification)."""

    title: str
    los_id: str | None
    los_code: str | None
    loi_id: str | None
    status: str  # passed | failed | in-progress
    result_label: str | None
    grading_scheme_local_id: str | None
    ects: Decimal | None
    date: str | None
    isced_code: str | None


@dataclass(frozen=True)
class TranscriptDoc:
    omobility_id: str
    issuer_hei: str | None
    learner_esi: str | None
    issue_date: str | None
    results: tuple[TorResult, ...]
    element: Any = field(default=None, repr=False, compare=False)

    @property
    def issued_at(self) -> datetime | None:
        return _moment(self.issue_date)


@dataclass(frozen=True)
class OMobilityDoc:
    """One ``student-mobility`` of an OMobilities ``get`` response, with the HEROES lifecycle times if present."""

    omobility_id: str
    sending_hei: str | None
    receiving_hei: str | None
    student_esi: str | None
    status: str
    receiving_academic_year: str
    isced_code: str | None
    planned_start: date | None
    planned_end: date | None
    lifecycle: dict[str, datetime | None] = field(default_factory=dict)  # hx:nominated-at, arrived-at, ...


def parse_omobility(el: Any) -> OMobilityDoc:
    """One ``<student-mobility>`` element of an OMobilities ``get`` response."""
    life = _child(el, "lifecycle")
    return OMobilityDoc(
        omobility_id=_required(el, "omobility-id"), sending_hei=_text(el, "sending-hei", "hei-id") or None,
        receiving_hei=_text(el, "receiving-hei", "hei-id") or None,
        student_esi=_text(el, "student", "global-id") or None, status=_text(el, "status") or "nomination",
        receiving_academic_year=_text(el, "receiving-academic-year-id") or "",
        isced_code=_text(el, "nominee-isced-f-code") or None, planned_start=_day(_text(el, "planned-arrival-date")),
        planned_end=_day(_text(el, "planned-departure-date")),
        lifecycle={etree.QName(c).localname: _moment((c.text or "").strip()) for c in (life if life is not None else ())
                   if isinstance(c.tag, str) and etree.QName(c).namespace == HX and (c.text or "").strip()})


def _components(el: Any, table: str, year: str) -> tuple[EwpComponent, ...]:
    out = []
    for c in _children(_child(el, table), "component"):
        number = _text(c, "term-id", "term-number")
        out.append(EwpComponent(
            los_code=_text(c, "los-code") or _text(c, "los-id") or _required(c, "title"), title=_text(c, "title") or "",
            los_id=_text(c, "los-id"), loi_id=_text(c, "loi-id"), ects=_ects(c),
            term_id=f"{_text(c, 'term-id', 'academic-year-id') or year}-{number}" if number else "",
            recognition_conditions=_text(c, "recognition-conditions"), status=c.get("status")))
    return tuple(out)


def _apply(base: tuple[EwpComponent, ...], changes: tuple[EwpComponent, ...]) -> tuple[EwpComponent, ...]:
    """The table after ``changes``: a deleted component leaves its place to the next inserted one."""
    rows: list[EwpComponent | None] = list(base)
    free: list[int] = []
    for change in changes:
        if change.status == "deleted":
            at = next((i for i, c in enumerate(rows) if c is not None and c.same_course(change)), None)
            if at is None:
                raise ValueError(f"approved-changes delete {change.los_code}, which the first version does not list")
            rows[at] = None
            free.append(at)
        elif change.status == "inserted":
            plain = replace(change, status=None)
            if free:
                rows[free.pop(0)] = plain
            else:
                rows.append(plain)
    return tuple(c for c in rows if c is not None)


def _groups(la: Any, number: int) -> tuple[Group, ...]:
    """HEROES recognition groups (``hx:recognition-groups la-version="n"``) of one version."""
    for block in la if la is not None else ():
        if block.tag == f"{{{HX}}}recognition-groups" and block.get("la-version") == str(number):
            return tuple((g.get("id", ""), _codes(g, "studied"), _codes(g, "recognized"))
                         for g in block if isinstance(g.tag, str))
    return ()


def _codes(group: Any, side: str) -> tuple[str, ...]:
    return tuple(x.get("los-code", "") for x in _children(group, side))


def _version(el: Any, year: str) -> LaVersion | None:
    if el is None:
        return None
    return LaVersion(
        components_studied=_components(el, "components-studied", year),
        components_recognized=_components(el, "components-recognized", year),
        virtual_components=_components(el, "virtual-components", year),
        proposal_id=el.get("id"),
        student_signed_at=_text(el, "student-signature", "timestamp"),
        sending_signed_at=_text(el, "sending-hei-signature", "timestamp"),
        receiving_signed_at=_text(el, "receiving-hei-signature", "timestamp"),
    )


def parse_la(el: Any) -> LearningAgreementDoc:
    """One ``<la>`` element of an OMobility LAs ``get`` response."""
    year = _text(el, "receiving-academic-year-id") or ""
    return LearningAgreementDoc(
        omobility_id=_required(el, "omobility-id"),
        sending_hei=_required(el, "sending-hei", "hei-id"),
        receiving_hei=_required(el, "receiving-hei", "hei-id"),
        student_global_id=_text(el, "student", "global-id"),
        receiving_academic_year=year,
        start=_text(el, "start-date") or _text(el, "start-year-month"),
        end=_text(el, "end-date") or _text(el, "end-year-month"),
        isced_f_code=_text(el, "isced-f-code"),
        first_version=_version(_child(el, "first-version"), year),
        approved_changes=_version(_child(el, "approved-changes"), year),
        changes_proposal=_version(_child(el, "changes-proposal"), year),
        element=el,
    )


def _identifier(el: Any, kind: str) -> str | None:
    for ident in _children(el, "identifier"):
        if ident.get("type") == kind:
            return (ident.text or "").strip() or None
    return None


def _results(spec: Any, out: list[TorResult]) -> None:
    for loi in _children(_child(spec, "specifies"), "learningOpportunityInstance"):
        out.append(TorResult(
            title=_text(spec, "title") or "", los_id=_identifier(spec, "ewp-los-id"),
            los_code=_identifier(spec, "local") or _identifier(spec, "los-code"), loi_id=_identifier(loi, "ewp-loi-id"),
            status=_text(loi, "status") or "passed", result_label=_text(loi, "resultLabel"),
            grading_scheme_local_id=_text(loi, "gradingSchemeLocalId"), ects=_ects(loi),
            date=_text(loi, "date") or _text(loi, "start"), isced_code=_text(spec, "iscedCode")))
    for part in _children(_child(spec, "hasPart"), "learningOpportunitySpecification"):
        _results(part, out)


def parse_tor(el: Any) -> TranscriptDoc:
    """One ``<tor>`` element of an IMobility ToRs ``get`` response."""
    elmo = _child(el, "elmo")
    if elmo is None:
        raise ValueError("missing <elmo> in <tor>")
    results: list[TorResult] = []
    issuer = issue_date = None
    for report in _children(elmo, "report"):
        issuer = issuer or _identifier(_child(report, "issuer"), "schac")
        issue_date = issue_date or _text(report, "issueDate")
        for spec in _children(report, "learningOpportunitySpecification"):
            _results(spec, results)
    return TranscriptDoc(omobility_id=_required(el, "omobility-id"), issuer_hei=issuer,
                         learner_esi=_identifier(_child(elmo, "learner"), "esi"), issue_date=issue_date,
                         results=tuple(results), element=el)
