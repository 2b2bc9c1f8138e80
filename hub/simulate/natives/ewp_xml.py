"""EWP documents of one mobility: OMobilities v2 and OMobility LAs v1.2.0 ``get`` responses, and the
IMobility ToRs v2 ``get`` response with its EMREX ELMO transcript.

Two things EWP has no element for are added in a HEROES extension namespace (``hx:``), which
EWP clients that do not know it can skip: the actual arrival, departure and cancellation times
(``hx:lifecycle`` in the OMobility), and explicit recognition groups per LA version
(``hx:recognition-groups``).  Documents are written with the root's start tag on line 2 and its
end tag on the last line, so a server can join several into one response without parsing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from hub.simulate._calendar import Calendar
from hub.simulate._catalogue import Course
from hub.simulate._expected import course_states
from hub.simulate._mobility import LaVersion, Mobility
from hub.simulate._rand import iso, ms
from schemas.institutions import BY_SCHAC

NS_OMOBILITIES = "https://github.com/erasmus-without-paper/ewp-specs-api-omobilities/blob/stable-v2/endpoints/get-response.xsd"
NS_LAS = "https://github.com/erasmus-without-paper/ewp-specs-api-omobility-las/blob/stable-v1/endpoints/get-response.xsd"
NS_TORS = "https://github.com/erasmus-without-paper/ewp-specs-api-imobility-tors/blob/stable-v2/endpoints/get-response.xsd"
NS_TRM = "https://github.com/erasmus-without-paper/ewp-specs-types-academic-term/tree/stable-v2"
NS_ELMO = "https://github.com/emrex-eu/elmo-schemas/tree/v1"
NS_HX = "https://heroes-alliance.eu/hub/ewp-extension/v1"
INDEX_ROOT = {
    "omobilities": ("omobilities-index-response", NS_OMOBILITIES.replace("get-response", "index-response")),
    "omobility-las": ("omobility-las-index-response", NS_LAS.replace("get-response", "index-response")),
    "imobility-tors": ("imobility-tors-index-response", NS_TORS.replace("get-response", "index-response")),
}
GET_ROOT = {"omobilities": ("omobilities-get-response", NS_OMOBILITIES),
            "omobility-las": ("omobility-las-get-response", NS_LAS),
            "imobility-tors": ("imobility-tors-get-response", NS_TORS)}


def header(api: str) -> str:
    """The first two lines of a ``get`` response: the XML declaration and the root's start tag."""
    root, ns = GET_ROOT[api]
    extra = f' xmlns:hx="{NS_HX}"' if api != "imobility-tors" else ""
    if api == "omobility-las":
        extra += f' xmlns:trm="{NS_TRM}"'
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}"{extra}>\n'


def document(api: str, body: str) -> str:
    return f"{header(api)}{body}\n</{GET_ROOT[api][0]}>\n"


