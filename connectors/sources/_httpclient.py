"""GET with retries: exponential back-off with jitter on timeouts, 429 and 5xx (honouring Retry-After).

Other 4xx answers stop the connector with a message saying what to fix.
"""

from __future__ import annotations

import base64
import email.utils
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from connectors.sdk import Backoff, SourceUnavailable, StopConnector

log = structlog.get_logger()


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RetryingClient:
    """An httpx client that retries what is worth retrying and explains what is not."""

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        credentials_setting: str = "the credentials settings",
        transport: httpx.BaseTransport | None = None,
        verify: Any = True,
        cert: Any = None,
    ) -> None:
        self.attempts = attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.credentials_setting = credentials_setting
        if isinstance(cert, tuple):  # (certificate, key) files; a pair not (fully) configured is no certificate
            cert = tuple(map(str, cert)) if all(cert) else None
        self._client = httpx.Client(headers=headers or {}, timeout=timeout, transport=transport,
                                    verify=verify, cert=cert, follow_redirects=True)

    def get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        backoff = Backoff(base=self.backoff_base, cap=self.backoff_cap, attempts=self.attempts)
        problem = ""
        retry_after: float | None = None
        for attempt in range(1, self.attempts + 1):
            retry_after = None
            try:
                resp = self._client.get(url, params=params or None)  # {} would drop the query of a next link
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"cannot connect ({exc})"
            else:
                code = resp.status_code
                if code < 400:
                    return resp
                if code == 429 or code >= 500:
                    retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
                    problem = f"answered {code}"
                elif code in (401, 403):
                    raise StopConnector(f"GET {resp.request.url} answered {code}: the SIS refused our credentials; "
                                        f"check {self.credentials_setting}")
                else:
                    raise StopConnector(f"GET {resp.request.url} answered {code}: {resp.text[:200].strip()!r}; "
                                        "check the URL and query settings of this source")
            if attempt < self.attempts:
                delay = backoff.next_delay(retry_after)
                log.info("http_retry", url=url, problem=problem, attempt=attempt, in_seconds=round(delay, 2))
                time.sleep(delay)
        raise SourceUnavailable(f"GET {url} {problem} ({self.attempts} attempts)", retry_after)

    def close(self) -> None:
        self._client.close()


class HttpClientMixin:
    """One :class:`RetryingClient` per source, made on first use, with Accept and bearer or basic auth headers set."""

    _client_args: dict[str, Any]
    _client: RetryingClient | None = None

    def _setup_client(self, accept: str, headers: dict[str, str] | None, bearer_token: Any,
                      basic_auth: tuple[str | None, Any] | None = None, **client_args: Any) -> None:
        all_headers = {"Accept": accept, **(headers or {})}
        if bearer_token is not None:
            all_headers["Authorization"] = f"Bearer {_secret(bearer_token)}"
        elif basic_auth is not None and basic_auth[0]:
            pair = f"{basic_auth[0]}:{_secret(basic_auth[1]) if basic_auth[1] is not None else ''}"
            all_headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        self._client_args = dict(headers=all_headers, **client_args)
        self._client = None

    @property
    def client(self) -> RetryingClient:
        if self._client is None:
            self._client = RetryingClient(**self._client_args)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _secret(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
