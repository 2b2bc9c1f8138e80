"""ECTS grading tables: loaded from CSV files, validated, looked up with fallback.

File format (shared contract, see the grading brief): UTF-8 CSV with the header
``hei,scheme_id,reference_group,academic_year,label,percentage``, one row per
passing label; ``reference_group`` is an ISCED-F code or ``*`` (institution-wide).
Every ``*.csv`` in a folder is read; every problem is reported at once with its
file and line.

Lookup for (hei, scheme, field, year):

1. a field table: the exact ISCED-F code, then its narrow (3-digit) and broad
   (2-digit) field;
2. the institution-wide table ``*``;
3. the fixed ECTS scale (A 10, B 25, C 30, D 25, E 10 %), spread over the
   scheme's passing labels: each of the n passing labels takes an equal slice
   1/n of the five ECTS grades (in rank order) and its share is the part of the
   ECTS distribution in that slice.  Five passing labels get exactly 10/25/30/25/10;
   two get 50/50; three get 26.7/46.7/26.7.

At each level the year is the one asked for, else the latest earlier year, else
the latest available.  The table found says which (``ref.source`` FIELD,
INSTITUTION or ECTS_SCALE, with its group and year).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from schemas.grading import UnknownScheme, scheme
from schemas.institutions import BY_SCHAC
from schemas.models import Band, TableRef, TableSource

__all__ = ["DEFAULT_TABLES_DIR", "ECTS_SCALE", "GradingTable", "GradingTables", "TableError", "default_tables", "load_tables"]

DEFAULT_TABLES_DIR = Path(__file__).resolve().parent / "tables"
HEADER = ["hei", "scheme_id", "reference_group", "academic_year", "label", "percentage"]
ECTS_SCALE: tuple[tuple[str, float], ...] = (("A", 10.0), ("B", 25.0), ("C", 30.0), ("D", 25.0), ("E", 10.0))
TOLERANCE = 0.5
BAND_EPS = 1e-9  # band widths and boundaries within this many points are equal (conversion.py)
_YEAR = re.compile(r"^(\d{4})/(\d{4})$")
_GROUP = re.compile(r"^(\*|\d{2,4})$")


class TableError(ValueError):
    """Grading table files that cannot be used; ``problems`` lists every one as ``file:line: what to fix``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in grading tables:\n  " + "\n  ".join(problems))


class GradingTable:
    """One table: the share of each passing label, best first, and the bands derived from it.

    Shares are rescaled to add up to exactly 100 (files may be off by up to 0.5);
    a passing label missing from the file has share 0.  A label's band is its
    cumulative range counted from the best grade: the best label covers 0 to its
    share, the next one continues from there.
    """

    __slots__ = ("ref", "location", "shares", "bands", "_band", "spans")

    def __init__(self, ref: TableRef, shares: dict[str, float], location: str):
        sch = scheme(ref.scheme_id)
        total = sum(shares.values()) or 1.0
        self.ref = ref
        self.location = location
        self.shares: tuple[tuple[str, float], ...] = tuple(
            (label, shares.get(label, 0.0) * 100.0 / total) for label in sch.passing_labels
        )
        bands: list[Band] = []
        lower = 0.0
        for i, (label, share) in enumerate(self.shares):
            upper = 100.0 if i == len(self.shares) - 1 else min(100.0, lower + share)
            bands.append(Band(label=label, lower=round(lower, 6), upper=round(upper, 6)))
            lower = upper
        self.bands: tuple[Band, ...] = tuple(bands)
        self._band = {b.label: b for b in bands}
        # (lower - eps, upper + eps, band) of each band wider than eps, best first: conversion.band_at's test
        # as plain floats, worked out once instead of from the bands' fields on every conversion
        self.spans: tuple[tuple[float, float, Band], ...] = tuple(
            (b.lower - BAND_EPS, b.upper + BAND_EPS, b) for b in bands if b.upper - b.lower > BAND_EPS)

    def band(self, label: str) -> Band:
        return self._band[label]

    def __repr__(self) -> str:
        r = self.ref
        return f"GradingTable({r.scheme_id} {r.reference_group} {r.academic_year} {r.source.value})"


