"""EWP LA and ToR documents: index with modified_since, get per id, parsed structures, bad documents dead-lettered."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import fastavro

from connectors.sdk import Connector, ConnectorRunner, ConnectorSettings, CursorStore, MemoryPublisher, RecordRejected
from connectors.sources import EwpSource, LearningAgreementDoc, TranscriptDoc
from schemas.avro_files import parsed_schema
from schemas.models import Grade, LaComponent, LearningAgreement, Mobility
from tests.connectors.servers import ScriptedServer

LA_NS = "https://github.com/erasmus-without-paper/ewp-specs-api-omobility-las/blob/stable-v1/endpoints/get-response.xsd"
TOR_NS = "https://github.com/erasmus-without-paper/ewp-specs-api-imobility-tors/blob/stable-v2/endpoints/get-response.xsd"
ELMO = "https://github.com/emrex-eu/elmo-schemas/tree/v1"


def _component(code: str, ects: str, extra: str = "") -> str:
    return (f"<component><los-code>{code}</los-code><title>{code} title</title><term-id><academic-year-id>2025/2026"
            f"</academic-year-id></term-id><credit><scheme>ects</scheme><value>{ects}</value></credit>{extra}</component>")


def _la(mob: str, esi: str, broken: bool = False) -> str:
    sig = "<signer-name>X</signer-name><timestamp>2025-06-01T10:00:00Z</timestamp>"
    receiving = "" if broken else "<receiving-hei><hei-id>mendelu.cz</hei-id></receiving-hei>"
    return f"""<la><omobility-id>{mob}</omobility-id><sending-hei><hei-id>hh.se</hei-id></sending-hei>{receiving}
<receiving-academic-year-id>2025/2026</receiving-academic-year-id>
<student><global-id>{esi}</global-id></student><start-date>2025-09-01</start-date><end-date>2026-01-31</end-date>
<first-version><components-studied>{_component("EBC01", "6")}{_component("EBC02", "4.5")}</components-studied>
<components-recognized>{_component("HH-B1", "7.5", "<recognition-conditions>oral exam</recognition-conditions>")}</components-recognized>
<student-signature>{sig}</student-signature><sending-hei-signature>{sig}</sending-hei-signature>
<receiving-hei-signature>{sig}</receiving-hei-signature></first-version></la>"""


def _tor(mob: str, esi: str) -> str:
    return f"""<tor><omobility-id>{mob}</omobility-id><elmo xmlns="{ELMO}">
