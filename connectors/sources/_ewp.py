"""EWP mobility documents: ``index?modified_since=…`` then ``get`` by ``omobility_id``, parsed for a mapping.

Used for OMobilities and OMobility Learning Agreements (served by the sending HEI)
and IMobility Transcripts of Records (served by the receiving HEI). Cursor:
``{"since": t}``, the time the last completed index call started; a crash mid-cycle
repeats the cycle (at least once; the events keep their ids). A ``get`` answer for
several ids that is not well-formed XML is asked for again one id at a time, so a
broken document is one dead letter (named by its id) and the others are published.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from lxml import etree
from pydantic import SecretStr

from connectors.sdk import BadRecord, Checkpoint, ConfigError, Item, NativeRecord, Source
from connectors.sources._ewp_parse import parse_la, parse_omobility, parse_tor
from connectors.sources._httpclient import HttpClientMixin

_DOCUMENT: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "omobility": ("student-mobility", parse_omobility), "la": ("la", parse_la), "tor": ("tor", parse_tor)}


class EwpSource(HttpClientMixin, Source):
    """Reads OMobilities (``document="omobility"``), LAs (``"la"``) or ToRs (``"tor"``) from an EWP host; the
    mapping gets ``OMobilityDoc`` / ``LearningAgreementDoc`` / ``TranscriptDoc``::

        EwpSource("las", f"{s.ewp}/omobility-las/index", f"{s.ewp}/omobility-las/get", document="la",
                  params={"sending_hei_id": "hh.se"}, cert=(s.cert, s.key), credentials_setting="HUB_HH_EWP_CERT")
    """

    kind = "EWP"

    def __init__(
        self,
        name: str,
        index_url: str,
        get_url: str,
        *,
        document: Literal["omobility", "la", "tor"],
        params: dict[str, Any] | None = None,
        get_batch: int = 10,
        clock_skew_seconds: float = 300.0,
        headers: dict[str, str] | None = None,
        bearer_token: SecretStr | str | None = None,
        cert: Any = None,
        credentials_setting: str = "the EWP client certificate settings",
        timeout: float = 20.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        poll_interval: float | None = None,
    ) -> None:
        super().__init__(name, poll_interval=poll_interval)
        if document not in _DOCUMENT:
            raise ConfigError(f"{name}: document must be 'omobility', 'la' or 'tor', got {document!r}")
        self.index_url, self.get_url, self.document = index_url, get_url, document
        self.params = dict(params or {})
        self.get_batch = get_batch
        self.skew = timedelta(seconds=clock_skew_seconds)
        self._setup_client("application/xml", headers, bearer_token, timeout=timeout, attempts=attempts, backoff_base=backoff_base,
                                 credentials_setting=credentials_setting, transport=transport, cert=cert)

    def describe(self) -> str:
        return f"EWP {self.document} source {self.name!r} ({self.index_url})"

    def check(self) -> str:
        ids = self._index(None)
        return f"index lists {len(ids) if isinstance(ids, list) else 0} mobilities"

    def _xml(self, resp: httpx.Response) -> Any:
        return etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))

    def _index(self, since: str | None) -> list[str] | BadRecord:
        params = {**self.params}
        if since:
            params["modified_since"] = since
        resp = self.client.get(self.index_url, params)
        try:
            root = self._xml(resp)
        except etree.XMLSyntaxError as exc:
            return BadRecord(resp.content, f"index response is not well-formed XML: {exc}", f"GET {resp.request.url}")
        return [(e.text or "").strip() for e in root.iter() if isinstance(e.tag, str)
                and etree.QName(e).localname == "omobility-id" and (e.text or "").strip()]

    def read(self, cursor: Any) -> Iterator[Item]:
        since = cursor.get("since") if cursor else None
        started = (datetime.now(UTC) - self.skew).isoformat(timespec="seconds")
        ids = self._index(since)
        if isinstance(ids, BadRecord):
            yield ids
            return
        keep = {"since": since} if since else None
        for i in range(0, len(ids), self.get_batch):
            yield from self._get(ids[i: i + self.get_batch], keep)
        yield Checkpoint({"since": started}, f"GET {self.index_url}")

    def _get(self, chunk: list[str], keep: Any) -> Iterator[Item]:
        """The documents of ``chunk``; a batch that does not parse is asked for again id by id."""
        resp = self.client.get(self.get_url, {**self.params, "omobility_id": chunk})  # EWP get needs the hei ids too
        location = f"GET {self.get_url} omobility_id={','.join(chunk)}"
        try:
            root = self._xml(resp)
        except etree.XMLSyntaxError as exc:
            if len(chunk) > 1:
                for one in chunk:
                    yield from self._get([one], keep)
                return
            yield BadRecord(resp.content, f"{location}: not well-formed XML: {exc}", location, keep, "parse", chunk[0])
            return
        tag, parse = _DOCUMENT[self.document]
        for el in (e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == tag):
            payload = etree.tostring(el)
            ident = next((t.text.strip() for t in el.iter() if isinstance(t.tag, str)
                          and etree.QName(t).localname == "omobility-id" and t.text), "")
            try:
                doc = parse(el)
            except ValueError as exc:
                yield BadRecord(payload, f"{location}: {exc}", location, keep, "parse", ident)
                continue
            yield NativeRecord(doc, payload, doc.omobility_id, f"{location} ({doc.omobility_id})", keep)
