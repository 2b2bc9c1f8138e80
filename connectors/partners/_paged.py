"""What the HTTP partner connectors share: paged change lists, growing lookups, enriching wrappers.

The simulated SIS APIs (and many real ones without a ``modified_since`` filter) list
records in the order they changed and only ever append. Such a list is read by
*position*: the cursor is the number of records consumed, so a restart resumes
exactly where it stopped, late records included (a time filter would skip a record
whose own timestamp is older than the last one seen). Reference lists (students,
courses) are loaded the same way and read on from where they stopped when a key is
missing, so a student created after the connector started is still found.

Lookups happen in the source, not in the mapping: a lookup that cannot reach the SIS
raises ``SourceUnavailable`` and the SDK retries from the saved cursor, whereas an
error inside a mapping would dead-letter the record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, Literal

from connectors.sdk import (
    BadRecord,
    Item,
    NativeRecord,
    Source,
    SourceUnavailable,
    canonical_bytes,
)
from connectors.sources import RetryingClient, dig


class PagedList:
    """A JSON collection served page by page, read from a position on.

    ``paging="page"``: ``page_param`` numbers pages from ``first_page``, ``size_param`` sets their size.
    ``paging="next_link"``: the first request skips ``position`` records with ``offset_param``,
    then the link at ``next_link`` in each page is followed (OData ``d.__next``).
    """

    def __init__(self, url: str, *, items: str, paging: Literal["page", "next_link"] = "page",
                 page_param: str = "page", size_param: str = "size", first_page: int = 0, page_size: int = 100,
                 offset_param: str = "$skip", next_link: str = "", params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, credentials_setting: str = "the credentials settings",
                 attempts: int = 5, timeout: float = 10.0) -> None:
        self.url, self.items, self.paging = url, items, paging
        self.page_param, self.size_param = page_param, size_param
        self.first_page, self.page_size = first_page, page_size
        self.offset_param, self.next_link, self.params = offset_param, next_link, dict(params or {})
        self._client_args: dict[str, Any] = {"headers": {"Accept": "application/json", **(headers or {})},
                                             "timeout": timeout, "attempts": attempts,
                                             "credentials_setting": credentials_setting}
        self._client: RetryingClient | None = None

    @property
    def client(self) -> RetryingClient:
        if self._client is None:
            self._client = RetryingClient(**self._client_args)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _page(self, url: str, params: dict[str, Any]) -> tuple[list[Any], Any, str]:
        resp = self.client.get(url, params)
        where = f"GET {resp.request.url}"
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # the SIS's fault, not a record's: retry later
            raise SourceUnavailable(f"{where}: page is not JSON ({exc})") from None
        records = dig(body, self.items) if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise SourceUnavailable(f"{where}: no list at {self.items!r} in the page")
        return records, body, where

    def read_from(self, position: int) -> Iterator[tuple[int, Any, str]]:
        """``(position, record, location)`` for every record from ``position`` on."""
        if self.paging == "next_link":
            url: str | None = self.url
            params = {**self.params, self.offset_param: position, self.size_param: self.page_size}
            while url:
                records, body, where = self._page(url, params)
                for i, rec in enumerate(records):
                    yield position, rec, f"{where} item {i}"
                    position += 1
                url, params = (dig(body, self.next_link) or None), {}
            return
        while True:
            page, skip = divmod(position, self.page_size)
            params = {**self.params, self.page_param: self.first_page + page, self.size_param: self.page_size}
            records, _, where = self._page(self.url, params)
            for i, rec in enumerate(records[skip:], start=skip):
                yield position, rec, f"{where} item {i}"
                position += 1
            if len(records) < self.page_size:
                return

    def check(self) -> str:
        records, _, where = self._page(self.url, {**self.params, self.size_param: 1} if self.paging == "page"
                                       else {**self.params, self.size_param: 1, self.offset_param: 0})
        return f"{where} answered with {len(records)} record(s)"


class GrowingIndex:
    """A reference list (students, courses) by key, loaded lazily and read on when a key is missing."""

    def __init__(self, pages: PagedList, key: Callable[[dict[str, Any]], Any]) -> None:
        self.pages, self.key = pages, key
        self.rows: dict[str, dict[str, Any]] = {}
        self.loaded = 0

    def get(self, key: Any) -> dict[str, Any] | None:
        if key is None:
            return None
        key = str(key)
        if key not in self.rows:
            self.read_on()
        return self.rows.get(key)

    def read_on(self) -> None:
        for position, rec, _ in self.pages.read_from(self.loaded):
            self.loaded = position + 1
            if isinstance(rec, dict) and self.key(rec) is not None:
                self.rows[str(self.key(rec))] = rec  # a later version of the same row wins

    def close(self) -> None:
        self.pages.close()


Join = tuple[Callable[[dict[str, Any]], Any], GrowingIndex]


class ChangeListSource(Source):
    """Records of a change list, each handed to the mapping as ``{"record": ..., <join>: row or None}``.

    Cursor: ``{"position": n}``, the number of records consumed. ``joins`` name the
    reference rows each record needs (``{"student": (lambda r: r["studentNumber"], students)}``).
    """

    kind = "HTTP change list"

    def __init__(self, name: str, pages: PagedList, *, identity: str, joins: dict[str, Join] | None = None,
                 poll_interval: float | None = None) -> None:
        super().__init__(name, poll_interval=poll_interval)
        self.pages, self.identity, self.joins = pages, identity, dict(joins or {})

    def read(self, cursor: Any) -> Iterator[Item]:
        start = int((cursor or {}).get("position", 0))
        for position, rec, where in self.pages.read_from(start):
            after = {"position": position + 1}
            if not isinstance(rec, dict):
                yield BadRecord(canonical_bytes(rec), f"{where}: not a JSON object", where, after, "parse")
                continue
            data = {"record": rec, **{name: index.get(_safe(ref, rec)) for name, (ref, index) in self.joins.items()}}
            yield NativeRecord(data, canonical_bytes(rec), str(dig(rec, self.identity) or ""), where, after)

    def close(self) -> None:
        self.pages.close()
        for _, index in self.joins.values():
            index.close()

    def check(self) -> str:
        return self.pages.check()

    def describe(self) -> str:
        return f"HTTP change list {self.name!r} ({self.pages.url})"


def _safe(ref: Callable[[dict[str, Any]], Any], rec: dict[str, Any]) -> Any:
    try:
        return ref(rec)
    except (KeyError, TypeError, AttributeError):
        return None  # the mapping rejects the record for the missing reference


class Enriched(Source):
    """Another source's items passed through ``transform`` (lookups, splitting off bad content)."""

    def __init__(self, inner: Source, transform: Callable[[NativeRecord], Item],
                 closers: tuple[Callable[[], None], ...] = ()) -> None:
        super().__init__(inner.name, poll_interval=inner.poll_interval)
        self.inner, self.transform, self.closers = inner, transform, closers
        self.kind = inner.kind  # type: ignore[misc]

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()
        for close in self.closers:
            close()

    def read(self, cursor: Any) -> Iterator[Item]:
        for item in self.inner.read(cursor):
            yield self.transform(item) if isinstance(item, NativeRecord) else item

    def committed(self, cursor: Any) -> None:
        self.inner.committed(cursor)

    def rewind(self) -> None:
        self.inner.rewind()

    def check(self) -> str:
        return self.inner.check()

    def describe(self) -> str:
        return self.inner.describe()


def with_data(item: NativeRecord, data: Any) -> NativeRecord:
    return replace(item, data=data)


class JsonDocument:
    """One JSON document (a lookup table) fetched on first use and again on a miss, at most every ``min_age`` s."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, min_age: float = 0.0,
                 credentials_setting: str = "the credentials settings", cert: Any = None) -> None:
        self.url, self.min_age = url, min_age
        self._client_args: dict[str, Any] = {"headers": {"Accept": "application/json", **(headers or {})},
                                             "credentials_setting": credentials_setting, "cert": cert}
        self._client: RetryingClient | None = None
        self.value: Any = None
        self.fetched = float("-inf")

    def get(self, refresh: bool = False) -> Any:
        if self.value is None or (refresh and time.monotonic() - self.fetched >= self.min_age):
            if self._client is None:
                self._client = RetryingClient(**self._client_args)
            resp = self._client.get(self.url)
            try:
                self.value = resp.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise SourceUnavailable(f"GET {self.url}: not JSON ({exc})") from None
            self.fetched = time.monotonic()
        return self.value

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