<learner><identifier type="esi">{esi}</identifier></learner>
<report><issuer><identifier type="schac">hh.se</identifier></issuer>
<learningOpportunitySpecification><identifier type="local">EBC01</identifier><title>Economics</title><type>Course</type>
<specifies><learningOpportunityInstance><identifier type="ewp-loi-id">CRI/1</identifier><date>2026-01-20</date>
<status>passed</status><gradingSchemeLocalId>hh.se:A-F</gradingSchemeLocalId><resultLabel>B</resultLabel>
<credit><scheme>ects</scheme><value>6</value></credit></learningOpportunityInstance></specifies>
<hasPart><learningOpportunitySpecification><identifier type="local">EBC02</identifier><title>Lab</title>
<specifies><learningOpportunityInstance><date>2026-01-22</date><status>failed</status><resultLabel>F</resultLabel>
<gradingSchemeLocalId>hh.se:A-F</gradingSchemeLocalId><credit><scheme>ects</scheme><value>4.5</value></credit>
</learningOpportunityInstance></specifies></learningOpportunitySpecification></hasPart>
</learningOpportunitySpecification><issueDate>2026-02-01T00:00:00Z</issueDate></report></elmo></tor>"""


class Settings(ConnectorSettings):
    base: str


def la_mobility(d: LearningAgreementDoc, s: Settings) -> Mobility:
    version = d.approved
    if version is None or d.student_global_id is None:
        raise RecordRejected(d, "no approved version or no student global-id", "not_approved")

    def comp(c):  # EWP component -> hub LA component
        return LaComponent(course_code=c.los_code, title=c.title, ects=c.ects or Decimal(0),
                           recognition_conditions=c.recognition_conditions)

    return Mobility(source_hei="hh.se", omobility_id=d.omobility_id, student_esi=d.student_global_id,
                    sending_hei=d.sending_hei, receiving_hei=d.receiving_hei, lifecycle="LA_APPROVED",
                    receiving_academic_year=d.receiving_academic_year, occurred_at=datetime(2025, 6, 1, tzinfo=UTC),
                    learning_agreement=LearningAgreement(
                        version=1, approved_at=datetime(2025, 6, 1, tzinfo=UTC),
                        components_studied=tuple(comp(c) for c in version.components_studied),
                        components_recognized=tuple(comp(c) for c in version.components_recognized)))


def tor_grades(d: TranscriptDoc, s: Settings) -> list[Grade]:
    return [Grade(source_hei="hh.se", hei="hh.se", student_id=d.learner_esi, student_esi=d.learner_esi,
                  result_id=f"{d.omobility_id}/{r.los_code}", course_code=r.los_code, loi_id=r.loi_id,
                  grade_label=r.result_label, grading_scheme_id=r.grading_scheme_local_id, ects=r.ects,
                  assessed_on=r.date, status="FINAL", omobility_id=d.omobility_id,
                  occurred_at=datetime.fromisoformat(r.date + "T00:00:00+00:00")) for r in d.results]


class EwpHalmstad(Connector):
    hei = "hh.se"
    name = "ewp_test"
    settings_class = Settings
    mappings = {"las": la_mobility, "tors": tor_grades}

    def sources(self, s: Settings) -> list[EwpSource]:
        return [EwpSource("las", f"{s.base}/las/index", f"{s.base}/las/get", document="la",
                          params={"sending_hei_id": "hh.se"}, get_batch=2, poll_interval=0.1),
                EwpSource("tors", f"{s.base}/tors/index", f"{s.base}/tors/get", document="tor",
                          params={"receiving_hei_id": "hh.se"}, poll_interval=0.1)]


def test_las_and_tors_are_indexed_fetched_parsed_and_mapped(tmp_path):
    tag = uuid.uuid4().hex[:6]
    esi = f"urn:schac:personalUniqueCode:int:esi:hh.se:{tag}"
    las = {f"{tag}-m{i}": _la(f"{tag}-m{i}", esi, broken=(i == 2)) for i in range(3)}
    changed: list[str] = []  # what the index lists for modified_since (after the first run)

    def index(q):
        ids = changed if "modified_since" in q else list(las)
        return 200, {}, (f'<omobility-las-index-response xmlns="{LA_NS}">'
                         + "".join(f"<omobility-id>{i}</omobility-id>" for i in ids) + "</omobility-las-index-response>").encode()

    def get(q):
        return 200, {}, (f'<omobility-las-get-response xmlns="{LA_NS}">' + "".join(las[i] for i in q["omobility_id"])
                         + "</omobility-las-get-response>").encode()

    with ScriptedServer() as srv:
        srv.routes["/las/index"] = index
        srv.routes["/las/get"] = get
        srv.routes["/tors/index"] = lambda q: (200, {}, b"<r><omobility-id>" + f"{tag}-m0".encode() + b"</omobility-id></r>"
                                               if "modified_since" not in q else b"<r/>")
        srv.routes["/tors/get"] = lambda q: (200, {}, f'<r xmlns="{TOR_NS}">{_tor(q["omobility_id"][0], esi)}</r>'.encode())
        publisher = MemoryPublisher()
        store = CursorStore(tmp_path / "c.sqlite")
        runner = ConnectorRunner(EwpHalmstad(base=srv.url), publisher, store)
        totals = runner.run(once=True)
        assert totals.published == {"sis.hh.se.mobilities": 2, "sis.hh.se.grades": 2}
        assert totals.rejected == {"parse": 1}
        gets = [q["omobility_id"] for p, q, _ in srv.requests if p == "/las/get"]
        assert gets == [[f"{tag}-m0", f"{tag}-m1"], [f"{tag}-m2"]]
        assert store.load("las")["since"] and store.load("tors")["since"]

        changed.append(f"{tag}-m1")
        again = runner.run(once=True)
        assert again.published == {"sis.hh.se.mobilities": 1}
        last_index = [q for p, q, _ in srv.requests if p == "/las/index"][-1]
        assert last_index["modified_since"] and last_index["sending_hei_id"] == ["hh.se"]

    schema = parsed_schema("Mobility")
    first = fastavro.schemaless_reader(io.BytesIO(next(v for t, _, v in publisher.acked if t == "sis.hh.se.mobilities")), schema, None)
    la = first["learning_agreement"]
    assert [c["course_code"] for c in la["components_studied"]] == ["EBC01", "EBC02"]
    assert la["components_recognized"][0]["recognition_conditions"] == "oral exam"
    grades = [fastavro.schemaless_reader(io.BytesIO(v), parsed_schema("Grade"), None)
              for t, _, v in publisher.acked if t == "sis.hh.se.grades"]
    assert sorted((g["course_code"], g["grade_label"]) for g in grades) == [("EBC01", "B"), ("EBC02", "F")]
