"""Per-domain pace: messages held by recipient domain and handed out within each domain's limit.

The campaign's messages held by recipient domain and handed to its senders in an order that keeps each domain's
limit and the global one, so a domain waiting for its next turn never holds up the others.

A limited domain (`smtp.domain_limits`) gets its messages evenly spaced (20/s: one every 50 ms; 300/m: one every
0.2 s) and goes first whenever its turn has come, since its pace bounds the run; messages to every other domain
fill the time in between. The campaign stops claiming rows of a domain whose backlog is full, so a slow domain
holds at most a few batches in memory and the rows behind it keep moving.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from newsletter.deliver.ratelimit import RateLimiter

T = TypeVar("T")

POLL = 0.25  # seconds: how often a wait looks at `stopped` (a signal arrives on another thread)


def recipient_domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


class Pacer(Generic[T]):
    def __init__(
        self,
        intervals: dict[str, float],
        limiter: RateLimiter,
        capacity: int,
        stopped: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`intervals`: seconds between two messages, per limited domain. `capacity`: messages held for the
        other domains before `put` waits, and the backlog at which a limited domain counts as full."""
        self.intervals = intervals
        self.limiter = limiter
        self.capacity = capacity
        self.stopped = stopped
        self.clock = clock
        self._limited: dict[str, deque[T]] = {domain: deque() for domain in intervals}
        self._turn: dict[str, float] = dict.fromkeys(intervals, 0.0)  # when each domain may have its next
        self._other: deque[T] = deque()
        self._changed = asyncio.Event()
        self._dispatch = asyncio.Lock()  # one message chosen at a time: the order is the pace
        self._closed = False

    def __len__(self) -> int:
        return len(self._other) + sum(map(len, self._limited.values()))

    def full_domains(self) -> set[str]:
        """Limited domains holding a full backlog: claim none of their rows until they drain."""
        return {domain for domain, held in self._limited.items() if len(held) >= self.capacity}

    async def put(self, item: T, recipient: str) -> None:
        """Hold `item` for its domain; waits only while the other domains' backlog is full (and not stopped)."""
        held = self._limited.get(recipient_domain(recipient))
        if held is None:
            while len(self._other) >= self.capacity and not self.stopped():
                await self._wait(POLL)
            held = self._other
        held.append(item)
        self._changed.set()

    def close(self) -> None:
        """No more items: `get` answers None once everything held is handed out."""
        self._closed = True
        self._changed.set()

    async def wait_for_room(self, full: set[str]) -> None:
        """Until a domain of `full` has room again, or nothing is held, or the run stops."""
        while len(self) and self.full_domains() >= full and not self.stopped():
            await self._wait(POLL)

    async def get(self) -> T | None:
        """The next message whose domain's turn has come, once the global limit allows one more; None when
        closed and empty, or stopped (what is still held stays unsent)."""
        async with self._dispatch:
            while not self.stopped():
                wait = self._ready_in()
                if wait is None and self._closed:
                    return None
                if wait is None or wait > 0:
                    await self._wait(POLL if wait is None else min(wait, POLL))
                    continue
                await self.limiter.acquire()
                item = self._take()  # a turn only comes closer while waiting, and only this takes items
                self._changed.set()  # room for `put`
                return item
            return None

    def _ready_in(self) -> float | None:
        """0 if something may go now, else seconds until a limited domain's turn; None if nothing is held."""
        if self._other:
            return 0.0
        turns = [self._turn[domain] for domain, held in self._limited.items() if held]
        return max(0.0, min(turns) - self.clock()) if turns else None

    def _take(self) -> T:
        now = self.clock()
        due = [(turn, domain) for domain, turn in self._turn.items() if turn <= now and self._limited[domain]]
        if due:
            domain = min(due)[1]  # the one waiting longest
            self._turn[domain] = now + self.intervals[domain]
            return self._limited[domain].popleft()
        return self._other.popleft()

    async def _wait(self, timeout: float) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)