@dataclass(frozen=True)
class _Row:
    location: str
    hei: str
    scheme_id: str
    group: str
    year: str
    label: str
    percentage: float


class GradingTables:
    """A validated set of grading tables with cached lookup."""

    def __init__(self, tables: list[GradingTable], origin: str = ""):
        self.origin = origin
        self._index: dict[tuple[str, str], dict[str, GradingTable]] = {}
        for t in tables:
            self._index.setdefault((t.ref.scheme_id, t.ref.reference_group), {})[t.ref.academic_year] = t
        self._cache: dict[tuple[str, str | None, str | None], GradingTable] = {}

    def __len__(self) -> int:
        return sum(len(years) for years in self._index.values())

    def __iter__(self):
        for years in self._index.values():
            yield from years.values()

    def lookup(self, scheme_id: str, field: str | None = None, year: str | None = None) -> GradingTable:
        """The table to use for a graded scheme, field (ISCED-F) and academic year, with fallback."""
        key = (scheme_id, field or None, year or None)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(scheme_id, field or None, year or None)
        return found

    def _resolve(self, scheme_id: str, field: str | None, year: str | None) -> GradingTable:
        sch = scheme(scheme_id)
        if sch.pass_fail_only:
            raise ValueError(f"{scheme_id} is a pass/fail scheme: it has no grading table")
        groups: list[str] = []
        if field:
            for n in (len(field), 3, 2):
                if n <= len(field) and field[:n] not in groups:
                    groups.append(field[:n])
        groups.append("*")
        for group in groups:
            years = self._index.get((scheme_id, group))
            if years:
                return years[_pick_year(sorted(years), year)]
        return ects_scale_table(scheme_id, year or "")


def _pick_year(available: list[str], wanted: str | None) -> str:
    if wanted in available:
        return wanted  # type: ignore[return-value]
    if wanted:
        earlier = [y for y in available if y < wanted]
        if earlier:
            return earlier[-1]
    return available[-1]


@lru_cache(maxsize=None)
def ects_scale_table(scheme_id: str, year: str = "") -> GradingTable:
    """The fixed ECTS scale spread over a scheme's passing labels (see the module docstring)."""
    sch = scheme(scheme_id)
    labels = sch.passing_labels
    n = len(labels)
    cumulative = [0.0]
    for _, share in ECTS_SCALE:
        cumulative.append(cumulative[-1] + share)

    def at(rank: float) -> float:  # cumulative ECTS share at a position 0..5 in rank order, linear inside a grade
        whole = min(int(rank), len(ECTS_SCALE) - 1)
        return cumulative[whole] + (rank - whole) * ECTS_SCALE[whole][1]

    step = len(ECTS_SCALE) / n
    shares = {label: at((i + 1) * step) - at(i * step) for i, label in enumerate(labels)}
    ref = TableRef(hei=sch.hei, scheme_id=scheme_id, reference_group="*", academic_year=year, source=TableSource.ECTS_SCALE)
    return GradingTable(ref, shares, "ECTS scale")


def load_tables(folder: str | Path) -> GradingTables:
    """Read and validate every ``*.csv`` in ``folder``; raise TableError listing every problem."""
    root = Path(folder)
    if not root.is_dir():
        raise TableError([f"{root}: not a folder; give a folder of grading table CSV files"])
    problems: list[str] = []
    rows: list[_Row] = []
    files = sorted(root.glob("*.csv"))
    if not files:
        problems.append(f"{root}: no *.csv files")
    for path in files:
        rows.extend(_read_file(path, problems))
    tables = _assemble(rows, problems)
    if problems:
        raise TableError(problems)
    return GradingTables(tables, origin=str(root))


