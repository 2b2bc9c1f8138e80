"""Hub events read back from a hub topic the hub itself wrote, without validating them a second time.

The normaliser validates every partner event before it writes it to ``hub.grades``
or ``hub.mobilities`` (often as the bytes it came in); the recogniser reads them
back, and validating each one again cost it more than deciding on it.
:func:`from_written_avro` builds the same model :func:`~schemas.models.from_avro`
would from a record Avro decoded with the model's own schema: enums, nested
records and arrays converted to the model's types, every other value as Avro gave
it (timestamps in UTC to the millisecond, ECTS to the cent: what a validated
model wrote).  Only for topics whose one writer validated what it wrote; a hypothesis
test holds it to ``from_avro``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel

from schemas.building import built, setters
from schemas.models import EVENT_MODELS, Event

__all__ = ["from_written_avro"]

_Convert = Callable[[Any], Any]


def _converter(annotation: Any) -> _Convert | None:
    """How a value Avro decoded becomes the field's value (None: it already is)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _converter(args[0])
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        converts = [c for c in map(_converter, present) if c is not None]
        if not converts:
            return None
        if len(present) != 1:
            raise TypeError(f"no converter for a union of {present}")
        convert = converts[0]
        return lambda v: None if v is None else convert(v)
    if origin is tuple:
        item = _converter(args[0])
        return tuple if item is None else (lambda v: tuple([item(x) for x in v]))
    if origin is Literal or annotation in _AS_AVRO_GIVES:
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _builder(annotation)
    raise TypeError(f"no converter for {annotation!r}")


# field types whose values fastavro and cavro give as the model holds them
_AS_AVRO_GIVES = frozenset({str, int, float, bool, bytes, datetime, date, Decimal})


def _builder(model: type[BaseModel]) -> Callable[[dict], BaseModel]:
    converts = [(name, c) for name, f in model.model_fields.items() if (c := _converter(f.annotation)) is not None]
    fields, slots = set(model.model_fields), setters(model)

    def build(data: dict) -> BaseModel:
        values = dict(data)
        for name, convert in converts:
            values[name] = convert(values[name])
        return built(model, fields, slots, values)

    return build


_BUILDERS: dict[str, Callable[[dict], BaseModel]] = {}


def from_written_avro(record_name: str, data: dict[str, Any]) -> Event:
    """The typed event of a record decoded with ``record_name``'s schema from a topic the hub wrote after validating it."""
    build = _BUILDERS.get(record_name)
    if build is None:
        build = _BUILDERS[record_name] = _builder(EVENT_MODELS[record_name])
    if not data.get("event_type"):
        data = {**data, "event_type": record_name}
    return build(data)  # type: ignore[return-value]
