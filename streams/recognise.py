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

__all__ = ["Live", "PartitionAgendas", "RecogniseBatch", "RecogniseStep", "StepResult", "esi_of", "install_recogniser"]


Live = tuple[StudentRecognition, StudentMonitor]  # a student's rule and monitor objects while a batch folds events into them


@dataclass
class StepResult:
    """What one event produced; ``state`` is the student's new table value (None: unchanged)."""

    state: dict | None = None
    decisions: list[RecognitionDecision] = field(default_factory=list)
    statuses: list[MobilityStatus] = field(default_factory=list)
    alerts: list[DeadlineAlert] = field(default_factory=list)
    live: "Live | None" = None


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

    def forget(self, esi: str) -> None:
        """Drop a student's cached live objects (an event failed half-way through them)."""
        self._cache.pop(esi, None)

    def load(self, esi: str, value: dict | None, *, cached: bool = True, owned: bool = False) -> Live:
        """The live objects of the table value ``value`` (None: a new student); cached ones when ``value`` is what :meth:`snapshot` gave.

        ``owned``: ``value`` was parsed for this call alone, so the live objects may keep its parts instead of copies.
        """
        hit = self._cache.get(esi) if cached else None
        if hit is not None and value is not None and hit[0] == id(value):
            self._cache.move_to_end(esi)
            return hit[1], hit[2]
        if value is None:
            return StudentRecognition(esi, converter=self.converter), StudentMonitor(esi)
        rules = StudentRecognition(esi, converter=self.converter)
        rules.facts = type(rules.facts).from_dict(value["r"])
        return rules, StudentMonitor(esi, value["m"] if owned else copy.deepcopy(value["m"]))

    def apply(self, esi: str, value: dict | None, agenda: Agenda, event: Event, *, snapshot: bool = True,
              live: Live | None = None) -> StepResult:
        """Fold ``event`` into the student's state ``value``, or into ``live`` (the objects an earlier event of the batch left).

        ``StepResult.live`` holds the live objects after the event.  With ``snapshot=False``
        the new table value is not built (``state`` stays None): a batch builds it once per
        student at its end with :meth:`snapshot`.
        """
        rules, monitor = live if live is not None else self.load(esi, value)
        try:
            out = self._apply(rules, monitor, agenda, event)
        except BaseException:
            self._cache.pop(esi, None)  # the live objects may be half-changed: reload from the table next time
            raise
        out.live = (rules, monitor)
        if snapshot:
            out.state = self.snapshot(esi, out.live)
        return out

    def snapshot(self, esi: str, live: Live) -> dict:
        """The table value of live objects; the cache remembers them with it, so loading that value is free."""
        rules, monitor = live
        value = self.value_of(live)
        self._cache[esi] = (id(value), rules, monitor)
        self._cache.move_to_end(esi)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    @staticmethod
    def value_of(live: Live) -> dict:
        """The JSON-ready table value of live objects."""
        return {"r": live[0].to_dict(), "m": live[1].data}

    def _apply(self, rules: StudentRecognition, monitor: StudentMonitor, agenda: Agenda, event: Event) -> StepResult:
        out = StepResult()
        trace = event.trace_id or event.event_id
        out.alerts.extend(agenda.advance(_ms(event), trace_id=trace))
        if isinstance(event, (Grade, Mobility, RegistrarDecision)):
            out.decisions = rules.apply(event)
        opened = False
        for ch in [monitor.apply(event)] + [monitor.apply(d) for d in out.decisions]:
            out.statuses.extend(ch.statuses)
            for omobility_id, kind, at_ms in ch.closed:
                out.alerts.extend(agenda.close(omobility_id, kind, at_ms, trace_id=trace))
            for due in ch.opened:
                opened |= agenda.open(due)
            for due, met_ms in ch.met:
                out.alerts.extend(agenda.settle(due, met_ms, trace_id=trace))
        if opened:  # a deadline opened after the clock passed its moments fires now
            out.alerts.extend(agenda.advance(agenda.clock, trace_id=trace))
        return out


