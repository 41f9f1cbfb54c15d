"""Exponential backoff with full jitter, Retry-After, and when to give up."""

from datetime import datetime, timedelta, timezone

import pytest

from bot.intake.backoff import full_jitter, next_attempt_time, parse_retry_after, retry_delay

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("attempt, ceiling", [(1, 2), (2, 4), (3, 8), (6, 64), (12, 100), (5000, 100)])
def test_full_jitter_spans_zero_to_the_capped_exponential(attempt, ceiling):
    assert full_jitter(attempt, base=2, cap=100, rand=lambda: 0.0) == 0.0
    assert full_jitter(attempt, base=2, cap=100, rand=lambda: 1.0) == ceiling


def test_jitter_is_spread_out():
    import random

    rng = random.Random(7)
    delays = [full_jitter(5, base=1, cap=1000, rand=rng.random) for _ in range(2000)]
    assert 0 <= min(delays) < 1 and 15 < max(delays) <= 16
    assert 7 < sum(delays) / len(delays) < 9  # uniform on [0, 16]: mean 8


def test_retry_after_is_a_floor():
    assert retry_delay(1, base=2, cap=100, retry_after=30, rand=lambda: 1.0) == 30
    assert retry_delay(8, base=2, cap=100, retry_after=30, rand=lambda: 1.0) == 100


@pytest.mark.parametrize(
    "header, expected",
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Thu, 01 Jan 2026 00:01:00 GMT", 60.0),
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, NOW) == expected


def test_next_attempt_until_attempts_run_out():
    deadline = NOW + timedelta(hours=1)
    when = next_attempt_time(3, deadline, max_attempts=5, base=2, cap=60, now=NOW, rand=lambda: 0.5)
    assert when == NOW + timedelta(seconds=4)
    assert next_attempt_time(5, deadline, max_attempts=5, base=2, cap=60, now=NOW) is None


def test_no_attempt_after_the_deadline():
    deadline = NOW + timedelta(seconds=10)
    assert next_attempt_time(1, deadline, 5, 2, 60, NOW, retry_after=11) is None
    assert next_attempt_time(1, deadline, 5, 2, 60, NOW, retry_after=9) == NOW + timedelta(seconds=9)
