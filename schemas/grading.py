"""The partners' grading schemes as data: ordered labels, pass flags, accepted spellings.

A scheme id is ``<schac>/<name>``; labels are strings listed best first and compared
exactly (``"02"`` is not ``"2"``).  Other spellings a SIS prints are accepted only
where the shared contract lists them (aliases, a decimal comma, a ``/20`` suffix,
Fontys rounding); anything else raises :class:`UnknownGrade` naming the valid
labels, never a guess.  Pure reference data: connectors, the simulator and the
stream processors all read it, so it imports nothing beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "GradingScheme",
    "SCHEMES",
    "UnknownGrade",
    "UnknownScheme",
    "home_scheme",
    "is_pass",
    "normalise_label",
    "scheme",
    "schemes_of",
]


class UnknownScheme(ValueError):
    """A grading scheme id that is not in the shared list; fix the producer's scheme id."""


class UnknownGrade(ValueError):
    """A grade label that is not a label (or accepted spelling) of its scheme; the message lists the valid ones."""


@dataclass(frozen=True)
class GradingScheme:
    """One grading scale of one institution.

    ``labels`` run best first; ``passing`` is the set of passing labels (always a
    prefix of ``labels``).  ``aliases`` map other exact spellings onto a label;
    ``decimal_comma`` accepts ``1,3`` for ``1.3``; ``strip_suffix`` accepts
    ``15/20`` for ``15``; ``round_half_up`` rounds a decimal grade to the integer
    label (Fontys rounds final grades: 5.5 -> 6, 5.4 -> 5).
    """

    id: str
    hei: str
    labels: tuple[str, ...]
    passing: frozenset[str]
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    pass_fail_only: bool = False
    is_home_default: bool = False
    decimal_comma: bool = False
    strip_suffix: str | None = None
    round_half_up: bool = False

    def __post_init__(self) -> None:
        n = len(self.passing)
        if set(self.labels[:n]) != self.passing:
            raise ValueError(f"{self.id}: passing labels must be the first {n} labels (best first)")
        for alias, label in self.aliases.items():
            if label not in self.labels:
                raise ValueError(f"{self.id}: alias {alias!r} points to unknown label {label!r}")

    @property
    def passing_labels(self) -> tuple[str, ...]:
        """The passing labels, best first."""
        return self.labels[: len(self.passing)]

    @property
    def failing_labels(self) -> tuple[str, ...]:
        return self.labels[len(self.passing) :]

    @property
    def pass_mark(self) -> str:
        """The lowest passing label (what a pass/fail result means on this scale)."""
        return self.passing_labels[-1]

    def rank(self, label: str) -> int:
        """0 for the best label; larger is worse."""
        return self.labels.index(label)

    def normalise(self, raw: str) -> str:
        """The label ``raw`` stands for, or raise UnknownGrade."""
        text = raw.strip()
        if text in self.labels:
            return text
        if text in self.aliases:
            return self.aliases[text]
        candidate = text
        if self.strip_suffix and candidate.endswith(self.strip_suffix):
            candidate = candidate[: -len(self.strip_suffix)].strip()
        if self.decimal_comma:
            candidate = candidate.replace(",", ".")
        if candidate != text:
            if candidate in self.labels:
                return candidate
            if candidate in self.aliases:
                return self.aliases[candidate]
        if self.round_half_up:
            rounded = _round_half_up(candidate)
            if rounded in self.labels:
                return rounded
        spellings = f"; also accepted: {', '.join(repr(a) for a in self.aliases)}" if self.aliases else ""
        raise UnknownGrade(
            f"{raw!r} is not a grade of {self.id}: valid labels (best first) are "
            f"{', '.join(self.labels)}{spellings}"
        )

    def is_pass(self, label: str) -> bool:
        return self.normalise(label) in self.passing


