"""Grade conversion between partners' scales with ECTS grading tables (DESIGN.md §6, Egracons).

Bands are cumulative ranges of the passing grades counted from the best grade
(``0`` = the very best result, ``100`` = the lowest pass).

- One host grade: the home label whose band overlaps the host band most; on a tie
  (equal overlap within 1e-9 points) the better home grade, in the student's favour.
  A host label with a zero share has a zero-width band; it converts to the home band
  containing that point (a point on a boundary goes to the better grade).
- Several host grades for one home component: the ECTS-weighted mean of the host
  bands' midpoints; the home label is the band containing that point, a point on a
  boundary between two bands going to the better grade (zero-width bands skipped).
  Pass/fail results among them carry no position and are left out of the mean.
- Only pass/fail results: the home pass mark without a grade (method PASS_FAIL).
- A home scheme that is pass/fail only (Halmstad): no grade (method NONE).
- A failing host grade converts to nothing (method NONE, ``passed`` false).

Everything is pure and cached per (inputs, tables).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal
from typing import NamedTuple, Sequence

from schemas.grading import GradingScheme, home_scheme, scheme
from schemas.models import Band, Conversion, ConversionMethod

from schemas.building import built, setters
from .tables import BAND_EPS, GradingTable, GradingTables, default_tables

__all__ = ["Converted", "Converter", "HostResult", "convert", "converter_for"]

_EPS = BAND_EPS



# Conversions kept per converter: a few thousand distinct ones decide an alliance's year, and a worker's memory
# must not grow with the students it has seen (the cache empties when full).
CACHE_SIZE = 16_384

class HostResult(NamedTuple):
    """One host grade to convert: its scheme, label (any accepted spelling), ECTS, field and year."""

    scheme_id: str
    label: str
    ects: Decimal | float = 1.0
    field: str | None = None
    year: str | None = None


@dataclass(frozen=True)
class Converted:
    """The outcome: ``label`` is the home grade (None when there is none) with its provenance."""

    label: str | None
    home_scheme_id: str
    passed: bool
    conversion: Conversion
    hosts: tuple[HostResult, ...]  # labels normalised
    overlap: float | None = None  # points of overlap that chose the label (BAND_OVERLAP)

    @cached_property
    def clause(self) -> str:
        """How the home grade came about, for a decision's reason (worked out once per conversion)."""
        from .explain import conversion_clause

        return conversion_clause(self)


