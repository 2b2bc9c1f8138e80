"""``simulate()``: the whole run, streaming from generation through sorted deliveries to native files.

Order of work: catalogues and grading tables; students partner by partner (mobile students
get their mobility first, so they are away from home in its term); each partner's SIS
deliveries, sorted, through its native writer; the EWP documents and mobility events; the
hub events of all sources merged in delivery order; the expected outcomes.
"""

from __future__ import annotations

import heapq
import json
import math
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import SIZES, Catalogue, build_catalogue, split_students
from hub.simulate._config import SimulationConfig, SimulationError
from hub.simulate._delivery import RHYTHMS, Scheduler
from hub.simulate._expected import deadline_alerts, decisions, summary
from hub.simulate._grades import GradeDrawer, build_tables
from hub.simulate._layout import manifest
from hub.simulate._mobility import FEATURES, Mobility, MobilityMaker, features_for
from hub.simulate._people import IdMaker, new_student
from hub.simulate._rand import from_ms, iso, sub_rng
from hub.simulate._studies import RecordIds, home_year
from hub.simulate.natives import FORMATS, WRITERS
from hub.simulate.natives._base import BadLog, Context, EventSink, SourceCounts
from hub.simulate.natives.ewp import EwpWriter, lifecycle_records

Progress = Callable[[str], None]


@dataclass
class Summary:
    """What a simulation produced (also written as expected/counts.json)."""

    out: Path
    students: dict[str, int]
    mobilities: int
    events: int
    event_lines: int
    bad: int
    seconds: float
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    deadlines: int = 0
    horizon: str = ""


@dataclass
class _World:
    """What generation hands to the writers: catalogues, sorted-delivery schedulers, mobilities."""

    cal: Calendar
    students: dict[str, int]
    catalogues: dict[str, Catalogue]
    sis: dict[str, Scheduler]
    ewp: dict[str, Scheduler]
    mobilities: list[Mobility]