def _round_half_up(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return ""
    if not value.is_finite():
        return ""
    return str(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def _s(
    scheme_id: str,
    labels: str,
    n_passing: int,
    aliases: dict[str, str] | None = None,
    **flags: object,
) -> GradingScheme:
    names = tuple(labels.split("|"))
    return GradingScheme(
        id=scheme_id,
        hei=scheme_id.split("/", 1)[0],
        labels=names,
        passing=frozenset(names[:n_passing]),
        aliases=MappingProxyType(dict(aliases or {})),
        **flags,  # type: ignore[arg-type]
    )


_0_20 = "|".join(str(n) for n in range(20, -1, -1))

# Labels separated by "|" (some labels contain spaces), best first; the number is how many pass.
_ALL: tuple[GradingScheme, ...] = (
    _s("thomasmore.be/0-20", _0_20, 11, strip_suffix="/20", is_home_default=True),
    _s("thomasmore.be/pass-fail", "geslaagd|niet geslaagd", 1, pass_fail_only=True),
    _s("fontys.nl/1-10", "10|9|8|7|6|5|4|3|2|1", 5, decimal_comma=True, round_half_up=True, is_home_default=True),
    _s("fontys.nl/pass-fail", "BEH|VR|NB", 2,
       {"behaald": "BEH", "vrijstelling": "VR", "niet behaald": "NB"}, pass_fail_only=True),
    _s("fontys.nl/OGSU", "U|G|S|O", 3),
    _s("ucn.dk/7-point", "12|10|7|4|02|00|-3", 5, {"\u22123": "-3"}, is_home_default=True),
    _s("ucn.dk/pass-fail", "bestået|ikke bestået", 1, pass_fail_only=True),
    _s("ipbeja.pt/0-20", _0_20, 11, is_home_default=True),
    _s("th-deg.de/1-5", "1.0|1.3|1.7|2.0|2.3|2.7|3.0|3.3|3.7|4.0|5.0", 10,
       {"1": "1.0", "2": "2.0", "3": "3.0", "4": "4.0", "5": "5.0", "Fristen-5": "5.0"},
       decimal_comma=True, is_home_default=True),
    _s("th-deg.de/pass-fail", "mit Erfolg|ohne Erfolg", 1,
       {"bestanden": "mit Erfolg", "nicht bestanden": "ohne Erfolg"}, pass_fail_only=True),
    _s("hh.se/U-G-VG", "VG|G|U", 2),
    _s("hh.se/U-3-4-5", "5|4|3|U", 3),
    _s("hh.se/A-F", "A|B|C|D|E|Fx|F", 5, {"FX": "Fx"}),
    _s("hh.se/pass-fail", "G|U", 1, pass_fail_only=True, is_home_default=True),
    _s("seamk.fi/0-5", "5|4|3|2|1|0", 5, {"hylätty": "0", "hyl.": "0"}, is_home_default=True),
    _s("seamk.fi/pass-fail", "H|S|hylätty", 2, {"hyväksytty": "H", "suoritettu": "S"}, pass_fail_only=True),
    _s("viko.lt/1-10", "10|9|8|7|6|5|4|3|2|1", 6, is_home_default=True),
    _s("viko.lt/pass-fail", "įskaityta|neįskaityta", 1, pass_fail_only=True),
    _s("mendelu.cz/A-F", "A|B|C|D|E|F", 5,
       {"1": "A", "1.5": "B", "1,5": "B", "2": "C", "2.5": "D", "2,5": "D", "3": "E", "4": "F"},
       is_home_default=True),
    _s("mendelu.cz/Z-N", "Z|N", 1, pass_fail_only=True),
)

SCHEMES: Mapping[str, GradingScheme] = MappingProxyType({s.id: s for s in _ALL})
_BY_HEI: dict[str, tuple[GradingScheme, ...]] = {}
for _scheme in _ALL:
    _BY_HEI[_scheme.hei] = _BY_HEI.get(_scheme.hei, ()) + (_scheme,)


def scheme(scheme_id: str) -> GradingScheme:
    """The scheme with this id, or raise UnknownScheme listing the known ids."""
    try:
        return SCHEMES[scheme_id]
    except KeyError:
        raise UnknownScheme(f"unknown grading scheme {scheme_id!r}: known schemes are {', '.join(SCHEMES)}") from None


def schemes_of(hei: str) -> tuple[GradingScheme, ...]:
    """Every scheme of an institution (SCHAC code), home default first."""
    found = _BY_HEI.get(hei.strip().lower())
    if not found:
        raise UnknownScheme(f"no grading schemes for {hei!r}: institutions with schemes are {', '.join(_BY_HEI)}")
    return tuple(sorted(found, key=lambda s: not s.is_home_default))


def home_scheme(hei: str) -> GradingScheme:
    """The scheme an institution records recognised credits in (hh.se: pass/fail, i.e. no home grade)."""
    return schemes_of(hei)[0]


def normalise_label(scheme_id: str, raw: str) -> str:
    """The exact label of ``scheme_id`` that ``raw`` spells, or raise UnknownGrade / UnknownScheme."""
    return scheme(scheme_id).normalise(raw)


def is_pass(scheme_id: str, label: str) -> bool:
    """Whether ``label`` (any accepted spelling) is a passing grade of ``scheme_id``."""
    return scheme(scheme_id).is_pass(label)