def _t(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _student(m: Mobility, global_id: str | None = None) -> str:
    s = m.student
    return ("<student>" + _t("given-names", s.given) + _t("family-name", s.family) + _t("global-id", global_id or s.esi)
            + _t("birth-date", s.birth.isoformat()) + _t("citizenship", BY_SCHAC[s.hei].country) + _t("gender", s.gender)
            + _t("email", s.email) + "</student>")


def omobility(m: Mobility, cal: Calendar) -> str:
    status = "cancelled" if m.cancelled_at else ("live" if m.versions else "nomination")
    life = [("hx:nominated-at", m.nominated_at), ("hx:arrived-at", m.started_at), ("hx:departed-at", m.ended_at),
            ("hx:cancelled-at", m.cancelled_at)]
    body = (
        "<student-mobility>" + _t("omobility-id", m.omobility_id)
        + f"<sending-hei>{_t('hei-id', m.home)}</sending-hei><receiving-hei>{_t('hei-id', m.host)}</receiving-hei>"
        + _t("sending-academic-term-ewp-id", f"{cal.year}-{m.term}/2") + _t("receiving-academic-year-id", cal.year)
        + _student(m) + _t("status", status) + _t("activity-type", "student-studies")
        + _t("activity-attributes", "long-term") + _t("planned-arrival-date", m.planned_start.isoformat())
        + _t("planned-departure-date", m.planned_end.isoformat()) + _t("eqf-level-studied-at-nomination", 6)
        + _t("nominee-isced-f-code", m.student.isced)
        + "<hx:lifecycle>" + "".join(_t(tag, iso(when)) for tag, when in life if when) + "</hx:lifecycle>"
        + "</student-mobility>"
    )
    return document("omobilities", body)


def _component(c: Course, cal: Calendar, conditions: str | None = None, status: str = "", reason: str = "") -> str:
    attrs = (f" status={quoteattr(status)}" if status else "") + (f" reason-code={quoteattr(reason)}" if reason else "")
    return (f"<component{attrs}>" + _t("los-id", c.los_id) + _t("los-code", c.code) + _t("title", c.title)
            + f"<term-id><trm:term-number>{c.term}</trm:term-number><trm:total-terms>2</trm:total-terms></term-id>"
            + f"<credit><scheme>ects</scheme><value>{c.ects}</value></credit>"
            + (_t("recognition-conditions", conditions) if conditions else "") + "</component>")


def _signatures(v: LaVersion, m: Mobility) -> str:
    return (f"<student-signature>{_t('timestamp', iso(v.student_signed))}<signer-app>OLA Dashboard</signer-app></student-signature>"
            f"<sending-hei-signature>{_t('signer-name', f'Coordinator {m.home}')}{_t('signer-position', 'Erasmus coordinator')}"
            f"{_t('signer-email', f'erasmus@{m.home}')}{_t('timestamp', iso(v.sending_signed))}</sending-hei-signature>"
            f"<receiving-hei-signature>{_t('signer-name', f'Coordinator {m.host}')}{_t('signer-position', 'Incoming mobility officer')}"
            f"{_t('signer-email', f'incoming@{m.host}')}{_t('timestamp', iso(v.approved_at))}</receiving-hei-signature>")


def _groups(v: LaVersion) -> str:
    if not v.groups:
        return ""
    inner = "".join(
        f"<hx:group id={quoteattr(g)}>" + "".join(f"<hx:studied los-code={quoteattr(a)}/>" for a in studied)
        + "".join(f"<hx:recognized los-code={quoteattr(b)}/>" for b in recognized) + "</hx:group>"
        for g, studied, recognized in v.groups)
    return f'<hx:recognition-groups la-version="{v.version}">{inner}</hx:recognition-groups>'


def learning_agreement(m: Mobility, cal: Calendar, *, omobility_id: str | None = None, receiving: str | None = None) -> str:
    first = m.versions[0]
    host = receiving or m.host
    body = [
        "<la>", _t("omobility-id", omobility_id or m.omobility_id),
        f"<sending-hei>{_t('hei-id', m.home)}<contact-person>{_t('given-names', 'Erasmus')}{_t('family-name', 'Office')}"
        f"{_t('email', f'erasmus@{m.home}')}</contact-person></sending-hei>",
        f"<receiving-hei>{_t('hei-id', host)}<contact-person>{_t('given-names', 'Incoming')}{_t('family-name', 'Office')}"
        f"{_t('email', f'incoming@{host}')}</contact-person></receiving-hei>",
        _t("receiving-academic-year-id", cal.year), _student(m),
        _t("start-date", m.planned_start.isoformat()), _t("end-date", m.planned_end.isoformat()),
        _t("eqf-level-studied-at-departure", 6), _t("isced-f-code", m.student.isced),
        "<student-language-skill><language>en</language><cefr-level>B2</cefr-level></student-language-skill>",
        "<first-version><components-studied>" + "".join(_component(c, cal) for c in first.studied)
        + "</components-studied><components-recognized>"
        + "".join(_component(c, cal, first.conditions.get(c.code)) for c in first.recognized)
        + "</components-recognized>" + _signatures(first, m) + "</first-version>",
    ]
    if len(m.versions) > 1:
        last = m.versions[-1]
        studied = "".join(_component(c, cal, None, st, why) for t, st, c, why in last.changes if t == "A")
        recognized = "".join(_component(c, cal, last.conditions.get(c.code) if st == "inserted" else None, st, why)
                             for t, st, c, why in last.changes if t == "B")
        body.append("<approved-changes>" + (f"<components-studied>{studied}</components-studied>" if studied else "")
                    + (f"<components-recognized>{recognized}</components-recognized>" if recognized else "")
                    + _signatures(last, m) + "</approved-changes>")
    if m.proposal is not None:
        course, student_signed, sending_signed = m.proposal
        last = m.versions[-1]
        changes = "".join(_component(c, cal, None, st, why) for t, st, c, why in last.changes if t == "A")
        changes += _component(course, cal, None, "inserted", "extending-mobility")
        proposal_id = hashlib.sha256(f"{m.omobility_id}|{course.code}|{iso(sending_signed)}".encode()).hexdigest()[:36].upper()
        body.append(f'<changes-proposal id="{proposal_id}"><components-studied>{changes}</components-studied>'
                    f"<student-signature>{_t('timestamp', iso(student_signed))}<signer-app>OLA Dashboard</signer-app></student-signature>"
                    f"<sending-hei-signature>{_t('signer-name', f'Coordinator {m.home}')}{_t('timestamp', iso(sending_signed))}"
                    "</sending-hei-signature></changes-proposal>")
    body += [_groups(v) for v in m.versions]
    body.append("</la>")
    return document("omobility-las", "".join(body))


def transcript(m: Mobility, cal: Calendar, catalogue: dict[str, Course]) -> str:
    """The ToR as issued: every host course with a result by then, its latest live attempt."""
    assert m.tor_at is not None and m.guest is not None
    states = course_states(m, until=ms(m.tor_at))
    inst = BY_SCHAC[m.host]
    results = {r["code"]: r for r in m.host_records if r["k"] == "grade" and r["t"] <= ms(m.tor_at) and r["st"] != "REVOKED"}
    specs = []
    schemes: list[str] = []
    for code, (state, label) in states.items():
        if state == "revoked" or code not in results:
            continue
        c = catalogue[code]
        r = results[code]
        schemes += [c.scheme_id] if c.scheme_id not in schemes else []
        specs.append(
            "<learningOpportunitySpecification>" + f'<identifier type="local">{escape(c.code)}</identifier>'
            + f'<identifier type="ewp-los-id">{c.los_id}</identifier><title xml:lang="en">{escape(c.title)}</title>'
            + f"<type>Course</type><iscedCode>{c.isced}</iscedCode><specifies><learningOpportunityInstance>"
            + f'<identifier type="local">{escape(r["rid"])}</identifier>'
            + _t("start", cal.term_start(c.term).isoformat()) + _t("date", r["on"])
            + f'<academicTerm><title xml:lang="en">{escape(cal.local_term(m.host, c.term))}</title>'
            + _t("start", cal.term_start(c.term).isoformat()) + _t("end", cal.term_end(c.term).isoformat()) + "</academicTerm>"
            + _t("status", state) + _t("gradingSchemeLocalId", c.scheme_id) + _t("resultLabel", label)
            + f"<credit><scheme>ects</scheme><value>{c.ects}</value></credit><languageOfInstruction>en</languageOfInstruction>"
            + "</learningOpportunityInstance></specifies></learningOpportunitySpecification>"
        )
    body = (
        "<tor>" + _t("omobility-id", m.omobility_id) + f'<elmo xmlns="{NS_ELMO}">' + _t("generatedDate", iso(m.tor_at))
        + "<learner>" + _t("citizenship", BY_SCHAC[m.home].country) + f'<identifier type="esi">{escape(m.student.esi)}</identifier>'
        + _t("givenNames", m.student.given) + _t("familyName", m.student.family) + _t("bday", m.student.birth.isoformat())
        + "</learner><report><issuer>" + _t("country", inst.country) + f'<identifier type="schac">{inst.schac}</identifier>'
        + f'<identifier type="erasmus">{escape(inst.erasmus_code)}</identifier><title xml:lang="en">{escape(inst.name)}</title>'
        + _t("url", f"https://www.{inst.schac}") + "</issuer>" + "".join(specs) + _t("issueDate", iso(m.tor_at))
        + "".join(f'<gradingScheme localId={quoteattr(s)}><description xml:lang="en">{escape(s)}</description></gradingScheme>' for s in schemes)
        + "</report></elmo></tor>"
    )
    return document("imobility-tors", body)


def index_document(api: str, ids: list[str]) -> str:
    root, ns = INDEX_ROOT[api]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">\n'
            + "".join(f"<omobility-id>{escape(i)}</omobility-id>\n" for i in ids) + f"</{root}>\n")


def when(dt: datetime | None) -> str | None:
    return iso(dt) if dt else None
