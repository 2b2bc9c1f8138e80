"""Synthetic ledger content for the benchmark and page tests: decisions, mobility states and deadline alerts.

The simulator (``hub simulate`` + ``hub decide``) makes the realistic alliance;
this makes exactly the sizes a benchmark needs (e.g. 2,000 decisions for one
registrar) in milliseconds, with every status, earlier versions, and
provenance that names tables and bands, all as typed hub events.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from schemas.institutions import SCHAC_CODES, esi
from schemas.models import (
    AlertSeverity, Band, Conversion, ConversionMethod, DeadlineAlert, DeadlineKind, DecisionStatus, Event, HostGrade, MobilityState,
    MobilityStatus, Provenance, RecognitionDecision, TableRef, TableSource,
)

__all__ = ["synthetic_alliance", "decision_event"]

_NS = uuid.UUID("6a1c1f0e-9a57-4b1e-8d3c-2f2d0b5e7a10")
_T0 = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)
_STATUS_MIX = [DecisionStatus.AUTO_RECOGNISED] * 6 + [DecisionStatus.NEEDS_REVIEW] * 2 + [DecisionStatus.NOT_RECOGNISED, DecisionStatus.REVOKED]


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "|".join(str(p) for p in parts)))


def decision_event(omobility_id: str, student: str, home: str, host: str, component: str, version: int, status: DecisionStatus,
                   *, ects: Decimal = Decimal("5.00"), la_version: int = 1, when: datetime = _T0, reason: str | None = None,
                   supersedes: str | None = None) -> RecognitionDecision:
    """One RecognitionDecision with a band-overlap conversion in its provenance."""
    passed = status is not DecisionStatus.NOT_RECOGNISED
    host_grade = HostGrade(result_id=f"{host}:{omobility_id}:{component}", course_code=f"H-{component}", grade_label="B" if passed else "F",
                           grading_scheme_id=f"{host}/A-F", ects=ects, attempt=1, passed=passed, event_id=_id("grade", omobility_id, component, version))
    conversion = Conversion(
        method=ConversionMethod.BAND_OVERLAP,
        host_tables=(TableRef(hei=host, scheme_id=f"{host}/A-F", reference_group="0613", academic_year="2024/2025", source=TableSource.FIELD),),
        home_table=TableRef(hei=home, scheme_id=f"{home}/scale", reference_group="*", academic_year="2024/2025", source=TableSource.INSTITUTION),
        host_bands=(Band(label="B", lower=10.0, upper=35.0),), home_band=Band(label="8", lower=12.0, upper=40.0), point=None,
    ) if passed else None
    texts = {
        DecisionStatus.AUTO_RECOGNISED: f"all Table A results of group g1 passed; {component} recognised as agreed in LA v{la_version}",
        DecisionStatus.NEEDS_REVIEW: f"{component} carries recognition conditions in LA v{la_version}: a registrar decides",
        DecisionStatus.NOT_RECOGNISED: f"ToR issued and H-{component} failed (F): group g1 not recognised",
        DecisionStatus.REVOKED: f"the host revoked the result of H-{component}",
        DecisionStatus.MANUALLY_RECOGNISED: "approved by the registrar",
        DecisionStatus.REJECTED: "rejected by the registrar",
    }
    rules = {DecisionStatus.AUTO_RECOGNISED: "GROUP_PASSED", DecisionStatus.NEEDS_REVIEW: "RECOGNITION_CONDITIONS",
             DecisionStatus.NOT_RECOGNISED: "TOR_FAILED_COMPONENT", DecisionStatus.REVOKED: "GRADE_REVOKED",
             DecisionStatus.MANUALLY_RECOGNISED: "REGISTRAR_APPROVED", DecisionStatus.REJECTED: "REGISTRAR_REJECTED"}
    recognised = status in (DecisionStatus.AUTO_RECOGNISED, DecisionStatus.MANUALLY_RECOGNISED, DecisionStatus.NEEDS_REVIEW)
    return RecognitionDecision(
        event_id=_id("event", omobility_id, component, version), source_hei=home, occurred_at=when, recorded_at=when,
        decision_id=_id("decision", omobility_id, component, version), omobility_id=omobility_id, student_esi=student, home_hei=home,
        host_hei=host, home_component=component, home_component_title=f"Course {component}", version=version, status=status,
        ects=ects if recognised else Decimal("0"), converted_grade="8" if passed and recognised else None,
        home_scheme_id=f"{home}/scale" if passed else None, rule=rules[status], reason=reason or texts[status], supersedes=supersedes,
        provenance=Provenance(la_version=la_version, group_id="g1", host_grades=(host_grade,), conversion=conversion,
                              input_event_ids=(host_grade.event_id,)),
    )


def synthetic_alliance(seed: int = 1, mobilities: int = 90, components: int = 4, home: str | None = None) -> list[Event]:
    """Mobilities between the nine partners (all sent by ``home`` when given), their decisions, states and alerts."""
    rnd = random.Random(seed)
    events: list[Event] = []
    states = list(MobilityState)
    for m in range(mobilities):
        sending = home or SCHAC_CODES[m % len(SCHAC_CODES)]
        receiving = rnd.choice([h for h in SCHAC_CODES if h != sending])
        omobility_id = f"om-{seed}-{m:05d}"
        student = esi(sending, f"{seed}{m:06d}")
        when = _T0 + timedelta(minutes=m)
        recognised = Decimal(0)
        for c in range(components):
            component = f"C{m % 50:02d}{c}"
            status = rnd.choice(_STATUS_MIX)
            first = decision_event(omobility_id, student, sending, receiving, component, 1, status, la_version=1, when=when)
            events.append(first)
            if rnd.random() < 0.15:  # a corrected grade or a new LA version made a second version
                status = rnd.choice(_STATUS_MIX)
                events.append(decision_event(omobility_id, student, sending, receiving, component, 2, status, la_version=2,
                                             when=when + timedelta(days=3), supersedes=first.decision_id))
            if status in (DecisionStatus.AUTO_RECOGNISED, DecisionStatus.MANUALLY_RECOGNISED):
                recognised += Decimal("5.00")
        state = rnd.choice(states)
        events.append(MobilityStatus(
            event_id=_id("status", omobility_id), source_hei=sending, occurred_at=when, omobility_id=omobility_id, student_esi=student,
            sending_hei=sending, receiving_hei=receiving, state=state, la_version=1, ects_planned=Decimal(5 * components),
            ects_recognised=recognised, started_on=date(2025, 2, 1), ended_on=date(2025, 6, 30) if state.value in ("ENDED", "TOR_ISSUED", "RECOGNISED") else None,
        ))
        if state in (MobilityState.ENDED, MobilityState.TOR_ISSUED) and rnd.random() < 0.5:
            kind = DeadlineKind.TOR_ISSUE if state is MobilityState.ENDED else DeadlineKind.RECOGNITION
            days = rnd.randint(-20, 7)
            events.append(DeadlineAlert(
                event_id=_id("alert", omobility_id), source_hei=sending, occurred_at=when, alert_id=_id("alert-id", omobility_id, kind.value),
                omobility_id=omobility_id, sending_hei=sending, receiving_hei=receiving, deadline=kind,
                severity=AlertSeverity.BREACH if days < 0 else AlertSeverity.WARNING,
                responsible_hei=receiving if kind is DeadlineKind.TOR_ISSUE else sending, due_on=date(2025, 8, 4) + timedelta(days=days), days_left=days,
            ))
    return events