def _ms(event: Event) -> int:
    return int(event.occurred_at.timestamp() * 1000)


def esi_of(key: bytes | None, event: Event, topic: str) -> str:
    """The student a recognise input belongs to: its Kafka key, else the event's ESI."""
    esi = key.decode() if key else getattr(event, "student_esi", None)
    if not esi:
        raise ValueError(f"a {type(event).__name__} without a student key on {topic}")
    return esi


@dataclass
class _Folded:
    """One student's share of a batch: live objects, where the student's events came from, the events folded."""

    esi: str
    live: Live | None = None
    origin: object = None  # what the student's last event came with: the faust event (its changelog partition), the stage's partition
    events: list[Event] = field(default_factory=list)


class RecogniseBatch:
    """One batch folded into live student states: the framework-free core of the faust agent and of the stage.

    ``load(esi, key, origin)`` gives a student's live objects (cached or from the store),
    ``reload(esi, key, origin)`` always builds them from the store (``origin``: what
    :meth:`fold` was given with the student's events), and ``agenda_of(partition)``
    gives a partition's agenda.  The batch keeps the live objects it changed and the
    last decision per component, status line per mobility and word on an alert: the
    ones before them were current for less than a batch, and every reader keeps only
    the latest.
    """

    def __init__(self, step: RecogniseStep, load, reload, agenda_of) -> None:
        self.step, self._load, self._reload, self._agenda_of = step, load, reload, agenda_of
        self.students: dict[bytes, _Folded] = {}
        self.agendas: dict[int, tuple[Agenda, object]] = {}  # partition -> its agenda, one of its inputs
        self.decisions: dict[tuple[str, str], RecognitionDecision] = {}
        self.statuses: dict[str, MobilityStatus] = {}
        self.alerts: dict[str, DeadlineAlert] = {}
        self.outputs = 0

    def fold(self, esi: str, partition: int, event: Event, origin: object = None) -> None:
        """Fold one event into its student; on failure the student is as before the event, and it raises."""
        key = esi.encode()
        agenda = self.agendas[partition][0] if partition in self.agendas else self._agenda_of(partition)
        self.agendas[partition] = (agenda, origin)
        student = self.students.get(key)
        live = student.live if student else self._load(esi, key, origin)
        try:
            result = self.step.apply(esi, None, agenda, event, snapshot=False, live=live)
        except Exception:
            if student:  # rebuild from the store and the batch's earlier events (their outputs stand)
                student.live = self._reload(esi, key, student.origin)
                for earlier in student.events:
                    student.live = self.step.apply(esi, None, agenda, earlier, snapshot=False, live=student.live).live
            else:
                self.step.forget(esi)
            raise
        student = self.students.setdefault(key, _Folded(esi))
        student.live, student.origin = result.live, origin
        student.events.append(event)
        self.outputs += len(result.decisions) + len(result.statuses) + len(result.alerts)
        for d in result.decisions:
            self.decisions[(d.omobility_id, d.home_component)] = d
        for s in result.statuses:
            self.statuses[s.omobility_id] = s
        for a in result.alerts:
            self.alerts[a.alert_id] = a

    def sends(self) -> list[tuple[str, bytes, Event]]:
        """(catalogue topic, key, event) of every output of the batch, in order."""
        return ([("hub.recognitions", d.omobility_id.encode(), d) for d in self.decisions.values()]
                + [("hub.mobility-status", s.omobility_id.encode(), s) for s in self.statuses.values()]
                + [("hub.deadlines", a.omobility_id.encode(), a) for a in self.alerts.values()])

    @property
    def superseded(self) -> int:
        return self.outputs - len(self.decisions) - len(self.statuses) - len(self.alerts)

    @property
    def events(self) -> int:
        return sum(len(student.events) for student in self.students.values())


