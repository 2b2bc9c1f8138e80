"""Grading tables (ECTS Users' Guide style) and grades drawn from them, printed as each SIS prints them.

Tables give the share of each passing label per (institution, scheme, ISCED-F field
or ``*``, academic year); the simulator draws passing grades from the current
year's table, so what the hub converts with matches what students got.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import SIZES, Catalogue, Course
from hub.simulate._rand import Rand, sub_rng
from schemas.grading import SCHEMES, GradingScheme, UnknownGrade

HEADER = ("hei", "scheme_id", "reference_group", "academic_year", "label", "percentage")
# Schemes with no table at all, so conversion falls back to the fixed ECTS scale.
NO_TABLES = frozenset({"hh.se/U-3-4-5"})
# Partners that publish only an institution-wide table (no per-field tables).
INSTITUTION_ONLY = frozenset({"ipbeja.pt"})
FIELD_TABLE_SHARE = 0.8


def graded(s: GradingScheme) -> bool:
    """A scheme that grading tables describe: not pass/fail-only and more than one passing label."""
    return not s.pass_fail_only and len(s.passing_labels) > 1


@dataclass(frozen=True)
class Table:
    hei: str
    scheme_id: str
    group: str
    year: str
    shares: tuple[tuple[str, float], ...]


class TableBook:
    """Every generated table, looked up by field, then institution-wide, else none (ECTS scale)."""

    def __init__(self, tables: list[Table]):
        self.tables = tables
        self._index = {(t.hei, t.scheme_id, t.group, t.year): t for t in tables}

    def find(self, hei: str, scheme_id: str, isced: str, year: str) -> Table | None:
        return self._index.get((hei, scheme_id, isced, year)) or self._index.get((hei, scheme_id, "*", year))

    def write(self, folder: Path) -> list[Path]:
        """One CSV per institution in the shared format (grading.md); returns the files written."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for hei in SIZES:
            rows = [t for t in self.tables if t.hei == hei]
            if not rows:
                continue
            path = folder / f"{hei}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                out = csv.writer(fh, lineterminator="\n")
                out.writerow(HEADER)
                for t in rows:
                    for label, pct in t.shares:
                        out.writerow((t.hei, t.scheme_id, t.group, t.year, label, f"{pct:.1f}"))
            written.append(path)
        return written


def build_tables(seed: int, calendar: Calendar, catalogues: dict[str, Catalogue]) -> TableBook:
    """Tables for the two earlier years and this one, per graded scheme in use and field."""
    tables: list[Table] = []
    years = calendar.earlier_years(2) + [calendar.year]
    for hei in SIZES:
        rng = sub_rng(seed, "tables", hei)
        used: dict[str, list[str]] = {}
        for c in catalogues[hei].courses:
            fields = used.setdefault(c.scheme_id, [])
            if c.isced not in fields:
                fields.append(c.isced)
        for scheme_id, fields in used.items():
            s = SCHEMES[scheme_id]
            if not graded(s) or scheme_id in NO_TABLES:
                continue
            groups = ["*"]
            if hei not in INSTITUTION_ONLY:
                groups += [f for f in sorted(fields) if rng.chance(FIELD_TABLE_SHARE)]
            for group in groups:
                centre, spread = rng.uniform(0.3, 0.6), rng.uniform(0.2, 0.32)
                for year in years:
                    shares = _shares(s.passing_labels, centre + rng.uniform(-0.05, 0.05), spread)
                    tables.append(Table(hei, scheme_id, group, year, shares))
    return TableBook(tables)


def _shares(labels: tuple[str, ...], centre: float, spread: float) -> tuple[tuple[str, float], ...]:
    """A bell over the passing labels (best first), in tenths of a percent that add up to exactly 100.0."""
    n = len(labels)
    mu, sigma = centre * (n - 1), max(spread * n, 0.6)
    weights = [math.exp(-0.5 * ((i - mu) / sigma) ** 2) for i in range(n)]
    total = sum(weights)
    tenths = [max(1, round(1000 * w / total)) for w in weights]
    tenths[tenths.index(max(tenths))] += 1000 - sum(tenths)
    return tuple((label, t / 10) for label, t in zip(labels, tenths, strict=True))