def _read_file(path: Path, problems: list[str]) -> list[_Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read as UTF-8 ({exc})")
        return []
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != HEADER:
        problems.append(f"{path.name}:1: header must be {','.join(HEADER)} (found {','.join(header or [])!r})")
        return []
    rows: list[_Row] = []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        where = f"{path.name}:{line_no}"
        row = _check_row(where, [c.strip() for c in cells], problems)
        if row:
            rows.append(row)
    return rows


def _check_row(where: str, cells: list[str], problems: list[str]) -> _Row | None:
    if len(cells) != len(HEADER):
        problems.append(f"{where}: expected {len(HEADER)} columns ({','.join(HEADER)}), found {len(cells)}")
        return None
    hei, scheme_id, group, year, label, pct_text = cells
    before = len(problems)
    if hei not in BY_SCHAC:
        problems.append(f"{where}: unknown hei {hei!r}; use a partner's SCHAC code ({', '.join(BY_SCHAC)})")
    sch = None
    try:
        sch = scheme(scheme_id)
    except UnknownScheme as exc:
        problems.append(f"{where}: {exc}")
    if sch is not None:
        if sch.hei != hei:
            problems.append(f"{where}: scheme {scheme_id} belongs to {sch.hei}, not {hei}")
        if sch.pass_fail_only:
            problems.append(f"{where}: {scheme_id} is pass/fail only; grading tables are for graded schemes")
        elif label not in sch.labels:
            problems.append(f"{where}: {label!r} is not a label of {scheme_id} (passing labels: {', '.join(sch.passing_labels)})")
        elif label not in sch.passing:
            problems.append(f"{where}: {label!r} is a failing grade of {scheme_id}; tables list passing labels only")
    if not _GROUP.match(group):
        problems.append(f"{where}: reference_group {group!r} must be an ISCED-F code (2-4 digits, e.g. 0613) or *")
    m = _YEAR.match(year)
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        problems.append(f"{where}: academic_year {year!r} must be YYYY/YYYY with consecutive years, e.g. 2025/2026")
    try:
        pct = float(pct_text)
        if not 0.0 <= pct <= 100.0:
            raise ValueError
    except ValueError:
        problems.append(f"{where}: percentage {pct_text!r} must be a number from 0 to 100")
        pct = 0.0
    if len(problems) > before:
        return None
    return _Row(where, hei, scheme_id, group, year, label, pct)


def _assemble(rows: list[_Row], problems: list[str]) -> list[GradingTable]:
    grouped: dict[tuple[str, str, str], list[_Row]] = {}
    for row in rows:
        grouped.setdefault((row.scheme_id, row.group, row.year), []).append(row)
    tables: list[GradingTable] = []
    for (scheme_id, group, year), members in grouped.items():
        first = members[0].location
        files = sorted({r.location.split(":")[0] for r in members})
        if len(files) > 1:
            problems.append(f"{first}: table {scheme_id} {group} {year} is defined in several files ({', '.join(files)}); keep it in one")
            continue
        shares: dict[str, float] = {}
        ok = True
        for r in members:
            if r.label in shares:
                problems.append(f"{r.location}: label {r.label!r} appears twice in table {scheme_id} {group} {year}")
                ok = False
            shares[r.label] = r.percentage
        total = sum(shares.values())
        if abs(total - 100.0) > TOLERANCE:
            problems.append(f"{first}: shares of table {scheme_id} {group} {year} add up to {total:g}, not 100 (±{TOLERANCE:g})")
            ok = False
        if ok:
            source = TableSource.INSTITUTION if group == "*" else TableSource.FIELD
            ref = TableRef(hei=members[0].hei, scheme_id=scheme_id, reference_group=group, academic_year=year, source=source)
            tables.append(GradingTable(ref, shares, first))
    return tables


@lru_cache(maxsize=1)
def default_tables() -> GradingTables:
    """The tables shipped with the hub (``streams/recognition/tables/*.csv``), loaded once."""
    return load_tables(DEFAULT_TABLES_DIR)
