"""Every partner's EWP node → ``Mobility`` events; one connector per partner (``ewp_hh``, ``ewp_fontys``, ...).

HEI ``X``'s node serves its outgoing mobilities (OMobilities, their LAs) and its incoming students' ToRs: OMobility →
NOMINATED, STARTED, ENDED, CANCELLED at the HEROES ``hx:lifecycle`` times (else the status, now); LA versions 1 and 2
→ LA_APPROVED, LA_CHANGED; ToR → TOR_ISSUED (by the receiving HEI, completed from the sending HEI's OMobility).
Key: the student number at the sending HEI if it issued the ESI, else the ESI. Table B's ISCED-F fields: see _ewp.
"""

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from connectors.partners._common import partner_esi
from connectors.partners._ewp import ESI, LaInput, TorInput, issuer, node_sources, partners
from connectors.sdk import Connector, ConnectorSettings, RecordRejected
from connectors.sources import EwpComponent, OMobilityDoc
from schemas.models import LaComponent, LearningAgreement, Mobility, MobilityLifecycle, RecognitionGroup, now_utc

LIFECYCLE = {"nominated-at": MobilityLifecycle.NOMINATED, "arrived-at": MobilityLifecycle.STARTED,
             "departed-at": MobilityLifecycle.ENDED, "cancelled-at": MobilityLifecycle.CANCELLED}


class Settings(ConnectorSettings):
    ewp_url: str = Field(description="Base URL of this HEI's EWP node, e.g. https://ewp.<hei>/ewp (HUB_<HEI>_EWP_URL).")
    ewp_partners: dict[str, str] = Field({}, description="Other partners' EWP base URLs by SCHAC code (JSON).")
    ewp_courses_url: str | None = Field(None, description="Where this HEI's SIS connector reads its course list.")
    ewp_client_cert: Path | None = Field(None, description="EWP client certificate, PEM (HUB_<HEI>_EWP_CLIENT_CERT).")
    ewp_client_key: Path | None = Field(None, description="Its private key, PEM (HUB_<HEI>_EWP_CLIENT_KEY).")
    ewp_get_batch: int = Field(10, ge=1, le=100, description="Mobilities per get (a broken one is asked for alone).")
    ewp_poll_interval: float = 300.0


def mobility(doc: Any, sending: str | None, receiving: str | None, esi: str | None, by_receiver: bool = False,
             **event: Any) -> Mobility:
    """The ``Mobility`` event of ``doc``, published by the sending HEI (or ``by_receiver``)."""
    sending, receiving = partners(doc, sending, receiving)
    if not esi:
        raise RecordRejected(doc, f"the document {doc.omobility_id} names no student ESI (global-id)", "invalid_record")
    key = esi[len(f"{ESI}{sending}:"):] if issuer(esi) == sending and not by_receiver else None  # its student number
    return Mobility(source_hei=receiving if by_receiver else sending, omobility_id=doc.omobility_id,
                    student_id=key or None, student_esi=partner_esi(esi, doc) or esi, sending_hei=sending,
                    receiving_hei=receiving, **event)


def omobility(m: OMobilityDoc, s: Settings) -> list[Mobility]:
    steps = [(LIFECYCLE[tag], when) for tag, when in m.lifecycle.items() if tag in LIFECYCLE and when]
    if not steps:  # a node without the HEROES extension: what the status says, now
        steps = [(MobilityLifecycle.CANCELLED if m.status == "cancelled" else MobilityLifecycle.NOMINATED, now_utc())]
    return [mobility(m, m.sending_hei, m.receiving_hei, m.student_esi, occurred_at=when, lifecycle=step,
                     receiving_academic_year=m.receiving_academic_year, isced_code=m.isced_code,
                     planned_start=m.planned_start, planned_end=m.planned_end) for step, when in steps]


def learning_agreement(a: LaInput, s: Settings) -> list[Mobility]:
    def component(c: EwpComponent, home: bool) -> LaComponent:
        return LaComponent(course_code=c.los_code, los_id=c.los_id, loi_id=c.loi_id, title=c.title, term_id=c.term_id,
                           ects=c.ects, isced_code=a.home_isced.get(c.los_code) if home else None,
                           recognition_conditions=c.recognition_conditions if home else None)
    d = a.doc
    return [mobility(d, d.sending_hei, d.receiving_hei, d.student_global_id, occurred_at=v.approved_at,
                     lifecycle=MobilityLifecycle.LA_APPROVED if v.number == 1 else MobilityLifecycle.LA_CHANGED,
                     receiving_academic_year=d.receiving_academic_year, isced_code=d.isced_f_code,
                     planned_start=d.start_date, planned_end=d.end_date, learning_agreement=LearningAgreement(
                         version=v.number, approved_at=v.approved_at,
                         components_studied=tuple(component(c, False) for c in v.components_studied),
                         components_recognized=tuple(component(c, True) for c in v.components_recognized),
                         recognition_groups=tuple(RecognitionGroup(group_id=g, studied=a_, recognized=b)
                                                  for g, a_, b in v.recognition_groups))) for v in a.versions]


def transcript(t: TorInput, s: Settings) -> Mobility:
    d, m = t.doc, t.mobility
    if d.issued_at is None:
        raise RecordRejected(d, f"transcript {d.omobility_id} has no issueDate", "invalid_record")
    return mobility(d, m.sending_hei or issuer(d.learner_esi), d.issuer_hei, d.learner_esi, by_receiver=True,
                    occurred_at=d.issued_at, lifecycle=MobilityLifecycle.TOR_ISSUED, isced_code=m.isced_code,
                    receiving_academic_year=m.receiving_academic_year, planned_start=m.planned_start,
                    planned_end=m.planned_end)


class EwpMobility:  # the mobility connector of one partner, made a Connector for each HEI below
    description = "EWP node: OMobilities and OMobility LAs (sending), IMobility ToRs (receiving)"
    settings_class, settings_file = Settings, Path(__file__).with_name("ewp_mobility.toml")
    mappings: ClassVar[dict[str, Any]] = {"omobilities": omobility, "las": learning_agreement, "tors": transcript}

    def sources(self, s: Settings) -> list[Any]:
        return node_sources(self, s.ewp_url.rstrip("/"), partners=s.ewp_partners, courses_url=s.ewp_courses_url,
                            cert=(s.ewp_client_cert, s.ewp_client_key), get_batch=s.ewp_get_batch,
                            poll_interval=s.ewp_poll_interval)


CONNECTORS: dict[str, type[Connector]] = {hei: type(f"Ewp{name.title()}", (EwpMobility, Connector), {
    "hei": hei, "name": f"ewp_{name}", "__module__": __name__}) for hei, name in (
    ("thomasmore.be", "thomasmore"), ("fontys.nl", "fontys"), ("ucn.dk", "ucn"), ("ipbeja.pt", "ipbeja"),
    ("th-deg.de", "thd"), ("hh.se", "hh"), ("seamk.fi", "seamk"), ("viko.lt", "viko"), ("mendelu.cz", "mendelu"))}
"""The EWP mobility connector of each partner, by SCHAC code."""
EwpThomasMore, EwpFontys, EwpUcn, EwpIpbeja, EwpThd, EwpHh, EwpSeamk, EwpViko, EwpMendelu = CONNECTORS.values()
