"""Native writers: each partner's SIS data in that SIS's own format, and every partner's EWP documents."""

from __future__ import annotations

from hub.simulate.natives._base import SisWriter
from hub.simulate.natives.ladok import LadokWriter
from hub.simulate.natives.odata import ODataWriter
from hub.simulate.natives.ooapi import OoapiWriter
from hub.simulate.natives.peppi import PeppiWriter
from hub.simulate.natives.primuss import PrimussWriter
from hub.simulate.natives.sqlviews import EsasWriter, NetpaWriter
from hub.simulate.natives.uis import UisWriter
from hub.simulate.natives.webhook import WebhookWriter

__all__ = ["FORMATS", "WRITERS", "SisWriter"]

WRITERS: dict[str, type[SisWriter]] = {
    "thomasmore.be": ODataWriter, "fontys.nl": OoapiWriter, "ucn.dk": EsasWriter, "ipbeja.pt": NetpaWriter,
    "th-deg.de": PrimussWriter, "hh.se": LadokWriter, "seamk.fi": PeppiWriter, "viko.lt": WebhookWriter,
    "mendelu.cz": UisWriter,
}
FORMATS: dict[str, str] = {hei: writer.FORMAT for hei, writer in WRITERS.items()}
