"""The recognise stage: ``hub.grades`` + ``hub.mobilities`` + registrar decisions -> decisions, status lines, alerts.

The same fold as the faust agent (:class:`~streams.recognise.RecogniseBatch`
around the pure rules and monitor), run as a :class:`~streams.batch_stage.BatchStage`
on plain aiokafka, so an event costs no faust per-event path at all.

State rows on the compacted topic :func:`state_topic`, in the partition of the
inputs they came from:

- ``s|<ESI>``: a student's rules and monitor state (JSON, parsed on first use;
  the live objects of the most recently used students are kept);
- ``d|<mobility>|<kind>``: one open deadline of the partition;
- ``c``: the partition's event-time clock.

Prefixed keys keep a hostile student key from ever naming a deadline row.
"""

from __future__ import annotations

from streams.batch_stage import BatchStage, Changed, row_bytes, row_value
from streams.config import StreamsConfig
from streams.monitor import Agenda
from streams.recognise import Live, RecogniseBatch, RecogniseStep, esi_of

__all__ = ["RecogniseStage", "group_id", "state_topic"]

STUDENT, DEADLINE, CLOCK = b"s|", b"d|", b"c"


def state_topic(cfg: StreamsConfig) -> str:
    """The compacted topic of the students' recognition states and the partitions' deadlines."""
    return f"{cfg.topic_prefix}{cfg.app_id}-recognise-state"


def group_id(cfg: StreamsConfig) -> str:
    return f"{cfg.topic_prefix}{cfg.app_id}-recognise"


class RecogniseStage(BatchStage):
    """Run with ``await stage.run()`` until :meth:`stop`."""

    name = "recognise"

    def __init__(self, cfg: StreamsConfig, *, max_records: int = 2000, live_students: int = 2048) -> None:
        inputs = [cfg.topic("hub.grades"), cfg.topic("hub.mobilities"), cfg.registrar_by_esi_topic]
        super().__init__(cfg, inputs=inputs, group=group_id(cfg), state_topic=state_topic(cfg), max_records=max_records,
                         live_keys=live_students)
        self.codec.add_topic(cfg.registrar_by_esi_topic, "RegistrarDecision")
        self.codec.read_as_written(cfg.topic("hub.grades"), cfg.topic("hub.mobilities"))  # the normaliser validated them
        self.step = RecogniseStep(cache_size=0)  # this stage keeps its own bounded set of live students
        self.agendas: dict[int, Agenda] = {}
        self.counts.update(recognised=0, superseded_in_batch=0)

    def forget(self) -> None:
        super().forget()
        self.agendas.clear()

    def restored(self, partitions: set[int]) -> None:
        for p in partitions:  # a partition's open deadlines and clock live in its agenda; student rows are read on use
            items = {k[len(DEADLINE):].decode(): row_value(v) for k, v in self.store.prefixed(p, DEADLINE)}
            clock = self.store.get(p, CLOCK)
            self.agendas[p] = Agenda({"clock": row_value(clock) if clock else 0, "items": items})

    def _stored(self, esi: str, key: bytes, partition: int) -> Live:
        raw = self.stored(partition, STUDENT + key)
        return self.step.load(esi, row_value(raw) if raw else None, cached=False, owned=True)

    def _live(self, esi: str, key: bytes, partition: int) -> Live:
        live = self.live.pop(key, None)  # taken out while the batch changes it: a failure must not leave it half-changed
        return live if live is not None else self._stored(esi, key, partition)

    def _agenda(self, partition: int) -> Agenda:
        agenda = self.agendas.get(partition)
        if agenda is None:
            agenda = self.agendas[partition] = Agenda()
        return agenda

    async def process(self, polled) -> tuple[list, Changed]:
        fold = RecogniseBatch(self.step, self._live, self._stored, self._agenda)
        # a student's rules state is read once per batch, with the batch's others
        self.read_ahead((tp.partition, STUDENT + r.key) for tp, records in polled.items() for r in records
                        if r.key and r.key not in self.live)
        sends: list = []
        for tp, records in polled.items():
            for r in records:
                try:
                    event = self.codec.decode(r.topic, r.value, r.partition, r.offset)
                    fold.fold(esi_of(r.key, event, r.topic), tp.partition, event, tp.partition)
                except Exception as exc:  # noqa: BLE001 - every failure of one event is a dead letter, never a crash
                    sends.append(await self.dead_letter(exc, r.value, r.topic, r.partition, r.offset))
        for topic, key, value in fold.sends():
            sends.append(await self.send(self.cfg.topic(topic), key, value))
        changed: Changed = {}
        for key, student in fold.students.items():
            p = student.origin  # the partition the student's events came from
            changed[(p, STUDENT + key)] = row_bytes(self.step.value_of(student.live))
            self.live[key] = student.live
        for p, (agenda, _) in fold.agendas.items():
            items, clock = agenda.take_changes()
            for item, entry in items.items():
                changed[(p, DEADLINE + item.encode())] = None if entry is None else row_bytes(entry)
            if clock is not None:
                changed[(p, CLOCK)] = row_bytes(clock)
        self.counts["recognised"] += fold.events
        self.counts["superseded_in_batch"] += fold.superseded
        return sends, changed
