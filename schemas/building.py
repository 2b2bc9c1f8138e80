"""Pydantic models built from values already of their field types, without validation.

The rules build a model for every decision and conversion; ``model_construct`` costs as
much as validation there.  ``built`` sets exactly what ``model_construct`` sets, through
each slot's ``__set__`` found once per class (``setters``).  Tests hold built decisions and
conversions to their validated canonical JSON.
"""

from __future__ import annotations

__all__ = ["built", "setters"]

_new = object.__new__
_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def setters(cls) -> tuple:
    """The ``__set__`` of each slot ``model_construct`` fills, found once: calling them skips the attribute lookup."""
    found = []
    for name in _SLOTS:
        owner = next(k for k in cls.__mro__ if name in vars(k))
        found.append(vars(owner)[name].__set__)
    return tuple(found)


def built(cls, fields: set[str], slot_setters: tuple, values: dict):
    """A model of ``cls`` from ``values`` (every field, in the field types), unvalidated.

    The models are frozen, so the instances of a class share one set of field names
    (``fields``, the keys of ``values``).  ``slot_setters``: ``setters(cls)``.
    """
    m = _new(cls)
    set_dict, set_fields, set_extra, set_private = slot_setters
    set_dict(m, values)
    set_fields(m, fields)
    set_extra(m, None)
    set_private(m, None)
    return m
