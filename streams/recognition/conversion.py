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

from schemas.grading import home_scheme, scheme
from schemas.models import Band, Conversion, ConversionMethod

from .tables import GradingTable, GradingTables, default_tables

__all__ = ["Converted", "Converter", "HostResult", "convert", "converter_for"]

_EPS = 1e-9


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
    """Converts with one set of grading tables, caching every answer."""

    def __init__(self, tables: GradingTables | None = None):
        self.tables = tables if tables is not None else default_tables()
        self._cache: dict[tuple, Converted] = {}

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
            if len(self._cache) > 100_000:
                self._cache.clear()
            found = self._cache[key] = self._convert(tuple(hosts), home_hei, field, year, home_scheme_id)
        return found

    def convert_plain(self, hosts: tuple[tuple, ...], home_hei: str, field: str | None, year: str | None) -> Converted:
        """``convert`` of host grades given as plain ``(scheme_id, label, ects, field, year)`` tuples (the rules' form)."""
        key = (hosts, home_hei, field, year, None)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            found = self._cache[key] = self._convert(tuple([HostResult(*h) for h in hosts]), home_hei, field, year, None)
        return found

    def _convert(self, hosts, home_hei, field, year, home_scheme_id) -> Converted:
        if not hosts:
            raise ValueError("nothing to convert: give at least one host grade")
        home = scheme(home_scheme_id) if home_scheme_id else home_scheme(home_hei)
        normal = tuple(
            HostResult(h.scheme_id, scheme(h.scheme_id).normalise(h.label), h.ects, h.field or None, h.year or None)
            for h in hosts
        )
        if normal == hosts:  # labels as the scheme spells them already: keep one copy
            normal = hosts
        passed = all(scheme(h.scheme_id).is_pass(h.label) for h in normal)
        if not passed or home.pass_fail_only:
            return Converted(None, home.id, passed, Conversion(method=ConversionMethod.NONE), normal)
        graded = [h for h in normal if not scheme(h.scheme_id).pass_fail_only]
        if not graded:
            return Converted(None, home.id, True, Conversion(method=ConversionMethod.PASS_FAIL), normal)
        host_tables = [self.tables.lookup(h.scheme_id, h.field, h.year) for h in graded]
        host_bands = [t.band(h.label) for t, h in zip(host_tables, graded)]
        home_table = self.tables.lookup(home.id, field, year)
        if len(graded) == 1:
            band, overlap, point = best_overlap(host_bands[0], home_table)
            method = ConversionMethod.BAND_OVERLAP
        else:
            weights = [float(h.ects) for h in graded]
            if sum(weights) <= 0:
                weights = [1.0] * len(graded)
            point = sum(w * (b.lower + b.upper) / 2 for w, b in zip(weights, host_bands)) / sum(weights)
            band, overlap = band_at(point, home_table), None
            method = ConversionMethod.WEIGHTED_MIDPOINT
        conversion = Conversion(
            method=method,
            host_tables=tuple(t.ref for t in host_tables),
            home_table=home_table.ref,
            host_bands=tuple(host_bands),
            home_band=band,
            point=None if point is None else round(point, 6),
        )
        return Converted(band.label, home.id, True, conversion, normal, overlap)


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