class PartitionAgendas:
    """The ``agenda`` table as one row per open deadline (``d<p>|<mobility>|<kind>``) plus one clock row per partition (``c<p>``).

    A partition's :class:`Agenda` is built from its rows on first use after an
    assignment, so a batch writes only the deadlines it changed, never a whole agenda.
    """

    def __init__(self, table) -> None:
        self.table = table
        self.live: dict[int, Agenda] = {}

    def clear(self) -> None:
        self.live.clear()

    def get(self, partition: int) -> Agenda:
        agenda = self.live.get(partition)
        if agenda is None:
            prefix = b"d%d|" % partition
            items = {k[len(prefix):].decode(): dict(v) for k, v in self.table.items() if k.startswith(prefix)}
            agenda = self.live[partition] = Agenda({"clock": self.table.get(b"c%d" % partition) or 0, "items": items})
        return agenda

    def save(self, hub, partition: int, agenda: Agenda, event) -> None:
        """Write what changed in ``partition``'s agenda, on the changelog partition of ``event`` (one of its events)."""
        items, clock = agenda.take_changes()
        for key, entry in items.items():
            hub.write(self.table, b"d%d|%s" % (partition, key.encode()), entry, event)
        if clock is not None:
            hub.write(self.table, b"c%d" % partition, clock, event)


def install_recogniser(hub, *, batch: int = 1000, within: float = 0.05) -> None:
    """Add the recognise agent to ``hub`` (a :class:`streams.app.HubStreams`).

    Events come in batches (``batch`` at most, ``within`` seconds of waiting): each
    is folded into its student's live state in order; then every output is sent and
    acknowledged by Kafka, and only then is each changed student written once to the
    table.  A crash before the writes replays the batch from the old states (same
    outputs, same ids: the ledger upserts them); a crash after them finds the outputs
    already in Kafka.
    """
    app, cfg = hub.app, hub.config
    step = RecogniseStep()
    students = app.Table("students", partitions=cfg.partitions, key_type=bytes)  # raw keys, JSON values
    agendas = PartitionAgendas(app.Table("agenda", partitions=cfg.partitions, key_type=bytes))
    hub.tables.update(students=students, agenda=agendas.table)
    source = app.topic(cfg.topic("hub.grades"), cfg.topic("hub.mobilities"), cfg.registrar_by_esi_topic,
                       key_serializer="raw", value_serializer="raw", partitions=cfg.partitions)

    @app.on_partitions_revoked.connect
    async def _forget(*args, **kwargs) -> None:
        step.clear()  # live states may be stale once the partitions come back: reload them from the tables
        agendas.clear()

    async def recognise(stream):
        async for events in stream.take_events(batch, within):
            # The batch keeps its own live objects and agendas: a rebalance may clear the shared caches mid-batch.
            fold = RecogniseBatch(step, lambda esi, key, _: step.load(esi, students.get(key)),
                                  lambda esi, key, _: step.load(esi, students.get(key), cached=False), agendas.get)
            sent: list = []
            for ev in events:
                msg = ev.message
                try:
                    event = hub.codec.decode(msg.topic, ev.value, msg.partition, msg.offset)
                    fold.fold(esi_of(ev.key, event, msg.topic), msg.partition, event, ev)
                except Exception as exc:  # noqa: BLE001 - every failure of one event is a dead letter, never a crash
                    sent.append(await hub.dead_letter(exc, "streams:recognise", ev.value, msg.topic, msg.partition, msg.offset))
            sent += [await hub.send(topic, key, value) for topic, key, value in fold.sends()]
            hub.count("superseded_in_batch", fold.superseded)
            await hub.acked(sent)
            for key, student in fold.students.items():
                hub.write(students, key, step.snapshot(student.esi, student.live), student.origin)
            for partition, (agenda, ev) in fold.agendas.items():
                agendas.save(hub, partition, agenda, ev)
            await hub.changelog_handed_over()
            hub.count("recognised", fold.events)

    app.agent(source, name=f"{cfg.app_id}.recognise")(recognise)

