"""Satisfaction ratings: a citizen scores a guidance answer or a filing from 1 to 5.

    record_rating(store, {"channel": "wechat", "topic": "filing", "score": 5, "case_number": "IP-..."})
    rating_summary(store)  ->  {"guidance": {"count", "average", "scores": {"1": n, ... "5": n}}, "filing": {...}}
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import func, select

from bot.intake.db import Database
from bot.intake.models import RATING_SCORES, RATING_TOPICS, Rating
from bot.intake.schemas import RatingIn, parse
from bot.intake.timeutil import utcnow

_CENT = Decimal("0.01")


def record_rating(store: Database, data: Mapping[str, object], now: Optional[datetime] = None) -> Rating:
    """Validate and store one rating; raise ValidationFailed naming the field."""
    rating = parse(RatingIn, dict(data))
    row = Rating(
        sender_id=rating.sender_id, channel=rating.channel, topic=rating.topic, score=rating.score,
        case_number=rating.case_number, created_at=now or utcnow(),
    )
    with store.transaction() as session:
        session.add(row)
    return row


def list_ratings(store: Database, limit: int = 100) -> List[Rating]:
    """Newest first (by when they were given; ties by insertion order)."""
    query = select(Rating).order_by(Rating.created_at.desc(), Rating.id.desc()).limit(limit)
    with store.reader() as session:
        return list(session.scalars(query))


def rating_summary(store: Database) -> Dict[str, Dict[str, Any]]:
    """Per topic: how many ratings, their average (2 decimals, None without ratings) and how many
    gave each score. Every topic and score appears, so the shape never depends on the data; score
    keys are strings so that the dict and its JSON are the same."""
    query = select(Rating.topic, Rating.score, func.count()).group_by(Rating.topic, Rating.score)
    with store.reader() as session:
        counts = {(topic, score): count for topic, score, count in session.execute(query)}
    return {topic: _topic_summary({score: counts.get((topic, score), 0) for score in RATING_SCORES})
            for topic in RATING_TOPICS}


def _topic_summary(per_score: Dict[int, int]) -> Dict[str, Any]:
    count = sum(per_score.values())
    total = sum(score * n for score, n in per_score.items())
    return {
        "count": count,
        "average": _average(total, count),
        "scores": {str(score): n for score, n in per_score.items()},
    }


def _average(total: int, count: int) -> Optional[float]:
    # Decimal rounds half up (4.125 -> 4.13); round() on a float rounds half to even (-> 4.12).
    if not count:
        return None
    return float((Decimal(total) / Decimal(count)).quantize(_CENT, rounding=ROUND_HALF_UP))
