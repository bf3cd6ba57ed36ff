"""A sending rate limit shared by every connection of a pool, per second and per hour.

Per second (even spacing) and per hour (sliding window); 0 means no limit."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class RateLimiter:
    def __init__(
        self,
        per_second: float = 0.0,
        per_hour: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spacing = 1.0 / per_second if per_second > 0 else 0.0
        self.per_hour = per_hour
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._hour: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more message may go out."""
        if not (self.spacing or self.per_hour):
            return
        async with self._lock:
            while True:
                now = self.clock()
                while self._hour and self._hour[0] <= now - 3600:
                    self._hour.popleft()
                waits = [self._next - now]
                if self.per_hour and len(self._hour) >= self.per_hour:
                    waits.append(self._hour[0] + 3600 - now)
                wait = max(waits)
                if wait <= 0:
                    break
                await self.sleep(wait)
            self._next = max(now, self._next) + self.spacing
            if self.per_hour:
                self._hour.append(now)