class Converter:
    """Converts with one set of grading tables, caching every answer (the rules' several-grade ones excepted).

    A conversion is worked out from parts kept per table set, each computed once:
    what a host label reads as (``_host``: label, pass, table, band), each home
    scheme, and per (host table, label, home table) the band overlap and its clause.
    So a new combination of several host grades costs a weighted mean and a
    band scan, not table lookups and model validation.
    """

    def __init__(self, tables: GradingTables | None = None):
        self.tables = tables if tables is not None else default_tables()
        self._cache: dict[tuple, Converted] = {}
        self._hosts: dict[tuple, tuple] = {}  # (scheme, label, field, year) -> see _host
        self._homes: dict[str, GradingScheme] = {}
        self._overlaps: dict[tuple, tuple] = {}  # (host table, label, home table) -> (band, overlap, point, clause)
        self._tables_text: dict[tuple, str] = {}  # (host tables, home table) -> "(tables: ... → ...)"
        self._band_text: dict[tuple, str] = {}  # (home table, label) -> "lower–upper %"
        # the rules' plain host tuple -> (its _host reading, its HostResult): one lookup per host grade of a new
        # combination (only plain tuples, whose ECTS are floats: a HostResult may carry a Decimal that equals them)
        self._plain: dict[tuple, tuple] = {}

    def convert(
        self,
        hosts: Sequence[HostResult] | HostResult,
        home_hei: str,
        *,
        field: str | None = None,
        year: str | None = None,
        home_scheme_id: str | None = None,
    ) -> Converted:
        """Convert one or several host grades to a home grade of ``home_hei`` (field/year pick the home table)."""
        if isinstance(hosts, HostResult):
            hosts = (hosts,)
        # ECTS as given: 5 and 5.0 hash alike; plain tuples, which the garbage collector stops tracking
        key = (tuple([tuple(h) for h in hosts]), home_hei, field, year, home_scheme_id)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > CACHE_SIZE:
                self._cache.clear()
            found = self._cache[key] = self._convert(tuple(hosts), home_hei, field, year, home_scheme_id)
        return found

    def convert_plain(self, hosts: tuple[tuple, ...], home_hei: str, field: str | None, year: str | None) -> Converted:
        """``convert`` of host grades given as plain ``(scheme_id, label, ects, field, year)`` tuples (the rules' form).

        Several host grades are converted anew each time: their combinations rarely recur (80 % were new
        in the benchmark's stream even after another alliance's), and keeping each cost more, in the
        collector's walks and cache misses, than working it out again from the kept parts.
        """
        if len(hosts) > 1:
            return self._several(hosts, home_hei, field, year)
        key = (hosts, home_hei, field, year, None)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > CACHE_SIZE:
                self._cache.clear()
            found = self._cache[key] = self._convert(hosts, home_hei, field, year, None)
        return found

    def _host(self, scheme_id: str, label: str, field: str | None, year: str | None) -> tuple:
        """(label as the scheme spells it, passed, pass/fail only, table, band) of one host grade.

        Table and band only for a passing graded label.  Raises UnknownScheme / UnknownGrade
        (nothing is kept then), as the conversion does.
        """
        key = (scheme_id, label, field, year)
        found = self._hosts.get(key)
        if found is None:
            sch = scheme(scheme_id)
            normal = sch.normalise(label)
            passed = normal in sch.passing
            table = band = None
            if passed and not sch.pass_fail_only:
                table = self.tables.lookup(scheme_id, field, year)
                band = table.band(normal)
            if len(self._hosts) > CACHE_SIZE:
                self._hosts.clear()
            found = self._hosts[key] = (normal, passed, sch.pass_fail_only, table, band)
        return found

    def _convert(self, hosts, home_hei, field, year, home_scheme_id) -> Converted:
        """The conversion of ``hosts`` (HostResults or plain tuples)."""
        if not hosts:
            raise ValueError("nothing to convert: give at least one host grade")
        if home_scheme_id:
            home = scheme(home_scheme_id)
        else:
            home = self._homes.get(home_hei)
            if home is None:
                home = self._homes[home_hei] = home_scheme(home_hei)
        # one pass: a new combination of host grades is the common miss.  Each grade read is (its _host
        # reading, its HostResult, its ECTS as a weight, its band's lower + upper bound or None)
        # the graded ones (not pass/fail only) also give their table, band, weight and band bounds' sum here
        reads, normal, passed = [], [], True
        tables, bands, weights, sums = [], [], [], []
        for h in hosts:
            f, y = h[3] or None, h[4] or None
            r = self._host(h[0], h[1], f, y)
            found = (r, _host_result(HostResult, (h[0], r[0], h[2], f, y)), float(h[2]),
                     None if r[4] is None else r[4].lower + r[4].upper)
            reads.append(found)
            normal.append(found[1])
            r = found[0]
            if not r[1]:
                passed = False
            elif not r[2]:
                tables.append(r[3])
                bands.append(r[4])
                weights.append(found[2])
                sums.append(found[3])
        normal = tuple(normal)
        if type(hosts[0]) is HostResult and normal == hosts:  # labels as the scheme spells them: keep one copy
            normal = hosts
        if not passed or home.pass_fail_only:
            return _converted(None, home.id, passed, _NONE, normal)
        if not tables:
            return _converted(None, home.id, True, _PASS_FAIL, normal)
        home_table = self.tables.lookup(home.id, field or None, year or None)
        if len(tables) > 1:
            if sum(weights) <= 0:
                weights = [1.0] * len(weights)
            # as band_at's arithmetic: the bounds' sum and each span were worked out once, in the same float operations
            point = sum([w * s / 2 for w, s in zip(weights, sums)]) / sum(weights)
            return self._midpoint(home, home_table, point, tuple(tables), tuple(bands), normal)
        r = next(g[0] for g in reads if not g[0][2])
        key = (r[3], r[0], home_table)
        found = self._overlaps.get(key)
        if found is None:
            band, overlap, point = best_overlap(r[4], home_table)
            clause = (f"as {band.label} ({home.id}) via {_OVERLAP_TEXT}: host band {self._band(r[3], r[4])} "
                      f"overlaps home band {self._band(home_table, band)} most {self._tables((r[3],), home_table)}")
            found = self._overlaps[key] = (band, overlap, point, clause)
        band, overlap, point, clause = found
        return _finished(_OVERLAP, home.id, home_table, band, None if point is None else round(point, 6), (r[3].ref,),
                         (r[4],), normal, clause, overlap)

    def _midpoint(self, home: GradingScheme, home_table: GradingTable, point: float, host_tables: tuple,
                  host_bands: tuple, normal: tuple, host_refs: tuple | None = None) -> Converted:
        """The WEIGHTED_MIDPOINT result of a weighted mean of host band midpoints ``point`` (``host_refs``: the
        tables' references, when the caller kept them)."""
        for lower, upper, band in home_table.spans:  # band_at's test
            if lower <= point <= upper:
                break
        else:
            band = home_table.bands[-1]
        point = round(point, 6)
        clause = (f"as {band.label} ({home.id}) via {_MIDPOINT_TEXT}: the ECTS-weighted mean of the host bands' "
                  f"midpoints, {point:.4g} %, lies in home band {self._band(home_table, band)} "
                  f"{self._tables(host_tables, home_table)}")
        refs = host_refs if host_refs is not None else tuple([t.ref for t in host_tables])
        return _finished(_MIDPOINT, home.id, home_table, band, point, refs, host_bands, normal, clause)

    def _several(self, hosts: tuple[tuple, ...], home_hei: str, field: str | None, year: str | None) -> Converted:
        """``_convert`` of several plain host tuples (``convert_plain``), from each tuple's kept reading (``_read_plain``).

        The common case, every grade graded and passing, costs the weighted mean, a band scan and the models.
        """
        home = self._homes.get(home_hei)
        if home is None:
            home = self._homes[home_hei] = home_scheme(home_hei)
        plain = self._plain
        # one loop over the kept readings: the HostResults, whether all passed, and the graded ones' parts
        normal, passed, tables, refs, bands, weights, halves = [], True, [], [], [], [], []
        for h in hosts:
            r = plain.get(h) or self._read_plain(h)
            normal.append(r[0])
            if not r[1]:
                passed = False
            elif r[2] is not None:
                bands.append(r[2])
                weights.append(r[3])
                halves.append(r[5])
                tables.append(r[6])
                refs.append(r[7])
        normal = tuple(normal)
        if not passed or home.pass_fail_only:
            return _converted(None, home.id, passed, _NONE, normal)
        if len(bands) < 2:  # pass/fail results among them: one position at most
            return self._convert(hosts, home_hei, field, year, None)
        home_table = self.tables.lookup(home.id, field or None, year or None)
        total = sum(weights)
        if total > 0:  # _convert's float operations: the same sums of the same terms
            point = sum(halves) / total
        else:  # no ECTS to weigh by: each counts once
            point = self._unweighted(hosts)
        return self._midpoint(home, home_table, point, tuple(tables), tuple(bands), normal, tuple(refs))

    def _unweighted(self, hosts: tuple[tuple, ...]) -> float:
        """The mean of the graded hosts' band midpoints, each counting once, in ``_convert``'s float operations."""
        reads = [self._plain.get(h) or self._read_plain(h) for h in hosts]
        sums = [r[4] for r in reads if r[1] and r[2] is not None]
        return sum([s / 2 for s in sums]) / len(sums)  # weights of 1.0: the same floats as _convert's

    def _read_plain(self, h: tuple) -> tuple:
        """What ``_several`` reads of a plain host tuple, kept: (its HostResult, passed, its band if graded, its
        ECTS as a weight, its band's lower + upper bound, weight * that / 2, its table, the table's reference).

        Raises as ``_host`` does (nothing is kept then).
        """
        f, y = h[3] or None, h[4] or None
        normal, passed, _, table, band = self._host(h[0], h[1], f, y)
        weight = float(h[2])
        bounds = None if band is None else band.lower + band.upper
        found = (_host_result(HostResult, (h[0], normal, h[2], f, y)), passed, band, weight, bounds,
                 None if band is None else weight * bounds / 2, table, None if table is None else table.ref)
        plain = self._plain
        if len(plain) > CACHE_SIZE:
            plain.clear()
        plain[h] = found
        return found

    def _band(self, table: GradingTable, band: Band) -> str:
        key = (table, band.label)
        found = self._band_text.get(key)
        if found is None:
            found = self._band_text[key] = f"{band.lower:.4g}–{band.upper:.4g} %"
        return found

    def _tables(self, host_tables: tuple, home_table: GradingTable) -> str:
        key = (host_tables, home_table)
        found = self._tables_text.get(key)
        if found is None:
            from .explain import table_short

            if len(self._tables_text) > 10_000:
                self._tables_text.clear()
            hosts = "; ".join(table_short(t) for t in dict.fromkeys(t.ref for t in host_tables))
            found = self._tables_text[key] = f"(tables: {hosts} → {table_short(home_table.ref)})"
        return found


