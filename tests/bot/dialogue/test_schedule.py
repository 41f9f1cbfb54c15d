"""Duty hours for "转人工", in the deployment's time zone."""

from datetime import datetime, timezone

import pytest

from bot.dialogue.schedule import staff_on_duty
from bot.dialogue.settings import load_settings


@pytest.mark.parametrize("utc, on_duty", [
    (datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc), True),   # Monday 09:30 in Shanghai
    (datetime(2026, 11, 23, 0, 59, tzinfo=timezone.utc), False),  # Monday 08:59
    (datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), False),   # Monday 17:00: closed
    (datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc), False),   # Sunday 11:00
])
def test_default_hours(utc, on_duty, monkeypatch):
    monkeypatch.delenv("IPR_STAFF_HOURS", raising=False)
    assert staff_on_duty(utc, load_settings().handoff) is on_duty


def test_hours_from_the_environment(monkeypatch):
    monkeypatch.setenv("IPR_STAFF_HOURS", "1-7 00:00-24:00")
    handoff = load_settings().handoff
    assert staff_on_duty(datetime(2026, 11, 22, 18, 0, tzinfo=timezone.utc), handoff)


def test_bad_hours_in_the_environment_are_named(monkeypatch):
    monkeypatch.setenv("IPR_STAFF_HOURS", "weekdays")
    with pytest.raises(ValueError, match="IPR_STAFF_HOURS"):
        load_settings()
