"""Typed models of every hub event, one per ``.avsc`` record, lossless both ways.

The ``.avsc`` files are the contract; these pydantic models mirror them field by
field so Python code gets types and validation.  ``to_avro``/``from_avro`` convert
to and from fastavro's representation; a hypothesis test proves the round trip.

Conventions that make the round trip exact:
- ECTS are ``Decimal`` quantised to 0.01 (Avro ``decimal(6,2)``);
- timestamps are UTC ``datetime`` truncated to milliseconds (``timestamp-millis``);
- ``event_type`` names the record, so a canonical JSON line says what it is.
"""

from __future__ import annotations

import functools
import re
import types
import typing
import uuid
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, BaseModel, ConfigDict, Field, PlainSerializer

# --- field types -----------------------------------------------------------

_CENT = Decimal("0.01")
ECTS_MAX = Decimal("9999.99")


def ects_of(value: Decimal) -> Decimal:
    """ECTS as every model holds them: to the cent (half even), within what Avro's decimal(6,2) holds."""
    q = value.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    if not (-ECTS_MAX <= q <= ECTS_MAX):
        raise ValueError(f"ECTS {value} out of range (Avro decimal(6,2) holds up to {ECTS_MAX})")
    return q


def _utc_millis(value: datetime) -> datetime:
    if value.tzinfo is timezone.utc and not value.microsecond % 1000:
        return value  # as Avro decodes it: already UTC milliseconds
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone (use UTC, e.g. 2025-09-01T08:00:00Z)")
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_text(value: object) -> str:
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value  # already what str(UUID) gives: parsing it again costs more than the rest of the event's validation
    if isinstance(value, uuid.UUID):  # fastavro decodes the uuid logical type to UUID
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


Ects = Annotated[Decimal, AfterValidator(ects_of), PlainSerializer(lambda d: float(d), return_type=float, when_used="json")]
Timestamp = Annotated[
    datetime,
    AfterValidator(_utc_millis),
    PlainSerializer(lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z"), return_type=str, when_used="json"),
]
EventId = Annotated[str, BeforeValidator(_uuid_text)]


def now_utc() -> datetime:
    return _utc_millis(datetime.now(timezone.utc))


def new_event_id() -> str:
    return str(uuid.uuid4())


# --- enums (Avro enums, same symbols) ---------------------------------------

class EnrolmentStatus(str, Enum):
    REGISTERED = "REGISTERED"
    WITHDRAWN = "WITHDRAWN"
    COMPLETED = "COMPLETED"


class GradeStatus(str, Enum):
    FINAL = "FINAL"
    CORRECTED = "CORRECTED"
    REVOKED = "REVOKED"


class MobilityLifecycle(str, Enum):
    NOMINATED = "NOMINATED"
    LA_APPROVED = "LA_APPROVED"
    LA_CHANGED = "LA_CHANGED"
    STARTED = "STARTED"
    ENDED = "ENDED"
    TOR_ISSUED = "TOR_ISSUED"
    CANCELLED = "CANCELLED"


class TableSource(str, Enum):
    FIELD = "FIELD"
    INSTITUTION = "INSTITUTION"
    ECTS_SCALE = "ECTS_SCALE"


class ConversionMethod(str, Enum):
    BAND_OVERLAP = "BAND_OVERLAP"
    WEIGHTED_MIDPOINT = "WEIGHTED_MIDPOINT"
    PASS_FAIL = "PASS_FAIL"
    NONE = "NONE"


class DecisionStatus(str, Enum):
    AUTO_RECOGNISED = "AUTO_RECOGNISED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    NOT_RECOGNISED = "NOT_RECOGNISED"
    MANUALLY_RECOGNISED = "MANUALLY_RECOGNISED"
    REJECTED = "REJECTED"
    REVOKED = "REVOKED"


class MobilityState(str, Enum):
    NOMINATED = "NOMINATED"
    LA_APPROVED = "LA_APPROVED"
    STARTED = "STARTED"
    ENDED = "ENDED"
    TOR_ISSUED = "TOR_ISSUED"
    RECOGNISED = "RECOGNISED"
    CANCELLED = "CANCELLED"


class DeadlineKind(str, Enum):
    TOR_ISSUE = "TOR_ISSUE"
    RECOGNITION = "RECOGNITION"


class AlertSeverity(str, Enum):
    WARNING = "WARNING"
    BREACH = "BREACH"


class RegistrarAction(str, Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


# --- nested records ------------------------------------------------------------

class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_bytes="base64", val_json_bytes="base64")


class LaComponent(_Record):
    course_code: str
    los_id: str | None = None
    loi_id: str | None = None
    title: str = ""
    term_id: str = ""
    ects: Ects
    isced_code: str | None = None
    recognition_conditions: str | None = None


class RecognitionGroup(_Record):
    group_id: str
    studied: tuple[str, ...]
    recognized: tuple[str, ...]


class LearningAgreement(_Record):
    version: int
    changes_id: str | None = None
    approved_at: Timestamp
    components_studied: tuple[LaComponent, ...]
    components_recognized: tuple[LaComponent, ...]
    recognition_groups: tuple[RecognitionGroup, ...] = ()


class TableRef(_Record):
    hei: str
    scheme_id: str
    reference_group: str
    academic_year: str
    source: TableSource


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]  # canonical JSON has no infinity


