"""The ledger's tables (SQLAlchemy Core): what registrars, exports and the web app read.

``ledger_decisions``         the current decision per (mobility, home component): the highest version seen.
                              Sum ``ects`` over recognised rows to count credits: one row per component,
                              so ECTS are never counted twice.
``ledger_decision_history``  every decision version ever published, with reason and provenance (JSON text),
                              keyed by (decision_id, version).
``ledger_mobilities``        the latest status line per mobility (lifecycle state, ECTS planned vs recognised).
``ledger_deadline_alerts``   every Erasmus deadline warning or breach, keyed by its derived alert id (withdrawn ones deleted).
``ledger_learning_agreements`` every approved LA version per mobility (from ``hub.mobilities``): Table A and
                              Table B components with ECTS and the recognition groups, as JSON text.
``ledger_offsets``           for each consumer, topic and partition, the next Kafka offset to read; written in
                              the same transaction as the rows, so a restart resumes exactly where the
                              committed rows end.

Timestamps are UTC; ECTS are decimals with two places; statuses are the Avro enum symbols.
"""

from __future__ import annotations

from sqlalchemy import (
                        BigInteger,
                        Column,
                        Date,
                        DateTime,
                        Index,
                        Integer,
                        MetaData,
                        Numeric,
                        PrimaryKeyConstraint,
                        String,
                        Table,
                        Text,
)

__all__ = ["STATUS_VALUES", "agreements", "alerts", "decisions", "history", "metadata", "mobilities", "offsets"]

metadata = MetaData()

STATUS_VALUES = ("AUTO_RECOGNISED", "NEEDS_REVIEW", "NOT_RECOGNISED", "MANUALLY_RECOGNISED", "REJECTED", "REVOKED")

_ID = 255

decisions = Table(
    "ledger_decisions", metadata,
    Column("omobility_id", String(_ID), nullable=False, comment="The sending HEI's omobility id."),
    Column("home_component", String(_ID), nullable=False, comment="Table B course code at home (host code for items outside the LA)."),
    Column("decision_id", String(64), nullable=False, comment="Id of the current decision version (derived from its inputs)."),
    Column("version", Integer, nullable=False, comment="Version of the current decision, from 1."),
    Column("status", String(32), nullable=False, comment="AUTO_RECOGNISED, NEEDS_REVIEW, NOT_RECOGNISED, MANUALLY_RECOGNISED, REJECTED or REVOKED."),
    Column("ects", Numeric(6, 2), nullable=False, comment="ECTS recognised (0 unless recognised)."),
    Column("converted_grade", String(64), comment="Home grade label, null for pass/fail or unrecognised."),
    Column("home_scheme_id", String(64), comment="Home grading scheme of the converted grade."),
    Column("home_hei", String(64), nullable=False, comment="Home (sending) institution, SCHAC code."),
    Column("host_hei", String(64), nullable=False, comment="Host (receiving) institution, SCHAC code."),
    Column("student_esi", String(_ID), nullable=False, comment="European Student Identifier."),
    Column("home_component_title", String(_ID), nullable=False, default="", comment="Title of the home component."),
    Column("rule", String(64), nullable=False, comment="Rule that decided, e.g. R2-all-passed."),
    Column("reason", Text, nullable=False, comment="Why, for a registrar."),
    Column("decided_by", String(_ID), comment="Registrar, for manual decisions."),
    Column("occurred_at", DateTime(timezone=True), nullable=False, comment="Event time of the decision."),
    PrimaryKeyConstraint("omobility_id", "home_component", name="pk_ledger_decisions"),
    Index("ix_ledger_decisions_home_status", "home_hei", "status"),
    Index("ix_ledger_decisions_decision", "decision_id"),
    Index("ix_ledger_decisions_home_time", "home_hei", "occurred_at", "decision_id"),  # the inbox: newest first, per home HEI
    comment="Current recognition decision per (mobility, home component).",
)

