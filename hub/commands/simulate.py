"""``hub simulate``: generate a reproducible simulated alliance, optionally load its SQL and serve its APIs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command(context_settings={"max_content_width": 100})
@click.option("--seed", type=int, help="Seed of every random draw: the same seed and sizes give byte-identical files.")
@click.option("--students", type=click.IntRange(9, 500_000), help="Students across the nine partners (~120,000 is the whole alliance).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write into (must be empty, see --force).")
@click.option("--bad-share", type=click.FloatRange(0, 0.5), default=0.02, show_default=True,
              help="Share of bad deliveries per source: broken XML/JSON/CSV, wrong encodings, unknown grades, courses, institutions.")
@click.option("--year", default="2025/2026", show_default=True, help="Academic year to simulate (YYYY/YYYY).")
@click.option("--mobility-share", type=click.FloatRange(0, 0.5), default=0.04, show_default=True,
              help="Share of students on mobility to another partner during the year.")
@click.option("--force", is_flag=True, help="Replace a simulated alliance already in --out.")
@click.option("--reuse", is_flag=True, help="Do not generate: use the simulated alliance already in --out (with --serve or --sql-url).")
@click.option("--sql-url", help="Also copy UCN's and IPBeja's SQL tables into this SQLAlchemy database "
                                "(e.g. postgresql+psycopg2://postgres:postgres@127.0.0.1/test).")
@click.option("--serve", is_flag=True, help="Afterwards serve the partners' HTTP APIs on 127.0.0.1 until Ctrl-C.")
def simulate(seed: int | None, students: int | None, out: Path, bad_share: float, year: str, mobility_share: float,
             force: bool, reuse: bool, sql_url: str | None, serve: bool) -> None:
    """Generate a simulated HEROES alliance year: every partner's SIS data in its native format,
    EWP learning agreements and transcripts, grading tables, the same events in hub terms, and
    the outcomes the hub must reach.

    \b
    Examples:
      hub simulate --seed 7 --students 200 --out sim            # a few seconds
      hub simulate --seed 7 --students 120000 --out alliance    # the whole alliance, minutes
      hub simulate --out sim --reuse --serve                    # serve an existing one
      hub decide sim/hub-events.jsonl                           # then compare with sim/expected/

    \b
    What --out receives:
      hub-events.jsonl     every good event as canonical JSON, in delivery order (duplicates,
                           late deliveries included)
      expected/            decisions.jsonl, deadlines.jsonl, mobilities.jsonl, counts.json, bad.jsonl
      tables/<schac>.csv   ECTS grading tables (shared CSV format)
      <schac>/             the partner's native data (Ladok feed, OOAPI, OData, Peppi, PRIMUSS CSV,
                           ESAS/netPA SQLite, webhook bodies, UIS XML) and ewp/ documents

    The same --seed, --students, --year and shares always give byte-identical output.
    """
    from hub.simulate import SimulationConfig, SimulationError
    from hub.simulate import simulate as run
    from hub.simulate._serve import SimulationNotFound, serve_partner_apis
    from hub.simulate._sqlload import SqlLoadError, load_sql

    if not reuse:
        missing = [name for name, value in (("--seed", seed), ("--students", students)) if value is None]
        if missing:
            raise click.UsageError(f"{' and '.join(missing)} required to generate (or pass --reuse to use what is in {out})")
        try:
            config = SimulationConfig(seed=seed, students=students, out=out, bad_share=bad_share, year=year,
                                      mobility_share=mobility_share, force=force)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        try:
            summary = run(config, progress=lambda line: click.echo(f"  {line}", err=True))
        except SimulationError as exc:
            click.echo(f"hub simulate: {exc}", err=True)
            sys.exit(2)
        _report(summary)
    if sql_url:
        try:
            report = load_sql(out, sql_url)
        except (SqlLoadError, FileNotFoundError) as exc:
            click.echo(f"hub simulate: {exc}", err=True)
            sys.exit(1)
        click.echo(f"SQL: {sum(report.rows.values()):,} rows of UCN and IPBeja copied into {report.url}")
    if serve:
        try:
            servers = serve_partner_apis(out)
        except SimulationNotFound as exc:
            click.echo(f"hub simulate: {exc}", err=True)
            sys.exit(2)
        click.echo("Serving the partners' APIs (Ctrl-C to stop):")
        for hei, url in servers.urls.items():
            click.echo(f"  {hei:<14} {url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            servers.stop()


def _report(summary) -> None:  # type: ignore[no-untyped-def]
    out = summary.out
    click.echo(f"Simulated alliance in {out} ({summary.seconds:.1f} s)")
    click.echo(f"  students      {sum(summary.students.values()):>10,}   "
               + ", ".join(f"{h} {n:,}" for h, n in summary.students.items()))
    click.echo(f"  mobilities    {summary.mobilities:>10,}")
    click.echo(f"  hub events    {summary.events:>10,}   distinct ({summary.event_lines:,} lines with duplicates) -> hub-events.jsonl")
    click.echo(f"  bad records   {summary.bad:>10,}   listed in expected/bad.jsonl")
    click.echo(f"  decisions     {sum(summary.decisions.values()):>10,}   "
               + ", ".join(f"{k} {v:,}" for k, v in summary.decisions.items()) + " -> expected/decisions.jsonl")
    click.echo(f"  deadlines     {summary.deadlines:>10,}   alerts up to {summary.horizon} -> expected/deadlines.jsonl")
    click.echo("  per partner (SIS events / EWP mobility events / bad):")
    for source, c in summary.per_source.items():
        if source.endswith("/sis"):
            hei = source[:-4]
            ewp = summary.per_source[f"{hei}/ewp"]
            click.echo(f"    {hei:<14} {c['format']:<12} {sum(c['good'].values()):>9,} / {sum(ewp['good'].values()):>6,}"
                       f" / {c['bad'] + ewp['bad']:>5,}   {out / hei}")
    click.echo(f"  grading tables in {out / 'tables'}; counts in {out / 'expected' / 'counts.json'}")
