"""Partner profiles and course catalogues: course codes in each SIS's style, ECTS, ISCED-F fields, schemes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from hub.simulate._rand import Rand, derived_uuid, sub_rng

# Relative sizes from domain.md §1 (students): they sum to ~117k, the alliance's ~120k.
SIZES: dict[str, float] = {
    "thomasmore.be": 19.0, "fontys.nl": 44.0, "ucn.dk": 9.0, "ipbeja.pt": 3.2, "th-deg.de": 8.5,
    "hh.se": 10.6, "seamk.fi": 5.5, "viko.lt": 7.0, "mendelu.cz": 9.5,
}

# ISCED-F fields per partner, each with the prefix its course codes use.
FIELDS: dict[str, dict[str, str]] = {
    "thomasmore.be": {"0413": "YB", "0613": "YT", "0714": "YE", "0923": "YS", "0913": "YV", "0114": "YL"},
    "fontys.nl": {"0613": "ICT", "0413": "BEC", "0714": "ELT", "0731": "BOU", "0211": "MED", "1014": "SPO", "0923": "SPH"},
    "ucn.dk": {"0413": "BUS", "0613": "ITA", "0732": "BYG", "0913": "SYG", "0923": "SOC", "0715": "MEK"},
    "ipbeja.pt": {"0811": "9104", "0413": "9119", "0613": "9130", "0913": "9500", "1013": "9250"},
    "th-deg.de": {"0613": "5", "0714": "3", "0715": "4", "0413": "7", "0541": "2", "0913": "8"},
    "hh.se": {"0613": "DT", "0714": "ET", "0413": "FE", "0913": "OM", "0111": "PE", "0314": "SO"},
    "seamk.fi": {"0811": "MA", "0413": "LI", "0715": "KO", "0913": "SO", "0721": "EL", "0613": "TI"},
    "viko.lt": {"0413": "EKF", "0613": "EIF", "0714": "ELF", "0212": "MDF", "0913": "SPF"},
    "mendelu.cz": {"0811": "AGR", "0821": "LDF", "0413": "EMA", "0311": "ENH", "0613": "EBC", "0731": "ZAH"},
}

TOPICS: dict[str, tuple[str, ...]] = {
    "0613": ("Programming", "Databases", "Web Development", "Software Engineering", "Algorithms and Data Structures",
             "Cloud Computing", "Mobile Applications", "Software Testing", "Cyber Security", "Machine Learning",
             "Operating Systems", "Computer Networks"),
    "0413": ("Marketing", "Accounting", "Business Economics", "Project Management", "Supply Chain Management",
             "Human Resource Management", "Entrepreneurship", "Business Law", "Corporate Finance", "International Business"),
    "0714": ("Electronics", "Control Engineering", "Embedded Systems", "Signal Processing", "Power Electronics",
             "Automation", "Robotics", "Circuit Design"),
    "0715": ("Mechanics", "Thermodynamics", "Materials Science", "Machine Design", "Fluid Mechanics",
             "Manufacturing Technology", "Computer Aided Design"),
    "0731": ("Architectural Design", "Urban Planning", "Building History", "Landscape Architecture", "Building Physics",
             "Construction Drawing"),
    "0732": ("Structural Engineering", "Building Materials", "Construction Management", "Geotechnics", "Surveying"),
    "0923": ("Social Work Practice", "Social Policy", "Youth Work", "Community Development", "Social Work Ethics",
             "Family Support"),
    "0913": ("Nursing Science", "Anatomy and Physiology", "Pharmacology", "Clinical Practice", "Public Health", "Gerontology"),
    "0114": ("Didactics", "Educational Psychology", "Teaching Practice", "Inclusive Education", "Curriculum Design"),
    "0111": ("Education Theory", "Learning Sciences", "Educational Research", "Pedagogy"),
    "0211": ("Audio-visual Production", "Photography", "Video Editing", "Media Design", "Sound Design"),
    "1014": ("Sports Science", "Coaching", "Exercise Physiology", "Sports Management"),
    "0811": ("Crop Production", "Animal Husbandry", "Soil Science", "Agricultural Economics", "Plant Protection", "Agronomy"),
    "0821": ("Forest Ecology", "Silviculture", "Forest Management", "Wood Technology", "Dendrology"),
    "0311": ("Microeconomics", "Macroeconomics", "Econometrics", "Public Economics", "International Economics"),
    "0541": ("Mathematics", "Linear Algebra", "Calculus", "Statistics", "Numerical Methods", "Discrete Mathematics"),
    "0314": ("Sociology", "Social Research Methods", "Urban Sociology", "Sociology of Work"),
    "1013": ("Hospitality Management", "Gastronomy", "Food and Beverage Management", "Event Management"),
    "0721": ("Food Processing", "Food Chemistry", "Food Safety", "Food Microbiology"),
    "0212": ("Fashion Design", "Interior Design", "Textile Design", "Graphic Design"),
}
_MODIFIERS = (("", 4.0), ("Introduction to ", 2.0), ("Advanced ", 1.5), ("Applied ", 1.5), ("Project: ", 1.0))
_NUMERALS = (("", 4.0), (" 1", 1.0), (" 2", 1.0), (" I", 0.5), (" II", 0.5))

_DEFAULT_ECTS = (("3", 15.0), ("5", 30.0), ("6", 25.0), ("7.5", 20.0), ("4", 5.0), ("10", 5.0))
ECTS_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    "hh.se": (("7.5", 55.0), ("15", 8.0), ("3", 10.0), ("5", 12.0), ("6", 15.0)),
    "fontys.nl": (("3", 25.0), ("5", 35.0), ("6", 20.0), ("7.5", 10.0), ("4", 10.0)),
    "ucn.dk": (("5", 40.0), ("10", 30.0), ("7.5", 20.0), ("15", 10.0)),
    "th-deg.de": (("5", 60.0), ("6", 20.0), ("3", 10.0), ("7.5", 10.0)),
    "thomasmore.be": (("3", 30.0), ("4", 15.0), ("5", 20.0), ("6", 25.0), ("7.5", 10.0)),
}

# Which scheme a course uses: (scheme id, weight, fields it is limited to or None)
SCHEME_USE: dict[str, tuple[tuple[str, float, tuple[str, ...] | None], ...]] = {
    "thomasmore.be": (("thomasmore.be/0-20", 92, None), ("thomasmore.be/pass-fail", 8, None)),
    "fontys.nl": (("fontys.nl/1-10", 85, None), ("fontys.nl/pass-fail", 8, None), ("fontys.nl/OGSU", 20, ("0613",))),
    "ucn.dk": (("ucn.dk/7-point", 90, None), ("ucn.dk/pass-fail", 10, None)),
    "ipbeja.pt": (("ipbeja.pt/0-20", 100, None),),
    "th-deg.de": (("th-deg.de/1-5", 88, None), ("th-deg.de/pass-fail", 12, None)),
    "hh.se": (("hh.se/pass-fail", 30, None), ("hh.se/U-G-VG", 40, None), ("hh.se/U-3-4-5", 35, ("0613", "0714")),
              ("hh.se/A-F", 10, None)),
    "seamk.fi": (("seamk.fi/0-5", 88, None), ("seamk.fi/pass-fail", 12, None)),
    "viko.lt": (("viko.lt/1-10", 92, None), ("viko.lt/pass-fail", 8, None)),
    "mendelu.cz": (("mendelu.cz/A-F", 85, None), ("mendelu.cz/Z-N", 15, None)),
}


@dataclass(frozen=True, slots=True)
class Course:
    """A course (instance) of one term at one partner."""

    hei: str
    code: str
    title: str
    ects: Decimal
    isced: str
    term: int
    scheme_id: str
    uid: str

    @property
    def los_id(self) -> str:
        return f"CR/{self.uid}"

    def native_uid(self, what: str) -> str:
        """A further stable UUID of this course (Ladok KursUID, OOAPI offeringId, ...)."""
        return _native_uid(self.uid, what)


@lru_cache(maxsize=65536)
def _native_uid(uid: str, what: str) -> str:
    return derived_uuid(uid, what)


@dataclass
class Catalogue:
    """All courses of one partner, by code and by (term, field)."""

    hei: str
    courses: list[Course] = field(default_factory=list)
    by_code: dict[str, Course] = field(default_factory=dict)
    pools: dict[tuple[int, str], list[Course]] = field(default_factory=dict)

    def add(self, course: Course) -> None:
        self.courses.append(course)
        self.by_code[course.code] = course
        self.pools.setdefault((course.term, course.isced), []).append(course)

    def pool(self, term: int, isced: str) -> list[Course]:
        return self.pools.get((term, isced), [])

    def term_courses(self, term: int) -> list[Course]:
        return [c for c in self.courses if c.term == term]


def split_students(total: int) -> dict[str, int]:
    """Students per partner, proportional to real sizes (largest remainder), every partner at least one."""
    weight = sum(SIZES.values())
    raw = {h: total * w / weight for h, w in SIZES.items()}
    counts = {h: int(v) for h, v in raw.items()}
    order = sorted(SIZES, key=lambda h: (-(raw[h] - counts[h]), h))
    for h in order[: total - sum(counts.values())]:
        counts[h] += 1
    for h in SIZES:
        if counts[h] == 0 and total >= len(SIZES):
            donor = max(counts, key=lambda k: (counts[k], k))
            counts[donor] -= 1
            counts[h] = 1
    return counts


def build_catalogue(seed: int, hei: str, students: int) -> Catalogue:
    """Courses of one partner, enough that classes hold roughly 30-150 students."""
    rng = sub_rng(seed, "catalogue", hei)
    fields = FIELDS[hei]
    per_pool = max(8, math.ceil(students / len(fields) * 5 / 120))
    cat = Catalogue(hei)
    codes = _CodeMaker(hei, rng)
    for term in (1, 2):
        for isced, prefix in fields.items():
            for _ in range(per_pool):
                title = _title(rng, isced)
                cat.add(Course(
                    hei=hei, code=codes.make(isced, prefix, title), title=title,
                    ects=Decimal(rng.weighted(ECTS_WEIGHTS.get(hei, _DEFAULT_ECTS))), isced=isced, term=term,
                    scheme_id=_scheme_for(rng, hei, isced), uid=rng.uuid(),
                ))
    return cat


def _title(rng: Rand, isced: str) -> str:
    return f"{rng.weighted(_MODIFIERS)}{rng.choice(TOPICS[isced])}{rng.weighted(_NUMERALS)}"


def _scheme_for(rng: Rand, hei: str, isced: str) -> str:
    options = [(sid, w) for sid, w, only in SCHEME_USE[hei] if only is None or isced in only]
    return rng.weighted(options)


class _CodeMaker:
    """Unique course codes in the style of each SIS."""

    def __init__(self, hei: str, rng: Rand):
        self.hei, self.rng = hei, rng
        self.next: dict[str, int] = {}
        self.used: set[str] = set()

    def _counter(self, key: str, start: int, step: int = 7) -> int:
        value = self.next.get(key, start + self.rng.randint(0, step * 10))
        self.next[key] = value + self.rng.randint(1, step)
        return value

    def make(self, isced: str, prefix: str, title: str) -> str:
        h = self.hei
        tries = 0
        while True:
            tries += 1
            if h in ("thomasmore.be", "hh.se"):
                code = f"{prefix}{self._counter(prefix, 1000 if h == 'thomasmore.be' else 4000) % 10000:04d}"
            elif h == "fontys.nl":
                code = f"{prefix}{self._counter(prefix, 100, 3)}"
            elif h == "ucn.dk":
                code = f"{prefix}{self._counter(prefix, 1000, 5) % 10000:04d}"
            elif h == "ipbeja.pt":
                code = f"{prefix}{self._counter(prefix, 100, 4) % 1000:03d}"
            elif h == "th-deg.de":
                code = f"{prefix}{self._counter(prefix, 100, 4) % 1000:03d}"
            elif h == "seamk.fi":
                code = f"{prefix}00{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXY')}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXY')}{self.rng.randint(10, 99)}"
            elif h == "viko.lt":
                code = f"{prefix}-{self.rng.choice(('PI', 'IS', 'EK', 'TE', 'DZ'))}{self._counter(prefix, 2100, 3)}"
            else:  # mendelu.cz: faculty prefix and an abbreviation of the title
                code = f"{prefix}-{_abbreviation(title, self.rng)}"
            if tries > 20:  # a crowded style: make it unique with a running number
                code = f"{code}{self._counter('overflow', 10, 3)}"
            if code not in self.used:
                self.used.add(code)
                return code


def _abbreviation(title: str, rng: Rand) -> str:
    words = [w for w in title.replace(":", " ").split() if w[0].isalpha() and w not in ("to", "and", "of")]
    letters = "".join(w[0] for w in words).upper()
    if len(letters) < 3:
        letters = (letters + words[-1][1:].upper())[:3]
    return letters[:4] + (str(rng.randint(1, 9)) if rng.chance(0.5) else "")
