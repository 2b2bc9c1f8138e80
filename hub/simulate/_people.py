"""Students: local ids in each SIS's style, ESIs, programme field and the few personal fields native formats require.

Names and birth dates exist only in native SIS and EWP data (their formats require
them); hub events carry ids and ESIs, never names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.simulate._catalogue import FIELDS
from hub.simulate._rand import Rand, derived_uuid
from schemas.institutions import BY_SCHAC, esi

# (home counter start, incoming counter start, format): incoming exchange students get a separate range.
_ID_STYLE: dict[str, tuple[int, int, str]] = {
    "thomasmore.be": (500000, 900000, "r{:07d}"),
    "fontys.nl": (2100000, 4900000, "{:07d}"),
    "ucn.dk": (100000, 800000, "S{:06d}"),
    "ipbeja.pt": (20000, 80000, "{:d}"),
    "th-deg.de": (22000000, 29000000, "{:08d}"),
    "hh.se": (0, 0, "uuid"),
    "seamk.fi": (2100000, 2900000, "e{:07d}"),
    "viko.lt": (2100000, 7100000, "VK{:07d}"),
    "mendelu.cz": (200000, 600000, "{:06d}"),
}

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "BE": (("Lotte", "Wout", "Elise", "Jens", "Noor", "Arne"), ("Peeters", "Janssens", "Maes", "Claes", "Wouters", "Goossens")),
    "NL": (("Sanne", "Daan", "Fleur", "Bram", "Lieke", "Thijs"), ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer")),
    "DK": (("Freja", "Magnus", "Ida", "Emil", "Clara", "Oskar"), ("Nielsen", "Jensen", "Hansen", "Pedersen", "Larsen", "Sørensen")),
    "PT": (("Inês", "Tiago", "Beatriz", "Rodrigo", "Mariana", "Diogo"), ("Silva", "Santos", "Ferreira", "Pereira", "Costa", "Martins")),
    "DE": (("Lena", "Jonas", "Hannah", "Lukas", "Sophie", "Felix"), ("Müller", "Schmidt", "Huber", "Wagner", "Bauer", "Maier")),
    "SE": (("Elsa", "Axel", "Maja", "Hugo", "Alva", "Viktor"), ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson")),
    "FI": (("Aino", "Eetu", "Venla", "Onni", "Helmi", "Lauri"), ("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Heikkinen", "Koskinen")),
    "LT": (("Gabija", "Lukas", "Austėja", "Matas", "Emilija", "Jonas"), ("Kazlauskas", "Petrauskas", "Jankauskas", "Stankevičius", "Vasiliauskas", "Žukauskas")),
    "CZ": (("Tereza", "Jakub", "Eliška", "Tomáš", "Karolína", "Ondřej"), ("Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera")),
}


@dataclass(slots=True)
class Student:
    """One student as their home SIS knows them (``hei``), or as a host SIS registers an incoming one."""

    hei: str
    local_id: str
    esi: str
    isced: str
    given: str
    family: str
    birth: date
    gender: str
    home: str

    @property
    def incoming(self) -> bool:
        return self.hei != self.home

    @property
    def person_uid(self) -> str:
        """A stable UUID for formats that key persons by UUID (OOAPI personId)."""
        return derived_uuid("person", self.hei, self.local_id)

    @property
    def email(self) -> str:
        return f"{self.local_id.lower()}@student.{self.hei}"


class IdMaker:
    """Unique local student ids of one partner: increasing numbers with random gaps, or UUIDs (Ladok)."""

    def __init__(self, hei: str, rng: Rand, incoming: bool = False):
        home_start, in_start, self.fmt = _ID_STYLE[hei]
        self.rng = rng
        self.value = (in_start if incoming else home_start) + rng.randint(0, 999)

    def next(self) -> str:
        if self.fmt == "uuid":
            return self.rng.uuid()
        self.value += self.rng.randint(1, 3)
        return self.fmt.format(self.value)


def new_student(rng: Rand, hei: str, ids: IdMaker) -> Student:
    """A home student of ``hei``: the ESI's code is the local student id (Ladok: the StudentUID)."""
    local = ids.next()
    country = BY_SCHAC[hei].country
    given, family = _NAMES[country]
    return Student(
        hei=hei, local_id=local, esi=esi(hei, local), isced=rng.choice(list(FIELDS[hei])),
        given=rng.choice(given), family=rng.choice(family),
        birth=date(rng.randint(1998, 2006), rng.randint(1, 12), rng.randint(1, 28)),
        gender=rng.choice(("1", "2", "9", "1", "2")), home=hei,
    )


def as_incoming(student: Student, host: str, ids: IdMaker) -> Student:
    """The same person registered at a host SIS: a host-style local id, the home ESI."""
    return Student(
        hei=host, local_id=ids.next(), esi=student.esi, isced=student.isced, given=student.given,
        family=student.family, birth=student.birth, gender=student.gender, home=student.hei,
    )
