"""Polite HTTP for every source: pacing, conditional GET, timeouts, bounded retries with jittered backoff.

One Fetcher per source keeps one connection and enforces a minimum interval between its requests (arXiv
asks for one every 3 s). 429 and 5xx answers, timeouts and dropped connections are retried up to
`attempts` times, honouring Retry-After; other 4xx answers are final. Every request also has a deadline
for the whole of it (connect, headers, body) and a size cap: httpx's timeout is per read, so a server
trickling a byte every few seconds would otherwise hold a fetch for ever. The requests run on an event
loop of the fetcher's own (asyncio.timeout bounds all of a request; the sync client cannot).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import feedparser
import httpx

from newsletter.config import ArxivSourceSettings, HfSourceSettings
from newsletter.errors import FeedError
from newsletter.models import Validators

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304 when the validators still match
    body: bytes
    content_type: str
    validators: Validators


class _TooLarge(Exception):
    pass


class Fetcher:
    def __init__(
        self,
        user_agent: str,
        timeout: float = 20.0,
        min_interval: float = 0.0,
        attempts: int = 4,
        backoff: float = 2.0,
        accept: str = "*/*",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = 60.0,
        max_bytes: int = 20_000_000,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": user_agent, "Accept": accept},
            follow_redirects=True,
        )
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.min_interval = min_interval
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self._last: float | None = None

    @classmethod
    def for_source(
        cls, settings: HfSourceSettings | ArxivSourceSettings, accept: str, min_interval: float = 0.0
    ) -> Fetcher:
        """A fetcher with a source's User-Agent, timeout and retry settings."""
        return cls(
            settings.user_agent,
            settings.timeout,
            min_interval=min_interval,
            attempts=settings.attempts,
            backoff=settings.backoff,
            accept=accept,
            deadline=settings.deadline,
            max_bytes=settings.max_bytes,
        )

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.client.aclose())
            self._loop.close()

    def get(
        self, url: str, params: Mapping[str, str | int] | None = None, validators: Validators | None = None
    ) -> Fetched:
        """A 200 or 304 answer, or FeedError naming the URL and the last problem."""
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        problem = ""
        for attempt in range(self.attempts):
            self._pace()
            try:
                response, body = self._request_paced(url, params, headers)
            except TimeoutError:
                # A trickling server will trickle again: not retried, so a fetch never outlasts the deadline.
                raise FeedError(f"{url}: took longer than {self.deadline:g} s in all (the deadline)") from None
            except _TooLarge:
                raise FeedError(f"{url}: answer larger than {self.max_bytes} bytes (the size cap)") from None
            except httpx.TimeoutException:
                problem, delay = "timed out", self.backoff_delay(attempt)
            except httpx.HTTPError as exc:
                problem, delay = f"{type(exc).__name__}: {exc}".rstrip(": "), self.backoff_delay(attempt)
            else:
                if response.status_code in (200, 304):
                    return self._fetched(url, response, body, validators)
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    raise FeedError(f"{url}: {problem}{_error_detail(body)}")
                delay = _retry_after(response) or self.backoff_delay(attempt)
            if attempt + 1 < self.attempts:
                self.sleep(delay)
        raise FeedError(f"{url}: {problem} (gave up after {self.attempts} attempt{'' if self.attempts == 1 else 's'})")

    def _request_paced(
        self, url: str, params: Mapping[str, str | int] | None, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        # The interval runs from the end of one answer to the next request: a slow answer counts as busy.
        try:
            return self._loop.run_until_complete(self._request(url, params, headers))
        finally:
            self._last = self.clock()

    async def _request(
        self, url: str, params: Mapping[str, str | int] | None, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        """One GET within the deadline, its body read up to the size cap (counted decoded: no gzip bomb)."""
        async with asyncio.timeout(self.deadline):
            async with self.client.stream("GET", url, params=params, headers=headers) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _TooLarge
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise _TooLarge
                return response, bytes(body)

    def _fetched(self, url: str, response: httpx.Response, body: bytes, sent: Validators | None) -> Fetched:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if response.status_code == 200 and content_type == "text/html":
            raise FeedError(f"{url}: served an HTML page (text/html), not a feed")
        validators = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        if response.status_code == 304:
            # A 304 need not repeat the validators; the ones sent are still the current ones.
            previous = sent or Validators()
            validators = Validators(
                validators.etag or previous.etag, validators.last_modified or previous.last_modified
            )
        return Fetched(response.status_code, body, content_type, validators)

    def _pace(self) -> None:
        if self.min_interval and self._last is not None:
            wait = self._last + self.min_interval - self.clock()
            if wait > 0:
                self.sleep(wait)

    def backoff_delay(self, attempt: int) -> float:
        # Full jitter: a random wait up to the exponential bound, so many clients do not retry in step.
        return random.uniform(self.backoff / 2, self.backoff * 2**attempt)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER))


def _error_detail(body: bytes) -> str:
    """arXiv explains a 400 in a one-entry Atom feed titled Error, or in an RSS channel title; show that."""
    if b"<" not in body[:200]:
        return ""
    parsed = feedparser.parse(body[:65536])
    if parsed.entries and parsed.entries[0].get("title") == "Error":
        return f": {parsed.entries[0].get('summary', '').strip()}"
    title = parsed.feed.get("title", "")
    return f": {title}" if title.startswith("Feed error") else ""
