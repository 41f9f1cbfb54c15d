"""Whether the people behind "转人工" are on duty now (data/guidance/dialogue.yml, handoff)."""

from datetime import datetime, time
from typing import Optional

from zoneinfo import ZoneInfo

from bot.dialogue.settings import Handoff, get_settings


def staff_on_duty(now: Optional[datetime] = None, handoff: Optional[Handoff] = None) -> bool:
    handoff = handoff or get_settings().handoff
    local = (now or datetime.now(tz=ZoneInfo("UTC"))).astimezone(ZoneInfo(handoff.timezone))
    if local.isoweekday() not in handoff.weekdays:
        return False
    return _clock(handoff.start) <= local.time() < _clock(handoff.end)


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time.max if hours == 24 else time(hours, minutes)
