"""Every partner's EWP node: OMobilities and OMobility-LA documents of its outgoing mobilities,
IMobility-ToR documents of its incoming ones, an index with modification times, and bad documents.

Layout under ``<schac>/ewp/``: ``omobilities/<id>.xml``, ``omobility-las/<id>.xml``,
``imobility-tors/<id>.xml`` and ``index.jsonl`` (one line per document: api, omobility_id,
sending_hei, receiving_hei, modified_at, file, good), sorted by api then modification time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Catalogue
from hub.simulate._delivery import Scheduler
from hub.simulate._events import mobility_event
from hub.simulate._mobility import Mobility
from hub.simulate._rand import Rand, iso, ms
from hub.simulate.natives import ewp_xml
from hub.simulate.natives._base import BadLog, EventSink, SourceCounts

BAD_KINDS = ("broken_xml", "unknown_institution")
NOT_A_PARTNER = ("tuni.fi", "uni-lj.si", "vilniustech.lt")


def lifecycle_records(m: Mobility, index: int) -> list[tuple[str, dict[str, Any]]]:
    """(publishing partner, record) per lifecycle step, for the EWP delivery schedulers."""
    out = []
    for lifecycle, when, source, version in m.lifecycle():
        out.append((source, {"k": "mobility", "t": ms(when), "sid": m.omobility_id,
                             "rid": f"{m.omobility_id}|{lifecycle}|{version or 0}", "v": 0, "m": index,
                             "lc": lifecycle, "ver": version}))
    return out


class EwpWriter:
    """Writes the EWP documents of all partners and the hub events their connectors would publish."""

    def __init__(self, root: Path, cal: Calendar, catalogues: dict[str, Catalogue], bad_share: float,
                 rngs: dict[str, Rand], bad_log: BadLog):
        self.root, self.cal, self.catalogues = root, cal, catalogues
        self.bad_share, self.rngs, self.bad_log = bad_share, rngs, bad_log
        self.index: dict[str, list[dict[str, Any]]] = {h: [] for h in catalogues}
        self._bad_number = 0

    def _file(self, hei: str, api: str, omobility_id: str, text: str, modified: str, sending: str, receiving: str,
              good: bool, counts: SourceCounts) -> str:
        path = self.root / hei / "ewp" / api / f"{omobility_id}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        rel = path.relative_to(self.root).as_posix()
        self.index[hei].append({"api": api, "omobility_id": omobility_id, "sending_hei": sending,
                                "receiving_hei": receiving, "modified_at": modified, "file": rel, "good": good})
        counts.deliveries += 1
        return rel

    def documents(self, mobilities: list[Mobility], counts: dict[str, SourceCounts]) -> None:
        for m in mobilities:
            modified = max(w for _, w, s, _ in m.lifecycle() if s == m.home)
            self._file(m.home, "omobilities", m.omobility_id, ewp_xml.omobility(m, self.cal), iso(modified),
                       m.home, m.host, True, counts[m.home])
            if m.versions:
                changed = max(m.versions[-1].approved_at, m.proposal[2] if m.proposal else m.versions[-1].approved_at)
                self._file(m.home, "omobility-las", m.omobility_id, ewp_xml.learning_agreement(m, self.cal),
                           iso(changed), m.home, m.host, True, counts[m.home])
            if m.tor_at:
                self._file(m.host, "imobility-tors", m.omobility_id,
                           ewp_xml.transcript(m, self.cal, self.catalogues[m.host].by_code), iso(m.tor_at),
                           m.home, m.host, True, counts[m.host])
        for hei, c in counts.items():
            c.reference["omobilities"] = sum(1 for x in self.index[hei] if x["api"] == "omobilities")
            c.reference["learning_agreements"] = sum(1 for x in self.index[hei] if x["api"] == "omobility-las")
            c.reference["transcripts"] = sum(1 for x in self.index[hei] if x["api"] == "imobility-tors")
            self._bad_documents(hei, mobilities, c)
            rows = sorted(self.index[hei], key=lambda x: (x["api"], x["modified_at"], x["omobility_id"]))
            with (self.root / hei / "ewp" / "index.jsonl").open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, sort_keys=True) + "\n")

    def _bad_documents(self, hei: str, mobilities: list[Mobility], counts: SourceCounts) -> None:
        with_la = [m for m in mobilities if m.versions]
        if self.bad_share <= 0 or not with_la:
            return
        rng = self.rngs[hei]
        own = [m for m in with_la if m.home == hei]
        n = max(1, round(self.bad_share * len(self.index[hei])))
        for _ in range(n):
            kind = BAD_KINDS[self._bad_number % len(BAD_KINDS)]
            self._bad_number += 1
            template = rng.choice(own or with_la)
            bogus = rng.uuid()
            receiving = rng.choice(NOT_A_PARTNER) if kind == "unknown_institution" else template.host
            text = ewp_xml.learning_agreement(template, self.cal, omobility_id=bogus, receiving=receiving)
            if template.home != hei:
                text = text.replace(f"<sending-hei><hei-id>{template.home}</hei-id>", f"<sending-hei><hei-id>{hei}</hei-id>")
            if kind == "broken_xml":
                text = text[: len(text) * 3 // 5]
                detail = "the get response is cut off mid-document"
            else:
                detail = f"receiving-hei {receiving} is not a HEROES partner"
            modified = iso(template.versions[0].approved_at)
            rel = self._file(hei, "omobility-las", bogus, text, modified, hei, receiving, False, counts)
            counts.bad[kind] += 1
            counts.bad_topics["mobilities"] += 1
            self.bad_log.add(counts.source, kind, "mobilities", {"file": rel, "omobility_id": bogus}, detail)

    def events(self, mobilities: list[Mobility], scheduler: Scheduler, sink: EventSink, counts: SourceCounts) -> None:
        """The mobility events of one partner's EWP source, in delivery order, into its event sink."""
        for r in scheduler.deliveries():
            m = mobilities[r["m"]]
            line = mobility_event(m, r["lc"], r["ver"], r["rec"], r["eid"], self.cal)
            sink.write(r["d"], r["seq"], line, r["t"])
            if r["dup"]:
                counts.duplicates["mobilities"] += 1
            else:
                counts.good["mobilities"] += 1
                counts.late["mobilities"] += r["late"]
