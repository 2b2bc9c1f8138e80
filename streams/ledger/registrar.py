"""Publishing a registrar's decision: checked against the ledger, keyed by mobility, ESI in a header."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal

from schemas.catalogue import registrar_topic
from schemas.models import RegistrarAction, RegistrarDecision

from streams.ledger.store import Ledger

__all__ = ["DecisionRefused", "publish_registrar_decision", "ESI_HEADER"]

ESI_HEADER = "student_esi"
_DECIDABLE = ("NEEDS_REVIEW", "NOT_RECOGNISED", "MANUALLY_RECOGNISED", "REJECTED")


class DecisionRefused(ValueError):
    """The decision cannot be published (unknown id, not decidable, no broker); the message says what to do."""


def publish_registrar_decision(ledger: Ledger, settings, decision_id: str, *, approve: bool, reason: str, registrar: str,
                               ects: float | None = None, grade: str | None = None, topic_prefix: str = "") -> RegistrarDecision:
    row = ledger.decision(decision_id)
    if row is None:
        raise DecisionRefused(f"no decision {decision_id!r} in the ledger; `hub ledger list --hei <hei>` shows the ids")
    if not row["current"]:
        raise DecisionRefused(f"decision {decision_id} was superseded; decide on the current one (`hub ledger show {row['omobility_id']}`)")
    if row["status"] not in _DECIDABLE:
        raise DecisionRefused(f"decision {decision_id} is {row['status']}: registrars decide only {', '.join(_DECIDABLE[:2])} items")
    if not settings.bootstrap_servers or not settings.schema_registry_url:
        raise DecisionRefused("set HUB_BOOTSTRAP_SERVERS and HUB_SCHEMA_REGISTRY_URL (as printed by `hub up`) to publish")
    event = RegistrarDecision(
        source_hei=row["home_hei"], occurred_at=datetime.now(timezone.utc), decision_id=decision_id,
        omobility_id=row["omobility_id"], home_hei=row["home_hei"], home_component=row["home_component"],
        action=RegistrarAction.APPROVE if approve else RegistrarAction.REJECT, reason=reason, registrar=registrar,
        ects=None if ects is None else Decimal(str(ects)), converted_grade=grade,
    )
    asyncio.run(_send(settings.bootstrap_servers, settings.schema_registry_url, f"{topic_prefix}{registrar_topic(row['home_hei'])}",
                      event, row["student_esi"], topic_prefix))
    return event


async def _send(bootstrap: str, registry: str, topic: str, event: RegistrarDecision, esi: str, prefix: str) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from streams.codec import HubCodec

    codec = HubCodec(registry, prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        await producer.start()
        await producer.send_and_wait(topic, codec.encode(topic, event), key=event.omobility_id.encode(),
                                     headers=[(ESI_HEADER, esi.encode())])
    except KafkaError as exc:
        raise DecisionRefused(f"Kafka at {bootstrap} did not take the decision ({exc}); is the hub running?") from exc
    finally:
        await producer.stop()
        codec.close()
