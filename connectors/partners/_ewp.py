"""EWP documents for the mobility connector: every API of a partner's node, parsed for the mappings.

``EwpNode`` is the SDK's ``EwpSource`` with two things it lacks: the OMobilities API
(``student-mobility`` elements) and the HEI parameter on ``get`` (EWP requires
``sending_hei_id`` / ``receiving_hei_id`` there too, not only on ``index``). Learning
agreement tables are read from the XML (``term-id`` is an element, not text) and
``approved-changes`` applied to ``first-version``, since EWP lists only the changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from lxml import etree

from connectors.sdk import BadRecord, Checkpoint, Item, NativeRecord
from connectors.sources import EwpSource, LearningAgreementDoc, RetryingClient, TranscriptDoc, parse_la, parse_tor

HX = "https://heroes-alliance.eu/hub/ewp-extension/v1"


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name] if el is not None else []


def _child(el: Any, *path: str) -> Any:
    for name in path:
        found = _children(el, name)
        el = found[0] if found else None
    return el


def _text(el: Any, *path: str) -> str | None:
    node = _child(el, *path)
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def day(text: str | None) -> date | None:
    """An xs:date, or None for a missing or year-month-only value."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def moment(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OMobilityDoc:
    """One ``student-mobility`` of an OMobilities ``get`` response, with the HEROES lifecycle times if present."""

    omobility_id: str
    sending_hei: str | None
    receiving_hei: str | None
    student_esi: str | None
    status: str
    receiving_academic_year: str
    isced_code: str | None
    planned_start: date | None
    planned_end: date | None
    lifecycle: dict[str, str] = field(default_factory=dict)  # hx:nominated-at, arrived-at, departed-at, cancelled-at


def parse_omobility(el: Any) -> OMobilityDoc:
    oid = _text(el, "omobility-id")
    if not oid:
        raise ValueError("missing <omobility-id> in <student-mobility>")
    life = _child(el, "lifecycle")
    return OMobilityDoc(
        omobility_id=oid, sending_hei=_text(el, "sending-hei", "hei-id"),
        receiving_hei=_text(el, "receiving-hei", "hei-id"), student_esi=_text(el, "student", "global-id"),
        status=_text(el, "status") or "nomination", isced_code=_text(el, "nominee-isced-f-code"),
        receiving_academic_year=_text(el, "receiving-academic-year-id") or "",
        planned_start=day(_text(el, "planned-arrival-date")), planned_end=day(_text(el, "planned-departure-date")),
        lifecycle={etree.QName(c).localname: (c.text or "").strip() for c in (life if life is not None else ())
                   if isinstance(c.tag, str) and etree.QName(c).namespace == HX and (c.text or "").strip()})


Document = Literal["omobility", "la", "tor"]
_PARSE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "omobility": ("student-mobility", parse_omobility), "la": ("la", parse_la), "tor": ("tor", parse_tor)}


class EwpNode(EwpSource):
    """``index?modified_since`` then ``get`` on one API of a partner's EWP node (cursor ``{"since": t}``)."""

    def __init__(self, name: str, index_url: str, get_url: str, *, document: Document, **kwargs: Any) -> None:
        super().__init__(name, index_url, get_url, document="tor" if document == "tor" else "la", **kwargs)
        self.document_kind = document

    def read(self, cursor: Any) -> Iterator[Item]:
        since = cursor.get("since") if cursor else None
        started = (datetime.now(UTC) - self.skew).isoformat(timespec="seconds")
        ids = self._index(since)
        if isinstance(ids, BadRecord):
            yield ids
            return
        tag, parse = _PARSE[self.document_kind]
        keep = {"since": since} if since else None
        for i in range(0, len(ids), self.get_batch):
            chunk = ids[i: i + self.get_batch]
            resp = self.client.get(self.get_url, {**self.params, "omobility_id": chunk})
            where = f"GET {self.get_url} omobility_id={','.join(chunk)}"
            try:
                root = self._xml(resp)
            except etree.XMLSyntaxError as exc:
                yield BadRecord(resp.content, f"{where}: not well-formed XML: {exc}", where, keep, "parse",
                                chunk[0] if len(chunk) == 1 else "")
                continue
            for el in _children(root, tag):
                payload = etree.tostring(el)
                try:
                    doc = parse(el)
                except ValueError as exc:
                    yield BadRecord(payload, f"{where}: {exc}", where, keep, "parse", _text(el, "omobility-id") or "")
                    continue
                yield NativeRecord(doc, payload, doc.omobility_id, f"{where} ({doc.omobility_id})", keep)
        yield Checkpoint({"since": started}, f"GET {self.index_url}")


# --- learning agreement tables ------------------------------------------------------------

@dataclass(frozen=True)
class Component:
    course_code: str
    los_id: str | None
    loi_id: str | None
    title: str
    term_id: str
    ects: Decimal
    recognition_conditions: str | None
    status: str | None  # inserted | deleted inside approved-changes

    def same_course(self, other: Component) -> bool:
        return (self.los_id == other.los_id) if self.los_id and other.los_id else self.course_code == other.course_code


@dataclass(frozen=True)
class Version:
    number: int
    approved_at: datetime
    studied: tuple[Component, ...]
    recognized: tuple[Component, ...]
    groups: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


