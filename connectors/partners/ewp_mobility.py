"""Every partner's EWP node → ``Mobility`` events; one connector per partner (``ewp_hh``, ``ewp_fontys``, ...).

Each HEI's EWP node serves its *outgoing* mobilities (OMobilities, OMobility LAs: it
is the sending HEI) and its *incoming* students' transcripts (IMobility ToRs: it is
the receiving HEI). The connector of HEI ``X`` reads ``X``'s node with the SDK's
``index?modified_since`` then ``get`` and publishes to ``sis.X.mobilities``:

- OMobility → ``NOMINATED``, ``STARTED``, ``ENDED``, ``CANCELLED`` at the times of
  the HEROES extension ``hx:lifecycle`` (without it: the status, at reading time);
- LA ``first-version`` → ``LA_APPROVED`` (version 1), ``approved-changes`` →
  ``LA_CHANGED`` (version 2: the changes applied to the first version); a pending
  ``changes-proposal`` is ignored; recognition groups from ``hx:recognition-groups``;
- ToR → ``TOR_ISSUED`` (published by the receiving HEI, so to ``sis.<receiving>.mobilities``),
  completed from the sending HEI's OMobility when its node is in ``ewp_partners``.

Key: the student's local id at the sending HEI, taken from an ESI that HEI issued
(``...:esi:<sending schac>:<student number>``); otherwise, and always for ToRs (the
receiving HEI knows no home student number), the ESI. Table B components get their
ISCED-F field from the sending HEI's own course list when its SIS connector module
offers ``course_isced(location)`` and ``ewp_courses_url`` says where that list is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from connectors.partners._common import partner_esi
from connectors.partners._ewp import (
    EwpNode,
    HomeCourses,
    LaInput,
    OMobilityDoc,
    PartnerNodes,
    TorInput,
    approved_versions,
    day,
    moment,
)
from connectors.partners._paged import Enriched, with_data
from connectors.sdk import Connector, ConnectorSettings, NativeRecord, RecordRejected, discover
from schemas.institutions import BY_SCHAC
from schemas.models import LaComponent, LearningAgreement, Mobility, MobilityLifecycle, RecognitionGroup, now_utc

ESI = "urn:schac:personalUniqueCode:int:esi:"
LIFECYCLE = {"nominated-at": MobilityLifecycle.NOMINATED, "arrived-at": MobilityLifecycle.STARTED,
             "departed-at": MobilityLifecycle.ENDED, "cancelled-at": MobilityLifecycle.CANCELLED}


class Settings(ConnectorSettings):
    ewp_url: str = Field(description="Base URL of this HEI's EWP node, e.g. https://ewp.<hei>/ewp (HUB_<HEI>_EWP_URL).")
    ewp_partners: dict[str, str] = Field({}, description="Other partners' EWP base URLs by SCHAC code, as the EWP "
                                         "Registry lists them (HUB_<HEI>_EWP_PARTNERS, JSON).")
    ewp_courses_url: str | None = Field(None, description="Where this HEI's SIS lists its courses, for Table B's ISCED "
                                        "fields (HUB_<HEI>_EWP_COURSES_URL; the SIS connector's API URL or folder).")
    ewp_client_cert: Path | None = Field(None, description="EWP client certificate, PEM (HUB_<HEI>_EWP_CLIENT_CERT).")
    ewp_client_key: Path | None = Field(None, description="Its private key, PEM (HUB_<HEI>_EWP_CLIENT_KEY).")
    ewp_get_batch: int = Field(1, ge=1, le=100, description="Mobilities per get (1: one bad document spoils no other).")
    ewp_poll_interval: float = 300.0


def _key(esi: str | None, sending: str) -> str | None:
    """The student number at ``sending`` if ``sending`` issued the ESI, else None."""
    prefix = f"{ESI}{sending}:"
    return esi[len(prefix):] or None if esi and esi.startswith(prefix) else None


def _partners(record: Any, sending: str | None, receiving: str | None) -> tuple[str, str]:
    for role, hei in (("sending HEI", sending), ("receiving HEI", receiving)):
        if not hei or hei.lower() not in BY_SCHAC:
            raise RecordRejected(record, f"{role} {hei!r} is not a HEROES partner ({', '.join(BY_SCHAC)})",
                                 "unknown_institution")
    return str(sending).lower(), str(receiving).lower()


def _esi(record: Any, esi: str | None, what: str) -> str:
    if not esi:
        raise RecordRejected(record, f"the {what} names no student ESI (global-id)", "invalid_record")
    return str(partner_esi(esi, record))


def omobility(m: OMobilityDoc, s: Settings) -> list[Mobility]:
    sending, receiving = _partners(m, m.sending_hei, m.receiving_hei)
    esi = _esi(m, m.student_esi, "OMobility")
    steps = [(LIFECYCLE[tag], moment(text)) for tag, text in m.lifecycle.items() if tag in LIFECYCLE]
    if not steps:  # a node without the HEROES extension: what the status says, now
        steps = [(MobilityLifecycle.CANCELLED if m.status == "cancelled" else MobilityLifecycle.NOMINATED, now_utc())]
    return [Mobility(source_hei=sending, occurred_at=when, omobility_id=m.omobility_id, student_esi=esi,
                     student_id=_key(esi, sending), sending_hei=sending, receiving_hei=receiving, lifecycle=step,
                     receiving_academic_year=m.receiving_academic_year, isced_code=m.isced_code,
                     planned_start=m.planned_start, planned_end=m.planned_end) for step, when in steps if when]


def learning_agreement(a: LaInput, s: Settings) -> list[Mobility]:
    doc = a.doc
    sending, receiving = _partners(doc, doc.sending_hei, doc.receiving_hei)
    esi = _esi(doc, doc.student_global_id, "learning agreement")
    try:
        versions = approved_versions(doc)
    except ValueError as exc:
        raise RecordRejected(doc, f"learning agreement {doc.omobility_id}: {exc}", "invalid_record") from None
    out = []
    for v in versions:
        def comp(c: Any, home: bool) -> LaComponent:
            return LaComponent(course_code=c.course_code, los_id=c.los_id, loi_id=c.loi_id, title=c.title,
                               term_id=c.term_id, ects=c.ects,
                               isced_code=a.home_isced.get(c.course_code) if home else None,
                               recognition_conditions=c.recognition_conditions if home else None)

        la = LearningAgreement(version=v.number, approved_at=v.approved_at,
                               components_studied=tuple(comp(c, False) for c in v.studied),
                               components_recognized=tuple(comp(c, True) for c in v.recognized),
                               recognition_groups=tuple(RecognitionGroup(group_id=g, studied=a_, recognized=b)
                                                        for g, a_, b in v.groups))
        out.append(Mobility(source_hei=sending, occurred_at=v.approved_at, omobility_id=doc.omobility_id,
                            student_esi=esi, student_id=_key(esi, sending), sending_hei=sending,
                            receiving_hei=receiving,
                            lifecycle=MobilityLifecycle.LA_APPROVED if v.number == 1 else MobilityLifecycle.LA_CHANGED,
                            receiving_academic_year=doc.receiving_academic_year, isced_code=doc.isced_f_code,
                            planned_start=day(doc.start), planned_end=day(doc.end), learning_agreement=la))
    return out


def transcript(t: TorInput, s: Settings) -> Mobility:
    doc, m = t.doc, t.mobility
    esi = _esi(doc, doc.learner_esi, "transcript")
    sending = m.sending_hei if m is not None and m.sending_hei else esi[len(ESI):].split(":", 1)[0]
    sending, receiving = _partners(doc, sending, doc.issuer_hei)
    issued = moment(doc.issue_date)
    if issued is None:
        raise RecordRejected(doc, f"transcript {doc.omobility_id} has no issueDate", "invalid_record")
    return Mobility(source_hei=receiving, occurred_at=issued, omobility_id=doc.omobility_id, student_esi=esi,
                    sending_hei=sending, receiving_hei=receiving, lifecycle=MobilityLifecycle.TOR_ISSUED,
                    receiving_academic_year=m.receiving_academic_year if m else "",
                    isced_code=m.isced_code if m else None,
                    planned_start=m.planned_start if m else None, planned_end=m.planned_end if m else None)


def course_reader(hei: str) -> Callable[[str], Mapping[str, str]] | None:
    """``course_isced`` of the module of ``hei``'s SIS connector, if it offers one."""
    for connector in discover().values():
        reader = getattr(sys.modules[connector.__module__], "course_isced", None)
        if connector.hei == hei and callable(reader):
            return reader  # type: ignore[no-any-return]
    return None


