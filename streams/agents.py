"""The normalise agent and the registrar router: a few lines each around ``streams.normalise``.

``normalise`` reads every partner topic (``sis.<hei>.*``, keyed by the partner's
local student id) and keeps one :class:`~streams.normalise.PartnerStudent` per
(partner, local id) in the ``partner_students`` table, co-partitioned with the
events.  ``registrar`` re-keys registrar decisions (keyed by mobility id) to the
student's ESI, taken from the ``student_esi`` header the ledger CLI sets, else
from the ledger, so they reach the student's recognition state.
"""

from __future__ import annotations

from schemas.catalogue import SIS_KINDS, registrar_topic, sis_topic
from schemas.institutions import SCHAC_CODES
from schemas.models import RegistrarDecision

from streams.dlq import Rejected
from streams.normalise import KIND_OF, UNKNOWN_STUDENT, Normaliser, PartnerStudent

__all__ = ["install_normaliser", "install_registrar_router", "ESI_HEADER"]

ESI_HEADER = "student_esi"


def install_normaliser(hub, *, batch: int = 1000, within: float = 0.05) -> None:
    app, cfg = hub.app, hub.config
    where = {cfg.topic(sis_topic(hei, kind)): (hei, kind) for hei in SCHAC_CODES for kind in SIS_KINDS}
    table = app.Table("partner_students", partitions=cfg.partitions, key_type=bytes)  # raw keys, JSON values
    hub.tables["partner_students"] = table
    source = app.topic(*where, key_serializer="raw", value_serializer="raw", partitions=cfg.partitions)
    normaliser = Normaliser(cfg.dedupe_days, cfg.dedupe_max_ids)

    async def normalise(stream):
        # A batch: fold each event into its partner student's state in order, send what it
        # leads to, wait for Kafka's acks, and only then write each changed state once (a crash
        # before the writes replays the batch from the old states; after them, the outputs are in).
        async for events in stream.take_events(batch, within):
            sent, states, last = [], {}, {}
            for ev in events:
                msg = ev.message
                try:
                    hei, _kind = where[msg.topic]
                    event = hub.codec.decode(msg.topic, ev.value, msg.partition, msg.offset)
                    local = ev.key or (getattr(event, "student_id", None) or "").encode()
                    if not local:
                        raise Rejected("missing-key", "a partner event needs its local student id as the Kafka key")
                    row = hei.encode() + b"|" + local
                    state = states.get(row)
                    if state is None:
                        state = states[row] = PartnerStudent.from_dict(table.get(row))
                    out = normaliser.accept(hei, event, state, payload=ev.value, topic=msg.topic, partition=msg.partition, offset=msg.offset)
                except Exception as exc:  # noqa: BLE001 - one bad event is a dead letter, never a crash
                    sent.append(await hub.dead_letter(exc, "streams:normalise", ev.value, msg.topic, msg.partition, msg.offset))
                    continue
                last[row] = ev
                if out.duplicate:
                    hub.count("duplicates")
                    continue
                for h in out.expired:
                    why = Rejected(UNKNOWN_STUDENT, f"unknown student {local.decode(errors='replace')!r} at {hei}: no student_esi, and no "
                                   f"enrolment or mobility of {hei} named the student's ESI within the hold; publish the enrolment or set student_esi")
                    sent.append(await hub.dead_letter(why, "streams:normalise", h.payload, h.topic, h.partition, h.offset))
                for e in out.events:
                    sent.append(await hub.send(f"hub.{KIND_OF[type(e)]}", e.student_esi.encode(), e))
                hub.count("normalised", len(out.events))
            await hub.acked(sent)
            for row, ev in last.items():
                hub.write(table, row, states[row].to_dict(), ev)
            await hub.changelog_handed_over()

    app.agent(source, name=f"{cfg.app_id}.normalise")(normalise)


def install_registrar_router(hub) -> None:
    app, cfg = hub.app, hub.config
    where = {cfg.topic(registrar_topic(hei)): hei for hei in SCHAC_CODES}
    source = app.topic(*where, key_serializer="raw", value_serializer="raw", partitions=cfg.partitions)
    forward = app.topic(cfg.registrar_by_esi_topic, key_serializer="raw", value_serializer="raw", partitions=cfg.partitions)
    lookup = _ledger_lookup(cfg.ledger_url)

    async def registrar(stream):
        async for ev in stream.events():
            msg = ev.message
            try:
                event = hub.codec.decode(msg.topic, ev.value, msg.partition, msg.offset)
                assert isinstance(event, RegistrarDecision)
                if event.home_hei != where[msg.topic] or event.source_hei != event.home_hei:
                    raise Rejected("wrong-partner", f"a decision of {event.home_hei} (source {event.source_hei}) on {msg.topic}: registrars decide only for their own institution")
                esi = _header(ev.headers, ESI_HEADER) or lookup(event.omobility_id)
                if not esi:
                    raise Rejected("unknown-mobility", f"no student known for mobility {event.omobility_id}: decide only items listed by `hub ledger list`")
            except Exception as exc:  # noqa: BLE001
                await hub.dead_letter(exc, "streams:registrar", ev.value, msg.topic, msg.partition, msg.offset)
                continue
            await forward.send(key=esi.encode(), value=ev.value)

    app.agent(source, name=f"{cfg.app_id}.registrar")(registrar)


def _header(headers, name: str) -> str | None:
    if not headers:
        return None
    items = headers.items() if hasattr(headers, "items") else headers
    for k, v in items:
        if k == name and v:
            return v.decode() if isinstance(v, bytes) else str(v)
    return None


def _ledger_lookup(url: str | None):
    """mobility id -> student ESI from the ledger, or a function that knows nothing."""
    if not url:
        return lambda omobility_id: None
    from streams.ledger import Ledger

    holder: dict = {}

    def lookup(omobility_id: str) -> str | None:
        if "ledger" not in holder:
            holder["ledger"] = Ledger(url)
        return holder["ledger"].student_of(omobility_id)

    return lookup
