"""Retry delays: exponential backoff with full jitter, never sooner than the agency's Retry-After."""

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Callable, Optional

from bot.intake.timeutil import UTC

_MAX_EXPONENT = 60


def full_jitter(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """A delay drawn uniformly from [0, min(cap, base * 2**(attempt-1))] for attempt 1, 2, ..."""
    exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
    return rand() * min(cap, base * (2 ** exponent))


def retry_delay(
    attempt: int,
    base: float,
    cap: float,
    retry_after: Optional[float] = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next attempt after ``attempt`` failed."""
    jittered = full_jitter(attempt, base, cap, rand)
    return max(jittered, retry_after or 0.0)


def parse_retry_after(value: Optional[str], now: datetime) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_attempt_time(
    attempt: int,
    deadline: datetime,
    max_attempts: int,
    base: float,
    cap: float,
    now: datetime,
    retry_after: Optional[float] = None,
    rand: Callable[[], float] = random.random,
) -> Optional[datetime]:
    """When to try again after ``attempt`` failed, or None to give up (dead letter): the attempts
    are used up, or the next try would fall after the deadline."""
    if attempt >= max_attempts:
        return None
    when = now + timedelta(seconds=retry_delay(attempt, base, cap, retry_after, rand))
    return None if when > deadline else when
