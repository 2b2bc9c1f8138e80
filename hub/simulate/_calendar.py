"""The simulated academic year: terms, exam and resit periods, mobility windows, local term names.

One calendar serves all nine partners (real semesters differ by a few weeks, see
domain.md §6); what differs per partner is how its SIS names a term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property

_YEAR = re.compile(r"^(\d{4})/(\d{4})$")


class BadAcademicYear(ValueError):
    """An academic year that is not ``YYYY/YYYY`` with consecutive years (e.g. 2025/2026)."""


@dataclass(frozen=True)
class Calendar:
    """Dates of one academic year; term 1 is autumn, term 2 spring."""

    year: str

    def __post_init__(self) -> None:
        m = _YEAR.match(self.year)
        if not m or int(m.group(2)) != int(m.group(1)) + 1:
            raise BadAcademicYear(f"academic year {self.year!r}: write it as YYYY/YYYY with consecutive years, e.g. 2025/2026")

    @cached_property
    def y0(self) -> int:
        return int(self.year[:4])

    @cached_property
    def y1(self) -> int:
        return self.y0 + 1

    def earlier_years(self, n: int) -> list[str]:
        """The n academic years before this one, oldest first."""
        return [f"{self.y0 - k}/{self.y0 - k + 1}" for k in range(n, 0, -1)]

    def term_id(self, term: int) -> str:
        """The hub's term id: EWP academic year and term number (``2025/2026-1``)."""
        return f"{self.year}-{term}"

    def term_start(self, term: int) -> date:
        return date(self.y0, 9, 1) if term == 1 else date(self.y1, 2, 2)

    def term_end(self, term: int) -> date:
        return date(self.y1, 1, 31) if term == 1 else date(self.y1, 6, 30)

    def exams(self, term: int) -> tuple[date, date]:
        return (date(self.y1, 1, 7), date(self.y1, 1, 28)) if term == 1 else (date(self.y1, 6, 1), date(self.y1, 6, 19))

    def resits(self, term: int) -> tuple[date, date]:
        return (date(self.y1, 2, 16), date(self.y1, 3, 6)) if term == 1 else (date(self.y1, 8, 17), date(self.y1, 9, 4))

    # mobility windows (nomination deadlines per domain.md §6: spring for autumn, autumn for spring)
    def nomination(self, term: int) -> tuple[date, date]:
        return (date(self.y0, 3, 20), date(self.y0, 5, 15)) if term == 1 else (date(self.y0, 9, 20), date(self.y0, 11, 10))

    def la_approval(self, term: int) -> tuple[date, date]:
        return (date(self.y0, 6, 1), date(self.y0, 8, 15)) if term == 1 else (date(self.y0, 11, 25), date(self.y1, 1, 15))

    def arrival(self, term: int) -> tuple[date, date]:
        return (date(self.y0, 8, 25), date(self.y0, 9, 5)) if term == 1 else (date(self.y1, 1, 26), date(self.y1, 2, 6))

    def la_change(self, term: int) -> tuple[date, date]:
        return (date(self.y0, 9, 15), date(self.y0, 10, 10)) if term == 1 else (date(self.y1, 2, 16), date(self.y1, 3, 10))

    def departure(self, term: int) -> tuple[date, date]:
        return (date(self.y1, 1, 29), date(self.y1, 2, 6)) if term == 1 else (date(self.y1, 6, 20), date(self.y1, 7, 3))

    def start_of_year(self) -> datetime:
        return datetime(self.y0, 3, 1, tzinfo=timezone.utc)

    def local_term(self, hei: str, term: int) -> str:
        """How a partner's SIS names a term of this year."""
        y0, y1 = self.y0, self.y1
        autumn = term == 1
        return {
            "hh.se": f"HT{y0}" if autumn else f"VT{y1}",
            "th-deg.de": f"WS {y0}/{str(y1)[2:]}" if autumn else f"SS {y1}",
            "mendelu.cz": f"ZS {self.year}" if autumn else f"LS {self.year}",
            "thomasmore.be": f"{y0}-{y1} S1" if autumn else f"{y0}-{y1} S2",
            "ucn.dk": f"E{str(y0)[2:]}" if autumn else f"F{str(y1)[2:]}",
            "ipbeja.pt": f"{y0}/{str(y1)[2:]} S1" if autumn else f"{y0}/{str(y1)[2:]} S2",
            "seamk.fi": f"{y0}-{y1} syksy" if autumn else f"{y0}-{y1} kevät",
            "fontys.nl": f"{self.year} S1" if autumn else f"{self.year} S2",
        }.get(hei, self.term_id(term))


# Standard (winter) UTC offsets in hours; EU summer time adds one hour (no tz database needed).
STANDARD_OFFSET: dict[str, int] = {
    "thomasmore.be": 1, "fontys.nl": 1, "ucn.dk": 1, "ipbeja.pt": 0, "th-deg.de": 1,
    "hh.se": 1, "seamk.fi": 2, "viko.lt": 2, "mendelu.cz": 1,
}


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)
    return date.fromordinal(day.toordinal() - (day.weekday() + 1) % 7)


def local_time(ts: datetime, hei: str) -> datetime:
    """``ts`` in the partner's local time (EU summer time from the last Sunday of March to October, 01:00 UTC)."""
    ts = ts.astimezone(timezone.utc)
    start = datetime.combine(_last_sunday(ts.year, 3), datetime.min.time(), timezone.utc) + timedelta(hours=1)
    end = datetime.combine(_last_sunday(ts.year, 10), datetime.min.time(), timezone.utc) + timedelta(hours=1)
    hours = STANDARD_OFFSET[hei] + (1 if start <= ts < end else 0)
    return ts.astimezone(timezone(timedelta(hours=hours)))
