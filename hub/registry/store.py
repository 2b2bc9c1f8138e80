"""Subjects, versions, schema ids and compatibility settings, kept in SQL (SQLite by default).

A schema's id belongs to its text, not to a subject: the same schema under two
subjects has one id, as in Confluent's registry. Schemas are compared in a
normal form (parsed JSON, keys sorted, no whitespace), so formatting never
yields a new id; ids are never reused (SQLite AUTOINCREMENT).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from hub.registry import errors
from schemas import compat

_meta = sa.MetaData()
_schemas = sa.Table(
    "schemas",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("schema", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
_versions = sa.Table(
    "subject_versions",
    _meta,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_id", sa.Integer, sa.ForeignKey("schemas.id"), nullable=False, index=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)
_configs = sa.Table(
    "configs",
    _meta,
    sa.Column("subject", sa.String(255), primary_key=True),  # "" holds the global level
    sa.Column("compatibility", sa.String(32), nullable=False),
)
_GLOBAL = ""
T = TypeVar("T")


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a subject."""

    subject: str
    version: int
    id: int
    schema: str

    def body(self) -> dict[str, Any]:
        return {"subject": self.subject, "version": self.version, "id": self.id, "schema": self.schema}


def normalise(schema_text: str) -> tuple[str, str]:
    """(text to store, fingerprint) of a schema given as JSON text; raises :class:`errors.InvalidSchema`."""
    try:
        value = compat.validate_schema(schema_text)
    except compat.InvalidSchema as exc:
        raise errors.InvalidSchema(f"Invalid schema: {exc}") from exc
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    key = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return text, hashlib.sha256(key.encode("utf-8")).hexdigest()