history = Table(
    "ledger_decision_history", metadata,
    Column("decision_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("omobility_id", String(_ID), nullable=False),
    Column("home_component", String(_ID), nullable=False),
    Column("status", String(32), nullable=False),
    Column("ects", Numeric(6, 2), nullable=False),
    Column("converted_grade", String(64)),
    Column("home_scheme_id", String(64)),
    Column("home_hei", String(64), nullable=False),
    Column("host_hei", String(64), nullable=False),
    Column("student_esi", String(_ID), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("supersedes", String(64), comment="decision_id of the previous version."),
    Column("decided_by", String(_ID)),
    Column("provenance", Text, nullable=False, comment="JSON: LA version, group, host grades, conversion tables and method, input event ids."),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(64), nullable=False, comment="Id of the RecognitionDecision event."),
    Column("trace_id", String(_ID), nullable=False, default=""),
    PrimaryKeyConstraint("decision_id", "version", name="pk_ledger_decision_history"),
    Index("ix_ledger_history_mobility", "omobility_id", "home_component", "version"),
    comment="Every recognition decision version, with reason and provenance.",
)

mobilities = Table(
    "ledger_mobilities", metadata,
    Column("omobility_id", String(_ID), primary_key=True),
    Column("student_esi", String(_ID), nullable=False),
    Column("sending_hei", String(64), nullable=False),
    Column("receiving_hei", String(64), nullable=False),
    Column("state", String(32), nullable=False, comment="NOMINATED, LA_APPROVED, STARTED, ENDED, TOR_ISSUED, RECOGNISED or CANCELLED."),
    Column("la_version", Integer),
    Column("ects_planned", Numeric(6, 2), nullable=False),
    Column("ects_recognised", Numeric(6, 2), nullable=False),
    Column("started_on", Date),
    Column("ended_on", Date),
    Column("tor_issued_on", Date),
    Column("occurred_at", DateTime(timezone=True), nullable=False, comment="Event time of the latest status line."),
    Column("status_event_id", String(64), nullable=False),
    Index("ix_ledger_mobilities_sending", "sending_hei", "state"),
    comment="Latest status of each mobility.",
)

alerts = Table(
    "ledger_deadline_alerts", metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("omobility_id", String(_ID), nullable=False),
    Column("sending_hei", String(64), nullable=False),
    Column("receiving_hei", String(64), nullable=False),
    Column("deadline", String(32), nullable=False, comment="TOR_ISSUE or RECOGNITION."),
    Column("severity", String(16), nullable=False, comment="WARNING or BREACH."),
    Column("responsible_hei", String(64), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("days_left", Integer, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False, comment="Event time the alert was raised at."),
    Index("ix_ledger_alerts_responsible", "responsible_hei", "severity"),
    comment="Erasmus deadline warnings and breaches.",
)

agreements = Table(
    "ledger_learning_agreements", metadata,
    Column("omobility_id", String(_ID), nullable=False),
    Column("version", Integer, nullable=False, comment="LA version, from 1; the highest approved one is current."),
    Column("student_esi", String(_ID), nullable=False),
    Column("sending_hei", String(64), nullable=False, comment="Home institution, SCHAC code."),
    Column("receiving_hei", String(64), nullable=False, comment="Host institution, SCHAC code."),
    Column("changes_id", String(_ID), comment="EWP changes proposal id of this version, if any."),
    Column("approved_at", DateTime(timezone=True), nullable=False),
    Column("components_studied", Text, nullable=False, comment="JSON list: Table A components at the host (course_code, title, ects, ...)."),
    Column("components_recognized", Text, nullable=False, comment="JSON list: Table B components at home, with recognition_conditions."),
    Column("recognition_groups", Text, nullable=False, comment="JSON list: groups of Table A codes to Table B codes (empty = one group per B)."),
    Column("ects_studied", Numeric(6, 2), nullable=False, comment="Sum of Table A ECTS."),
    Column("ects_recognized", Numeric(6, 2), nullable=False, comment="Sum of Table B ECTS."),
    Column("occurred_at", DateTime(timezone=True), nullable=False, comment="Event time of the mobility event that carried it."),
    Column("event_id", String(64), nullable=False, comment="Id of that Mobility event; of two events with one version the later wins."),
    PrimaryKeyConstraint("omobility_id", "version", name="pk_ledger_learning_agreements"),
    Index("ix_ledger_agreements_sending", "sending_hei"),
    comment="Approved Learning Agreement versions per mobility.",
)

offsets = Table(
    "ledger_offsets", metadata,
    Column("consumer", String(_ID), nullable=False, comment="Name of the ledger writer (its consumer group)."),
    Column("topic", String(_ID), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("next_offset", BigInteger, nullable=False, comment="First offset not yet in the ledger."),
    PrimaryKeyConstraint("consumer", "topic", "partition", name="pk_ledger_offsets"),
    comment="Kafka offsets consumed, committed with the rows they produced.",
)