class GradeDrawer:
    """Draws canonical labels for a course and prints them the way its SIS does."""

    def __init__(self, book: TableBook, year: str):
        self.book, self.year = book, year

    def passing(self, rng: Rand, course: Course) -> str:
        s = SCHEMES[course.scheme_id]
        if s.pass_fail_only:
            return s.passing_labels[0] if len(s.passing_labels) == 1 else rng.weighted(
                list(zip(s.passing_labels, (80.0, 20.0), strict=True)))
        table = self.book.find(course.hei, course.scheme_id, course.isced, self.year)
        if table is None:
            return rng.weighted(list(_shares(s.passing_labels, 0.45, 0.28)))
        return rng.weighted(list(table.shares))

    def failing(self, rng: Rand, s_id: str) -> str:
        fails = SCHEMES[s_id].failing_labels
        return fails[0] if len(fails) == 1 or rng.chance(0.6) else rng.choice(fails[1:])

    def other_passing(self, rng: Rand, course: Course, label: str) -> str | None:
        """A different passing label (a correction), or None where the scheme has only one."""
        options = [x for x in SCHEMES[course.scheme_id].passing_labels if x != label]
        return rng.choice(options) if options else None


def printed(rng: Rand, scheme_id: str, label: str) -> str:
    """The label as the partner's SIS prints it: accepted spellings only (grading.md aliases)."""
    if scheme_id == "thomasmore.be/0-20":
        return f"{label}/20" if rng.chance(0.2) else label
    if scheme_id == "fontys.nl/1-10":
        if rng.chance(0.15):
            low = int(label) * 10 - 5
            value = rng.randint(max(low, 10), min(low + 9, 100))
            return f"{value // 10},{value % 10}"
        return label
    if scheme_id == "fontys.nl/pass-fail" and rng.chance(0.1):
        return {"BEH": "behaald", "NB": "niet behaald", "VR": "vrijstelling"}[label]
    if scheme_id == "ucn.dk/7-point" and label == "-3" and rng.chance(0.3):
        return "\u22123"
    if scheme_id == "th-deg.de/1-5":
        return "Fristen-5" if label == "5.0" and rng.chance(0.1) else label.replace(".", ",")
    if scheme_id == "th-deg.de/pass-fail" and rng.chance(0.7):
        return {"mit Erfolg": "bestanden", "ohne Erfolg": "nicht bestanden"}[label]
    if scheme_id == "seamk.fi/0-5" and label == "0" and rng.chance(0.4):
        return "hyl."
    if scheme_id == "seamk.fi/pass-fail" and label == "H" and rng.chance(0.2):
        return "hyväksytty"
    return label


_UNKNOWN = {
    "ucn.dk/7-point": ("2", "0", "11", "-2"), "th-deg.de/1-5": ("1,4", "4,3", "0,7", "6,0"),
    "fontys.nl/1-10": ("11", "0", "zes", "7+"), "thomasmore.be/0-20": ("21", "15/10", "-1"),
    "hh.se/U-G-VG": ("MVG", "IG"), "hh.se/A-F": ("A+", "Fy"), "hh.se/U-3-4-5": ("2", "6"),
    "hh.se/pass-fail": ("Godkänd?", "VG"), "mendelu.cz/A-F": ("G", "Fx", "5"),
}


def unknown_label(rng: Rand, scheme_id: str) -> str:
    """A label the shared contract rejects for this scheme (an unknown-grade bad record)."""
    options = _UNKNOWN.get(scheme_id, ("X", "??", "99", "n/a"))
    s = SCHEMES[scheme_id]
    for candidate in rng.sample(options, len(options)) + ["#N/A"]:
        try:
            s.normalise(candidate)
        except UnknownGrade:
            return candidate
    raise AssertionError(f"no unknown label for {scheme_id}")