def simulate(config: SimulationConfig, progress: Progress | None = None) -> Summary:
    """Generate a simulated alliance into ``config.out``; the same config gives byte-identical files."""
    say = progress or (lambda _: None)
    started = time.monotonic()
    out = _prepare(config.out, config.force)
    work = out / ".work"
    work.mkdir()
    world = _generate(config, out, work, say)
    bad_log = BadLog(_mkdir(out / "expected") / "bad.jsonl")
    per_source: dict[str, SourceCounts] = {}
    sinks = _write_sis(config, world, out, work, bad_log, per_source, say)
    sinks += _write_ewp(config, world, out, work, bad_log, per_source, say)
    bad_log.close()
    lines = _merge(sinks, out / "hub-events.jsonl")
    horizon = from_ms(max(s.latest_occurred for s in sinks))
    say(f"hub-events.jsonl: {lines:,} lines (duplicates and late deliveries included)")
    expected = _expected(out, world.mobilities, horizon)
    result = Summary(
        out=out, students=world.students, mobilities=len(world.mobilities),
        events=sum(sum(c.good.values()) for c in per_source.values()), event_lines=lines,
        bad=sum(sum(c.bad.values()) for c in per_source.values()), seconds=0.0,
        per_source={k: v.as_dict() for k, v in per_source.items()}, decisions=expected["decisions"],
        deadlines=expected["deadlines"], horizon=iso(horizon),
    )
    _write_counts(out, config, result)
    (out / "manifest.json").write_text(json.dumps(manifest(config.seed, config.year, config.students), indent=1) + "\n",
                                       encoding="utf-8")
    shutil.rmtree(work)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _generate(config: SimulationConfig, out: Path, work: Path, say: Progress) -> _World:
    """Catalogues, grading tables, then every student partner by partner; records go to the schedulers."""
    seed, cal = config.seed, Calendar(config.year)
    students = split_students(config.students)
    catalogues = {h: build_catalogue(seed, h, students[h]) for h in SIZES}
    book = build_tables(seed, cal, catalogues)
    book.write(out / "tables")
    say(f"catalogues: {sum(len(c.courses) for c in catalogues.values())} courses; grading tables: {len(book.tables)} in tables/")
    drawer = GradeDrawer(book, cal.year)
    world = _World(cal, students, catalogues,
                   {h: Scheduler(h, RHYTHMS[FORMATS[h]], sub_rng(seed, "delivery", h), work, f"{h}-sis") for h in SIZES},
                   {h: Scheduler(h, RHYTHMS["ewp"], sub_rng(seed, "delivery-ewp", h), work, f"{h}-ewp") for h in SIZES},
                   [])
    maker = MobilityMaker(cal, catalogues, drawer,
                          {h: IdMaker(h, sub_rng(seed, "guest-ids", h), incoming=True) for h in SIZES},
                          {h: RecordIds(h, sub_rng(seed, "guest-records", h), incoming=True) for h in SIZES})
    plan = sub_rng(seed, "mobility-plan")
    forced = list(FEATURES)
    plan.shuffle(forced)
    for hei in SIZES:
        n = students[hei]
        rng = sub_rng(seed, "students", hei)
        ids, records = IdMaker(hei, sub_rng(seed, "student-ids", hei)), RecordIds(hei, sub_rng(seed, "records", hei))
        # about the share asked for, and at least one per partner so every EWP node has something to serve
        wanted = max(1, round(n * config.mobility_share)) if config.mobility_share > 0 else 0
        mobile = iter(sorted(plan.sample(range(n), min(n, wanted))))
        next_mobile = next(mobile, -1)
        hosts = [(h, math.sqrt(SIZES[h])) for h in SIZES if h != hei]
        for i in range(n):
            student = new_student(rng, hei, ids)
            away = None
            if i == next_mobile:
                next_mobile = next(mobile, -1)
                m_rng = sub_rng(seed, "mobility", hei, i)
                m = maker.make(m_rng, student, m_rng.weighted(hosts), features_for(m_rng, len(world.mobilities), forced))
                for source, rec in lifecycle_records(m, len(world.mobilities)):
                    world.ewp[source].add(rec)
                world.mobilities.append(m)
                if m.started_at:
                    away = m.term
                    world.sis[m.host].add_all(m.host_records)
            world.sis[hei].add_all(home_year(rng, student, cal, catalogues[hei], drawer, records, away))
            if (i + 1) % 10_000 == 0 and i + 1 < n:
                say(f"{hei:<14} {i + 1:>7,} of {n:,} students ...")
        say(f"{hei:<14} {n:>7,} students generated")
    return world


def _write_sis(config: SimulationConfig, world: _World, out: Path, work: Path, bad_log: BadLog,
               per_source: dict[str, SourceCounts], say: Progress) -> list[EventSink]:
    """Each partner's SIS deliveries, in order, through its native writer."""
    sinks = []
    for order, hei in enumerate(SIZES):
        counts = per_source[f"{hei}/sis"] = SourceCounts(f"{hei}/sis", FORMATS[hei])
        sink = EventSink(work / f"events-{hei}-sis.tsv", order * 2)
        sinks.append(sink)
        ctx = Context(hei, out, world.cal, world.catalogues[hei], config.bad_share, sub_rng(config.seed, "native", hei),
                      sink, bad_log, counts)
        WRITERS[hei](ctx).run(world.sis[hei].deliveries())
        sink.close()
        say(f"{hei:<14} {FORMATS[hei]:<12} {sum(counts.good.values()):>9,} events "
            f"{sum(counts.duplicates.values()):>6,} duplicates {sum(counts.bad.values()):>5,} bad -> {hei}/")
    return sinks


