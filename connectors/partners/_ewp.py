"""What the EWP mobility connector joins to a document: the home courses' ISCED fields, the sending HEI's OMobility.

Private to ``connectors.partners``. The documents themselves are read and parsed by the
SDK's ``EwpSource`` (OMobilities, LAs with their approved versions, ToRs).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from connectors.partners._common import Joined, with_data
from schemas.institutions import BY_SCHAC
from connectors.sdk import NativeRecord, RecordRejected, discover
from connectors.sources import (
    EwpSource,
    LaVersion,
    LearningAgreementDoc,
    OMobilityDoc,
    RetryingClient,
    TranscriptDoc,
    parse_omobility,
)

ESI = "urn:schac:personalUniqueCode:int:esi:"


@dataclass(frozen=True)
class LaInput:
    doc: LearningAgreementDoc
    home_isced: Mapping[str, str]  # course code at the sending HEI -> ISCED-F field (empty: unknown)

    @property
    def versions(self) -> list[LaVersion]:
        """The approved versions (``LearningAgreementDoc.versions``); inconsistent changes reject the LA."""
        try:
            return self.doc.versions()
        except ValueError as exc:
            raise RecordRejected(self.doc, f"learning agreement {self.doc.omobility_id}: {exc}", "invalid_record") from None


@dataclass(frozen=True)
class TorInput:
    doc: TranscriptDoc
    mobility: OMobilityDoc  # the sending HEI's OMobility (UNKNOWN: its node is not configured or silent)


UNKNOWN = OMobilityDoc("", None, None, None, "", "", None, None, None)


def partners(doc: Any, sending: str | None, receiving: str | None) -> tuple[str, str]:
    """The sending and receiving HEI's SCHAC codes, once both are HEROES partners."""
    for role, hei in (("sending HEI", sending), ("receiving HEI", receiving)):
        if not hei or hei.lower() not in BY_SCHAC:
            raise RecordRejected(doc, f"{role} {hei!r} is not a HEROES partner ({', '.join(BY_SCHAC)})",
                                 "unknown_institution")
    return str(sending).lower(), str(receiving).lower()


def issuer(esi: str | None) -> str | None:
    """The SCHAC code of the HEI that issued an ESI."""
    return esi[len(ESI):].split(":", 1)[0] if esi and esi.startswith(ESI) else None


def course_reader(hei: str) -> Callable[[str], Mapping[str, str]] | None:
    """``course_isced`` of the module of ``hei``'s SIS connector, if it offers one."""
    for connector in discover().values():
        reader = getattr(sys.modules[connector.__module__], "course_isced", None)
        if connector.hei == hei and callable(reader):
            return reader  # type: ignore[no-any-return]
    return None


class HomeCourses:
    """The sending HEI's own courses (code -> ISCED-F), read through its SIS connector's ``course_isced``."""

    def __init__(self, reader: Callable[[str], Mapping[str, str]] | None, location: str | None,
                 min_age: float = 300.0) -> None:
        self.reader, self.location, self.min_age = reader, location, min_age
        self.fields: Mapping[str, str] = {}
        self.read_at = float("-inf")

    def covering(self, codes: list[str]) -> Mapping[str, str]:
        """The catalogue, read again if a code is missing and the last read is older than ``min_age``."""
        if self.reader is None or not self.location:
            return {}
        stale = time.monotonic() - self.read_at >= self.min_age
        if stale and (self.read_at == float("-inf") or any(c not in self.fields for c in codes)):
            self.fields = dict(self.reader(self.location))
            self.read_at = time.monotonic()
        return self.fields

    def join(self, item: NativeRecord) -> NativeRecord:
        """An LA with the ISCED fields of its Table B courses."""
        codes = [c.los_code for v in (item.data.first_version, item.data.approved_changes) if v
                 for c in v.components_recognized]
        return with_data(item, LaInput(item.data, self.covering(codes)))


class PartnerNodes:
    """Other partners' OMobilities APIs (their EWP base URLs, as the EWP Registry lists them), one get per mobility."""

    def __init__(self, urls: Mapping[str, str], *, cert: Any = None) -> None:
        self.urls = {hei.lower(): url.rstrip("/") for hei, url in urls.items()}
        self.cert = cert
        self._client: RetryingClient | None = None
        self._cache: dict[str, OMobilityDoc | None] = {}

    def omobility(self, sending_hei: str | None, omobility_id: str) -> OMobilityDoc | None:
        if not sending_hei or sending_hei.lower() not in self.urls:
            return None
        if omobility_id not in self._cache:
            if self._client is None:
                self._client = RetryingClient(headers={"Accept": "application/xml"}, cert=self.cert,
                                              credentials_setting="the EWP client certificate settings")
            resp = self._client.get(f"{self.urls[sending_hei.lower()]}/omobilities/get",
                                    {"sending_hei_id": sending_hei.lower(), "omobility_id": omobility_id})
            try:
                root = etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
                found = [parse_omobility(el) for el in root if isinstance(el.tag, str)
                         and etree.QName(el).localname == "student-mobility"]
            except (etree.XMLSyntaxError, ValueError):
                found = []
            self._cache[omobility_id] = next((m for m in found if m.omobility_id == omobility_id), None)
        return self._cache[omobility_id]

    def join(self, item: NativeRecord) -> NativeRecord:
        """A ToR with its sending HEI's OMobility (named by the ESI's issuer)."""
        found = self.omobility(issuer(item.data.learner_esi), item.data.omobility_id)
        return with_data(item, TorInput(item.data, found or UNKNOWN))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def node_sources(connector: Any, base: str, *, partners: Mapping[str, str], courses_url: str | None,
                 cert: tuple[Any, Any], **options: Any) -> list[Joined | EwpSource]:
    """The connector's HEI's EWP node as three sources: its OMobilities and OMobility LAs (as the sending HEI,
    each LA with its home courses' ISCED fields) and its IMobility ToRs (as the receiving HEI, each with the
    OMobility); ``cert``: the client certificate and key files, if any."""
    hei = connector.hei

    def api(name: str, path: str, document: Any, own: str) -> EwpSource:
        return EwpSource(name, f"{base}/{path}/index", f"{base}/{path}/get", document=document, params={own: hei},
                         cert=cert, credentials_setting=f"{connector.env_prefix()}EWP_CLIENT_CERT", **options)
    nodes = PartnerNodes(partners, cert=cert)
    return [api("omobilities", "omobilities", "omobility", "sending_hei_id"),
            Joined(api("las", "omobility-las", "la", "sending_hei_id"),
                   transform=HomeCourses(course_reader(hei), courses_url).join),
            Joined(api("tors", "imobility-tors", "tor", "receiving_hei_id"), transform=nodes.join,
                   closers=(nodes.close,))]