class EwpMobility:
    """The mobility connector of one partner; subclassed once per HEI below."""

    hei: ClassVar[str]
    description: ClassVar[str] = "EWP node: OMobilities and OMobility LAs (sending), IMobility ToRs (receiving)"
    settings_class: ClassVar[type[ConnectorSettings]] = Settings
    settings_file: ClassVar[Path | None] = Path(__file__).with_name("ewp_mobility.toml")
    mappings: ClassVar[dict[str, Callable[..., Any]]] = {
        "omobilities": omobility, "las": learning_agreement, "tors": transcript}

    def sources(self, s: Settings) -> list[Any]:
        base, hei = s.ewp_url.rstrip("/"), self.hei
        cert = (str(s.ewp_client_cert), str(s.ewp_client_key)) if s.ewp_client_cert and s.ewp_client_key else None

        def api(name: str, path: str, document: Any, own: str) -> EwpNode:
            return EwpNode(name, f"{base}/{path}/index", f"{base}/{path}/get", document=document, params={own: hei},
                           get_batch=s.ewp_get_batch, cert=cert, poll_interval=s.ewp_poll_interval,
                           credentials_setting=f"{self.env_prefix()}EWP_CLIENT_CERT")  # type: ignore[attr-defined]
        home = HomeCourses(course_reader(hei), s.ewp_courses_url)
        nodes = PartnerNodes(s.ewp_partners, cert=cert)

        def with_courses(item: NativeRecord) -> NativeRecord:
            codes = [c.los_code for v in (item.data.first_version, item.data.approved_changes) if v
                     for c in v.components_recognized]
            return with_data(item, LaInput(item.data, home.covering(codes)))

        def with_mobility(item: NativeRecord) -> NativeRecord:
            esi = item.data.learner_esi or ""
            sending = esi[len(ESI):].split(":", 1)[0] if esi.startswith(ESI) else None
            return with_data(item, TorInput(item.data, nodes.omobility(sending, item.data.omobility_id)))

        return [api("omobilities", "omobilities", "omobility", "sending_hei_id"),
                Enriched(api("las", "omobility-las", "la", "sending_hei_id"), with_courses),
                Enriched(api("tors", "imobility-tors", "tor", "receiving_hei_id"), with_mobility,
                         closers=(nodes.close,))]


