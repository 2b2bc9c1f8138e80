"""The base class a partner subclasses: institution, settings, sources and typed mappings."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from connectors.sdk._errors import RecordRejected
from connectors.sdk._records import NativeRecord
from connectors.sdk._settings import ConnectorSettings, env_prefix, load_settings
from connectors.sdk._source import Source
from schemas.catalogue import SIS_KINDS, sis_topic
from schemas.institutions import UnknownInstitution, institution
from schemas.models import Event

KIND_OF_RECORD = {record: kind for kind, record in SIS_KINDS.items()}


class Connector:
    """One partner's connector: *what* to read and *how* to map it; the SDK runs the loop.

    Declare the institution, a settings class, the sources, and one typed mapping
    per source (a pure function from the native record to a hub event)::

        from datetime import date, datetime, timezone
        from pydantic import BaseModel
        from connectors.sdk import Connector, ConnectorSettings, LocalDecimal
        from connectors.sources import FileDropSource
        from schemas.models import Grade, GradeStatus

        class Row(BaseModel):
            student: str
            course: str
            grade: str
            ects: LocalDecimal
            date: date

        class Settings(ConnectorSettings):
            folder: str

        def grade(r: Row, s: Settings) -> Grade:
            return Grade(source_hei="th-deg.de", hei="th-deg.de", student_id=r.student,
                         result_id=f"{r.student}/{r.course}", course_code=r.course,
                         grade_label=r.grade, grading_scheme_id="th-deg.de:1-5", ects=r.ects,
                         assessed_on=r.date, status="FINAL",
                         occurred_at=datetime(r.date.year, r.date.month, r.date.day, tzinfo=timezone.utc))

        class Deggendorf(Connector):
            hei = "th-deg.de"
            settings_class = Settings
            mappings = {"grades": grade}

            def sources(self, s: Settings):
                return [FileDropSource("grades", s.folder, delimiter=";", decimal_separator=",")]

    The mapping's first parameter type decides how the native record is read: a
    pydantic model is validated from the record (a failure becomes a dead letter),
    anything else is passed as the source gives it. A mapping may return one
    event, several, or ``None`` (skipped); it raises ``Skip`` or ``RecordRejected`` for the record, and
    ``SourceUnavailable`` when a service it needs is down (the batch is retried, not dead-lettered).
    """

    hei: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    settings_class: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    mappings: ClassVar[dict[str, Callable[..., Any]]] = {}
    settings_file: ClassVar[Path | None] = None
    _compiled: ClassVar[dict[str, _Mapping]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.hei:
            raise TypeError(f"{cls.__name__}: set hei = '<SCHAC code>' (e.g. 'hh.se')")
        try:
            institution(cls.hei)
        except UnknownInstitution as exc:
            raise TypeError(f"{cls.__name__}: {exc}") from None
        module = inspect.getmodule(cls)
        if not cls.name:
            cls.name = (module.__name__.rsplit(".", 1)[-1] if module else cls.__name__.lower())
        if cls.settings_file is None and module is not None and getattr(module, "__file__", None):
            cls.settings_file = Path(module.__file__).with_name(f"{cls.name}.toml")  # type: ignore[arg-type]
        cls._compiled = {src: _Mapping(fn) for src, fn in cls.mappings.items()}

    def __init__(self, settings: ConnectorSettings | None = None, **overrides: Any) -> None:
        self.settings = settings if settings is not None else self.load_settings(**overrides)

    @classmethod
    def load_settings(cls, settings_file: Path | None = None, **overrides: Any) -> ConnectorSettings:
        """Settings from overrides, ``HUB_<HEI>_*`` variables and the TOML file; ``ConfigError`` lists every problem."""
        return load_settings(cls.settings_class, cls.hei, settings_file or cls.settings_file, **overrides)

    @classmethod
    def env_prefix(cls) -> str:
        return env_prefix(cls.hei)

    def sources(self, settings: Any) -> Sequence[Source]:
        raise NotImplementedError(f"{type(self).__name__} must implement sources(settings) -> list[Source]")

    def mapping_for(self, source: str) -> _Mapping:
        try:
            return self._compiled[source]
        except KeyError:
            raise KeyError(f"{type(self).__name__}.mappings has no entry for source {source!r}") from None

    def topic_for(self, event: Event) -> str:
        return sis_topic(self.hei, KIND_OF_RECORD[event.record_name])


class _Mapping:
    """A partner's mapping function with its input type resolved once."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        params = list(inspect.signature(fn).parameters)
        if len(params) != 2:
            raise TypeError(f"mapping {fn.__name__} must take (record, settings), it takes {params}")
        hints = typing.get_type_hints(fn)
        first = hints.get(params[0])
        self.model: type[BaseModel] | None = (
            first if isinstance(first, type) and issubclass(first, BaseModel) else None
        )

    def __call__(self, record: NativeRecord, settings: Any) -> list[Event]:
        data = record.data
        if self.model is not None and not isinstance(data, self.model):
            try:
                data = self.model.model_validate(data, context=record.context)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors()
                )
                raise RecordRejected(record, f"not a valid {self.model.__name__}: {problems}", "invalid_record") from exc
        out = self.fn(data, settings)
        if out is None:
            return []
        if isinstance(out, Event):
            return [out]
        if isinstance(out, Iterable):
            return list(out)
        raise TypeError(f"mapping {self.fn.__name__} returned {type(out).__name__}, expected an Event")
