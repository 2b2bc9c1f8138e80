"""Find partner connectors: every ``Connector`` subclass defined in a module of ``connectors.partners``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from connectors.sdk._connector import Connector


BROKEN: dict[str, str] = {}
"""Partner modules that failed to import, with the error: one broken module never hides the others."""


def _modules(package: str) -> list[ModuleType]:
    pkg = importlib.import_module(package)
    modules = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        name = f"{package}.{info.name}"
        try:
            modules.append(importlib.import_module(name))
            BROKEN.pop(name, None)
        except Exception as exc:  # a partner's bug or missing dependency: report it, keep the others usable
            BROKEN[name] = f"{type(exc).__name__}: {exc}"
    return modules


def discover(package: str = "connectors.partners") -> dict[str, type[Connector]]:
    """Connectors by name, e.g. ``{"example_csv": ExampleCsv}``."""
    found: dict[str, type[Connector]] = {}
    for module in _modules(package):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Connector) and obj is not Connector and obj.__module__ == module.__name__:
                if obj.name in found:
                    raise TypeError(f"two connectors named {obj.name!r}: {found[obj.name].__module__} and {module.__name__}")
                found[obj.name] = obj
    return found


def find_connector(name_or_hei: str, package: str = "connectors.partners") -> type[Connector]:
    """By connector name, else by SCHAC code: the partner's SIS connector wins over its ``ewp_*``
    mobility connector and over ``example_*`` ones (name those explicitly)."""
    connectors = discover(package)
    if name_or_hei in connectors:
        return connectors[name_or_hei]
    by_hei = [c for c in connectors.values() if c.hei == name_or_hei.lower()]
    real = [c for c in by_hei if not c.name.startswith("example")]
    sis = [c for c in real if not c.name.startswith("ewp_")]
    pick = sis or real or by_hei
    if len(pick) == 1:
        return pick[0]
    if not pick:
        known = ", ".join(f"{c.name} ({c.hei})" for c in connectors.values()) or "none"
        broken = "".join(f"; {m} failed to import: {e}" for m, e in BROKEN.items())
        raise LookupError(f"no connector for {name_or_hei!r}; known: {known}{broken}")
    raise LookupError(f"{name_or_hei!r} has several connectors ({', '.join(c.name for c in pick)}): name one")
