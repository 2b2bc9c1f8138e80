"""A standard test suite every partner connector gets in a few lines (like the Singer SDK's tap tests).

::

    # tests/connectors/partners/test_example_csv.py
    import shutil
    from connectors.partners.example_csv import ExampleCsv
    from connectors.sdk.testing import ConnectorTestSuite

    class TestExampleCsv(ConnectorTestSuite):
        connector_class = ExampleCsv
        expected_events = 4          # optional: how many events the recorded input must give

        def prepare(self, tmp_path):
            shutil.copytree("tests/connectors/data/primuss", tmp_path / "in")
            return {"folder": tmp_path / "in"}       # settings overrides

It checks: the settings are valid; every mapped event encodes with its Avro schema
and decodes back equal; keys are non-null; every recorded input record maps or is
dead-lettered with a reason; event ids are stable across reads, the same native
record (a redelivery in the recorded input) gets the same ids and different records
different ones; and a re-run from the final cursor emits nothing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

import fastavro
import pytest

from connectors.sdk._connector import Connector
from connectors.sdk._process import local_avro
from connectors.sdk._publish import MemoryPublisher
from connectors.sdk._records import BadRecord, NativeRecord
from connectors.sdk._runner import ConnectorRunner
from connectors.sdk._store import CursorStore
from schemas.avro_files import parsed_schema
from schemas.catalogue import BY_NAME
from schemas.models import from_avro


class ConnectorTestSuite:
    """Subclass, set ``connector_class`` and implement ``prepare(tmp_path) -> settings overrides``."""

    connector_class: ClassVar[type[Connector]]
    expected_events: ClassVar[int | None] = None
    expected_dead_letters: ClassVar[int | None] = None

    def prepare(self, tmp_path: Path) -> dict[str, Any]:
        """Place the recorded input (files, database, server) and return settings overrides pointing at it."""
        raise NotImplementedError("implement prepare(tmp_path) returning settings overrides")

    @pytest.fixture
    def connector(self, tmp_path: Path) -> Connector:
        overrides = self.prepare(tmp_path)
        return self.connector_class(**overrides)

    @pytest.fixture
    def runner(self, connector: Connector, tmp_path: Path) -> ConnectorRunner:
        return ConnectorRunner(connector, MemoryPublisher(), CursorStore(tmp_path / "suite-cursors.sqlite"))

    def _outcomes(self, runner: ConnectorRunner) -> list[tuple[str, Any, Any]]:
        return list(runner.outcomes(cursors={name: None for name in runner.connector.mappings}))

    def test_settings_are_valid(self, connector: Connector) -> None:
        assert connector.settings is not None
        sources = connector.sources(connector.settings)
        assert sources, "sources(settings) returned no source"
        assert {s.name for s in sources} == set(connector.mappings), "every source needs a mapping and vice versa"

    def test_events_match_their_avro_schema(self, runner: ConnectorRunner) -> None:
        outputs = [out for _, _, o in self._outcomes(runner) for out in o.outputs]
        assert outputs, "the recorded input gave no event at all"
        for out in outputs:
            record_name = BY_NAME[out.topic].value_schema
            body = local_avro(out.topic, _record(out))
            decoded = fastavro.schemaless_reader(io.BytesIO(body), parsed_schema(record_name), None)
            assert from_avro(record_name, decoded) == out.event  # type: ignore[arg-type]
            assert out.event.source_hei == runner.connector.hei
        if self.expected_events is not None:
            assert len(outputs) == self.expected_events

    def test_keys_are_non_null(self, runner: ConnectorRunner) -> None:
        for _, _, outcome in self._outcomes(runner):
            for out in outcome.outputs + ([outcome.dead_letter] if outcome.dead_letter else []):
                assert out.key, f"empty key for {out.event}"

    def test_every_input_maps_or_is_dead_lettered(self, runner: ConnectorRunner) -> None:
        letters = 0
        for source, item, outcome in self._outcomes(runner):
            assert isinstance(item, (NativeRecord, BadRecord))
            if outcome.dead_letter is not None:
                letters += 1
                letter = outcome.dead_letter.event
                assert letter.reason and letter.error_kind, f"dead letter without a reason from {source}"
                assert letter.payload == item.payload
                assert letter.component == f"connector:{runner.connector.hei}"
            else:
                assert outcome.outputs or outcome.skipped, f"{item.location} gave neither events, a skip nor a dead letter"
        if self.expected_dead_letters is not None:
            assert letters == self.expected_dead_letters

    def test_event_ids_are_stable(self, runner: ConnectorRunner) -> None:
        """Reading again gives the same ids; the same native record (a SIS redelivery: same identity, same
        bytes) maps to the same ids wherever it sits in the input; different records to different ids."""
        first = self._outcomes(runner)
        again = self._outcomes(runner)
        assert _ids(first) == _ids(again), "reading the same input again gave other event ids"
        by_record: dict[tuple[str, str, bytes], list[str]] = {}
        owner: dict[str, tuple[str, str, bytes]] = {}
        for source, item, outcome in first:
            ids = [out.event.event_id for out in outcome.outputs]
            if not ids:
                continue
            record = (source, item.identity, item.payload)
            assert by_record.setdefault(record, ids) == ids, (
                f"{item.location}: the same record as an earlier one (a redelivery) got other event ids")
            for event_id in ids:
                assert owner.setdefault(event_id, record) == record, (
                    f"{item.location}: event id {event_id} is also given to a different record")

    def test_rerun_from_final_cursor_emits_nothing(self, runner: ConnectorRunner) -> None:
        publisher = runner.publisher
        assert isinstance(publisher, MemoryPublisher)
        runner.run(once=True)
        first = len(publisher.acked)
        assert first > 0, "the first run published nothing"
        runner.run(once=True)
        assert len(publisher.acked) == first, "a re-run from the saved cursor published again"


def _ids(outcomes: list[tuple[str, Any, Any]]) -> list[str]:
    return [out.event.event_id for _, _, o in outcomes for out in o.outputs]


def _record(out: Any) -> dict[str, Any]:
    from schemas.models import to_avro

    return to_avro(out.event)


def connector_test_class(connector_class: type[Connector], prepare: Any, **attrs: Any) -> type[ConnectorTestSuite]:
    """The suite as a class for ``connector_class``, without writing one: ``TestX = connector_test_class(X, prep)``."""
    return type(f"Test{connector_class.__name__}", (ConnectorTestSuite,),
                {"connector_class": connector_class, "prepare": lambda self, tmp: prepare(tmp), **attrs})
