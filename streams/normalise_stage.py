"""The normalise stage: ``sis.<hei>.*`` -> ``hub.enrolments|grades|mobilities`` keyed by ESI (a :class:`~streams.batch_stage.BatchStage`).

A ``getmany`` batch of thousands is decoded, validated by the pure
:class:`~streams.normalise.Normaliser`, encoded and sent in one go.  An event the
normaliser leaves as it is, written with the hub topic's schema, goes on as the
bytes it came in (most do: encoding costs as much as decoding).

State: one :class:`~streams.normalise.PartnerStudent` per (partner, local id),
parsed from its state row on first use (the most recently used stay parsed); the
rows live on the compacted topic :func:`state_topic`.  The range assignor gives partition p of every ``sis.*``
topic to the same stage, so a student's enrolments, grades and mobilities meet
one state.  A replayed batch finds the event ids it has seen and drops them as
duplicates.
"""

from __future__ import annotations

from schemas.catalogue import LIFECYCLE_HEADER, SIS_KINDS, sis_topic
from schemas.institutions import SCHAC_CODES
from schemas.models import Mobility

from streams.batch_stage import BatchStage, Changed, row_bytes, row_value
from streams.config import StreamsConfig
from streams.dlq import Rejected
from streams.normalise import KIND_OF, UNKNOWN_STUDENT, Normaliser, PartnerStudent

__all__ = ["NormaliseStage", "state_topic", "group_id"]


def state_topic(cfg: StreamsConfig) -> str:
    """The compacted topic of the partner students' states (one partition per input partition)."""
    return f"{cfg.topic_prefix}{cfg.app_id}-partner-students"


def group_id(cfg: StreamsConfig) -> str:
    return f"{cfg.topic_prefix}{cfg.app_id}-normalise"


class NormaliseStage(BatchStage):
    """Run with ``await stage.run()`` until :meth:`stop`."""

    name = "normalise"

    def __init__(self, cfg: StreamsConfig, *, max_records: int = 2000, live_students: int = 4096) -> None:
        self.where = {cfg.topic(sis_topic(hei, kind)): hei for hei in SCHAC_CODES for kind in SIS_KINDS}
        super().__init__(cfg, inputs=list(self.where), group=group_id(cfg), state_topic=state_topic(cfg), max_records=max_records,
                         live_keys=live_students)
        self.normaliser = Normaliser(cfg.dedupe_days, cfg.dedupe_max_ids)
        self.counts.update(normalised=0, duplicates=0, held=0)

    async def process(self, polled) -> tuple[list, Changed]:
        sends, changed = [], {}
        rows = ((tp.partition, self.where[tp.topic].encode() + b"|" + r.key) for tp, records in polled.items() for r in records if r.key)
        self.read_ahead(pr for pr in rows if pr not in self.live)
        for tp, records in polled.items():
            hei = self.where[tp.topic]
            for r in records:
                sends.extend(await self._one(hei, tp.partition, r, changed))
        rows = {key: row_bytes(state.to_dict()) for key, state in changed.items()}
        return sends, rows

    def _state(self, partition: int, row: bytes) -> PartnerStudent:
        state = self.live.pop((partition, row), None)
        if state is None:
            raw = self.stored(partition, row)
            state = PartnerStudent.from_dict(row_value(raw) if raw else None)
        self.live[(partition, row)] = state
        return state

    async def _one(self, hei: str, partition: int, r, changed: dict) -> list:
        """Fold one partner record into its student's state; the send futures of what it leads to."""
        sent, state, row = [], None, b""
        try:
            event = self.codec.decode(r.topic, r.value, r.partition, r.offset)
            local = r.key or (getattr(event, "student_id", None) or "").encode()
            if not local:
                raise Rejected("missing-key", "a partner event needs its local student id as the Kafka key")
            row = hei.encode() + b"|" + local
            state = self._state(partition, row)
            out = self.normaliser.accept(hei, event, state, payload=r.value, topic=r.topic, partition=r.partition, offset=r.offset)
        except Exception as exc:  # noqa: BLE001 - one bad event is a dead letter, never a crash
            if state is not None:  # whatever the rules changed before they refused is kept consistently
                changed[(partition, row)] = state
            return [await self.dead_letter(exc, r.value, r.topic, r.partition, r.offset)]
        changed[(partition, row)] = state
        if out.duplicate:
            self.counts["duplicates"] += 1
        self.counts["held"] += out.held
        for h in out.expired:
            why = Rejected(UNKNOWN_STUDENT, f"unknown student {local.decode(errors='replace')!r} at {hei}: no student_esi, and no "
                           f"enrolment or mobility of {hei} named the student's ESI within the hold; publish the enrolment or set student_esi")
            sent.append(await self.dead_letter(why, h.payload, h.topic, h.partition, h.offset))
        for e in out.events:
            topic = self.cfg.topic(f"hub.{KIND_OF[type(e)]}")
            headers = [(LIFECYCLE_HEADER, e.lifecycle.value.encode())] if isinstance(e, Mobility) else None
            if e is event and self.codec.writes_as(topic, r.value):  # unchanged, in the hub's schema: its bytes go as they came
                sent.append(await self.forward(topic, e.student_esi.encode(), r.value, headers))
            else:
                sent.append(await self.send(topic, e.student_esi.encode(), e, headers))
        self.counts["normalised"] += len(out.events)
        return sent
