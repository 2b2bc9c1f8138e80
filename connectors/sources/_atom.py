"""Atom feed (Ladok 3 style, RFC 5005 archives): start at the oldest unread page, read entries oldest first.

The feed's ``recent`` page links back with ``prev-archive``; archive pages link
forward with ``next-archive``. Cursor: ``{"entry": <last entry id>, "page": <its
archive page URL, or null while it is on the recent page>}``. Without a cursor
the source walks back to the oldest archive page; with one it starts on the
cursor's page (or walks back from ``recent`` until it finds the entry).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from lxml import etree
from pydantic import BaseModel, SecretStr

from connectors.sdk import BadRecord, Checkpoint, Item, NativeRecord, Source
from connectors.sources._httpclient import HttpClientMixin

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class AtomEntry:
    """One feed entry: id, updated, category terms and the parsed content (first child of ``<content>``)."""

    id: str
    updated: str
    categories: tuple[str, ...]
    content: Any  # lxml element or None
    content_type: str = ""
    element: Any = field(default=None, repr=False)

    @property
    def event_type(self) -> str:
        """The last part of the first category term: ``ResultatPaHelKursAttesteratEvent``."""
        return self.categories[0].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[-1] if self.categories else ""

    def text(self, path: str, default: str | None = None) -> str | None:
        """Text at a ``/``-separated path of local names inside the content, namespaces ignored."""
        node = self.content
        for part in path.split("/"):
            if node is None:
                return default
            node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == part), None)
        return (node.text or "").strip() if node is not None else default

    def fields(self) -> dict[str, Any]:
        """The entry as a dict: ``id``, ``updated``, ``event`` (``event_type``) and the content's elements by
        local name, an element with children as a dict of its own (the first of a repeated name wins)."""
        return {"id": self.id, "updated": self.updated, "event": self.event_type, **_fields(self.content)}


class AtomRecord(BaseModel):
    """Base of a mapping's model of ``AtomFeedSource(as_dict=True)`` entries: the entry's own fields."""

    id: str
    updated: datetime
    event: str


def _fields(el: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el if el is not None else ():
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            if name not in out:
                out[name] = _fields(child) if len(child) else (child.text or "").strip()
    return out


class AtomFeedSource(HttpClientMixin, Source):
    """Reads an Atom event feed from its oldest unread entry on::

        AtomFeedSource("results", "https://api.ladok.se/uppfoljning/feed/recent", cert=(s.cert, s.key),
                       credentials_setting="HUB_HH_CLIENT_CERT")

    The mapping gets an ``AtomEntry``; with ``as_dict=True`` its ``fields()`` instead, and an
    entry whose content is not an XML element (text, or nothing) is a bad record.
    """

    kind = "Atom feed"

    def __init__(
        self,
        name: str,
        recent_url: str,
        *,
        headers: dict[str, str] | None = None,
        bearer_token: SecretStr | str | None = None,
        cert: Any = None,
        credentials_setting: str = "the certificate settings",
        timeout: float = 10.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        poll_interval: float | None = None,
        as_dict: bool = False,
    ) -> None:
        super().__init__(name, poll_interval=poll_interval)
        self.recent_url, self.as_dict = recent_url, as_dict
        self._setup_client("application/atom+xml", headers, bearer_token, timeout=timeout, attempts=attempts, backoff_base=backoff_base,
                                 credentials_setting=credentials_setting, transport=transport, cert=cert)

    def describe(self) -> str:
        return f"Atom feed {self.name!r} ({self.recent_url})"

    def check(self) -> str:
        page = self._fetch(self.recent_url)
        if isinstance(page, BadRecord):
            return f"{self.recent_url} answered, but {page.reason}"
        return f"{self.recent_url}: {len(page.findall(f'{ATOM}entry'))} entries on the recent page"

    def _fetch(self, url: str) -> Any:
        resp = self.client.get(url)
        try:
            return etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            return BadRecord(resp.content, f"GET {url}: feed page is not well-formed XML: {exc}", f"GET {url}",
                             None, "parse")

    def read(self, cursor: Any) -> Iterator[Item]:
        after = cursor.get("entry") if cursor else None
        page_url = cursor.get("page") if cursor else None
        url = page_url or self.recent_url
        page = self._fetch(url)
        if isinstance(page, BadRecord):
            yield _with_cursor(page, cursor)
            return
        if after is not None and page_url and after not in _ids(page):
            url, page = self.recent_url, self._fetch(self.recent_url)  # the page changed: search from recent
        if not page_url:
            while after is None or after not in _ids(page):
                prev = _link(page, "prev-archive")
                if prev is None:
                    break
                url = str(httpx.URL(url).join(prev))
                page = self._fetch(url)
                if isinstance(page, BadRecord):
                    yield _with_cursor(page, cursor)
                    return
        while True:
            archive = _link(page, "next-archive") is not None
            here = str(httpx.URL(url).join(_link(page, "self") or url)) if archive else None
            entries = _entries(page)
            ids = [(e.findtext(f"{ATOM}id") or "").strip() for e in entries]
            skip = ids.index(after) + 1 if after in ids else 0
            for position, entry in enumerate(entries[skip:], start=skip):
                yield self._item(entry, url, position, here)
            after = None
            if entries[skip:] == [] and archive:
                yield Checkpoint({"entry": ids[-1] if ids else None, "page": here}, f"GET {url}")
            nxt = _link(page, "next-archive")
            if nxt is None:
                return
            url = str(httpx.URL(url).join(nxt))
            page = self._fetch(url)
            if isinstance(page, BadRecord):
                yield page
                return

    def _item(self, entry: Any, url: str, position: int, page: str | None) -> Item:
        payload = etree.tostring(entry)
        entry_id = (entry.findtext(f"{ATOM}id") or "").strip()
        location = f"GET {url} entry {position}"
        if not entry_id:
            return BadRecord(payload, f"{location}: entry without an <id>", location, None, "parse")
        content = entry.find(f"{ATOM}content")
        body = next((c for c in content if isinstance(c.tag, str)), None) if content is not None else None
        data = AtomEntry(
            id=entry_id,
            updated=(entry.findtext(f"{ATOM}updated") or "").strip(),
            categories=tuple(c.get("term", "") for c in entry.findall(f"{ATOM}category")),
            content=body,
            content_type=content.get("type", "") if content is not None else "",
            element=entry,
        )
        cursor = {"entry": entry_id, "page": page}
        if not self.as_dict:
            return NativeRecord(data, payload, entry_id, location, cursor)
        if body is None:
            return BadRecord(payload, f"{location}: entry {entry_id} has no XML element as content "
                             f"({data.content_type or 'no type'}; text or nothing instead)", location, cursor, "parse",
                             entry_id)
        return NativeRecord(data.fields(), payload, entry_id, location, cursor)


def _link(page: Any, rel: str) -> str | None:
    for link in page.findall(f"{ATOM}link"):
        if link.get("rel") == rel:
            return str(link.get("href"))
    return None


def _ids(page: Any) -> list[str]:
    return [(e.findtext(f"{ATOM}id") or "").strip() for e in page.findall(f"{ATOM}entry")]


def _entries(page: Any) -> list[Any]:
    """Entries oldest first: by ``updated``, document order breaking ties (feeds list newest first)."""
    entries = list(reversed(page.findall(f"{ATOM}entry")))

    def when(e: Any) -> float:
        text = (e.findtext(f"{ATOM}updated") or "").strip().replace("Z", "+00:00")
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            return 0.0

    return sorted(entries, key=when)


def _with_cursor(bad: BadRecord, cursor: Any) -> BadRecord:
    return BadRecord(bad.payload, bad.reason, bad.location, cursor, bad.error_kind)
