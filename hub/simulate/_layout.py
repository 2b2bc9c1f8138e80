"""Where a simulated alliance keeps what (written as ``manifest.json``), for connectors and ``hub up``."""

from __future__ import annotations

from typing import Any

from hub.simulate._serve import EWP_PATHS, PATHS
from hub.simulate.natives import FORMATS

SIS_FILES: dict[str, tuple[str, ...]] = {
    "thomasmore.be": ("odata/Students.jsonl", "odata/Modules.jsonl", "odata/Registrations.jsonl", "odata/Results.jsonl"),
    "fontys.nl": ("ooapi/persons.jsonl", "ooapi/offerings.jsonl", "ooapi/associations.jsonl"),
    "ucn.dk": ("esas.sqlite",),
    "ipbeja.pt": ("netpa.sqlite",),
    "th-deg.de": ("Pruefungen.csv", "exports/Notenexport_*.csv", "exports/Anmeldungen_*.csv", "exports/Studierende_*.csv"),
    "hh.se": ("feed/recent.xml", "feed/<n>.xml", "feed/pages.json", "grunddata/betygsskala.json", "grunddata/kurstillfallen.json"),
    "seamk.fi": ("peppi/students.jsonl", "peppi/course-units.jsonl", "peppi/enrolments.jsonl", "peppi/attainments.jsonl"),
    "viko.lt": ("webhooks.jsonl", "courses.json"),
    "mendelu.cz": ("predmety.xml", "exports/uis-export-*.xml"),
}
EWP_FILES = ("ewp/index.jsonl", "ewp/omobilities/<omobility_id>.xml", "ewp/omobility-las/<omobility_id>.xml",
             "ewp/imobility-tors/<omobility_id>.xml")


def manifest(seed: int, year: str, students: int) -> dict[str, Any]:
    return {
        "seed": seed, "academic_year": year, "students": students,
        "files": {"hub_events": "hub-events.jsonl", "tables": "tables/<schac>.csv",
                  "expected": ["expected/decisions.jsonl", "expected/deadlines.jsonl", "expected/mobilities.jsonl",
                               "expected/counts.json", "expected/bad.jsonl"]},
        "partners": {hei: {"format": fmt, "files": [f"{hei}/{f}" for f in SIS_FILES[hei]],
                           "http_paths": list(PATHS.get(hei, ())), "ewp_files": [f"{hei}/{f}" for f in EWP_FILES],
                           "ewp_paths": list(EWP_PATHS)} for hei, fmt in FORMATS.items()},
    }
