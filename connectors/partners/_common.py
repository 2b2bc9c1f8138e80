"""What the partner modules share: record checks, native value types, settings; and, from ``_joined``, the
reference lookups and sources with reference rows joined (one import for a partner module).

Private to ``connectors.partners`` (a leading underscore: ``hub connector`` does not list it).
Checks raise ``RecordRejected`` with a reason a registrar can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, SecretStr, ValidationError

from connectors.partners._joined import (
    FileLookup,
    Joined,
    JsonLookup,
    Remembered,
    SourceLookup,
    SqlSettings,
    all_rows,
    csv_drop,
    csv_rows,
    decode_rows,
    isced_reader,
    json_rows,
    sql_isced,
    sql_tables,
    with_data,
    xml_elements,
)
from connectors.sdk import ConnectorSettings, RecordRejected, Skip
from schemas.grading import UnknownGrade, UnknownScheme, scheme
from schemas.institutions import SCHAC_CODES

__all__ = [
    "ApiSettings", "BaseUrl", "DropSettings", "EdmDateTime", "FileLookup", "GermanDate", "Joined", "JsonLookup",
    "Remembered", "SourceLookup", "SqlSettings", "all_rows", "course_and_esi", "csv_drop", "csv_rows", "decode_rows",
    "grade_label", "isced_reader", "json_rows", "listed", "local_midnight", "local_time", "one_of", "partner_esi",
    "read", "reference_only", "sql_isced", "sql_tables", "utc", "with_data", "xml_elements",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
_ESI = re.compile(r"^urn:schac:personalUniqueCode:int:esi:([^:]+):(.+)$")


# --- checks every partner makes --------------------------------------------------------

def read(model: type[M], data: Mapping[str, Any], record: Any = None, **context: Any) -> M:
    """``model`` validated from ``data``; a bad record is rejected with every problem named."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors())
        raise RecordRejected(record or data, f"not a valid {model.__name__}: {problems}", "invalid_record") from None


def grade_label(scheme_id: str, printed: str, record: Any) -> str:
    """The label exactly as the SIS printed it, once it is known to be a grade of ``scheme_id``."""
    try:
        scheme(scheme_id).normalise(printed)
    except (UnknownGrade, UnknownScheme) as exc:
        raise RecordRejected(record, str(exc), "unknown_grade") from None
    return printed


def partner_esi(esi: str | None, record: Any) -> str | None:
    """The student's ESI if it is one issued by a HEROES partner (an incoming student's home HEI counts)."""
    if not esi:
        return None
    m = _ESI.match(esi)
    if m is None:
        raise RecordRejected(record, f"{esi!r} is not an ESI (urn:schac:personalUniqueCode:int:esi:<schac>:<code>)",
                             "invalid_record")
    if m.group(1) not in SCHAC_CODES:
        raise RecordRejected(record, f"the student's ESI is issued by {m.group(1)}, not a HEROES partner "
                             f"({', '.join(SCHAC_CODES)})", "unknown_institution")
    return esi


def one_of(table: Mapping[str, T], value: Any, field: str, record: Any, kind: str = "invalid_record") -> T:
    """``table[value]``; a value the table does not know rejects the record, naming the values it knows."""
    if value not in table:
        raise RecordRejected(record, f"{field} {value!r} is none of {', '.join(table)}", kind)
    return table[value]


def listed(row: Any, code: Any, where: str, record: Any, kind: str = "unknown_course") -> Any:
    """The reference ``row`` the source joined for ``code``; a record naming what ``where`` lacks is rejected."""
    if row is None:
        raise RecordRejected(record, f"{'course' if kind == 'unknown_course' else 'student'} {code!r} is not in "
                             f"{where}", kind)
    return row


def _edm_datetime(value: object) -> object:
    if isinstance(value, str) and value.startswith("/Date("):
        if not (m := re.fullmatch(r"/Date\((-?\d+)\)/", value)):
            raise ValueError(f"{value!r} is not an Edm.DateTime (/Date(<ms>)/)")
        return datetime.fromtimestamp(int(m[1]) / 1000, tz=UTC)
    return value


EdmDateTime = Annotated[datetime, BeforeValidator(_edm_datetime)]
"""An OData v2 JSON date: ``/Date(<ms since the epoch, UTC>)/``, or ISO 8601."""


def course_and_esi(r: Any, course: M | None, courses: str, person: Any, students: str | None = None
                   ) -> tuple[M, str | None]:
    """The course row the source joined to ``r`` (rejected if ``courses`` lacks ``r.course``) and the ESI of the
    student row joined (``person``). ``students`` names where every student is listed (one missing there is
    rejected); without it a student not listed yet simply has no ESI."""
    if person is None and students is not None:
        listed(None, r.student, students, r, "unknown_student")
    esi = person.get("esi") if isinstance(person, dict) else getattr(person, "esi", None)
    return listed(course, r.course, courses, r), partner_esi(esi, r)


def _german_date(value: object) -> object:
    if not isinstance(value, str):
        return value
    day, month, year = value.split(".")  # 14.07.2025
    return date(int(year), int(month), int(day))


BaseUrl = Annotated[str, AfterValidator(lambda url: url.rstrip("/"))]
"""A base URL setting: paths are appended to it, so a trailing slash is dropped."""
GermanDate = Annotated[date, BeforeValidator(_german_date)]
"""A date as German exports print it: ``14.07.2025``."""


def local_time(fmt: str, zone: str) -> Any:
    """A type for wall-clock times as the SIS prints them (``strptime`` format ``fmt``) in time zone ``zone``."""
    return Annotated[datetime, BeforeValidator(
        lambda v: datetime.strptime(v, fmt).replace(tzinfo=ZoneInfo(zone)) if isinstance(v, str) else v)]


def reference_only(record: Any, settings: Any) -> None:
    """The mapping of a source read only for reference rows (a student list the other sources join)."""
    raise Skip("reference rows (joined to the other sources' records)")


def local_midnight(day: date, zone: str) -> datetime:
    """00:00 local time of ``day`` in UTC: the event time of a result that carries only a date."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def utc(value: datetime) -> datetime:
    """A database timestamp without a zone is UTC (the SIS views store UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- settings several partners share ------------------------------------------------------

class ApiSettings(ConnectorSettings):
    """A partner's REST API: base URL, bearer token, page size."""

    api_url: BaseUrl = Field(description="Base URL of the SIS API (HUB_<HEI>_API_URL).")
    token: SecretStr | None = Field(None, description="Bearer token of the hub's API client (HUB_<HEI>_TOKEN).")
    page_size: int = Field(100, ge=1, le=1000)
    poll_interval: float = 30.0


class DropSettings(ConnectorSettings):
    """A partner whose SIS drops export files into a folder."""

    folder: Path = Field(description="Drop folder of the SIS exports (HUB_<HEI>_FOLDER).")
    poll_interval: float = 10.0