def database_url(db_url_or_path: str | Path) -> str:
    """An SQLAlchemy URL from a URL or a file path (whose folder is created)."""
    text = str(db_url_or_path)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class RegistryStore:
    """The registry's state; every method is one transaction and raises only :class:`errors.RegistryFault`."""

    def __init__(self, db_url_or_path: str | Path) -> None:
        url = database_url(db_url_or_path)
        args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self._lock = threading.RLock()
        try:
            self._engine = sa.create_engine(url, connect_args=args)
            _meta.create_all(self._engine)
        except SQLAlchemyError as exc:
            raise errors.StoreError(f"Error in the backend data store: cannot open {url}: {exc}") from exc

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self._lock:
            try:
                with self._engine.begin() as conn:
                    yield conn
            except SQLAlchemyError as exc:
                raise errors.StoreError(f"Error in the backend data store: {exc}") from exc

    def _run(self, fn: Callable[[sa.Connection], T]) -> T:
        with self._tx() as conn:
            return fn(conn)

    # --- reads --------------------------------------------------------------------------

    def subjects(self, deleted: bool = False) -> list[str]:
        query = sa.select(_versions.c.subject).distinct().order_by(_versions.c.subject)
        if not deleted:
            query = query.where(_versions.c.deleted.is_(False))
        return self._run(lambda c: [r[0] for r in c.execute(query)])

    def versions(self, subject: str, deleted: bool = False) -> list[int]:
        return self._run(lambda c: [v.version for v in self._rows(c, subject, deleted)])

    def version(self, subject: str, version: int | None, deleted: bool = False) -> SchemaVersion:
        """A version of the subject; ``None`` is the latest."""
        return self._run(lambda c: self._version(c, subject, version, deleted))

    def schema(self, schema_id: int) -> str:
        def read(c: sa.Connection) -> str:
            text = c.execute(sa.select(_schemas.c.schema).where(_schemas.c.id == schema_id)).scalar()
            if text is None:
                raise errors.SchemaNotFound(f"Schema {schema_id} not found.")
            return text

        return self._run(read)

    def usages(self, schema_id: int) -> list[tuple[str, int]]:
        """(subject, version) pairs that use the schema id."""

        def read(c: sa.Connection) -> list[tuple[str, int]]:
            if c.execute(sa.select(_schemas.c.id).where(_schemas.c.id == schema_id)).scalar() is None:
                raise errors.SchemaNotFound(f"Schema {schema_id} not found.")
            query = (
                sa.select(_versions.c.subject, _versions.c.version)
                .where(_versions.c.schema_id == schema_id, _versions.c.deleted.is_(False))
                .order_by(_versions.c.subject, _versions.c.version)
            )
            return [(r.subject, r.version) for r in c.execute(query)]

        return self._run(read)

    def lookup(self, subject: str, schema_text: str, deleted: bool = False) -> SchemaVersion:
        """The version of ``subject`` that holds this schema."""
        _, fingerprint = normalise(schema_text)

        def read(c: sa.Connection) -> SchemaVersion:
            rows = self._rows(c, subject, deleted)
            ids = {r.schema_id for r in rows}
            match = c.execute(sa.select(_schemas.c.id).where(_schemas.c.fingerprint == fingerprint)).scalar()
            if match is None or match not in ids:
                raise errors.SchemaNotFound("Schema not found")
            newest = max(r.version for r in rows if r.schema_id == match)
            return self._version(c, subject, newest, deleted)

        return self._run(read)

    # --- compatibility -------------------------------------------------------------------

    def level(self, subject: str | None = None, fallback: bool = True) -> str:
        """The subject's level (else the global one, when ``fallback``), or the global level."""
        return self._run(lambda c: self._level(c, subject, fallback))

    def set_level(self, level: Any, subject: str | None = None) -> str:
        level = check_level(level)
        key = _GLOBAL if subject is None else subject
        with self._tx() as c:
            c.execute(sa.delete(_configs).where(_configs.c.subject == key))
            c.execute(sa.insert(_configs).values(subject=key, compatibility=level))
        return level

    def delete_level(self, subject: str) -> str:
        with self._tx() as c:
            level = self._level(c, subject, fallback=False)
            c.execute(sa.delete(_configs).where(_configs.c.subject == subject))
        return level

    def check(self, subject: str, schema_text: str, version: int | None | str = "all") -> list[str]:
        """Why the schema could not be registered under ``subject`` now (against one version or per level)."""
        normalise(schema_text)
        with self._tx() as c:
            level = self._level(c, subject)
            if version == "all":
                rows = self._rows(c, subject, deleted=False, missing_ok=True)
                existing = [(r.version, self._schema_text(c, r.schema_id)) for r in rows]
            else:
                found = self._version(c, subject, version if isinstance(version, int) else None)
                existing = [(found.version, found.schema)]
                level = level.removesuffix("_TRANSITIVE")
        return compat.check_compatibility(schema_text, [s for _, s in existing], level, versions=[v for v, _ in existing])

    # --- writes -------------------------------------------------------------------------

    def register(self, subject: str, schema_text: str) -> tuple[int, bool]:
        """(schema id, whether a new version was made) for the schema under ``subject``."""
        text, fingerprint = normalise(schema_text)
        with self._tx() as c:
            rows = self._rows(c, subject, deleted=True, missing_ok=True)
            live = [r for r in rows if not r.deleted]
            known = c.execute(sa.select(_schemas.c.id).where(_schemas.c.fingerprint == fingerprint)).scalar()
            if known is not None and any(r.schema_id == known for r in live):
                return known, False
            level = self._level(c, subject)
            existing = [self._schema_text(c, r.schema_id) for r in live]
            messages = compat.check_compatibility(text, existing, level, versions=[r.version for r in live])
            if messages:
                raise errors.IncompatibleSchema(subject, messages)
            if known is None:
                inserted = c.execute(sa.insert(_schemas).values(fingerprint=fingerprint, schema=text)).inserted_primary_key
                assert inserted is not None
                known = int(inserted[0])
            number = max((r.version for r in rows), default=0) + 1
            c.execute(sa.insert(_versions).values(subject=subject, version=number, schema_id=known, deleted=False))
            return known, True

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        with self._tx() as c:
            rows = self._rows(c, subject, deleted=True)
            where = _versions.c.subject == subject
            if permanent:
                if any(not r.deleted for r in rows):
                    raise errors.SubjectNotSoftDeleted(subject)
                c.execute(sa.delete(_versions).where(where))
                c.execute(sa.delete(_configs).where(_configs.c.subject == subject))
                return [r.version for r in rows]
            live = [r.version for r in rows if not r.deleted]
            if not live:
                raise errors.SubjectNotFound(subject)
            c.execute(sa.update(_versions).where(where).values(deleted=True))
            return live

    def delete_version(self, subject: str, version: int | None, permanent: bool = False) -> int:
        with self._tx() as c:
            found = self._version(c, subject, version, deleted=permanent)
            where = sa.and_(_versions.c.subject == subject, _versions.c.version == found.version)
            if permanent:
                c.execute(sa.delete(_versions).where(where))
            else:
                c.execute(sa.update(_versions).where(where).values(deleted=True))
            return found.version

    # --- helpers ------------------------------------------------------------------------

    def _rows(self, c: sa.Connection, subject: str, deleted: bool, missing_ok: bool = False) -> list[Any]:
        query = sa.select(_versions).where(_versions.c.subject == subject).order_by(_versions.c.version)
        if not deleted:
            query = query.where(_versions.c.deleted.is_(False))
        rows = list(c.execute(query))
        if not rows and not missing_ok:
            raise errors.SubjectNotFound(subject)
        return rows

    def _version(self, c: sa.Connection, subject: str, version: int | None, deleted: bool = False) -> SchemaVersion:
        rows = self._rows(c, subject, deleted)
        if version is None:
            row = rows[-1]
        else:
            row = next((r for r in rows if r.version == version), None)
            if row is None:
                raise errors.VersionNotFound(version)
        return SchemaVersion(subject, row.version, row.schema_id, self._schema_text(c, row.schema_id))

    @staticmethod
    def _level(c: sa.Connection, subject: str | None, fallback: bool = True) -> str:
        def stored(key: str) -> str | None:
            return c.execute(sa.select(_configs.c.compatibility).where(_configs.c.subject == key)).scalar()

        if subject is None:
            return stored(_GLOBAL) or compat.DEFAULT_LEVEL
        level = stored(subject)
        if level is None and not fallback:
            raise errors.SubjectConfigNotFound(subject)
        return level or stored(_GLOBAL) or compat.DEFAULT_LEVEL

    @staticmethod
    def _schema_text(c: sa.Connection, schema_id: int) -> str:
        return c.execute(sa.select(_schemas.c.schema).where(_schemas.c.id == schema_id)).scalar_one()


def check_level(level: Any) -> str:
    """The level in upper case, or :class:`errors.InvalidCompatibility`."""
    if not isinstance(level, str) or level.upper() not in compat.LEVELS:
        raise errors.InvalidCompatibility(level)
    return level.upper()
