"""The topic catalogue: every Kafka topic of the hub, its key, value schema and policy.

Brokers create topics from this list and the registry gets one value subject per
topic (TopicNameStrategy: ``<topic>-value``), so this is the single place a topic
is declared.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.institutions import SCHAC_CODES

DEFAULT_PARTITIONS = 6


@dataclass(frozen=True)
class Topic:
    """One topic: name, what its key is, the Avro record of its values, and its cleanup policy."""

    name: str
    key: str
    value_schema: str  # record name of the .avsc in schemas/avro/
    compacted: bool = False
    writer: str = ""

    @property
    def subject(self) -> str:
        return f"{self.name}-value"


SIS_KINDS: dict[str, str] = {"enrolments": "Enrolment", "grades": "Grade", "mobilities": "Mobility"}


def sis_topic(hei: str, kind: str) -> str:
    """``sis.<hei>.<kind>``: what one partner's connector publishes in its local terms."""
    return f"sis.{hei}.{kind}"


# The normaliser names each hub.mobilities record's lifecycle (e.g. b"LA_APPROVED") in this Kafka header, so a
# reader that wants some lifecycles only (the ledger keeps LA approvals) reads past the others without decoding them.
LIFECYCLE_HEADER = "hub-lifecycle"


def registrar_topic(hei: str) -> str:
    """``registrar.<hei>.decisions``: registrars' approvals and rejections at one home institution."""
    return f"registrar.{hei}.decisions"


def _build() -> tuple[Topic, ...]:
    topics: list[Topic] = []
    for hei in SCHAC_CODES:
        for kind, record in SIS_KINDS.items():
            topics.append(Topic(sis_topic(hei, kind), "student id", record, writer=f"connector {hei}"))
    for kind, record in SIS_KINDS.items():
        topics.append(Topic(f"hub.{kind}", "student ESI", record, writer="normaliser"))
    topics += [
        Topic("hub.recognitions", "mobility id", "RecognitionDecision", writer="recogniser"),
        Topic("hub.mobility-status", "mobility id", "MobilityStatus", compacted=True, writer="monitor"),
        Topic("hub.deadlines", "mobility id", "DeadlineAlert", writer="monitor"),
        Topic("hub.dlq", "source topic", "DeadLetter", writer="anyone"),
    ]
    for hei in SCHAC_CODES:
        topics.append(Topic(registrar_topic(hei), "mobility id", "RegistrarDecision", writer="registrar API"))
    return tuple(topics)


TOPICS: tuple[Topic, ...] = _build()
BY_NAME: dict[str, Topic] = {t.name: t for t in TOPICS}


def topic(name: str) -> Topic:
    """The catalogue entry for a topic name, or KeyError naming the known prefixes."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in the topic catalogue (sis.<hei>.*, hub.*, registrar.<hei>.decisions)") from None
