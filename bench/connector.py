"""Connector throughput: ``python -m bench.connector [--rows N] [--engine auto|kafka|tansu]``.

One connector (the example CSV connector: cp1252, ``;``, decimal comma) reads a
drop folder of N grade rows, maps and validates each row, derives its event id,
encodes Avro through the schema registry (Confluent framing) and publishes with
``acks=all`` to an embedded broker, saving its cursor after every acknowledged
batch. Measured in the same run, on the same broker:

- ``map_only``: the same rows mapped and encoded, nothing sent (the SDK's CPU cost);
- ``connector_sql``: a connector polling the same N rows from an SQLite table
  (``SqlSource``, incrementing id) with a typed mapping, end to end as above;
- ``raw_producer``: plain kafka-python producing the very same Avro bytes and keys,
  with the same producer settings (the ceiling for a kafka-python connector).

Each run records the load averages before and after it: the machine is shared,
and a rate means little without them.

Prints JSON (also written to ``bench/results/connector.json``), then a short table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _rows(folder: Path, n: int, files: int = 4) -> None:
    head = "Matrikelnummer;Pruefungsnummer;Note;ECTS;Pruefungsdatum;Versuch;Status"
    grades = ["1,0", "1,3", "1,7", "2,0", "2,3", "2,7", "3,0", "3,3", "3,7", "4,0", "5,0"]
    per = n // files
    for f in range(files):
        lines = [head] + [f"{f * per + i:08d};IF-{i % 120:04d};{grades[i % 11]};{(5, 2.5, 7.5)[i % 3]:.1f}".replace(".", ",")
                          + f";{1 + i % 28:02d}.07.2025;{1 + i % 2};endgültig" for i in range(per)]
        (folder / f"export-{f:02d}.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def _table(db: Path, n: int) -> str:
    """An SQLite table of ``n`` grade rows (what an SIS view would offer); returns its SQLAlchemy URL."""
    import sqlite3

    grades = ["1.0", "1.3", "1.7", "2.0", "2.3", "2.7", "3.0", "3.3", "3.7", "4.0", "5.0"]
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE grades (id INTEGER PRIMARY KEY, student TEXT NOT NULL, course TEXT NOT NULL, "
                    "grade TEXT NOT NULL, ects REAL NOT NULL, assessed_on TEXT NOT NULL, attempt INTEGER NOT NULL)")
        con.executemany("INSERT INTO grades VALUES (?, ?, ?, ?, ?, ?, ?)",
                        ((i + 1, f"S{i:08d}", f"IF-{i % 120:04d}", grades[i % 11], (5, 2.5, 7.5)[i % 3],
                          f"2025-07-{1 + i % 28:02d}", 1 + i % 2) for i in range(n)))
    return f"sqlite:///{db}"


def _sql_connector() -> type:
    """A partner-like connector over an SQL view: settings, a typed row, a mapping of a few lines."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from pydantic import BaseModel

    from connectors.sdk import Connector, ConnectorSettings
    from connectors.sources import SqlSource
    from schemas.models import Grade, GradeStatus

    class Settings(ConnectorSettings):
        url: str
        batch_size: int = 5000

    class Row(BaseModel):
        id: int
        student: str
        course: str
        grade: str
        ects: Decimal
        assessed_on: date
        attempt: int

    def grade(r: Row, s: Settings) -> Grade:
        return Grade(source_hei="th-deg.de", hei="th-deg.de", student_id=r.student,
                     result_id=f"{r.student}/{r.course}/{r.attempt}", course_code=r.course, grade_label=r.grade,
                     grading_scheme_id="th-deg.de/1-5", ects=r.ects, assessed_on=r.assessed_on, attempt=r.attempt,
                     status=GradeStatus.FINAL,
                     occurred_at=datetime(r.assessed_on.year, r.assessed_on.month, r.assessed_on.day, tzinfo=UTC))

    grade.__annotations__ = {"r": Row, "s": Settings, "return": Grade}  # local classes: resolve them now

    class BenchSql(Connector):
        hei = "th-deg.de"
        name = "bench_sql"
        settings_class = Settings
        settings_file = Path("/nonexistent/bench_sql.toml")
        mappings = {"grades": grade}

        def sources(self, s: Settings) -> list[SqlSource]:
            return [SqlSource("grades", s.url, "grades", mode="incrementing", batch_size=s.batch_size)]

    return BenchSql


def _crc32c() -> bool:
    """kafka-python computes record-batch CRCs in pure Python unless the ``crc32c`` package is installed."""
    try:
        import crc32c  # noqa: F401
    except ImportError:
        return False
    return True


