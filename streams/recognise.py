"""Recognise and monitor: one faust agent around the pure rules (``streams.recognition``, ``streams.monitor``).

Its input is every ESI-keyed topic a student's decisions need (``hub.grades``,
``hub.mobilities`` and the registrar decisions re-keyed by ESI), co-partitioned,
so one student's state lives in one table row on one worker:

- ``students``: ESI -> ``{"r": StudentRecognition.to_dict(), "m": monitor state}``;
- ``agenda``: ``p<partition>`` -> the open deadlines and event-time clock of a partition.

Per event: decode, fold into the student's state, publish decisions to
``hub.recognitions`` (keyed by mobility id), status lines to
``hub.mobility-status`` and alerts to ``hub.deadlines``. A failure in any of that
sends the event to ``hub.dlq`` and the stream goes on.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field

from schemas.models import DeadlineAlert, Event, Grade, Mobility, MobilityStatus, RecognitionDecision, RegistrarDecision

from streams.monitor import Agenda, StudentMonitor
from streams.recognition import StudentRecognition
from streams.recognition.conversion import converter_for

__all__ = ["RecogniseStep", "StepResult", "install_recogniser"]


@dataclass
class StepResult:
    """What one event produced; ``state`` is the student's new table value (None: unchanged)."""

    state: dict | None = None
    decisions: list[RecognitionDecision] = field(default_factory=list)
    statuses: list[MobilityStatus] = field(default_factory=list)
    alerts: list[DeadlineAlert] = field(default_factory=list)
    agenda_changed: bool = False


class RecogniseStep:
    """The framework-free step: (student state, agenda, event) -> outputs. Keeps a small cache of live states.

    The cache maps ESI to the live rule objects of the last value this step wrote,
    so the JSON form is parsed only on a miss; it is cleared on every rebalance.
    """

    def __init__(self, cache_size: int = 4096) -> None:
        self.converter = converter_for()
        self._cache: OrderedDict[str, tuple[int, StudentRecognition, StudentMonitor]] = OrderedDict()
        self._cache_size = cache_size

    def clear(self) -> None:
        self._cache.clear()

    def _load(self, esi: str, value: dict | None) -> tuple[StudentRecognition, StudentMonitor]:
        hit = self._cache.get(esi)
        if hit is not None and value is not None and hit[0] == id(value):
            self._cache.move_to_end(esi)
            return hit[1], hit[2]
        if value is None:
            return StudentRecognition(esi, converter=self.converter), StudentMonitor(esi)
        rules = StudentRecognition(esi, converter=self.converter)
        rules.facts = type(rules.facts).from_dict(value["r"])
        return rules, StudentMonitor(esi, copy.deepcopy(value["m"]))

    def apply(self, esi: str, value: dict | None, agenda: Agenda, event: Event) -> StepResult:
        try:
            return self._apply(esi, value, agenda, event)
        except BaseException:
            self._cache.pop(esi, None)  # the live objects may be half-changed: reload from the table next time
            raise

    def _apply(self, esi: str, value: dict | None, agenda: Agenda, event: Event) -> StepResult:
        out = StepResult()
        out.alerts.extend(agenda.advance(_ms(event), trace_id=event.trace_id or event.event_id))
        rules, monitor = self._load(esi, value)
        if isinstance(event, (Grade, Mobility, RegistrarDecision)):
            out.decisions = rules.apply(event)
        changes = [monitor.apply(event)] + [monitor.apply(d) for d in out.decisions]
        for ch in changes:
            out.statuses.extend(ch.statuses)
            for omobility_id, kind in ch.closed:
                out.agenda_changed |= agenda.close(omobility_id, kind)
            for due in ch.opened:
                out.agenda_changed |= agenda.open(due)
        if out.agenda_changed:
            out.alerts.extend(agenda.advance(agenda.clock, trace_id=event.trace_id or event.event_id))
        out.agenda_changed |= bool(out.alerts)
        new_value = {"r": rules.to_dict(), "m": monitor.data}
        self._cache[esi] = (id(new_value), rules, monitor)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        out.state = new_value
        return out


def _ms(event: Event) -> int:
    return int(event.occurred_at.timestamp() * 1000)


def install_recogniser(hub) -> None:
    """Add the recognise agent to ``hub`` (a :class:`streams.app.HubStreams`)."""
    app, cfg = hub.app, hub.config
    step = RecogniseStep()
    students = app.Table("students", partitions=cfg.partitions, key_type=bytes)  # raw keys, JSON values
    agendas = app.Table("agenda", partitions=cfg.partitions, key_type=bytes)  # raw keys, JSON values
    hub.tables.update(students=students, agenda=agendas)
    source = app.topic(cfg.topic("hub.grades"), cfg.topic("hub.mobilities"), cfg.registrar_by_esi_topic,
                       key_serializer="raw", value_serializer="raw", partitions=cfg.partitions)
    recognitions, statuses, deadlines = hub.out("hub.recognitions"), hub.out("hub.mobility-status"), hub.out("hub.deadlines")

    @app.on_partitions_revoked.connect
    async def _forget(*args, **kwargs) -> None:
        step.clear()  # live states may be stale once the partitions come back: reload them from the table

    async def recognise(stream):
        async for ev in stream.events():
            msg = ev.message
            try:
                event = hub.codec.decode(msg.topic, ev.value, msg.partition, msg.offset)
                esi = ev.key.decode() if ev.key else getattr(event, "student_esi", None)
                akey = b"p%d" % msg.partition
                agenda = Agenda(agendas.get(akey))
                result = step.apply(esi, students.get(esi.encode()), agenda, event)
            except Exception as exc:  # noqa: BLE001 - every failure of one event is a dead letter, never a crash
                await hub.dead_letter(exc, "streams:recognise", ev.value, msg.topic, msg.partition, msg.offset)
                continue
            students[esi.encode()] = result.state
            if result.agenda_changed:
                agendas[akey] = agenda.data
            for d in result.decisions:
                await recognitions.send(key=d.omobility_id.encode(), value=d)
            for s in result.statuses:
                await statuses.send(key=s.omobility_id.encode(), value=s)
            for a in result.alerts:
                await deadlines.send(key=a.omobility_id.encode(), value=a)
            hub.count("recognised")

    app.agent(source, name=f"{cfg.app_id}.recognise")(recognise)