class EwpThomasMore(EwpMobility, Connector):
    hei, name = "thomasmore.be", "ewp_thomasmore"


class EwpFontys(EwpMobility, Connector):
    hei, name = "fontys.nl", "ewp_fontys"


class EwpUcn(EwpMobility, Connector):
    hei, name = "ucn.dk", "ewp_ucn"


class EwpIpbeja(EwpMobility, Connector):
    hei, name = "ipbeja.pt", "ewp_ipbeja"


class EwpThd(EwpMobility, Connector):
    hei, name = "th-deg.de", "ewp_thd"


class EwpHh(EwpMobility, Connector):
    hei, name = "hh.se", "ewp_hh"


class EwpSeamk(EwpMobility, Connector):
    hei, name = "seamk.fi", "ewp_seamk"


class EwpViko(EwpMobility, Connector):
    hei, name = "viko.lt", "ewp_viko"


class EwpMendelu(EwpMobility, Connector):
    hei, name = "mendelu.cz", "ewp_mendelu"


CONNECTORS: dict[str, type[Connector]] = {c.hei: c for c in (EwpThomasMore, EwpFontys, EwpUcn, EwpIpbeja, EwpThd,
                                                             EwpHh, EwpSeamk, EwpViko, EwpMendelu)}
"""The EWP mobility connector of each partner, by SCHAC code."""
