"""HTTP polling: JSON or XML pages, a cursor as a query parameter, next-link, offset or page-number paging.

Cursor: ``{"since": <value of cursor_field of the last record>, "seen": [ids at that value]}``.
The next poll asks for ``cursor_param=since`` and skips the records already seen
at exactly that value, so an API whose filter is inclusive (``>=``) repeats nothing.
Records are expected in ascending ``cursor_field`` order (the usual ``sort=modified``).

``append_only=True`` is for a list that only ever grows at its end, in the order its
records changed (a change log without a time filter): the cursor is the number of
records consumed, ``{"position": n}``, and reading starts at the page holding record n.
A late record cannot be skipped there, as a time filter would skip one whose own
timestamp is older than the last seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import httpx
from lxml import etree
from pydantic import SecretStr

from connectors.sdk import (
    BadRecord,
    Checkpoint,
    ConfigError,
    Item,
    NativeRecord,
    Source,
    SourceUnavailable,
    canonical_bytes,
)
from connectors.sources._files import element_dict
from connectors.sources._httpclient import HttpClientMixin


def dig(data: Any, path: str | None) -> Any:
    """``dig({"a": {"b": [1]}}, "a.b") == [1]``; an empty path is the value itself."""
    if not path:
        return data
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


class HttpSource(HttpClientMixin, Source):
    """Polls a REST endpoint page by page. Declare, do not loop::

        HttpSource("grades", "https://peppi.example.fi/api/results", records_path="data",
                   cursor_param="modified_since", cursor_field="modified", paging="next_link",
                   next_link="links.next", identity_field="id", bearer_token=s.token,
                   credentials_setting="HUB_SEAMK_TOKEN")
    """

    kind = "HTTP"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        format: Literal["json", "xml"] = "json",
        records_path: str | None = None,
        cursor_param: str | None = "modified_since",
        cursor_field: str | None = None,
        initial_cursor: Any = None,
        paging: Literal["next_link", "offset", "page"] | None = None,
        next_link: str = "next",
        offset_param: str = "offset",
        limit_param: str = "limit",
        page_param: str = "page",
        first_page: int = 0,
        page_size: int = 100,
        append_only: bool = False,
        identity_field: str | None = "id",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        bearer_token: SecretStr | str | None = None,
        basic_auth: tuple[str | None, SecretStr | str | None] | None = None,
        credentials_setting: str = "the token setting",
        timeout: float = 10.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        poll_interval: float | None = None,
    ) -> None:
        super().__init__(name, poll_interval=poll_interval)
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: url {url!r} must start with http:// or https://")
        if page_size < 1:
            raise ConfigError(f"{name}: page_size must be at least 1")
        if append_only and paging is None:
            raise ConfigError(f"{name}: append_only needs paging (page, offset or next_link with offset_param)")
        self.url = url
        self.format = format
        self.records_path = records_path
        self.cursor_param, self.cursor_field, self.initial_cursor = cursor_param, cursor_field, initial_cursor
        self.paging, self.next_link = paging, next_link
        self.offset_param, self.limit_param, self.page_size = offset_param, limit_param, page_size
        self.page_param, self.first_page, self.append_only = page_param, first_page, append_only
        self.identity_field = identity_field
        self.params = dict(params or {})
        self._setup_client("application/xml" if format == "xml" else "application/json", headers, bearer_token,
                           basic_auth=basic_auth, timeout=timeout, attempts=attempts, backoff_base=backoff_base,
                           credentials_setting=credentials_setting, transport=transport)

    def describe(self) -> str:
        return f"HTTP source {self.name!r} ({self.url})"

    def check(self) -> str:
        params = {**self.params, **self._paging(0, 1)}
        resp = self.client.get(self.url, params)
        return f"GET {resp.request.url} answered {resp.status_code} ({len(resp.content)} bytes)"

    def read(self, cursor: Any) -> Iterator[Item]:
        if self.append_only:
            yield from self._read_on(int((cursor or {}).get("position", 0)))
            return
        since = cursor.get("since") if cursor else self.initial_cursor
        seen = set(cursor.get("seen", [])) if cursor else set()
        url: str | None = self.url
        params: dict[str, Any] = {**self.params}
        if since is not None and self.cursor_param:
            params[self.cursor_param] = since
        params.update(self._paging(0))
        while url is not None:
            resp = self.client.get(url, params)
            location = f"GET {resp.request.url}"
            records, body = self._parse(resp)
            if records is None:
                yield BadRecord(resp.content, f"{location}: {body}", location, _cursor(since, seen), "parse")
                if self.paging not in ("offset", "page"):
                    return  # without the page we cannot know the next one; the next poll tries again
                url, params = self.url, self._turn(params, self.page_size)
                continue
            for index, rec in enumerate(records):
                if not isinstance(rec, dict):
                    yield BadRecord(canonical_bytes(rec), f"{location} item {index}: not an object", location,
                                    _cursor(since, seen), "parse")
                    continue
                identity = str(dig(rec, self.identity_field) or "") if self.identity_field else ""
                value = dig(rec, self.cursor_field) if self.cursor_field else None
                if value is not None and since is not None and value == since and identity and identity in seen:
                    continue
                if value is not None and value != since:
                    since, seen = value, set()
                if identity and value is not None:
                    seen.add(identity)
                payload = canonical_bytes(rec) if self.format == "json" else rec.pop("__xml__")
                yield NativeRecord(rec, payload, identity, f"{location} item {index}", _cursor(since, seen))
            if not records:
                yield Checkpoint(_cursor(since, seen), location)
            url, params = self._next(resp, body, params, len(records))

    def _read_on(self, position: int) -> Iterator[Item]:
        """Records from ``position`` on; a page that does not parse is retried (skipping it would lose records)."""
        url: str | None = self.url
        params = {**self.params, **self._paging(position)}
        skip = position % self.page_size if self.paging == "page" else 0
        while url is not None:
            resp = self.client.get(url, params)
            location = f"GET {resp.request.url}"
            records, body = self._parse(resp)
            if records is None:
                raise SourceUnavailable(f"{location}: {body}")
            for index, rec in enumerate(records[skip:], start=skip):
                position += 1
                if not isinstance(rec, dict):
                    yield BadRecord(canonical_bytes(rec), f"{location} item {index}: not an object", location,
                                    {"position": position}, "parse")
                    continue
                identity = str(dig(rec, self.identity_field) or "") if self.identity_field else ""
                payload = canonical_bytes(rec) if self.format == "json" else rec.pop("__xml__")
                yield NativeRecord(rec, payload, identity, f"{location} item {index}", {"position": position})
            skip = 0
            url, params = self._next(resp, body, params, len(records))

    def _paging(self, start: int, size: int | None = None) -> dict[str, Any]:
        """The paging parameters of the page holding record ``start``."""
        size = size or self.page_size
        if self.paging == "page":
            return {self.page_param: self.first_page + start // size, self.limit_param: size}
        if self.paging == "offset" or (self.paging == "next_link" and self.append_only):
            return {self.offset_param: start, self.limit_param: size}
        return {}

    def _turn(self, params: dict[str, Any], count: int) -> dict[str, Any]:
        """``params`` of the page after one of ``count`` records (offset and page-number paging)."""
        if self.paging == "page":
            return {**params, self.page_param: params[self.page_param] + 1}
        return {**params, self.offset_param: params[self.offset_param] + count}

    def _parse(self, resp: httpx.Response) -> tuple[list[Any] | None, Any]:
        if self.format == "json":
            try:
                body = resp.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return None, f"page is not JSON: {exc}"
            records = dig(body, self.records_path) if isinstance(body, dict) else body
            if not isinstance(records, list):
                return None, f"no list at {self.records_path or 'the top level'} of the page"
            return records, body
        try:
            root = etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            return None, f"page is not well-formed XML: {exc}"
        elements = root.xpath(self.records_path) if self.records_path else list(root)
        records = []
        for el in elements:
            if isinstance(el.tag, str):
                rec = element_dict(el)
                rec["__xml__"] = etree.tostring(el)
                records.append(rec)
        return records, root

    def _next(self, resp: httpx.Response, body: Any, params: dict[str, Any], count: int) -> tuple[str | None, dict[str, Any]]:
        if self.paging in ("offset", "page"):
            return (self.url, self._turn(params, count)) if count >= self.page_size else (None, params)
        if self.paging == "next_link":
            link = resp.links.get("next", {}).get("url")
            if link is None and self.format == "json":
                link = dig(body, self.next_link)
            elif link is None:
                found = body.xpath(self.next_link) if self.next_link.startswith(("/", ".")) else []
                link = found[0] if found else None
            if link:
                return str(resp.request.url.join(str(link))), {}
        return None, params


def _cursor(since: Any, seen: set[str]) -> dict[str, Any]:
    return {"since": since, "seen": sorted(seen)}
