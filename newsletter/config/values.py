"""Parsers of single setting values that the settings and their checks share: timezones and rates."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*")
_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def hour_minute(clock: str) -> tuple[int, int]:
    """(hour, minute) of an "HH:MM" the settings hold (validated when they are loaded)."""
    hour, minute = clock.split(":")
    return int(hour), int(minute)


def rate_interval(rate: str) -> float:
    """Seconds between two messages for a rate such as "20/s", "300/m" or "2000/h" (ValueError if malformed)."""
    found = _RATE.fullmatch(rate)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f'{rate!r} is not a rate such as "20/s", "300/m" or "2000/h"')
    return _PERIODS[found.group(2)] / float(found.group(1))
