"""Which settings point each partner connector at the simulated alliance (``hub up``, the end-to-end test).

A connector in production reads its own TOML file and ``HUB_<HEI>_*`` variables; under
``hub up`` these overrides point it at the simulation instead: a folder, a database
file, a served URL, or a webhook on a free port. A connector module without an entry
here is not started by ``hub up`` (the connectors part names it).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from hub.simulate import PATHS

WEBHOOK_TOKEN = "hub-up-" + secrets.token_urlsafe(24)  # one per process: the simulator's pushes carry it

Overrides = dict[str, Any]


def _sis(folder: Path, urls: dict[str, str], state: Path) -> dict[str, Overrides]:
    odata = PATHS["thomasmore.be"][0].rsplit("/", 1)[0]
    return {
        "thomasmore_odata": {"service_url": urls["thomasmore.be"] + odata, "poll_interval": 5.0},
        "fontys_ooapi": {"api_url": urls["fontys.nl"], "poll_interval": 5.0},
        "hh_ladok": {"api_url": urls["hh.se"], "student_directory": state / "hh_ladok" / "students.sqlite",
                     "poll_interval": 5.0},
        "seamk_peppi": {"api_url": urls["seamk.fi"] + "/peppi/api/v1", "poll_interval": 5.0},
        "ucn_esas": {"url": f"sqlite:///{folder / 'ucn.dk' / 'esas.sqlite'}", "poll_interval": 5.0},
        "ipbeja_netpa": {"url": f"sqlite:///{folder / 'ipbeja.pt' / 'netpa.sqlite'}", "poll_interval": 5.0},
        "thd_primuss": {"folder": folder / "th-deg.de" / "exports", "exams_file": folder / "th-deg.de" / "Pruefungen.csv",
                        "poll_interval": 2.0},
        "mendelu_uis": {"folder": folder / "mendelu.cz" / "exports", "courses_file": folder / "mendelu.cz" / "predmety.xml",
                        "poll_interval": 2.0},
        "viko_webhook": {"token": WEBHOOK_TOKEN, "port": 0, "spool_file": state / "viko_webhook" / "spool.sqlite",
                         "courses_file": folder / "viko.lt" / "courses.json", "poll_interval": 0.2},
    }


def _courses(folder: Path, urls: dict[str, str]) -> dict[str, str]:
    """Where each partner's SIS lists its courses (``course_isced(location)`` of its SIS connector module)."""
    return {
        "thomasmore.be": urls["thomasmore.be"] + PATHS["thomasmore.be"][0].rsplit("/", 1)[0],
        "fontys.nl": urls["fontys.nl"], "hh.se": urls["hh.se"], "seamk.fi": urls["seamk.fi"] + "/peppi/api/v1",
        "ucn.dk": f"sqlite:///{folder / 'ucn.dk' / 'esas.sqlite'}",
        "ipbeja.pt": f"sqlite:///{folder / 'ipbeja.pt' / 'netpa.sqlite'}",
        "th-deg.de": str(folder / "th-deg.de" / "Pruefungen.csv"), "mendelu.cz": str(folder / "mendelu.cz" / "predmety.xml"),
        "viko.lt": str(folder / "viko.lt" / "courses.json"),
    }


def simulated_settings(name: str, hei: str, folder: Path, urls: dict[str, str], state: Path) -> Overrides | None:
    """Settings overrides for connector ``name`` of ``hei`` against the simulation in ``folder``; None: not wired."""
    if name.startswith("ewp_"):
        return {"ewp_url": urls[hei] + "/ewp", "ewp_partners": {h: u + "/ewp" for h, u in urls.items()},
                "ewp_courses_url": _courses(folder, urls).get(hei), "ewp_poll_interval": 10.0}
    return _sis(folder, urls, state).get(name)

