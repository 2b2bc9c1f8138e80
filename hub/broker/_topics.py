"""Topics from the catalogue (``schemas.catalogue.TOPICS``), created once, idempotently."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka.errors import KafkaError

from hub.broker._admin import admin_client
from hub.broker._errors import BrokerError
from hub.logs import get_logger
from schemas.catalogue import TOPICS, Topic

log = get_logger(component="broker")

_TOPIC_ALREADY_EXISTS = 36


def topic_configs(compacted: bool, engine: str | None = None) -> dict[str, str]:
    """Kafka topic configs for a catalogue topic; none on Tansu, which ignores them (no compaction)."""
    if engine == "tansu" or not compacted:
        return {}
    return {"cleanup.policy": "compact"}


def create_topics(
    bootstrap_servers: str, specs: dict[str, bool], partitions: int = 6, replication_factor: int = 1,
    *, engine: str | None = None,
) -> list[str]:
    """Create each missing topic of ``{name: compacted}``; return the names created (existing ones are left alone)."""
    try:
        with admin_client(bootstrap_servers) as admin:
            existing = set(admin.list_topics())
            missing = {
                name: {"num_partitions": partitions, "replication_factor": replication_factor,
                       "configs": topic_configs(compacted, engine)}
                for name, compacted in specs.items() if name not in existing
            }
            if not missing:
                return []
            response = admin.create_topics(missing, raise_errors=False)
            _wait_for_leaders(admin, sorted(missing))
    except KafkaError as exc:
        raise BrokerError(f"creating topics on {bootstrap_servers} failed: {exc}") from exc
    created, failures = [], []
    for result in response["topics"]:
        if result["error_code"] == 0:
            created.append(result["name"])
        elif result["error_code"] != _TOPIC_ALREADY_EXISTS:  # another process was faster: fine
            failures.append(f"{result['name']}: error {result['error_code']} {result['error_message'] or ''}".strip())
    if failures:
        raise BrokerError(f"could not create {len(failures)} topic(s) on {bootstrap_servers}: " + "; ".join(failures))
    return sorted(created)


def _wait_for_leaders(admin, names: list[str], timeout: float = 90.0) -> None:
    """Return once every partition of ``names`` has a leader: a loaded broker can take many seconds,
    and producing before that fails with NotLeaderForPartition."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        try:
            described = admin.describe_topics(pending)
        except KafkaError:
            described = []
        ready = {
            t.get("name") or t.get("topic") for t in described
            if t.get("error_code", 0) == 0 and t.get("partitions")
            and all(p.get("leader_id", p.get("leader", -1)) >= 0 for p in t["partitions"])
        }
        pending = [n for n in pending if n not in ready]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise BrokerError(f"{len(pending)} topic(s) still have no partition leader after {timeout:.0f} s: {', '.join(pending[:5])}")
        time.sleep(0.2)


def ensure_topics(
    bootstrap_servers: str, partitions: int = 6, replication_factor: int = 1,
    *, engine: str | None = None, topics: Iterable[Topic] = TOPICS,
) -> list[str]:
    """Create every catalogue topic that does not exist yet (compacted ones with cleanup.policy=compact).

    Idempotent; returns the names it created. ``engine="tansu"`` leaves out
    topic configs Tansu does not support.
    """
    created = create_topics(bootstrap_servers, {t.name: t.compacted for t in topics}, partitions, replication_factor, engine=engine)
    log.info("topics_ensured", bootstrap_servers=bootstrap_servers, created=len(created))
    return created
