"""Callback requests: a citizen leaves a phone number and a message for a person to call back."""

from datetime import datetime
from typing import List, Mapping, Optional

from sqlalchemy import select

from bot.intake.db import Database
from bot.intake.errors import NotFound
from bot.intake.models import CallbackRequest
from bot.intake.schemas import CallbackRequestIn, parse
from bot.intake.timeutil import utcnow


def create_callback_request(
    store: Database, data: Mapping[str, object], now: Optional[datetime] = None
) -> CallbackRequest:
    request = parse(CallbackRequestIn, dict(data))
    row = CallbackRequest(
        sender_id=request.sender_id, channel=request.channel, phone=request.phone, message=request.message,
        created_at=now or utcnow(), handled=False,
    )
    with store.transaction() as session:
        session.add(row)
    return row


def list_callback_requests(store: Database, pending_only: bool = False, limit: int = 100) -> List[CallbackRequest]:
    """Oldest first: the order staff should call people back in."""
    query = select(CallbackRequest).order_by(CallbackRequest.id).limit(limit)
    if pending_only:
        query = query.where(CallbackRequest.handled.is_(False))
    with store.reader() as session:
        return list(session.scalars(query))


def mark_callback_handled(store: Database, request_id: int, now: Optional[datetime] = None) -> CallbackRequest:
    with store.transaction() as session:
        row = session.get(CallbackRequest, request_id)
        if row is None:
            raise NotFound(f"no callback request {request_id}")
        if not row.handled:
            row.handled = True
            row.handled_at = now or utcnow()
    return row