_host_result = tuple.__new__  # HostResult(*values) without the named tuple's keyword handling


def _finished(method, home_scheme_id: str, home_table: GradingTable, band: Band, point: float | None, host_refs: tuple,
              host_bands: tuple, normal: tuple, clause: str, overlap=None) -> Converted:
    """A graded conversion's result, its provenance and the clause explaining it (what the cached property would work
    out, ``explain.conversion_clause``)."""
    conversion = built(Conversion, _CONVERSION_FIELDS, _CONVERSION_SET, {
        "method": method,
        "host_tables": host_refs,
        "home_table": home_table.ref,
        "host_bands": host_bands,
        "home_band": band,
        "point": point,
    })
    converted = _converted(band.label, home_scheme_id, True, conversion, normal, overlap)
    converted.__dict__["clause"] = clause
    return converted


def _converted(label, home_scheme_id, passed, conversion, hosts, overlap=None) -> Converted:
    """``Converted(...)`` with its fields set directly (the frozen dataclass sets each through ``object.__setattr__``)."""
    c = object.__new__(Converted)
    c.__dict__.update(label=label, home_scheme_id=home_scheme_id, passed=passed, conversion=conversion, hosts=hosts,
                      overlap=overlap)
    return c
_NONE = Conversion(method=ConversionMethod.NONE)
_PASS_FAIL = Conversion(method=ConversionMethod.PASS_FAIL)
_OVERLAP, _MIDPOINT = ConversionMethod.BAND_OVERLAP, ConversionMethod.WEIGHTED_MIDPOINT
_OVERLAP_TEXT, _MIDPOINT_TEXT = _OVERLAP.value, _MIDPOINT.value  # an enum's value is a property: read once
_CONVERSION_FIELDS = {"method", "host_tables", "home_table", "host_bands", "home_band", "point"}
_CONVERSION_SET = setters(Conversion)