def _rates(events: int, started: float, cpu: float) -> dict[str, Any]:
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return {"events": events, "seconds": round(wall, 3), "events_per_s": round(events / wall),
            "cpu_seconds": round(used, 3), "events_per_cpu_s": round(events / used) if used else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--engine", default="auto", help="embedded broker engine: auto, kafka or tansu")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/connector.json"))
    args = parser.parse_args(argv)

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    from kafka import KafkaProducer

    from connectors.partners.example_csv import ExampleCsv
    from connectors.sdk import ConnectorRunner, CursorStore, KafkaPublisher, MemoryPublisher, RegistrySerializer
    from hub.broker import ensure_topics, start_broker
    from hub.registry import serve_registry

    work = Path(tempfile.mkdtemp(prefix="bench-connector-"))
    broker = start_broker(args.engine, work / "broker", port=0)
    registry = serve_registry(work / "registry", port=0)
    result: dict[str, Any] = {"load_average_at_start": os.getloadavg()[0],
                              "load_averages_at_start": [round(x, 2) for x in os.getloadavg()], "rows": args.rows, "engine": broker.engine, "batch_size": args.batch_size,
                              "python": platform.python_version(), "cpus": os.cpu_count(),
                              "crc32c_accelerated": _crc32c()}
    try:
        ensure_topics(broker.bootstrap_servers, engine=broker.engine)
        serializer = RegistrySerializer(registry.url)

        # 1. map only: the SDK's own cost per record, and the bytes the raw producer will send
        inbox = work / "map"
        inbox.mkdir()
        _rows(inbox, args.rows)
        conn = ExampleCsv(folder=inbox)
        runner = ConnectorRunner(conn, MemoryPublisher(), CursorStore(work / "map.sqlite"), serializer=serializer)
        started, cpu = time.perf_counter(), time.process_time()
        outputs = [(o.topic, o.key, o.value) for _, _, oc in runner.outcomes(cursors={"grades": None}) for o in oc.outputs]
        result["map_only"] = _rates(len(outputs), started, cpu)

        # 2. the connector end to end: read, map, encode, publish acks=all, save cursors
        inbox = work / "run"
        inbox.mkdir()
        _rows(inbox, args.rows)
        publisher = KafkaPublisher(broker.bootstrap_servers, client_id="bench-connector")
        runner = ConnectorRunner(ExampleCsv(folder=inbox), publisher, CursorStore(work / "run.sqlite"),
                                 serializer=serializer, batch_size=args.batch_size)
        started, cpu = time.perf_counter(), time.process_time()
        totals = runner.run(once=True)
        result["connector"] = _rates(sum(totals.published.values()), started, cpu)
        result["connector"]["rejected"] = dict(totals.rejected)
        publisher.close()

        # 3. an SQL connector end to end: the same number of rows from an SQLite table
        url = _table(work / "sis.sqlite", args.rows)
        publisher = KafkaPublisher(broker.bootstrap_servers, client_id="bench-connector-sql")
        runner = ConnectorRunner(_sql_connector()(url=url, batch_size=args.batch_size), publisher,
                                 CursorStore(work / "sql.sqlite"), serializer=serializer, batch_size=args.batch_size)
        started, cpu = time.perf_counter(), time.process_time()
        totals = runner.run(once=True)
        result["connector_sql"] = _rates(sum(totals.published.values()), started, cpu)
        result["connector_sql"]["rejected"] = dict(totals.rejected)
        publisher.close()

        # 4. raw kafka-python with the same settings and the same bytes
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers.split(","), acks="all",
                                 enable_idempotence=True, linger_ms=20, batch_size=256 * 1024,
                                 max_request_size=8 * 1024 * 1024)
        started, cpu = time.perf_counter(), time.process_time()
        futures = [producer.send(topic, key=key, value=value) for topic, key, value in outputs]
        producer.flush()
        result["raw_producer"] = _rates(len(outputs), started, cpu)
        result["raw_producer"]["failed"] = sum(1 for f in futures if not f.succeeded())
        producer.close()
        result["avg_value_bytes"] = round(sum(len(v) for _, _, v in outputs) / max(1, len(outputs)))
        result["connector_vs_raw"] = round(result["connector"]["events_per_s"] / result["raw_producer"]["events_per_s"], 3)
        result["target_events_per_s"] = 5000
        result["meets_target"] = result["connector"]["events_per_s"] >= 5000
        result["sql_meets_target"] = result["connector_sql"]["events_per_s"] >= 5000
        result["load_averages_at_end"] = [round(x, 2) for x in os.getloadavg()]
        serializer.close()
    finally:
        registry.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)

    text = json.dumps(result, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"\n{'stage':<30}{'events':>8}{'seconds':>9}{'events/s':>10}{'events/CPU-s':>14}")
    for key, label in (("map_only", "map + encode (no Kafka)"), ("connector", "file connector end to end"),
                       ("connector_sql", "SQL connector end to end"), ("raw_producer", "raw kafka-python, same bytes")):
        r = result[key]
        print(f"{label:<30}{r['events']:>8}{r['seconds']:>9}{r['events_per_s']:>10,}{r['events_per_cpu_s'] or 0:>14,}")
    print(f"\nbroker {result['engine']}, {result['rows']} rows, load averages {result['load_averages_at_start']} "
          f"at the start, {result['load_averages_at_end']} at the end, on {result['cpus']} cores, "
          f"crc32c {'C' if result['crc32c_accelerated'] else 'pure Python'}; target >= 5,000 events/s (wall): "
          f"file {'met' if result['meets_target'] else 'NOT met'}, SQL {'met' if result['sql_meets_target'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
