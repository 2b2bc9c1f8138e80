"""EWP documents as plain structures: OMobility Learning Agreements (v1) and IMobility ToRs (v2, EMREX ELMO).

Elements are matched by local name, so the parser reads every minor version of
the EWP namespaces. A document that lacks what recognition needs raises
``ValueError`` with the missing element named (the SDK dead-letters it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree


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


@dataclass(frozen=True)
class LaVersion:
    """``first-version``, ``approved-changes`` or ``changes-proposal`` of an LA."""

    components_studied: tuple[EwpComponent, ...]
    components_recognized: tuple[EwpComponent, ...]
    virtual_components: tuple[EwpComponent, ...] = ()
    proposal_id: str | None = None
    student_signed_at: str | None = None
    sending_signed_at: str | None = None
    receiving_signed_at: str | None = None


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
    def approved(self) -> LaVersion | None:
        """The version in force: the approved changes, else the first version once the receiver signed it."""
        if self.approved_changes is not None:
            return self.approved_changes
        if self.first_version is not None and self.first_version.receiving_signed_at:
            return self.first_version
        return None


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


def _components(el: Any, table: str) -> tuple[EwpComponent, ...]:
    out = []
    for c in _children(_child(el, table), "component"):
        out.append(EwpComponent(
            los_code=_text(c, "los-code") or _text(c, "los-id") or _required(c, "title"),
            title=_text(c, "title") or "", los_id=_text(c, "los-id"), loi_id=_text(c, "loi-id"),
            term_id=_text(c, "term-id") or "", ects=_ects(c),
            recognition_conditions=_text(c, "recognition-conditions"), status=c.get("status")))
    return tuple(out)


def _version(el: Any) -> LaVersion | None:
    if el is None:
        return None
    return LaVersion(
        components_studied=_components(el, "components-studied"),
        components_recognized=_components(el, "components-recognized"),
        virtual_components=_components(el, "virtual-components"),
        proposal_id=el.get("id"),
        student_signed_at=_text(el, "student-signature", "timestamp"),
        sending_signed_at=_text(el, "sending-hei-signature", "timestamp"),
        receiving_signed_at=_text(el, "receiving-hei-signature", "timestamp"),
    )


def parse_la(el: Any) -> LearningAgreementDoc:
    """One ``<la>`` element of an OMobility LAs ``get`` response."""
    return LearningAgreementDoc(
        omobility_id=_required(el, "omobility-id"),
        sending_hei=_required(el, "sending-hei", "hei-id"),
        receiving_hei=_required(el, "receiving-hei", "hei-id"),
        student_global_id=_text(el, "student", "global-id"),
        receiving_academic_year=_text(el, "receiving-academic-year-id") or "",
        start=_text(el, "start-date") or _text(el, "start-year-month"),
        end=_text(el, "end-date") or _text(el, "end-year-month"),
        isced_f_code=_text(el, "isced-f-code"),
        first_version=_version(_child(el, "first-version")),
        approved_changes=_version(_child(el, "approved-changes")),
        changes_proposal=_version(_child(el, "changes-proposal")),
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
