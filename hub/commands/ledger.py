"""``hub ledger``: what registrars do with recognition decisions: list, show, export, decide."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal

import click

from hub.settings import load_settings

EPILOG = """\b
The ledger holds one current decision per (mobility, home component) and every
earlier version with its reason and provenance (HUB_LEDGER_URL, default an
SQLite file in HUB_DATA_DIR). Typical session of a registrar at hh.se:
\b
  hub ledger list --hei hh.se --status NEEDS_REVIEW     what waits for a human
  hub ledger show hh.se-m-0042                          why: LA version, host grades, conversion
  hub ledger decide 3f9c0e1a2b4d5e6f7a8b9c0d --approve --reason "portfolio checked"
  hub ledger export --hei hh.se --format csv > hh.csv   recognised credits for the home SIS
\b
`decide` publishes a RegistrarDecision on registrar.<home hei>.decisions; the
stream processors turn it into MANUALLY_RECOGNISED or REJECTED, which appears
in the ledger a moment later.
"""

_STATUSES = ["AUTO_RECOGNISED", "NEEDS_REVIEW", "NOT_RECOGNISED", "MANUALLY_RECOGNISED", "REJECTED", "REVOKED"]
_EXPORT_COLUMNS = ["student_esi", "omobility_id", "home_component", "home_component_title", "ects", "converted_grade",
                   "home_scheme_id", "status", "host_hei", "decision_id", "version", "occurred_at"]


def _ledger():
    from streams.ledger import Ledger, LedgerUnavailable

    settings = load_settings()
    try:
        return Ledger(settings.ledger_database_url)
    except LedgerUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


@click.group(epilog=EPILOG)
def ledger() -> None:
    """Registrars' ledger: list, show, export and decide recognition items."""


@ledger.command("list")
@click.option("--hei", required=True, help="Home institution (SCHAC code), e.g. hh.se.")
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="Only items with this status.")
def list_items(hei: str, status: str | None) -> None:
    """Current decisions of a home institution, one line each."""
    rows = _ledger().items(hei, status)
    for r in rows:
        click.echo(f"{r['decision_id']}  {r['omobility_id']:<28} {r['home_component']:<12} {r['status']:<20} "
                   f"{float(r['ects']):>6.2f}  {r['converted_grade'] or '-':<6} {r['reason'][:80]}")
    click.echo(f"{len(rows)} item(s)", err=True)


@ledger.command()
@click.argument("mobility")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show(mobility: str, as_json: bool) -> None:
    """A mobility's status and every decision version with reason and provenance."""
    led = _ledger()
    status, history = led.mobility(mobility), led.history(mobility)
    if status is None and not history:
        raise click.ClickException(f"no mobility {mobility!r} in the ledger; `hub ledger list --hei <hei>` lists them")
    if as_json:
        click.echo(json.dumps({"status": status, "history": history}, default=_plain, indent=2))
        return
    if status:
        click.echo(f"{mobility}: {status['state']} ({status['sending_hei']} -> {status['receiving_hei']}), "
                   f"LA v{status['la_version']}, ECTS planned {float(status['ects_planned']):.2f}, recognised {float(status['ects_recognised']):.2f}")
    for h in history:
        p = h["provenance"]
        grades = ", ".join(f"{g['course_code']} {g['grade_label']}" for g in p.get("host_grades") or ())
        conv = (p.get("conversion") or {}).get("method", "NONE")
        click.echo(f"  {h['home_component']} v{h['version']} {h['status']} {float(h['ects']):.2f} ECTS"
                   f"{' grade ' + h['converted_grade'] if h['converted_grade'] else ''} [{h['rule']}] id {h['decision_id']}")
        click.echo(f"      {h['reason']}")
        click.echo(f"      LA v{p['la_version']} group {p['group_id']}; host grades: {grades or 'none'}; conversion {conv}")


@ledger.command()
@click.option("--hei", required=True, help="Home institution (SCHAC code).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--all", "everything", is_flag=True, help="Every current item, not only recognised credits.")
def export(hei: str, fmt: str, everything: bool) -> None:
    """Recognised credits of a home institution, for import into its SIS (stdout)."""
    rows = _ledger().export(hei, recognised_only=not everything)
    if fmt == "json":
        click.echo(json.dumps([{c: _plain(r[c]) for c in _EXPORT_COLUMNS} for r in rows], indent=1))
        return
    out = csv.DictWriter(sys.stdout, fieldnames=_EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    out.writeheader()
    for r in rows:
        out.writerow({c: _plain(r[c]) for c in _EXPORT_COLUMNS})


@ledger.command()
@click.argument("decision_id")
@click.option("--approve/--reject", "approve", default=None, help="Approve (MANUALLY_RECOGNISED) or reject (REJECTED).")
@click.option("--reason", required=True, help="Why, in words the student and auditors read.")
@click.option("--registrar", default=None, help="Who decides (default $USER).")
@click.option("--ects", type=float, default=None, help="ECTS to recognise when approving (default the Table B ECTS).")
@click.option("--grade", default=None, help="Home grade when approving.")
def decide(decision_id: str, approve: bool | None, reason: str, registrar: str | None, ects: float | None, grade: str | None) -> None:
    """Approve or reject an item; publishes a RegistrarDecision on registrar.<home hei>.decisions."""
    import getpass

    from streams.ledger.registrar import DecisionRefused, publish_registrar_decision

    if approve is None:
        raise click.UsageError("say --approve or --reject")
    settings = load_settings()
    try:
        event = publish_registrar_decision(_ledger(), settings, decision_id, approve=approve, reason=reason,
                                           registrar=registrar or getpass.getuser(), ects=ects, grade=grade)
    except DecisionRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"published {event.action.value} of {decision_id} ({event.omobility_id} {event.home_component}) "
               f"on registrar.{event.home_hei}.decisions")
