"""``hub decide``: run the recognition rules over hub events from a JSON-lines file."""

from __future__ import annotations

import sys
import textwrap
from typing import IO, Iterator

import click

from schemas.canonical import BadLine, read_jsonl, to_json
from streams.recognition import RecognitionEngine, TableError, Unroutable, decision_line, load_tables


class _Counted:
    """Lines of a file, remembering the number of the last one handed out."""

    def __init__(self, handle: IO[str]):
        self.handle, self.line_no = handle, 0

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            self.line_no += 1
            yield line


@click.command("decide")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, allow_dash=True), metavar="EVENTS.jsonl")
@click.option("--tables", "tables_dir", type=click.Path(file_okay=False), metavar="DIR", help="Folder of grading table CSV files (default: the shipped tables).")
@click.option("--explain", is_flag=True, help="Print one sentence per decision for a registrar instead of JSON lines.")
def decide(events: str, tables_dir: str | None, explain: bool) -> None:
    """Decide credit recognition for the events in EVENTS.jsonl ("-" reads stdin).

    Reads hub events in canonical JSON, one per line (Mobility, Grade and
    RegistrarDecision; other event types are read and ignored), applies them in
    order with the same rules the recogniser runs, and prints every
    RecognitionDecision they produce as canonical JSON lines. Decisions are
    versioned per (mobility, home component); their ids derive from their inputs,
    so running the same file twice prints the same decisions.

    \b
    Example:
      hub decide events.jsonl --explain
      M1 INF201 (Databases): AUTO_RECOGNISED v1, 6 ECTS, grade 8 [R2-all-passed]
        — TM101 passed at thomasmore.be (15); 6 ECTS recognised for INF201 as 8 ...

    \b
    A line that is not an event (bad JSON, unknown event_type, invalid field, a
    grade without student_esi) is reported on stderr with its line number and
    skipped. Exit codes: 0 all lines read, 1 some lines skipped, 2 bad arguments
    or unusable grading tables.
    """
    try:
        tables = load_tables(tables_dir) if tables_dir else None
    except TableError as exc:
        click.echo(f"hub decide: {exc}", err=True)
        sys.exit(2)
    engine = RecognitionEngine(tables)
    if events == "-":
        sys.stdin.reconfigure(errors="replace")
        handle: IO[str] = sys.stdin
    else:
        handle = open(events, encoding="utf-8", errors="replace")
    lines = _Counted(handle)
    skipped = decided = read = 0
    try:
        for item in read_jsonl(lines):  # type: ignore[arg-type]
            if isinstance(item, BadLine):
                skipped += 1
                click.echo(f"hub decide: line {item.line_no}: skipped: {item.error}", err=True)
                continue
            read += 1
            try:
                decisions = engine.apply(item)
            except Unroutable as exc:
                skipped += 1
                click.echo(f"hub decide: line {lines.line_no}: skipped: {exc}", err=True)
                continue
            for d in decisions:
                decided += 1
                if explain:
                    click.echo(textwrap.fill(decision_line(d), width=110, subsequent_indent="    ", break_on_hyphens=False))
                else:
                    click.echo(to_json(d))
    finally:
        if handle is not sys.stdin:
            handle.close()
    if explain:
        click.echo(f"{decided} decision(s) from {read} event(s); {skipped} line(s) skipped.", err=True)
    sys.exit(1 if skipped else 0)
