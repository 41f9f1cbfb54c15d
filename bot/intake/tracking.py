"""Recording status changes: ours (queued, held, delivered) and the agency's (status callbacks).

A repeated agency callback - same agency, request, status and event id (or timestamp) - changes
nothing: the status_events table has a unique key on it. Agency events apply in the order of
their updated_at; an older event arriving late joins the history without moving the status.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, List, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from bot.intake.db import Database
from bot.intake.errors import NotFound
from bot.intake.models import Complaint, Delivery, StatusEvent
from bot.intake.schemas import StatusCallbackIn
from bot.intake.statuses import StatusChange, event_effect, notify_listeners
from bot.intake.timeutil import isoformat, utcnow

ASSISTANT = "assistant"
AGENCY = "agency"


@dataclass(frozen=True)
class CallbackResult:
    outcome: str  # "recorded" or "duplicate"
    case_number: str
    status: str  # the complaint's status afterwards
    applied: bool

    def as_dict(self) -> dict:
        return {"result": self.outcome, "case_number": self.case_number, "status": self.status, "applied": self.applied}


def lock_complaint(session: Session, complaint_id: int) -> Complaint:
    """Load a complaint for update (a row lock on PostgreSQL; SQLite's write lock is already held)."""
    return session.execute(
        select(Complaint)
        .where(Complaint.id == complaint_id)
        .with_for_update(of=Complaint)
        .options(lazyload("*"))
        .execution_options(populate_existing=True)
    ).scalar_one()


def add_event(
    session: Session, complaint: Complaint, status: str, note: Optional[str], now: datetime, notified: bool = False
) -> Optional[StatusChange]:
    """Record one of our own statuses; returns the change to announce, if the status moved."""
    applied, moves = event_effect(complaint.status, status)
    event = StatusEvent(
        complaint=complaint, status=status, note=note, source=ASSISTANT, applied=applied,
        occurred_at=now, recorded_at=now, notified_at=None if moves and not notified else now,
    )
    session.add(event)
    if moves:
        _set_status(complaint, status, note, now)
    if not moves or notified:
        return None
    session.flush()  # the event's id, for the announcement
    return _change(complaint, event)


def record_agency_status(
    store: Database, agency_id: str, update_in: StatusCallbackIn, now: Optional[datetime] = None
) -> CallbackResult:
    """Apply a status callback once; NotFound if the request is not one we sent to this agency."""
    now = now or utcnow()
    try:
        with store.transaction() as session:
            result, change = _record(session, agency_id, update_in, now)
    except IntegrityError:
        # The same event was recorded concurrently: a duplicate.
        with store.reader() as session:
            complaint, _ = _find(session, agency_id, update_in)
            return CallbackResult("duplicate", complaint.case_number, complaint.status, False)
    if change:
        notify_listeners([change])
    return result


def _record(session: Session, agency_id: str, update_in: StatusCallbackIn, now: datetime):
    complaint, delivery = _find(session, agency_id, update_in)
    # Lock in the outbox's order (the delivery, then its complaint), so the two never deadlock.
    delivery = session.execute(
        select(Delivery).where(Delivery.id == delivery.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    complaint = lock_complaint(session, complaint.id)
    dedup_key = f"{update_in.status}|{update_in.event_id or isoformat(update_in.updated_at)}"
    duplicate = session.scalar(
        select(StatusEvent.id).where(
            StatusEvent.complaint_id == complaint.id,
            StatusEvent.agency_id == agency_id,
            StatusEvent.dedup_key == dedup_key,
        )
    )
    if duplicate is not None:
        return CallbackResult("duplicate", complaint.case_number, complaint.status, False), None
    applied = complaint.agency_status_at is None or update_in.updated_at >= complaint.agency_status_at
    event = StatusEvent(
        complaint_id=complaint.id, status=update_in.status, note=update_in.note, source=AGENCY,
        agency_id=agency_id, service_request_id=update_in.service_request_id, event_id=update_in.event_id,
        dedup_key=dedup_key, applied=applied, occurred_at=update_in.updated_at, recorded_at=now,
        notified_at=None if applied else now,
    )
    session.add(event)
    if applied:
        _set_status(complaint, update_in.status, update_in.note, now)
        complaint.agency_status_at = update_in.updated_at
    if update_in.service_request_id and not delivery.service_request_id:
        delivery.service_request_id = update_in.service_request_id
    session.flush()
    result = CallbackResult("recorded", complaint.case_number, complaint.status, applied)
    return result, _change(complaint, event) if applied else None


def _find(session: Session, agency_id: str, update_in: StatusCallbackIn):
    if update_in.complaint_uuid:
        complaint = session.scalar(select(Complaint).where(Complaint.uuid == str(update_in.complaint_uuid)))
    else:
        complaint = session.scalar(
            select(Complaint)
            .join(Delivery, Delivery.complaint_id == Complaint.id)
            .where(Delivery.agency_id == agency_id, Delivery.service_request_id == update_in.service_request_id)
        )
    delivery = next((d for d in complaint.deliveries if d.agency_id == agency_id), None) if complaint else None
    if delivery is None:
        ref = update_in.complaint_uuid or update_in.service_request_id
        raise NotFound(f"no request {ref} was sent to agency {agency_id}")
    return complaint, delivery


def _set_status(complaint: Complaint, status: str, note: Optional[str], now: datetime) -> None:
    complaint.status = status
    complaint.status_note = note
    complaint.status_at = now


def _change(complaint: Complaint, event: StatusEvent) -> StatusChange:
    return StatusChange(
        history_id=event.id,
        complaint_uuid=complaint.uuid,
        case_number=complaint.case_number,
        status=event.status,
        note=event.note,
        occurred_at=event.occurred_at,
        source=event.source,
        channel=complaint.source,
        sender_id=complaint.sender_id,
        agency_id=event.agency_id or complaint.agency_id,
    )


def history(store: Database, complaint_id: int) -> List[StatusEvent]:
    with store.reader() as session:
        query = select(StatusEvent).where(StatusEvent.complaint_id == complaint_id).order_by(StatusEvent.id)
        return list(session.scalars(query))


def pending_notifications(
    store: Database, limit: int = 100, sources: Optional[Iterable[str]] = None
) -> List[StatusChange]:
    """Status changes not yet passed on to the citizen, oldest first (for the WeChat layer to poll);
    ``sources`` keeps complaints filed through those channels only (others are never announced)."""
    query = (
        select(StatusEvent, Complaint)
        .join(Complaint, Complaint.id == StatusEvent.complaint_id)
        .where(StatusEvent.notified_at.is_(None))
        .order_by(StatusEvent.id)
        .limit(limit)
    )
    if sources is not None:
        query = query.where(Complaint.source.in_(list(sources)))
    with store.reader() as session:
        rows = session.execute(query).all()
        return [_change(complaint, event) for event, complaint in rows]


def mark_notified(store: Database, history_ids: Iterable[int], now: Optional[datetime] = None) -> int:
    ids = list(history_ids)
    if not ids:
        return 0
    with store.transaction() as session:
        result = session.execute(
            update(StatusEvent)
            .where(StatusEvent.id.in_(ids), StatusEvent.notified_at.is_(None))
            .values(notified_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
