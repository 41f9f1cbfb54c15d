"""Time helpers: everything is stored in UTC; case numbers use China Standard Time (UTC+8, no DST)."""

from datetime import datetime, timedelta, timezone
from typing import Optional

UTC = timezone.utc
CHINA_TIME = timezone(timedelta(hours=8), "CST")


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: Optional[datetime]) -> Optional[str]:
    """RFC 3339 in UTC with a Z suffix, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset (Z or +08:00); ValueError otherwise."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2025-01-01T10:00:00+08:00")
    return parsed.astimezone(UTC)
