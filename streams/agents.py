"""The registrar router agent (the normalise stage is plain aiokafka: ``streams.normalise_stage``).

``registrar`` re-keys registrar decisions (keyed by mobility id) to the
student's ESI, taken from the ``student_esi`` header the ledger CLI sets, else
from the ledger, so they reach the student's recognition state.
"""

from __future__ import annotations

from schemas.catalogue import registrar_topic
from schemas.institutions import SCHAC_CODES
from schemas.models import RegistrarDecision

from streams.dlq import Rejected

__all__ = ["install_registrar_router", "ESI_HEADER"]

ESI_HEADER = "student_esi"


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
