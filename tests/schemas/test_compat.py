"""Avro compatibility per level, table-driven, and the CI guard over the hub's own schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.avro_files import load_schema, record_names, released_versions
from schemas.compat import (
    LEVELS,
    InvalidLevel,
    InvalidSchema,
    check_compatibility,
    validate_schema,
)


def record(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "R", "namespace": "eu.heroes.test", "doc": "test", "fields": list(fields)}


def enum(symbols: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": symbols, **extra}


A = {"name": "a", "type": "string"}
BASE = record(A, {"name": "n", "type": "int"})

# name -> (old schema, new schema, the levels under which new may follow old)
B, F = {"BACKWARD", "BACKWARD_TRANSITIVE"}, {"FORWARD", "FORWARD_TRANSITIVE"}
FULL = B | F | {"FULL", "FULL_TRANSITIVE"}
CASES: dict[str, tuple[dict, dict, set[str]]] = {
    "identical": (BASE, BASE, FULL),
    "add field with default": (BASE, record(A, {"name": "n", "type": "int"}, {"name": "x", "type": "string", "default": ""}), FULL),
    "add field without default": (BASE, record(A, {"name": "n", "type": "int"}, {"name": "x", "type": "string"}), F),
    "remove field with default": (
        record(A, {"name": "n", "type": "int"}, {"name": "x", "type": ["null", "string"], "default": None}),
        BASE,
        FULL,
    ),
    "remove field without default": (BASE, record(A), B),
    "promote int to long": (BASE, record(A, {"name": "n", "type": "long"}), B),
    "demote long to int": (record(A, {"name": "n", "type": "long"}), BASE, F),
    "change int to string": (BASE, record(A, {"name": "n", "type": "string"}), set()),
    "enum symbol added": (record({"name": "e", "type": enum(["X", "Y"])}), record({"name": "e", "type": enum(["X", "Y", "Z"])}), B),
    "enum symbol removed": (record({"name": "e", "type": enum(["X", "Y", "Z"])}), record({"name": "e", "type": enum(["X", "Y"])}), F),
    "enum symbol removed, enum default": (
        record({"name": "e", "type": enum(["X", "Y", "Z"], default="X")}),
        record({"name": "e", "type": enum(["X", "Y"], default="X")}),
        FULL,
    ),
    "union widened": (record({"name": "u", "type": ["null", "string"]}), record({"name": "u", "type": ["null", "string", "int"]}), B),
    "union narrowed": (record({"name": "u", "type": ["null", "string", "int"]}), record({"name": "u", "type": ["null", "string"]}), F),
    "field made optional": (BASE, record(A, {"name": "n", "type": ["null", "int"], "default": None}), B),
    "logical type timestamp-millis on the same long": (
        record({"name": "t", "type": "long"}),
        record({"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}),
        FULL,
    ),
    "record renamed": (BASE, {**BASE, "name": "Other"}, set()),
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_compatibility_table(case: str, level: str) -> None:
    old, new, allowed = CASES[case]
    messages = check_compatibility(new, [old], level)
    if level == "NONE" or level in allowed:
        assert messages == [], messages
    else:
        assert messages, f"{case} should be incompatible under {level}"
        assert all(m.startswith(("BACKWARD:", "FORWARD:")) for m in messages)


def test_message_names_the_field_and_how_it_fails() -> None:
    new = record(A, {"name": "n", "type": "int"}, {"name": "credits", "type": "int"})
    [message] = check_compatibility(new, [BASE], "BACKWARD")
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in message
    assert "'credits'" in message and "/fields/2" in message and "version 1" in message


def test_transitive_levels_check_every_earlier_version() -> None:
    v1 = BASE
    v2 = record(A, {"name": "n", "type": "int"}, {"name": "x", "type": "string", "default": ""})
    v3 = record(A, {"name": "n", "type": "int"}, {"name": "x", "type": "string", "default": ""}, {"name": "y", "type": "int"})
    v3_ok_for_v2 = record(A, {"name": "n", "type": "int"}, {"name": "x", "type": "string"})  # x has no default any more
    assert check_compatibility(v3_ok_for_v2, [v1, v2], "BACKWARD") == []
    transitive = check_compatibility(v3_ok_for_v2, [v1, v2], "BACKWARD_TRANSITIVE", versions=[1, 2])
    assert len(transitive) == 1 and "version 1" in transitive[0] and "'x'" in transitive[0]
    assert check_compatibility(v3, [v1, v2], "FORWARD_TRANSITIVE") == []


def test_change_deep_inside_a_union_is_explained() -> None:
    old = load_schema("RecognitionDecision")
    new = json.loads(json.dumps(old).replace('"ECTS_SCALE"', '"ECTS_SCALE_RENAMED"'))
    messages = check_compatibility(new, [old], "BACKWARD")
    assert messages and "MISSING_UNION_BRANCH" in messages[0]
    assert "ECTS_SCALE" in messages[0] and "MISSING_ENUM_SYMBOLS" in messages[0]


def test_string_and_text_forms_are_equivalent() -> None:
    assert check_compatibility(json.dumps(BASE), [json.dumps(BASE, indent=2)], "FULL") == []


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        json.dumps({"type": "record", "name": "R", "fields": [{"name": "x", "type": "Nope"}]}),
        json.dumps({"type": "record", "name": "R", "fields": [{"name": "x", "type": "int", "default": "abc"}]}),
        json.dumps({"type": "record", "name": "1R", "fields": []}),
        json.dumps(5),
        "[" * 5000 + "]" * 5000,
    ],
)
def test_invalid_schema_is_named(bad: str) -> None:
    with pytest.raises(InvalidSchema):
        validate_schema(bad)
    with pytest.raises(InvalidSchema):
        check_compatibility(bad, [BASE], "BACKWARD")


def test_unknown_level() -> None:
    with pytest.raises(InvalidLevel, match="BACKWARD_TRANSITIVE"):
        check_compatibility(BASE, [BASE], "SIDEWAYS")


# --- CI guard over schemas/avro ------------------------------------------------------------


@pytest.mark.parametrize("name", record_names())
def test_schema_is_backward_compatible_with_every_released_version(name: str) -> None:
    released = released_versions(name)
    assert released, f"schemas/avro/history/{name}/ is empty: copy the released {name}.avsc there as 1.avsc"
    messages = check_compatibility(load_schema(name), [s for _, s in released], "BACKWARD_TRANSITIVE", versions=[v for v, _ in released])
    assert messages == [], f"{name}.avsc breaks released versions:\n" + "\n".join(messages)


def _undocumented(schema: Any, path: str, seen: set[str]) -> list[str]:
    if isinstance(schema, list):
        return [m for i, s in enumerate(schema) for m in _undocumented(s, f"{path}[{i}]", seen)]
    if not isinstance(schema, dict):
        return []
    missing: list[str] = []
    kind = schema.get("type")
    if kind in ("record", "enum", "fixed"):
        if schema["name"] in seen:
            return []
        seen.add(schema["name"])
        if not str(schema.get("doc", "")).strip():
            missing.append(f"{path} ({kind} {schema['name']})")
    if kind == "record":
        for field in schema["fields"]:
            where = f"{path}.{field['name']}"
            if not str(field.get("doc", "")).strip():
                missing.append(where)
            missing += _undocumented(field["type"], where, seen)
    elif kind == "array":
        missing += _undocumented(schema["items"], path + "[]", seen)
    elif kind == "map":
        missing += _undocumented(schema["values"], path + "{}", seen)
    elif isinstance(kind, (dict, list)):
        missing += _undocumented(kind, path, seen)
    return missing


@pytest.mark.parametrize("name", record_names())
def test_every_record_and_field_has_a_doc(name: str) -> None:
    assert _undocumented(load_schema(name), name, set()) == []


def test_doc_check_can_fail() -> None:
    assert _undocumented(record({"name": "x", "type": "int"}), "R", set()) == ["R.x"]