def best_overlap(host: Band, home: GradingTable) -> tuple[Band, float | None, float | None]:
    """The home band overlapping ``host`` most (ties to the better grade); a zero-width host band goes by its point."""
    if host.upper - host.lower <= _EPS:
        return band_at(host.lower, home), None, host.lower
    best, best_overlap_ = home.bands[0], -1.0
    for band in home.bands:  # best first, so a strict ">" keeps the better grade on a tie
        overlap = min(host.upper, band.upper) - max(host.lower, band.lower)
        if overlap > best_overlap_ + _EPS:
            best, best_overlap_ = band, overlap
    return best, round(best_overlap_, 6), None


def band_at(point: float, home: GradingTable) -> Band:
    """The home band containing ``point``; on a boundary the better grade; zero-width bands are skipped."""
    for band in home.bands:
        if band.upper - band.lower > _EPS and band.lower - _EPS <= point <= band.upper + _EPS:
            return band
    return home.bands[-1]


_converters: "weakref.WeakKeyDictionary[GradingTables, Converter]" = weakref.WeakKeyDictionary()


def converter_for(tables: GradingTables | None = None) -> Converter:
    """The shared, caching converter of a table set (default: the shipped tables)."""
    tables = tables if tables is not None else default_tables()
    conv = _converters.get(tables)
    if conv is None:
        conv = _converters[tables] = Converter(tables)
    return conv


def convert(
    hosts: Sequence[HostResult] | HostResult,
    home_hei: str,
    *,
    field: str | None = None,
    year: str | None = None,
    tables: GradingTables | None = None,
    home_scheme_id: str | None = None,
) -> Converted:
    """Convert with ``tables`` (default: the shipped tables); see the module docstring for the method."""
    return converter_for(tables).convert(hosts, home_hei, field=field, year=year, home_scheme_id=home_scheme_id)
