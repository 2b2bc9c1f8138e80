"""The Learning Agreement as a decision page explains it: the current version's tables and what changed.

Pure code over ``schemas.models.LearningAgreement``: components are matched
between two versions by their course code, the key the recogniser uses too.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.models import HostGrade, LaComponent, LearningAgreement

__all__ = ["COMPARED", "ComponentChange", "LaChanges", "group_of", "la_changes", "latest_grades"]

# the fields of a component whose change a registrar must see (ids of the catalogue entry included)
COMPARED = ("title", "ects", "term_id", "recognition_conditions", "isced_code", "los_id", "loi_id")


@dataclass(frozen=True)
class ComponentChange:
    """One component added, removed or changed between two LA versions."""

    table: str  # "A" (studied at the host) or "B" (recognised at home)
    change: str  # "added", "removed" or "changed"
    course_code: str
    before: LaComponent | None
    after: LaComponent | None
    fields: tuple[str, ...] = ()  # for "changed": which of COMPARED differ


@dataclass(frozen=True)
class LaChanges:
    """What version ``after`` changed against version ``before`` of the same mobility's LA."""

    before: int
    after: int
    components: tuple[ComponentChange, ...]
    groups_changed: bool

    @property
    def empty(self) -> bool:
        return not self.components and not self.groups_changed


def _table(table: str, old: tuple[LaComponent, ...], new: tuple[LaComponent, ...]) -> list[ComponentChange]:
    before, after = {c.course_code: c for c in old}, {c.course_code: c for c in new}
    out = [ComponentChange(table, "removed", code, c, None) for code, c in before.items() if code not in after]
    for code, c in after.items():
        if code not in before:
            out.append(ComponentChange(table, "added", code, None, c))
            continue
        fields = tuple(f for f in COMPARED if getattr(before[code], f) != getattr(c, f))
        if fields:
            out.append(ComponentChange(table, "changed", code, before[code], c, fields))
    return out


def _groups(la: LearningAgreement) -> set[tuple[str, frozenset[str], frozenset[str]]]:
    return {(g.group_id, frozenset(g.studied), frozenset(g.recognized)) for g in la.recognition_groups}


def la_changes(before: LearningAgreement, after: LearningAgreement) -> LaChanges:
    """Table A then Table B changes from ``before`` to ``after``, each in the order of the newer version."""
    parts = _table("A", before.components_studied, after.components_studied)
    parts += _table("B", before.components_recognized, after.components_recognized)
    return LaChanges(before.version, after.version, tuple(parts), _groups(before) != _groups(after))


def group_of(la: LearningAgreement, home_component: str) -> tuple[str, ...]:
    """The Table A codes whose results decide ``home_component``: its explicit groups, else all of Table A;
    none when it is not in Table B (a host result outside the LA, or a component the LA dropped)."""
    if home_component not in {c.course_code for c in la.components_recognized}:
        return ()
    codes: list[str] = []
    for g in la.recognition_groups:
        if home_component in g.recognized:
            codes += [c for c in g.studied if c not in codes]
    return tuple(codes) if codes else tuple(c.course_code for c in la.components_studied)


def latest_grades(provenances: list[tuple[HostGrade, ...]]) -> dict[str, HostGrade]:
    """Host course code -> the grade seen last; ``provenances`` in the order they should override each other."""
    out: dict[str, HostGrade] = {}
    for grades in provenances:
        for g in grades:
            out[g.course_code] = g
    return out
