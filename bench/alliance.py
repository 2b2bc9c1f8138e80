"""A small synthetic alliance in hub events, and a publisher that sends events to the partner topics.

Used by the stream tests and ``bench.pipeline`` where the full simulator
(``hub simulate``) is not needed: every student has one mobility from a home to a
host partner, an LA (sometimes changed), grades at the host (resits,
corrections, a share without ESI so the normaliser must resolve them through the
host enrolment), end and ToR.  Deterministic for a seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from schemas.catalogue import registrar_topic, sis_topic
from schemas.grading import schemes_of
from schemas.institutions import SCHAC_CODES, esi
from schemas.models import (Enrolment, Event, Grade, LaComponent, LearningAgreement, Mobility, RecognitionGroup,
                            RegistrarDecision)

__all__ = ["alliance", "expected_decisions", "in_hub_terms", "partition_of", "publish", "publish_async", "route", "shuffled_within_partitions", "sorted_by_time"]

_T0 = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _graded_scheme(hei: str):
    for s in schemes_of(hei):
        if not s.pass_fail_only:
            return s
    return schemes_of(hei)[0]


def alliance(students: int = 300, seed: int = 7, *, esi_on_grades: float = 0.5) -> list[Event]:
    """Hub events of ``students`` mobile students in event-time order (the partners' local terms)."""
    rng = random.Random(seed)
    events: list[Event] = []
    for i in range(students):
        home = SCHAC_CODES[i % len(SCHAC_CODES)]
        host = SCHAC_CODES[(i + 1 + rng.randrange(len(SCHAC_CODES) - 1)) % len(SCHAC_CODES)]
        home_id, host_id = f"s{seed}-{i}", f"x{seed}-{i}"
        student = esi(home, home_id)
        mob = f"{home}-m{seed}-{i}"
        hs = _graded_scheme(host)
        t = _T0 + timedelta(hours=rng.randrange(0, 24 * 20))

        def ev(kind, at, **kw):
            base = dict(event_id=_id(rng), occurred_at=at, recorded_at=at, trace_id=f"t-{mob}")
            return kind(**base, **kw)

        table_a = [LaComponent(course_code=f"{host[:3].upper()}{100 + k}", ects=Decimal(5), title=f"Host course {k}") for k in range(3)]
        table_b = [LaComponent(course_code=f"{home[:3].upper()}{200 + k}", ects=Decimal("7.5"), title=f"Home course {k}",
                               recognition_conditions="portfolio review" if rng.random() < 0.08 else None) for k in range(2)]
        groups: tuple = ()
        if rng.random() < 0.3:
            groups = (RecognitionGroup(group_id="g1", studied=(table_a[0].course_code, table_a[1].course_code), recognized=(table_b[0].course_code,)),
                      RecognitionGroup(group_id="g2", studied=(table_a[2].course_code,), recognized=(table_b[1].course_code,)))
        la1 = LearningAgreement(version=1, approved_at=t + timedelta(days=10), components_studied=tuple(table_a),
                                components_recognized=tuple(table_b), recognition_groups=groups)
        common = dict(source_hei=home, omobility_id=mob, student_esi=student, student_id=home_id, sending_hei=home,
                      receiving_hei=host, receiving_academic_year="2025/2026", planned_start=date(2025, 9, 15), planned_end=date(2026, 1, 31))
        events.append(ev(Mobility, t, lifecycle="NOMINATED", **common))
        events.append(ev(Mobility, t + timedelta(days=10), lifecycle="LA_APPROVED", learning_agreement=la1, **common))
        start = t + timedelta(days=20)
        events.append(ev(Mobility, start, lifecycle="STARTED", **common))
        for a in table_a:
            events.append(ev(Enrolment, start + timedelta(hours=2), source_hei=host, student_id=host_id, student_esi=student, hei=host,
                             course_code=a.course_code, term_id="2025-1", ects=a.ects, status="REGISTERED", omobility_id=mob))
        if rng.random() < 0.15:
            extra = LaComponent(course_code=f"{host[:3].upper()}199", ects=Decimal(5), title="Added")
            la2 = LearningAgreement(version=2, approved_at=start + timedelta(days=15), components_studied=tuple(table_a) + (extra,),
                                    components_recognized=tuple(table_b[:1]), recognition_groups=())
            events.append(ev(Mobility, start + timedelta(days=15), lifecycle="LA_CHANGED", learning_agreement=la2, **common))
        exam = start + timedelta(days=100)
        for k, a in enumerate(table_a):
            labels = hs.passing_labels if rng.random() < 0.85 else hs.failing_labels
            label = rng.choice(labels)
            rid = f"r-{mob}-{k}"
            g_esi = student if rng.random() < esi_on_grades else None
            gkw = dict(source_hei=host, student_id=host_id, student_esi=g_esi, hei=host, result_id=rid, course_code=a.course_code,
                       grading_scheme_id=hs.id, ects=a.ects, academic_year="2025/2026", omobility_id=None)
            at = exam + timedelta(hours=k)
            events.append(ev(Grade, at, grade_label=label, assessed_on=at.date(), attempt=1, status="FINAL", **gkw))
            if label in hs.failing_labels and rng.random() < 0.7:
                at2 = at + timedelta(days=20)
                events.append(ev(Grade, at2, grade_label=rng.choice(hs.passing_labels), assessed_on=at2.date(), attempt=2,
                                 status="FINAL", **{**gkw, "result_id": rid + "-2"}))
            elif rng.random() < 0.05:
                at2 = at + timedelta(days=5)
                events.append(ev(Grade, at2, grade_label=rng.choice(hs.passing_labels), assessed_on=at.date(), attempt=1,
                                 status="CORRECTED", **gkw))
        if rng.random() < 0.03:
            events.append(ev(Mobility, exam + timedelta(days=1), lifecycle="CANCELLED", **common))
        end = exam + timedelta(days=30)
        events.append(ev(Mobility, end, lifecycle="ENDED", **common))
        if rng.random() < 0.9:
            events.append(ev(Mobility, end + timedelta(days=rng.randrange(5, 50)), lifecycle="TOR_ISSUED", **{**common, "source_hei": home}))
    return sorted_by_time(events)


def sorted_by_time(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def route(event: Event, prefix: str = "") -> tuple[str, bytes]:
    """(topic, key) a connector (or the registrar CLI) publishes ``event`` to."""
    if isinstance(event, RegistrarDecision):
        return f"{prefix}{registrar_topic(event.home_hei)}", event.omobility_id.encode()
    kind = {Enrolment: "enrolments", Grade: "grades", Mobility: "mobilities"}[type(event)]
    key = getattr(event, "student_id", None) or event.student_esi
    return f"{prefix}{sis_topic(event.source_hei, kind)}", key.encode()


def in_hub_terms(events: Iterable[Event]) -> list[Event]:
    """The events as the normaliser should emit them: every grade with its student's ESI."""
    known = {(e.hei, e.student_id): e.student_esi for e in events if isinstance(e, Enrolment) and e.student_esi}
    out = []
    for e in events:
        if isinstance(e, Grade) and not e.student_esi:
            e = e.model_copy(update={"student_esi": known[(e.hei, e.student_id)]})
        out.append(e)
    return out


def expected_decisions(events: Iterable[Event]) -> dict[tuple[str, str], tuple[str, Decimal]]:
    """(mobility, home component) -> (status, ECTS) of the last decision the pure rules emit for these events."""
    from streams.recognition import RecognitionEngine

    final: dict[tuple[str, str], tuple[str, Decimal]] = {}
    for d in RecognitionEngine().run(in_hub_terms(list(events))):
        final[(d.omobility_id, d.home_component)] = (d.status.value, d.ects)
    return final


async def publish_async(events: Iterable[Event], bootstrap_servers: str, registry_url: str, prefix: str = "", *,
                        headers: dict[str, str] | None = None) -> int:
    """Publish events to their partner (or registrar) topics as the connectors would: Avro, keyed by local id."""
    from aiokafka import AIOKafkaProducer

    from streams.codec import HubCodec

    codec = HubCodec(registry_url, prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=10, max_batch_size=262_144, acks="all")
    await producer.start()
    n = 0
    try:
        futures = []
        hdrs = [(k, v.encode()) for k, v in (headers or {}).items()] or None
        for e in events:
            topic, key = route(e, prefix)
            futures.append(await producer.send(topic, codec.encode(topic, e), key=key, headers=hdrs))
            n += 1
        for f in futures:
            await f
    finally:
        await producer.stop()
        codec.close()
    return n


def publish(events: Iterable[Event], bootstrap_servers: str, registry_url: str, prefix: str = "", **kw) -> int:
    import asyncio

    return asyncio.run(publish_async(events, bootstrap_servers, registry_url, prefix, **kw))


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives ``key``."""
    from kafka.partitioner.default import murmur2

    return (murmur2(key) & 0x7FFFFFFF) % partitions


def shuffled_within_partitions(events: list[Event], partitions: int, seed: int = 1, prefix: str = "") -> list[Event]:
    """The same events, each partition's order shuffled (publishing them keeps every event in its partition)."""
    rng = random.Random(seed)
    groups: dict[tuple[str, int], list[Event]] = {}
    for e in events:
        topic, key = route(e, prefix)
        groups.setdefault((topic, partition_of(key, partitions)), []).append(e)
    for g in groups.values():
        rng.shuffle(g)
    out: list[Event] = []
    queues = list(groups.values())
    while queues:
        queues = [q for q in queues if q]
        for q in queues:
            out.append(q.pop())
    return out