class Band(_Record):
    label: str
    lower: FiniteFloat
    upper: FiniteFloat


class HostGrade(_Record):
    result_id: str
    course_code: str
    grade_label: str
    grading_scheme_id: str
    ects: Ects
    attempt: int
    passed: bool
    event_id: str


class Conversion(_Record):
    method: ConversionMethod
    host_tables: tuple[TableRef, ...] | None = None
    home_table: TableRef | None = None
    host_bands: tuple[Band, ...] = ()
    home_band: Band | None = None
    point: FiniteFloat | None = None


class Provenance(_Record):
    la_version: int
    group_id: str
    host_grades: tuple[HostGrade, ...] = ()
    conversion: Conversion | None = None
    input_event_ids: tuple[str, ...] = ()


# --- events ------------------------------------------------------------------

class Event(_Record):
    """The envelope every hub event carries (DESIGN.md §4)."""

    record_name: ClassVar[str] = ""

    event_id: EventId = Field(default_factory=new_event_id)
    event_type: str
    source_hei: str
    occurred_at: Timestamp
    recorded_at: Timestamp = Field(default_factory=now_utc)
    schema_version: int = 1
    trace_id: str = ""


class Enrolment(Event):
    record_name: ClassVar[str] = "Enrolment"
    event_type: Literal["Enrolment"] = "Enrolment"
    student_id: str
    student_esi: str | None = None
    hei: str
    course_code: str
    los_id: str | None = None
    term_id: str
    ects: Ects
    status: EnrolmentStatus
    omobility_id: str | None = None


class Grade(Event):
    record_name: ClassVar[str] = "Grade"
    event_type: Literal["Grade"] = "Grade"
    student_id: str
    student_esi: str | None = None
    hei: str
    result_id: str
    course_code: str
    los_id: str | None = None
    loi_id: str | None = None
    isced_code: str | None = None
    grade_label: str
    grading_scheme_id: str
    ects: Ects
    assessed_on: date
    attempt: int = 1
    status: GradeStatus
    academic_year: str = ""
    omobility_id: str | None = None


class Mobility(Event):
    record_name: ClassVar[str] = "Mobility"
    event_type: Literal["Mobility"] = "Mobility"
    omobility_id: str
    student_esi: str
    student_id: str | None = None
    sending_hei: str
    receiving_hei: str
    lifecycle: MobilityLifecycle
    receiving_academic_year: str = ""
    isced_code: str | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    learning_agreement: LearningAgreement | None = None
    tor_deadline_days: int | None = None
    recognition_deadline_days: int | None = None


class RecognitionDecision(Event):
    record_name: ClassVar[str] = "RecognitionDecision"
    event_type: Literal["RecognitionDecision"] = "RecognitionDecision"
    decision_id: str
    omobility_id: str
    student_esi: str
    home_hei: str
    host_hei: str
    home_component: str
    home_component_title: str = ""
    version: int
    status: DecisionStatus
    ects: Ects
    converted_grade: str | None = None
    home_scheme_id: str | None = None
    rule: str
    reason: str
    supersedes: str | None = None
    decided_by: str | None = None
    provenance: Provenance


class MobilityStatus(Event):
    record_name: ClassVar[str] = "MobilityStatus"
    event_type: Literal["MobilityStatus"] = "MobilityStatus"
    omobility_id: str
    student_esi: str
    sending_hei: str
    receiving_hei: str
    state: MobilityState
    la_version: int | None = None
    ects_planned: Ects
    ects_recognised: Ects
    started_on: date | None = None
    ended_on: date | None = None
    tor_issued_on: date | None = None


