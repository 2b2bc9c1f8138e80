"""The pure parts of the stream processors, without Kafka: deadlines, the agenda, dedupe, ESI resolution, monitor."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from schemas.models import (DeadlineAlert, DeadlineKind, DecisionStatus, Enrolment, Grade, LaComponent, LearningAgreement, Mobility,
                            Provenance, RecognitionDecision)
from schemas.canonical import to_json
from streams.deadlines import Due, alert_id, make_alert, moments
from streams.dlq import Rejected
from streams.monitor import Agenda, StudentMonitor
from streams.normalise import Normaliser, PartnerStudent

ESI = "urn:schac:personalUniqueCode:int:esi:hh.se:42"
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=timezone.utc)


def _grade(**kw) -> Grade:
    base = dict(source_hei="ucn.dk", occurred_at=T0, student_id="x1", hei="ucn.dk", result_id="r1", course_code="C1",
                grade_label="02", grading_scheme_id="ucn.dk/7-point", ects=Decimal(5), assessed_on=date(2026, 1, 9), status="FINAL")
    return Grade(**{**base, **kw})


def _enrolment(**kw) -> Enrolment:
    base = dict(source_hei="ucn.dk", occurred_at=T0, student_id="x1", student_esi=ESI, hei="ucn.dk", course_code="C1",
                term_id="2025-1", ects=Decimal(5), status="REGISTERED")
    return Enrolment(**{**base, **kw})


def _mobility(step: str, at: datetime, **kw) -> Mobility:
    base = dict(source_hei="hh.se", occurred_at=at, omobility_id="m1", student_esi=ESI, sending_hei="hh.se",
                receiving_hei="ucn.dk", lifecycle=step)
    return Mobility(**{**base, **kw})


# --- deadlines -----------------------------------------------------------------------------


def test_tor_deadline_is_35_days_after_the_end_unless_the_agreement_says_otherwise():
    assert Due.tor("m1", "hh.se", "ucn.dk", date(2026, 1, 31), None).due_on == date(2026, 3, 7)
    assert Due.tor("m1", "hh.se", "ucn.dk", date(2026, 1, 31), 20).due_on == date(2026, 2, 20)
    rec = Due.recognition("m1", "hh.se", "ucn.dk", date(2026, 3, 1), None)
    assert rec.due_on == date(2026, 4, 5) and rec.responsible_hei == "hh.se"


def test_warning_seven_days_before_and_breach_the_day_after_at_midnight_utc():
    due = Due.tor("m1", "hh.se", "ucn.dk", date(2026, 1, 31), None)
    (w, w_at, w_left), (b, b_at, b_left) = moments(due)
    assert (w.value, w_at, w_left) == ("WARNING", datetime(2026, 2, 28, tzinfo=timezone.utc), 7)
    assert (b.value, b_at, b_left) == ("BREACH", datetime(2026, 3, 8, tzinfo=timezone.utc), -1)


def test_agenda_fires_on_event_time_once_and_a_replay_gives_the_same_alerts():
    def run() -> list:
        agenda = Agenda()
        agenda.open(Due.tor("m1", "hh.se", "ucn.dk", date(2026, 1, 31), None))
        fired = agenda.advance(int(datetime(2026, 2, 27, tzinfo=timezone.utc).timestamp() * 1000))
        assert fired == []
        fired += agenda.advance(int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp() * 1000))
        fired += agenda.advance(int(datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp() * 1000))
        fired += agenda.advance(int(datetime(2026, 3, 9, tzinfo=timezone.utc).timestamp() * 1000))
        assert agenda.next_moment() is None  # both fired: nothing left to wait for
        return fired

    first, again = run(), run()
    assert [(a.severity.value, a.days_left) for a in first] == [("WARNING", 7), ("BREACH", -1)]
    assert [a.model_dump() for a in first] == [a.model_dump() for a in again]
    assert first[0].alert_id == alert_id("m1", DeadlineKind.TOR_ISSUE, "WARNING", date(2026, 3, 7))


@pytest.mark.parametrize("withdrawn", [False, True])
def test_an_alert_is_the_validated_model_with_ids_derived_as_uuid5(withdrawn):
    import uuid

    due = Due.recognition("m1", "hh.se", "ucn.dk", date(2026, 3, 1), 20)
    (severity, moment, left), _ = moments(due)
    alert = make_alert(due, severity, moment, left, trace_id="t1", withdrawn=withdrawn)
    validated = DeadlineAlert.model_validate(alert.model_dump())
    assert to_json(alert) == to_json(validated) and alert.model_dump() == validated.model_dump()
    ns = uuid.uuid5(uuid.NAMESPACE_URL, "https://heroes-hub.eu/streams/deadlines")
    aid = str(uuid.uuid5(ns, f"m1|RECOGNITION|WARNING|{due.due_on.isoformat()}"))
    assert alert.alert_id == aid
    assert alert.event_id == (str(uuid.uuid5(ns, f"{aid}|withdrawn")) if withdrawn else aid)
    assert alert.responsible_hei == "hh.se" and alert.withdrawn is withdrawn


def test_a_closed_deadline_raises_nothing():
    agenda = Agenda()
    agenda.open(Due.tor("m1", "hh.se", "ucn.dk", date(2026, 1, 31), None))
    assert agenda.close("m1", "TOR_ISSUE", int(datetime(2026, 2, 10, tzinfo=timezone.utc).timestamp() * 1000)) == []
    assert agenda.advance(int(datetime(2026, 6, 1, tzinfo=timezone.utc).timestamp() * 1000)) == []


# --- dedupe window -------------------------------------------------------------------------


def test_duplicates_are_dropped_and_the_window_stays_bounded():
    n = Normaliser(window_days=30, max_ids=50)
    state = PartnerStudent(esi=ESI)
    g = _grade()
    assert n.normalise("ucn.dk", g, state) is not None
    assert n.normalise("ucn.dk", g, state) is None  # the same event id again
    for i in range(200):
        n.normalise("ucn.dk", _grade(result_id=f"r{i}", recorded_at=T0 + timedelta(hours=i)), state)
    assert len(state.seen) <= 50
    far = _grade(result_id="late", recorded_at=T0 + timedelta(days=400))
    n.normalise("ucn.dk", far, state)
    assert list(state.seen) == [far.event_id]  # everything older than the window went


def test_partner_student_state_round_trips_through_json():
    import json

    n = Normaliser()
    state = PartnerStudent()
    n.accept("ucn.dk", _grade(), state, payload=b"\x00raw", topic="sis.ucn.dk.grades", partition=1, offset=7)
    again = PartnerStudent.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.held[0].event == state.held[0].event and again.held[0].payload == b"\x00raw"


# --- ESI resolution ------------------------------------------------------------------------


def test_the_event_esi_wins_else_the_one_learned_from_the_partners_enrolment():
    n = Normaliser()
    state = PartnerStudent()
    assert n.normalise("ucn.dk", _enrolment(), state).student_esi == ESI
    out = n.normalise("ucn.dk", _grade(), state)
    assert out.student_esi == ESI and out.grade_label == "02"


def test_a_grade_before_the_enrolment_is_held_then_released_with_the_esi():
    n = Normaliser()
    state = PartnerStudent()
    held = n.accept("ucn.dk", _grade(), state, payload=b"g")
    assert held.held and held.events == []
    released = n.accept("ucn.dk", _enrolment(), state, payload=b"e")
    assert [type(e).__name__ for e in released.events] == ["Enrolment", "Grade"]
    assert released.events[1].student_esi == ESI and state.held == []


def test_an_unknown_student_is_dead_lettered_when_the_hold_is_full():
    n = Normaliser(max_held=2)
    state = PartnerStudent()
    outs = [n.accept("ucn.dk", _grade(result_id=f"r{i}"), state, payload=f"p{i}".encode()) for i in range(3)]
    assert [h.payload for h in outs[-1].expired] == [b"p0"]
    assert len(state.held) == 2


# --- validation ----------------------------------------------------------------------------


def test_an_unknown_label_is_rejected_naming_the_valid_labels():
    with pytest.raises(Rejected) as err:
        Normaliser().normalise("ucn.dk", _grade(grade_label="2", student_esi=ESI), PartnerStudent())
    assert err.value.kind == "unknown-grade" and "12, 10, 7, 4, 02, 00, -3" in err.value.reason


def test_a_partner_cannot_publish_as_another():
    with pytest.raises(Rejected) as err:
        Normaliser().normalise("hh.se", _grade(student_esi=ESI), PartnerStudent())
    assert err.value.kind == "wrong-partner"


def test_unknown_institutions_and_foreign_schemes_are_rejected():
    with pytest.raises(Rejected) as err:
        Normaliser().normalise("ucn.dk", _mobility("NOMINATED", T0, source_hei="ucn.dk", sending_hei="uio.no"), PartnerStudent())
    assert err.value.kind == "unknown-institution"
    with pytest.raises(Rejected) as err:
        Normaliser().normalise("ucn.dk", _grade(student_esi=ESI, grading_scheme_id="hh.se/A-F", grade_label="A"), PartnerStudent())
    assert err.value.kind == "wrong-scheme"


# --- monitor -------------------------------------------------------------------------------


def _decision(component: str, status: str, ects: str, version: int = 1) -> RecognitionDecision:
    return RecognitionDecision(
        source_hei="hh.se", occurred_at=T0, decision_id=f"d-{component}-{version}", omobility_id="m1", student_esi=ESI,
        home_hei="hh.se", host_hei="ucn.dk", home_component=component, version=version, status=status, ects=Decimal(ects),
        rule="R2-all-passed", reason="test", provenance=Provenance(la_version=1, group_id="g"),
    )


def test_monitor_tracks_state_and_ects_planned_vs_recognised_and_opens_deadlines():
    la = LearningAgreement(version=1, approved_at=T0, components_studied=(LaComponent(course_code="C1", ects=Decimal(5)),),
                           components_recognized=(LaComponent(course_code="H1", ects=Decimal("7.5")),
                                                  LaComponent(course_code="H2", ects=Decimal(5))))
    mon = StudentMonitor(ESI)
    s = mon.apply(_mobility("LA_APPROVED", T0, learning_agreement=la)).statuses[0]
    assert (s.state.value, s.ects_planned, s.ects_recognised) == ("LA_APPROVED", Decimal("12.50"), Decimal("0.00"))
    ended = mon.apply(_mobility("ENDED", T0 + timedelta(days=100)))
    assert [d.kind for d in ended.opened] == [DeadlineKind.TOR_ISSUE]
    mon.apply(_decision("H1", DecisionStatus.AUTO_RECOGNISED.value, "7.5"))
    tor = mon.apply(_mobility("TOR_ISSUED", T0 + timedelta(days=110)))
    assert [(due.kind, met) for due, met in tor.met] == [(DeadlineKind.TOR_ISSUE, int((T0 + timedelta(days=110)).timestamp() * 1000))]
    assert (tor.statuses[0].state.value, tor.statuses[0].ects_recognised) == ("TOR_ISSUED", Decimal("7.50"))
    last = mon.apply(_decision("H2", DecisionStatus.NEEDS_REVIEW.value, "0"))
    assert [d.kind for d in last.opened] == [DeadlineKind.RECOGNITION]
    assert last.statuses == []  # the status line did not change: nothing to publish
    done = mon.apply(_decision("H2", DecisionStatus.MANUALLY_RECOGNISED.value, "5", version=2))
    assert (done.statuses[0].state.value, done.statuses[0].ects_recognised) == ("RECOGNISED", Decimal("12.50"))
    assert mon.apply(_decision("H2", DecisionStatus.MANUALLY_RECOGNISED.value, "5", version=2)).statuses == []  # unchanged: no line


def test_status_lines_built_without_validation_are_what_validation_gives():
    """The monitor builds its lines unvalidated (they come from validated events): each must equal its validated self."""
    from bench.alliance import alliance
    from schemas.canonical import from_json, to_json
    from schemas.models import MobilityStatus
    from streams.recognition import StudentRecognition

    lines, students = [], {}
    for event in alliance(40, seed=3):
        esi = getattr(event, "student_esi", None)
        if not esi or not isinstance(event, (Grade, Mobility)):
            continue
        rules, mon = students.setdefault(esi, (StudentRecognition(esi), StudentMonitor(esi)))
        for e in [event, *rules.apply(event)]:
            lines += mon.apply(e).statuses
    assert len(lines) > 100 and len({s.state for s in lines}) >= 5
    for s in lines:
        assert MobilityStatus.model_validate(s.model_dump()) == s
        assert from_json(to_json(s)) == s


def test_a_late_tor_raises_its_alerts_whatever_order_the_events_come_in():
    """A ToR 50 days after the end missed the 35-day deadline: warning and breach, even when it is read before the end."""
    def alerts(order: list) -> list:
        mon, agenda, out = StudentMonitor(ESI), Agenda(), []
        for event in order:
            out += agenda.advance(int(event.occurred_at.timestamp() * 1000))
            ch = mon.apply(event)
            for due in ch.opened:
                agenda.open(due)
            for due, met in ch.met:
                out += agenda.settle(due, met)
        return sorted((a.severity.value, a.due_on.isoformat()) for a in out)

    ended, tor = _mobility("ENDED", T0), _mobility("TOR_ISSUED", T0 + timedelta(days=50))
    on_time = _mobility("TOR_ISSUED", T0 + timedelta(days=20))
    late = [("BREACH", (T0 + timedelta(days=35)).date().isoformat()), ("WARNING", (T0 + timedelta(days=35)).date().isoformat())]
    assert alerts([ended, tor]) == alerts([tor, ended]) == late
    assert alerts([ended, on_time]) == alerts([on_time, ended]) == []


def test_a_tor_in_time_read_after_the_clock_passed_its_moments_withdraws_the_alerts_raised_early():
    """A replay can move a partition's clock past a deadline before the ToR that met it is read: the early alerts are withdrawn."""
    mon, agenda = StudentMonitor(ESI), Agenda()
    ended, on_time = _mobility("ENDED", T0), _mobility("TOR_ISSUED", T0 + timedelta(days=20))
    for due in mon.apply(ended).opened:
        agenda.open(due)
    early = agenda.advance(int((T0 + timedelta(days=60)).timestamp() * 1000))  # another partner's event, months later
    assert sorted(a.severity.value for a in early) == ["BREACH", "WARNING"] and not any(a.withdrawn for a in early)
    withdrawn = [a for due, met in mon.apply(on_time).met for a in agenda.settle(due, met)]
    assert sorted((a.alert_id, a.withdrawn) for a in withdrawn) == sorted((a.alert_id, True) for a in early)
    assert not {a.event_id for a in withdrawn} & {a.event_id for a in early}  # a withdrawal is an event of its own
    assert agenda.advance(int((T0 + timedelta(days=90)).timestamp() * 1000)) == []  # met: nothing fires again


def test_uuid5_namer_gives_the_standard_name_based_uuid():
    import uuid

    from hypothesis import given, strategies as st

    from streams.recognition.ids import uuid5_namer

    @given(st.uuids(), st.lists(st.text(), min_size=1, max_size=3))
    def check(namespace, names):
        name_uuid = uuid5_namer(namespace)
        assert [name_uuid(n) for n in names] == [str(uuid.uuid5(namespace, n)) for n in names]

    check()
