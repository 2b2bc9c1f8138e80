"""Shared strings, and the lookups of an LA version that follow from its shape, shared between versions.

Codes and decision keys are compared and looked up on every event: each is kept as one
shared (interned) string.  An LA version's lookups other than its components (``LaFact``)
depend only on its course codes, groups and recognition conditions, which the LAs of one
programme repeat: they are worked out once per shape and shared, read only.
"""

from __future__ import annotations

import sys

from schemas.models import LearningAgreement

__all__ = ["SHAPES_SIZE", "la_shape", "shared", "shared_keys"]

# Codes with few values (institutions, courses, schemes, years, fields) are kept as one shared string each:
# a result then refers to strings in use anyway, so the collector walking it touches less cold memory.
shared = sys.intern


def shared_keys(prefix: str, size: int = 10_000):
    """A function giving ``prefix + code`` as a shared string (see :func:`shared`), the last ``size`` or so kept:
    decision keys are asked for on every event, and courses are few."""
    made: dict[str, str] = {}

    def key(code: str) -> str:
        found = made.get(code)
        if found is None:
            if len(made) > size:
                made.clear()
            found = made[code] = shared(prefix + code)
        return found

    return key


_b_key = shared_keys("B:")  # a Table B component's decision key


_SHAPES: dict[tuple, tuple] = {}
SHAPES_SIZE = 4_096


def la_shape(la: LearningAgreement) -> tuple:
    """The lookups of ``LaFact`` that follow from an LA's course codes, groups and conditions alone, shared.

    LAs of one programme name the same courses and groups: what a version needs besides its
    components is worked out once per such shape (bounded: the cache empties when full) and
    never changed after, so versions of any student may share it.
    """
    a_codes = tuple([c.course_code for c in la.components_studied])
    b_given = tuple([(c.course_code, c.recognition_conditions) for c in la.components_recognized])
    explicit = la.recognition_groups
    key = (a_codes, b_given, tuple([(g.group_id, g.studied, g.recognized) for g in explicit]) if explicit else ())
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) >= SHAPES_SIZE:
            _SHAPES.clear()
        found = _SHAPES[key] = _work_out_shape(a_codes, b_given, explicit)
    return found


def _work_out_shape(a_codes: tuple, b_given: tuple, explicit) -> tuple:
    """(Table A codes, Table B codes, in_la, groups, b_keys, need_keys, need_groups, studied, extra) as ``LaFact`` keeps
    them."""
    # codes and decision keys as shared strings (see shared): looked up and compared on every event
    a_codes = tuple([shared(c) for c in a_codes])
    b_codes = tuple([shared(c) for c, _ in b_given])
    conditions = dict(zip(b_codes, [cond for _, cond in b_given]))  # a code given twice: the last one counts
    table_b = dict.fromkeys(b_codes)
    # per Table B code: (group id, Table A codes it needs); without an explicit group: all of Table A
    all_a = tuple(dict.fromkeys(a_codes))
    b_keys: tuple[str, ...] = tuple([_b_key(b) for b in table_b])  # as decision keys
    if not explicit:
        in_la: dict = dict.fromkeys(all_a)  # host codes the LA covers (only asked "in")
        groups: dict[str, tuple[str, tuple[str, ...]]] = {code: (shared("implicit:" + code), all_a) for code in table_b}
        every_b = tuple(sorted(b_keys))  # "B:" + code sorts as the codes do
        # host code -> the keys of the Table B components whose group needs it
        need_keys: dict[str, tuple[str, ...]] = dict.fromkeys(all_a, every_b) if every_b else {}
    else:
        codes = set(all_a)
        for g in explicit:
            codes.update(g.studied)
        in_la = dict.fromkeys(codes)  # Table A and any code a group names (a dict of strings is untracked)
        groups = {}
        for code in table_b:
            ids: list[str] = []
            studied: list[str] = []
            for g in explicit:
                if code in g.recognized:
                    ids.append(g.group_id)
                    studied.extend(shared(a) for a in g.studied if a not in studied)
            groups[code] = (shared("+".join(ids)), tuple(studied)) if ids else (shared(f"implicit:{code}"), all_a)
        needs: dict[str, set[str]] = {}
        for b, (_, studied_codes) in groups.items():
            for a in studied_codes:
                needs.setdefault(a, set()).add(b)
        need_keys = {a: tuple([_b_key(b) for b in sorted(bs)]) for a, bs in needs.items()}
    # per decision key of Table B, the Table A codes its group needs (asked on every grade of one of them)
    studied_of: dict[str, tuple[str, ...]] = {k: g[1] for k, g in zip(b_keys, groups.values())}
    need_groups = _by_group(need_keys, studied_of)
    # what a decision id records of each group
    extra: dict[str, str] = {
        b: f"{group_id}|{','.join(studied_codes)}|{conditions[b] or ''}" for b, (group_id, studied_codes) in groups.items()
    }
    return a_codes, b_codes, in_la, groups, b_keys, need_keys, need_groups, studied_of, extra


def _by_group(need_keys: dict[str, tuple[str, ...]], studied_of: dict[str, tuple[str, ...]]) -> dict[str, tuple]:
    """Per host code, the groups needing it as (Table A codes, the decision keys of that group): the keys of an
    implicit group share one test of whether all of its courses passed."""
    out = {}
    for code, keys in need_keys.items():
        by_studied: dict[tuple[str, ...], list[str]] = {}
        for key in keys:
            by_studied.setdefault(studied_of[key], []).append(key)
        out[code] = tuple([(studied, tuple(same)) for studied, same in by_studied.items()])
    return out
