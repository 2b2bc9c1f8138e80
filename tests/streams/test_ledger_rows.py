"""The ledger's rows from Avro records (what its writer decodes) hold what the validated models hold."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pydantic import ValidationError

from schemas.models import from_avro, to_avro
from schemas.serde import _fast_codec, _without_uuid
from schemas.models import Mobility
from streams.ledger.store import Batch, _agreement_row, _alert_row, _current_row, _history_row, _status_row
from tests.schemas.avro_strategies import strategy
from tests.schemas.test_models import _schema

KINDS = ("RecognitionDecision", "MobilityStatus", "DeadlineAlert")


def _model_rows(event) -> dict:
    """The rows as the ledger built them from the validated model (the reference)."""
    name = event.record_name
    if name == "RecognitionDecision":
        d = event
        current = {"omobility_id": d.omobility_id, "home_component": d.home_component, "decision_id": d.decision_id,
                   "version": d.version, "status": d.status.value, "ects": d.ects, "converted_grade": d.converted_grade,
                   "home_scheme_id": d.home_scheme_id, "home_hei": d.home_hei, "host_hei": d.host_hei,
                   "student_esi": d.student_esi, "home_component_title": d.home_component_title, "rule": d.rule,
                   "reason": d.reason, "decided_by": d.decided_by, "occurred_at": d.occurred_at}
        hist = {k: v for k, v in current.items() if k != "home_component_title"}
        hist.update(supersedes=d.supersedes, provenance=json.loads(d.provenance.model_dump_json()), event_id=d.event_id,
                    trace_id=d.trace_id)
        return {"current": current, "history": hist}
    if name == "MobilityStatus":
        s = event
        return {"status": {"omobility_id": s.omobility_id, "student_esi": s.student_esi, "sending_hei": s.sending_hei,
                           "receiving_hei": s.receiving_hei, "state": s.state.value, "la_version": s.la_version,
                           "ects_planned": s.ects_planned, "ects_recognised": s.ects_recognised, "started_on": s.started_on,
                           "ended_on": s.ended_on, "tor_issued_on": s.tor_issued_on, "occurred_at": s.occurred_at,
                           "status_event_id": s.event_id}}
    a = event
    return {"alert": {"alert_id": a.alert_id, "omobility_id": a.omobility_id, "sending_hei": a.sending_hei,
                      "receiving_hei": a.receiving_hei, "deadline": a.deadline.value, "severity": a.severity.value,
                      "responsible_hei": a.responsible_hei, "due_on": a.due_on, "days_left": a.days_left,
                      "raised_at": a.occurred_at}}


def _record_rows(name: str, record: dict) -> dict:
    if name == "RecognitionDecision":
        hist = _history_row(record)
        hist["provenance"] = json.loads(hist["provenance"])
        return {"current": _current_row(record), "history": hist}
    if name == "MobilityStatus":
        return {"status": _status_row(record)}
    return {"alert": _alert_row(record)}


@pytest.mark.parametrize("name", KINDS)
@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rows_from_the_decoded_record_equal_the_rows_of_the_validated_model(name, data):
    try:
        event = from_avro(name, data.draw(strategy(_schema(name), overrides={"event_type": st.just(name)})))
    except ValidationError:  # what the recogniser could not have built
        assume(False)
    codec = _fast_codec(_without_uuid(_schema(name)))
    record = codec.binary_decode(codec.binary_encode(to_avro(event)))  # what the ledger writer reads off the topic
    assert _record_rows(name, record) == _model_rows(event)
    from_model = Batch.of([event], {})
    assert _record_rows(name, {"RecognitionDecision": from_model.decisions, "MobilityStatus": from_model.statuses,
                               "DeadlineAlert": from_model.alerts}[name][0]) == _model_rows(event)


def _model_agreement_row(m: Mobility) -> dict:
    """The LA row as the ledger built it from the validated model (the reference)."""
    la = m.learning_agreement

    def dump(items) -> str:
        return json.dumps([i.model_dump(mode="json") for i in items], separators=(",", ":"))

    return {"omobility_id": m.omobility_id, "version": la.version, "student_esi": m.student_esi, "sending_hei": m.sending_hei,
            "receiving_hei": m.receiving_hei, "changes_id": la.changes_id, "approved_at": la.approved_at,
            "components_studied": dump(la.components_studied), "components_recognized": dump(la.components_recognized),
            "recognition_groups": dump(la.recognition_groups),
            "ects_studied": sum((c.ects for c in la.components_studied), Decimal(0)),
            "ects_recognized": sum((c.ects for c in la.components_recognized), Decimal(0)),
            "occurred_at": m.occurred_at, "event_id": m.event_id}


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_la_row_from_the_decoded_record_equals_the_row_of_the_validated_model(data):
    overrides = {"event_type": st.just("Mobility"), "lifecycle": st.sampled_from(["LA_APPROVED", "LA_CHANGED"])}
    try:
        event = from_avro("Mobility", data.draw(strategy(_schema("Mobility"), overrides=overrides)))
    except ValidationError:
        assume(False)
    assume(event.learning_agreement is not None)
    codec = _fast_codec(_without_uuid(_schema("Mobility")))
    record = codec.binary_decode(codec.binary_encode(to_avro(event)))
    assert _agreement_row(record) == _model_agreement_row(event)
    assert _agreement_row(Batch.of([event], {}).agreements[0]) == _model_agreement_row(event)


def test_a_record_of_another_kind_is_refused():
    with pytest.raises(KeyError):
        Batch([], [], [], {}).add_record("Grade", {})
