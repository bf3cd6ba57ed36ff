"""Polite HTTP GET shared by the sources: timeouts, a descriptive User-Agent, bounded retries with backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

import httpx

from newsletter.errors import FeedError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def get(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str | int] | None = None,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The body of a 200 answer; retries 429/5xx and network errors, honouring Retry-After."""
    last = ""
    for attempt in range(attempts):
        try:
            response = client.get(url, params=params)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            delay = _backoff(attempt)
        else:
            if response.status_code == 200:
                return response.content
            last = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                break
            delay = _retry_after(response) or _backoff(attempt)
        if attempt + 1 < attempts:
            sleep(delay)
    raise FeedError(f"{url}: {last}")


def _backoff(attempt: int) -> float:
    return min(30.0, 1.0 * 2**attempt) * (0.5 + random.random() / 2)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 120.0) if value.isdigit() else None
