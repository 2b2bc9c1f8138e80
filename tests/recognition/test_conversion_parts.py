"""The converter's kept parts (per host label, per table pair) give what converting from scratch gives."""

from __future__ import annotations

import random

from schemas.grading import SCHEMES, home_scheme, scheme
from schemas.institutions import SCHAC_CODES
from schemas.models import Conversion, ConversionMethod
from streams.recognition import Converter, HostResult, default_tables
from streams.recognition.conversion import band_at, best_overlap
from streams.recognition.explain import conversion_clause

FIELDS = (None, "0613", "0413", "0714", "")
YEARS = (None, "2025/2026", "2019/2020")


def _from_scratch(tables, hosts, home_hei, field, year):
    """The conversion worked out step by step, with validated models (the method of conversion.py's docstring)."""
    home = home_scheme(home_hei)
    normal = tuple(HostResult(h.scheme_id, scheme(h.scheme_id).normalise(h.label), h.ects, h.field or None,
                              h.year or None) for h in hosts)
    if not all(scheme(h.scheme_id).is_pass(h.label) for h in normal) or home.pass_fail_only:
        return None, home.id, Conversion(method=ConversionMethod.NONE), normal, None
    graded = [h for h in normal if not scheme(h.scheme_id).pass_fail_only]
    if not graded:
        return None, home.id, Conversion(method=ConversionMethod.PASS_FAIL), normal, None
    host_tables = [tables.lookup(h.scheme_id, h.field, h.year) for h in graded]
    host_bands = [t.band(h.label) for t, h in zip(host_tables, graded)]
    home_table = tables.lookup(home.id, field, year)
    if len(graded) == 1:
        band, overlap, point = best_overlap(host_bands[0], home_table)
        method = ConversionMethod.BAND_OVERLAP
    else:
        weights = [float(h.ects) for h in graded]
        point = sum(w * (b.lower + b.upper) / 2 for w, b in zip(weights, host_bands)) / sum(weights)
        band, overlap, method = band_at(point, home_table), None, ConversionMethod.WEIGHTED_MIDPOINT
    conversion = Conversion(method=method, host_tables=tuple(t.ref for t in host_tables), home_table=home_table.ref,
                            host_bands=tuple(host_bands), home_band=band,
                            point=None if point is None else round(point, 6))
    return band.label, home.id, conversion, normal, overlap


def test_kept_parts_convert_as_from_scratch_for_random_grades_of_every_scheme():
    rng = random.Random(5)
    tables = default_tables()
    conv = Converter(tables)
    ids = sorted(SCHEMES)
    for _ in range(3000):
        hosts = []
        for _ in range(rng.choice((1, 1, 2, 3, 5))):
            sch = scheme(rng.choice(ids))
            label = rng.choice(sch.passing_labels if rng.random() < 0.9 else sch.labels)
            hosts.append(HostResult(sch.id, label, rng.choice((5, 6, 7.5)), rng.choice(FIELDS), rng.choice(YEARS)))
        home_hei, field, year = rng.choice(SCHAC_CODES), rng.choice(FIELDS), rng.choice(YEARS)
        plain = tuple(tuple(h) for h in hosts)
        for c in (conv.convert(hosts, home_hei, field=field, year=year),
                  conv.convert_plain(plain, home_hei, field, year)):
            label, home_id, conversion, normal, overlap = _from_scratch(tables, hosts, home_hei, field, year)
            assert (c.label, c.home_scheme_id, c.hosts, c.overlap) == (label, home_id, normal, overlap)
            assert all(type(h) is HostResult for h in c.hosts)
            assert c.conversion == conversion
            assert c.conversion.model_dump_json() == conversion.model_dump_json()
            assert c.clause == conversion_clause(c)