class DeadlineAlert(Event):
    record_name: ClassVar[str] = "DeadlineAlert"
    event_type: Literal["DeadlineAlert"] = "DeadlineAlert"
    alert_id: str
    omobility_id: str
    sending_hei: str
    receiving_hei: str
    deadline: DeadlineKind
    severity: AlertSeverity
    responsible_hei: str
    due_on: date
    days_left: int
    withdrawn: bool = False


class DeadLetter(Event):
    record_name: ClassVar[str] = "DeadLetter"
    event_type: Literal["DeadLetter"] = "DeadLetter"
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    source_location: str = ""
    component: str
    error_kind: str
    reason: str
    payload: bytes


class RegistrarDecision(Event):
    record_name: ClassVar[str] = "RegistrarDecision"
    event_type: Literal["RegistrarDecision"] = "RegistrarDecision"
    decision_id: str
    omobility_id: str
    home_hei: str
    home_component: str
    action: RegistrarAction
    reason: str
    registrar: str
    ects: Ects | None = None
    converted_grade: str | None = None
    student_esi: str | None = None


EVENT_MODELS: dict[str, type[Event]] = {
    m.record_name: m
    for m in (Enrolment, Grade, Mobility, RecognitionDecision, MobilityStatus, DeadlineAlert, DeadLetter, RegistrarDecision)
}


def to_avro(event: Event, *, lists: bool = True) -> dict[str, Any]:
    """The fastavro-ready dict of an event (enums as symbols, Decimal, datetime, date).

    ``lists=False``: arrays may stay tuples, for a writer that takes them as arrays (cavro; see ``AvroSerializer.takes_tuples``).
    """
    if type(event) in _FLAT:  # every field a scalar: its values are already what model_dump would give
        return dict(event.__dict__)
    dumped = dumped_python(event)
    return _lists(dumped) if lists else dumped


def dumped_python(model: BaseModel) -> dict[str, Any]:
    """``model.model_dump(mode="python")`` of a hub model, without pydantic's serializer.

    In Python mode the hub's models have no serializer of their own (the ``Ects`` and
    timestamp ones are JSON-only), so a dump is each field's value, with records as
    dicts, in tuples where the field holds a tuple.  pydantic's dump of a decision took
    about 17 µs here, this one about 8.  ``tests/schemas/test_models.py``
    holds it to ``model_dump`` for every event model, types all the way down.
    """
    values = dict(model.__dict__)
    for name in _records_in(type(model)):
        value = values[name]
        if type(value) is tuple:  # of records: the annotations hold no tuple of mixed items
            values[name] = tuple([dumped_python(v) for v in value])
        elif value is not None:
            values[name] = dumped_python(value)
    return values


@functools.cache
def _records_in(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that may hold records (alone, optional or in a tuple)."""
    def has_record(annotation: Any) -> bool:
        if isinstance(annotation, type):
            return issubclass(annotation, BaseModel)
        return any(has_record(a) for a in typing.get_args(annotation))
    return tuple(name for name, f in model.model_fields.items() if has_record(f.annotation))


def _flat(model: type[BaseModel]) -> bool:
    """Whether no field of ``model`` holds a model, list, tuple or dict (so dumping it copies its values as they are)."""
    def scalar(annotation: Any) -> bool:
        if annotation is None or annotation is type(None):
            return True
        if isinstance(annotation, type):
            return not issubclass(annotation, (BaseModel, list, tuple, dict, set))
        args = typing.get_args(annotation)
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            return all(scalar(a) for a in args)
        if origin is typing.Literal:
            return True
        if origin is typing.Annotated:
            return scalar(args[0])
        return False
    return all(scalar(f.annotation) for f in model.model_fields.values())


_FLAT = frozenset(m for m in EVENT_MODELS.values() if _flat(m))


_NESTED = (dict, tuple, list)


def _lists(value: Any) -> Any:
    # fastavro reads a tuple inside a union as an explicit (branch, value) pair, so arrays go as lists;
    # model_dump gives plain dicts, tuples and lists, and scalars are not descended into (most fields are scalars)
    if type(value) is dict:
        return {k: _lists(v) if type(v) in _NESTED else v for k, v in value.items()}
    return [_lists(v) if type(v) in _NESTED else v for v in value]


def from_avro(record_name: str, data: dict[str, Any]) -> Event:
    """Build the typed event from a dict fastavro decoded for ``record_name``."""
    try:
        model = EVENT_MODELS[record_name]
    except KeyError:
        raise KeyError(f"no model for Avro record {record_name!r}; known: {', '.join(EVENT_MODELS)}") from None
    data = dict(data)
    data["event_type"] = record_name if data.get("event_type") in (None, "") else data["event_type"]
    return model.model_validate(data)
