"""The nine HEROES partners, identified by SCHAC code (= EWP ``hei_id``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Institution:
    """One partner university."""

    schac: str
    name: str
    country: str
    erasmus_code: str
    sis: str


INSTITUTIONS: tuple[Institution, ...] = (
    Institution("thomasmore.be", "Thomas More University of Applied Sciences", "BE", "B GEEL07", "KU Loket (SAP OData)"),
    Institution("fontys.nl", "Fontys University of Applied Sciences", "NL", "NL EINDHOV03", "Progress (OOAPI v5)"),
    Institution("ucn.dk", "UCN University College Northern Denmark", "DK", "DK AALBORG", "ESAS (SQL views)"),
    Institution("ipbeja.pt", "Polytechnic University of Beja", "PT", "P BEJA01", "Academic services (SQL)"),
    Institution("th-deg.de", "Deggendorf Institute of Technology", "DE", "D DEGGEND01", "PRIMUSS (CSV exports)"),
    Institution("hh.se", "Halmstad University", "SE", "S HALMSTA01", "Ladok 3 (Atom feed)"),
    Institution("seamk.fi", "Seinäjoki University of Applied Sciences", "FI", "SF SEINAJO06", "Peppi (REST JSON)"),
    Institution("viko.lt", "Vilniaus kolegija", "LT", "LT VILNIUS10", "AIS (webhook push)"),
    Institution("mendelu.cz", "Mendel University in Brno", "CZ", "CZ BRNO02", "UIS (XML exports)"),
)

BY_SCHAC: dict[str, Institution] = {i.schac: i for i in INSTITUTIONS}
SCHAC_CODES: tuple[str, ...] = tuple(i.schac for i in INSTITUTIONS)


class UnknownInstitution(ValueError):
    """A SCHAC code that is not one of the HEROES partners."""


def institution(schac: str) -> Institution:
    """Return the partner for a SCHAC code (case-insensitive), or raise UnknownInstitution."""
    try:
        return BY_SCHAC[schac.strip().lower()]
    except KeyError:
        known = ", ".join(SCHAC_CODES)
        raise UnknownInstitution(f"unknown institution {schac!r}: known SCHAC codes are {known}") from None


def esi(schac: str, code: str) -> str:
    """The European Student Identifier a HEI issues: urn:schac:personalUniqueCode:int:esi:<schac>:<code>."""
    return f"urn:schac:personalUniqueCode:int:esi:{schac}:{code}"