def _component(c: Any, year: str) -> Component:
    code = _text(c, "los-code") or _text(c, "los-id")
    if not code:
        raise ValueError("a component has neither <los-code> nor <los-id>")
    try:
        ects = next(Decimal(_text(cr, "value") or "") for cr in _children(c, "credit")
                    if (_text(cr, "scheme") or "ects").lower() == "ects")
    except StopIteration:
        raise ValueError(f"component {code} has no ECTS <credit>") from None
    except InvalidOperation:
        raise ValueError(f"component {code}: ECTS credit is not a number") from None
    number = _text(c, "term-id", "term-number")
    return Component(code, _text(c, "los-id"), _text(c, "loi-id"), _text(c, "title") or "",
                     f"{year}-{number}" if number and year else "", ects, _text(c, "recognition-conditions"),
                     c.get("status"))


def _table(version: Any, name: str, year: str) -> list[Component]:
    return [_component(c, year) for c in _children(_child(version, name), "component")]


def _apply(base: list[Component], changes: list[Component]) -> tuple[Component, ...]:
    """The table after ``changes``: a deleted component leaves its place to the next inserted one."""
    rows: list[Component | None] = list(base)
    free: list[int] = []
    for change in changes:
        if change.status == "deleted":
            at = next((i for i, c in enumerate(rows) if c is not None and c.same_course(change)), None)
            if at is None:
                raise ValueError(f"approved-changes delete {change.course_code}, which the first version does not list")
            rows[at] = None
            free.append(at)
        elif change.status == "inserted":
            plain = replace(change, status=None)
            if free:
                rows[free.pop(0)] = plain
            else:
                rows.append(plain)
    return tuple(c for c in rows if c is not None)


def _groups(la: Any, number: int) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """HEROES recognition groups (``hx:recognition-groups la-version="n"``) of one version."""
    for block in la:
        if isinstance(block.tag, str) and block.tag == f"{{{HX}}}recognition-groups" \
                and block.get("la-version") == str(number):
            return tuple((g.get("id", ""), _codes(g, "studied"), _codes(g, "recognized"))
                         for g in block if isinstance(g.tag, str))
    return ()


def _codes(group: Any, side: str) -> tuple[str, ...]:
    return tuple(x.get("los-code", "") for x in _children(group, side))


def approved_versions(doc: LearningAgreementDoc) -> list[Version]:
    """Version 1 (``first-version``) and 2 (``approved-changes``), each once the receiving HEI signed it."""
    la, year = doc.element, doc.receiving_academic_year
    out: list[Version] = []
    first = _child(la, "first-version")
    signed = moment(_text(first, "receiving-hei-signature", "timestamp"))
    if first is None or signed is None:
        return out
    studied, recognized = _table(first, "components-studied", year), _table(first, "components-recognized", year)
    out.append(Version(1, signed, tuple(studied), tuple(recognized), _groups(la, 1)))
    changes = _child(la, "approved-changes")
    signed = moment(_text(changes, "receiving-hei-signature", "timestamp"))
    if changes is not None and signed is not None:
        out.append(Version(2, signed, _apply(studied, _table(changes, "components-studied", year)),
                           _apply(recognized, _table(changes, "components-recognized", year)), _groups(la, 2)))
    return out


# --- what a document needs from elsewhere -------------------------------------------------

@dataclass(frozen=True)
class LaInput:
    doc: LearningAgreementDoc
    home_isced: Mapping[str, str]  # course code at the sending HEI -> ISCED-F field (empty: unknown)


@dataclass(frozen=True)
class TorInput:
    doc: TranscriptDoc
    mobility: OMobilityDoc | None  # the sending HEI's OMobility (None: its node is not configured or silent)


class HomeCourses:
    """The sending HEI's own courses (code -> ISCED-F), read through its SIS connector's ``course_isced``."""

    def __init__(self, reader: Callable[[str], Mapping[str, str]] | None, location: str | None,
                 min_age: float = 300.0) -> None:
        self.reader, self.location, self.min_age = reader, location, min_age
        self.fields: Mapping[str, str] = {}
        self.read_at = float("-inf")

    def covering(self, codes: list[str]) -> Mapping[str, str]:
        """The catalogue, read again if a code is missing and the last read is older than ``min_age``."""
        if self.reader is None or not self.location:
            return {}
        stale = time.monotonic() - self.read_at >= self.min_age
        if stale and (self.read_at == float("-inf") or any(c not in self.fields for c in codes)):
            self.fields = dict(self.reader(self.location))
            self.read_at = time.monotonic()
        return self.fields


class PartnerNodes:
    """Other partners' OMobilities APIs (their EWP base URLs, as the EWP Registry lists them), one get per mobility."""

    def __init__(self, urls: Mapping[str, str], *, cert: Any = None) -> None:
        self.urls = {hei.lower(): url.rstrip("/") for hei, url in urls.items()}
        self.cert = cert
        self._client: RetryingClient | None = None
        self._cache: dict[str, OMobilityDoc | None] = {}

    def omobility(self, sending_hei: str | None, omobility_id: str) -> OMobilityDoc | None:
        if not sending_hei or sending_hei.lower() not in self.urls:
            return None
        if omobility_id not in self._cache:
            if self._client is None:
                self._client = RetryingClient(headers={"Accept": "application/xml"}, cert=self.cert,
                                              credentials_setting="the EWP client certificate settings")
            resp = self._client.get(f"{self.urls[sending_hei.lower()]}/omobilities/get",
                                    {"sending_hei_id": sending_hei.lower(), "omobility_id": omobility_id})
            try:
                root = etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
                found = [parse_omobility(el) for el in _children(root, "student-mobility")]
            except (etree.XMLSyntaxError, ValueError):
                found = []
            self._cache[omobility_id] = next((m for m in found if m.omobility_id == omobility_id), None)
        return self._cache[omobility_id]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