def _write_ewp(config: SimulationConfig, world: _World, out: Path, work: Path, bad_log: BadLog,
               per_source: dict[str, SourceCounts], say: Progress) -> list[EventSink]:
    """Every partner's EWP documents, and the mobility events its connector would publish."""
    writer = EwpWriter(out, world.cal, world.catalogues, config.bad_share,
                       {h: sub_rng(config.seed, "ewp-bad", h) for h in SIZES}, bad_log)
    counts = {h: SourceCounts(f"{h}/ewp", "ewp") for h in SIZES}
    writer.documents(world.mobilities, counts)
    sinks = []
    for order, hei in enumerate(SIZES):
        sink = EventSink(work / f"events-{hei}-ewp.tsv", order * 2 + 1)
        sinks.append(sink)
        writer.events(world.mobilities, world.ewp[hei], sink, counts[hei])
        sink.close()
        per_source[f"{hei}/ewp"] = counts[hei]
    say(f"ewp            {len(world.mobilities):,} mobilities, "
        f"{sum(sum(c.good.values()) for c in counts.values()):,} mobility events -> <schac>/ewp/")
    return sinks


def _prepare(out: Path, force: bool) -> Path:
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        if not force:
            raise SimulationError(f"{out} is not empty: choose an empty folder or pass --force to replace it")
        if not (out / "expected" / "counts.json").exists() and not (out / ".work").exists():
            raise SimulationError(f"{out} holds files that are not a simulated alliance: refusing to delete them with --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _merge(sinks: list[EventSink], target: Path) -> int:
    """Merge every source's hub events by (delivery time, source order, sequence) into one file."""

    def read(path: Path) -> Iterator[tuple[int, int, int, str]]:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                d, order, seq, text = line.split("\t", 3)
                yield int(d), int(order), int(seq), text

    count = 0
    with target.open("w", encoding="utf-8") as fh:
        for _, _, _, text in heapq.merge(*(read(s.path) for s in sinks)):
            fh.write(text)
            count += 1
    return count


def _expected(out: Path, mobilities: list[Mobility], horizon: Any) -> dict[str, Any]:
    folder = out / "expected"
    by_status: dict[str, int] = {}
    alerts: list[dict[str, Any]] = []
    with (folder / "decisions.jsonl").open("w", encoding="utf-8") as dec, \
            (folder / "mobilities.jsonl").open("w", encoding="utf-8") as mob:
        for m in sorted(mobilities, key=lambda x: x.omobility_id):
            lines, pending = decisions(m)
            for line in sorted(lines, key=lambda x: x["home_component"]):
                dec.write(json.dumps(line, ensure_ascii=False) + "\n")
                by_status[line["status"]] = by_status.get(line["status"], 0) + 1
            mob.write(json.dumps(summary(m, lines, pending), ensure_ascii=False) + "\n")
            alerts += deadline_alerts(m, lines, horizon)
    alerts.sort(key=lambda a: (a["raised_at"], a["omobility_id"], a["deadline"], a["severity"]))
    with (folder / "deadlines.jsonl").open("w", encoding="utf-8") as fh:
        for a in alerts:
            fh.write(json.dumps(a) + "\n")
    return {"decisions": dict(sorted(by_status.items())), "deadlines": len(alerts)}


def _write_counts(out: Path, config: SimulationConfig, result: Summary) -> None:
    topics: dict[str, dict[str, int]] = {}
    for name, c in result.per_source.items():
        hei = name.split("/")[0]
        for kind in ("enrolments", "grades", "mobilities"):
            t = topics.setdefault(f"sis.{hei}.{kind}", {"good": 0, "deliveries": 0, "duplicates": 0, "late": 0, "bad": 0})
            good, dups = c["good"].get(kind, 0), c["duplicates"].get(kind, 0)
            t["good"] += good
            t["duplicates"] += dups
            t["deliveries"] += good + dups
            t["late"] += c["late"].get(kind, 0)
            t["bad"] += c["bad_by_topic"].get(kind, 0)
    doc = {
        "seed": config.seed, "students": config.students, "academic_year": config.year,
        "bad_share": config.bad_share, "mobility_share": config.mobility_share,
        "students_per_partner": result.students, "mobilities": result.mobilities,
        "hub_events": {"distinct": result.events, "lines": result.event_lines},
        "bad_records": result.bad, "event_time_horizon": result.horizon,
        "decisions": result.decisions, "deadline_alerts": result.deadlines,
        "sources": result.per_source, "topics": dict(sorted(topics.items())),
    }
    (out / "expected" / "counts.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
