"""``hub convert-grade``: convert one grade between two partners' scales and say why."""

from __future__ import annotations

import re
import sys
import textwrap

import click

from schemas.grading import UnknownGrade, UnknownScheme, home_scheme, scheme, schemes_of
from schemas.institutions import UnknownInstitution, institution
from streams.recognition import HostResult, TableError, convert, explain_conversion, load_tables

_YEAR = re.compile(r"^(\d{4})/(\d{4})$")


def _fail(message: str) -> None:
    click.echo(f"hub convert-grade: {message}", err=True)
    sys.exit(2)


@click.command("convert-grade")
@click.option("--from", "host_hei", required=True, metavar="HEI", help="Host institution (SCHAC code) that awarded the grade, e.g. thomasmore.be.")
@click.option("--to", "home_hei", required=True, metavar="HEI", help="Home institution (SCHAC code) that recognises it, e.g. fontys.nl.")
@click.option("--grade", "label", required=True, metavar="LABEL", help='Grade exactly as the host prints it, e.g. 15, "15/20", 02, 1,3, VG.')
@click.option("--scheme", "scheme_id", metavar="SCHEME", help="Host grading scheme id when not the host's default, e.g. hh.se/A-F.")
@click.option("--field", metavar="ISCED", help="ISCED-F field of the course (e.g. 0613) to pick field tables on both sides.")
@click.option("--year", metavar="YYYY/YYYY", help="Academic year of the tables, e.g. 2025/2026 (default: the latest).")
@click.option("--tables", "tables_dir", type=click.Path(file_okay=False), metavar="DIR", help="Folder of grading table CSV files (default: the shipped tables).")
@click.option("--json", "as_json", is_flag=True, help="Print the Conversion provenance as JSON instead of the explanation.")
def convert_grade(host_hei, home_hei, label, scheme_id, field, year, tables_dir, as_json) -> None:
    """Convert one host grade to the home institution's scale, with the reason.

    The method is the ECTS Users' Guide / Egracons one the recogniser uses: each
    passing grade covers a band of the grading table (cumulative share of passes
    counted from the best grade); the home grade is the one whose band overlaps the
    host grade's band most (a tie goes to the better grade). Tables: the field table
    for --field, else the institution-wide one, else the fixed ECTS scale; for
    --year that year, else the latest earlier one, else the latest.

    \b
    Example (the worked example of the domain notes, ISCED 0613):
      hub convert-grade --from thomasmore.be --to fontys.nl --grade 15 --field 0613 --year 2025/2026
      home grade: 8 (fontys.nl/1-10)
      15 (thomasmore.be/0-20) at thomasmore.be converts to 8 at fontys.nl ...

    \b
    Pass/fail results (e.g. --scheme hh.se/pass-fail --grade G) count as a pass
    without a grade; Halmstad (--to hh.se) records no home grades at all.
    Exit codes: 0 converted (or a failing grade, which converts to nothing),
    2 unknown institution, scheme, label, year or unusable tables.
    """
    try:
        host, home = institution(host_hei).schac, institution(home_hei).schac
    except UnknownInstitution as exc:
        _fail(str(exc))
    if year and not _YEAR.match(year):
        _fail(f"--year {year!r} must look like 2025/2026")
    try:
        host_scheme = scheme(scheme_id) if scheme_id else home_scheme(host)
        if host_scheme.hei != host:
            _fail(f"scheme {host_scheme.id} belongs to {host_scheme.hei}, not {host}; schemes of {host}: "
                  + ", ".join(s.id for s in schemes_of(host)))
        host_scheme.normalise(label)
    except (UnknownScheme, UnknownGrade) as exc:
        _fail(str(exc))
    try:
        tables = load_tables(tables_dir) if tables_dir else None
    except TableError as exc:
        _fail(str(exc))
    result = convert(HostResult(host_scheme.id, label, 1.0, field, year), home, field=field, year=year, tables=tables)
    if as_json:
        click.echo(result.conversion.model_dump_json())
        return
    grade = result.label or ("none: failing grade, not recognised" if not result.passed else "none (a pass without a grade)")
    click.echo(f"home grade: {grade}" + (f" ({result.home_scheme_id})" if result.label else ""))
    click.echo(textwrap.fill(explain_conversion(result, host, home), width=100, break_on_hyphens=False))
