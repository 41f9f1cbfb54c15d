"""The outbox: claiming due deliveries under a lease, and settling them.

Claiming takes up to N deliveries that are pending, due and not leased by a live dispatcher:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite ignores the clause and serialises
writers with BEGIN IMMEDIATE instead), then a conditional UPDATE that stamps the claim with a
fresh token - only rows still claimable take it, so two dispatchers never own one delivery.

Settling a delivery checks the claim token, so a dispatcher whose lease ran out cannot overwrite
the dispatcher that took over. A success is recorded whatever the token: the agency has it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session, joinedload

from bot.intake.db import Database
from bot.intake.errors import Conflict, NotFound
from bot.intake.models import Complaint, Delivery, DeliveryAttempt, StatusEvent
from bot.intake.settings import DeliverySettings
from bot.intake.statuses import (
    DEAD,
    DELIVERED,
    HELD,
    PENDING,
    QUEUED,
    StatusChange,
    check_delivery_transition,
    delivery_states_before,
    event_effect,
    notify_listeners,
)
from bot.intake.tracking import add_event, lock_complaint

_CLEAR_CLAIM = {"claimed_by": None, "claim_token": None, "lease_until": None}


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    complaint_id: int
    agency_id: str
    idempotency_key: str
    payload: str
    attempt: int
    deadline_at: datetime
    lease_until: datetime
    token: str
    worker: str


@dataclass(frozen=True)
class Ack:
    service_request_id: Optional[str]
    token: Optional[str]
    http_status: int


def _claimable(now: datetime):
    return and_(
        Delivery.state == PENDING,
        Delivery.next_attempt_at <= now,
        or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now),
    )


def claim_due(store: Database, worker: str, limit: int, lease_seconds: float, now: datetime) -> List[Claim]:
    token = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=lease_seconds)
    with store.transaction() as session:
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(_claimable(now))
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), _claimable(now))
            .values(claimed_by=worker, claim_token=token, lease_until=lease_until,
                    attempts=Delivery.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(Delivery.id, Delivery.complaint_id, Delivery.agency_id, Delivery.idempotency_key,
                   Delivery.payload, Delivery.attempts, Delivery.deadline_at)
            .where(Delivery.id.in_(ids), Delivery.claim_token == token)
            .order_by(Delivery.next_attempt_at, Delivery.id)
        ).all()
    return [Claim(*row, lease_until=lease_until, token=token, worker=worker) for row in rows]


@dataclass(frozen=True)
class Outcome:
    """What became of one claim. The dispatcher sends a batch, then records all outcomes at once."""

    claim: Claim
    kind: str  # delivered | retried | dead | held | released
    finished: datetime
    started: Optional[datetime] = None  # None when nothing was sent (held, released)
    ack: Optional[Ack] = None
    error: Optional[str] = None
    http_status: Optional[int] = None
    retry_at: Optional[datetime] = None

    def delivery_values(self) -> Dict[str, object]:
        now, claim = self.finished, self.claim
        if self.kind == DELIVERED:
            return dict(_CLEAR_CLAIM, state=DELIVERED, delivered_at=now, updated_at=now, last_error=None,
                        last_status_code=self.http_status, dead_reason=None,
                        service_request_id=self.ack.service_request_id, token=self.ack.token)
        if self.kind == "retried":
            return dict(_CLEAR_CLAIM, next_attempt_at=self.retry_at, last_error=self.error,
                        last_status_code=self.http_status, updated_at=now)
        if self.kind == DEAD:
            return dict(_CLEAR_CLAIM, state=DEAD, dead_reason=self.error, last_error=self.error,
                        last_status_code=self.http_status, updated_at=now)
        if self.kind == HELD:
            return dict(_CLEAR_CLAIM, state=HELD, last_error=self.error, attempts=claim.attempt - 1, updated_at=now)
        return dict(_CLEAR_CLAIM, attempts=claim.attempt - 1, updated_at=now)  # released

    def complaint_status(self) -> Optional[Tuple[str, str]]:
        """The complaint status this outcome reports, with its note (None: the complaint is unchanged)."""
        if self.kind == DELIVERED:
            ack = self.ack
            return DELIVERED, (f"service_request_id {ack.service_request_id}" if ack.service_request_id
                               else f"token {ack.token}")
        if self.kind == DEAD:
            return HELD, f"delivery failed, forward by hand: {self.error}"
        if self.kind == HELD:
            return HELD, self.error
        return None


def settle(store: Database, outcomes: Sequence[Outcome]) -> List[bool]:
    """Record outcomes in one transaction; for each, whether it took effect. A success always counts
    (the agency has it); anything else only while the claim is still the owner's."""
    if not outcomes:
        return []
    with store.transaction() as session:
        connection = session.connection()
        current = _lock_deliveries(connection, [o.claim.delivery_id for o in outcomes])
        took = [_guard_holds(o, current.get(o.claim.delivery_id)) for o in outcomes]
        effective = [o for o, ok in zip(outcomes, took) if ok]
        _update_deliveries(connection, effective)
        _log_attempts(connection, [o for o in outcomes if o.started is not None])
        changes = _move_complaints(connection, [o for o in effective if o.complaint_status()])
    notify_listeners(changes)
    return took


def record_delivered(store: Database, claim: Claim, ack: Ack, started: datetime, now: datetime) -> bool:
    return settle(store, [Outcome(claim, DELIVERED, now, started, ack=ack, http_status=ack.http_status)])[0]


def record_retry(
    store: Database, claim: Claim, error: str, http_status: Optional[int], retry_at: datetime,
    started: datetime, now: datetime,
) -> bool:
    outcome = Outcome(claim, "retried", now, started, error=error, http_status=http_status, retry_at=retry_at)
    return settle(store, [outcome])[0]


def record_dead(
    store: Database, claim: Claim, reason: str, http_status: Optional[int], started: datetime, now: datetime
) -> bool:
    return settle(store, [Outcome(claim, DEAD, now, started, error=reason, http_status=http_status)])[0]


def record_held(store: Database, claim: Claim, reason: str, now: datetime) -> bool:
    """The agency has no endpoint (any more): hold the delivery for manual forwarding."""
    return settle(store, [Outcome(claim, HELD, now, error=reason)])[0]


def release(store: Database, claim: Claim, now: datetime) -> bool:
    """Give a claim back unsent (shutting down, or too little lease left to send safely)."""
    return settle(store, [Outcome(claim, "released", now)])[0]


_DELIVERIES = Delivery.__table__
_COMPLAINTS = Complaint.__table__
_EVENTS = StatusEvent.__table__


def _lock_deliveries(connection, ids: List[int]) -> Dict[int, Tuple[str, Optional[str]]]:
    rows = connection.execute(
        select(_DELIVERIES.c.id, _DELIVERIES.c.state, _DELIVERIES.c.claim_token)
        .where(_DELIVERIES.c.id.in_(ids))
        .order_by(_DELIVERIES.c.id)  # one lock order everywhere: deliveries by id, then complaints by id
        .with_for_update()
    )
    return {row.id: (row.state, row.claim_token) for row in rows}


def _guard_holds(outcome: Outcome, current: Optional[Tuple[str, Optional[str]]]) -> bool:
    if current is None:
        return False
    state, token = current
    if outcome.kind == DELIVERED:
        return state in delivery_states_before(DELIVERED)
    return state == PENDING and token == outcome.claim.token


def _update_deliveries(connection, outcomes: Sequence[Outcome]) -> None:
    """One executemany per kind of outcome (each kind sets the same columns)."""
    by_kind: Dict[str, List[Outcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    for group in by_kind.values():
        columns = list(group[0].delivery_values())
        statement = (
            update(_DELIVERIES)
            .where(_DELIVERIES.c.id == bindparam("delivery_pk"))
            .values({column: bindparam(f"v_{column}") for column in columns})
        )
        rows = [dict({f"v_{k}": v for k, v in o.delivery_values().items()}, delivery_pk=o.claim.delivery_id)
                for o in group]
        connection.execute(statement, rows)


def _log_attempts(connection, outcomes: Sequence[Outcome]) -> None:
    if outcomes:
        connection.execute(insert(DeliveryAttempt.__table__), [
            {"delivery_id": o.claim.delivery_id, "number": o.claim.attempt, "worker": o.claim.worker,
             "started_at": o.started, "finished_at": o.finished, "outcome": o.kind, "http_status": o.http_status,
             "error": None if o.kind == DELIVERED else o.error}
            for o in outcomes
        ])


def _move_complaints(connection, outcomes: Sequence[Outcome]) -> List[StatusChange]:
    """Add each outcome's status to its complaint's history and move the status where the rules allow;
    a few statements per batch (executemany), not per outcome."""
    if not outcomes:
        return []
    c, e = _COMPLAINTS.c, _EVENTS.c
    rows = {row.id: row for row in connection.execute(
        select(c.id, c.status, c.uuid, c.case_number, c.source, c.sender_id, c.agency_id)
        .where(c.id.in_(sorted({o.claim.complaint_id for o in outcomes})))
        .order_by(c.id)
        .with_for_update()
    )}
    recorded_at = max(o.finished for o in outcomes)
    current = {complaint_id: row.status for complaint_id, row in rows.items()}
    events, moved = [], {}
    for outcome in outcomes:
        status, note = outcome.complaint_status()
        complaint_id = outcome.claim.complaint_id
        applied, moves = event_effect(current[complaint_id], status)
        events.append({"complaint_id": complaint_id, "status": status, "note": note, "source": "assistant",
                       "applied": applied, "occurred_at": outcome.finished, "recorded_at": recorded_at,
                       "notified_at": None if moves else recorded_at})
        if moves:
            current[complaint_id] = status
            moved[complaint_id] = (status, note, outcome.finished)
    connection.execute(insert(_EVENTS), events)
    if not moved:
        return []
    connection.execute(
        update(_COMPLAINTS).where(c.id == bindparam("complaint_pk"))
        .values(status=bindparam("v_status"), status_note=bindparam("v_note"), status_at=bindparam("v_at")),
        [{"complaint_pk": k, "v_status": v[0], "v_note": v[1], "v_at": v[2]} for k, v in moved.items()],
    )
    # The new events' ids (for the announcements): this batch's unannounced events of these complaints.
    event_ids = dict(connection.execute(
        select(e.complaint_id, func.max(e.id))
        .where(e.complaint_id.in_(list(moved)), e.source == "assistant", e.recorded_at == recorded_at,
               e.notified_at.is_(None))
        .group_by(e.complaint_id)
    ).all())
    return [
        StatusChange(history_id=event_ids[k], complaint_uuid=rows[k].uuid, case_number=rows[k].case_number,
                     status=status, note=note, occurred_at=at, source="assistant", channel=rows[k].source,
                     sender_id=rows[k].sender_id, agency_id=rows[k].agency_id)
        for k, (status, note, at) in moved.items()
    ]


def _complaint_status(session: Session, complaint_id: int, status: str, note: str, now: datetime):
    complaint = lock_complaint(session, complaint_id)
    return add_event(session, complaint, status, note, now)


def retry_delivery(store: Database, delivery_id: int, settings: DeliverySettings, now: datetime) -> Delivery:
    """Staff: send a dead or held delivery again, with fresh attempts and a fresh deadline."""
    with store.transaction() as session:
        delivery = session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        if delivery.state not in (DEAD, HELD):
            raise Conflict(f"delivery {delivery_id} is {delivery.state}: only dead or held deliveries can be retried")
        check_delivery_transition(delivery.state, PENDING)
        for key, value in dict(_CLEAR_CLAIM, state=PENDING, attempts=0, next_attempt_at=now, dead_reason=None,
                               deadline_at=now + timedelta(hours=settings.max_age_hours), updated_at=now).items():
            setattr(delivery, key, value)
        change = _complaint_status(session, delivery.complaint_id, QUEUED, "sent again by staff", now)
    notify_listeners([change] if change else [])
    return delivery


def list_deliveries(store: Database, states: Sequence[str] = (), limit: int = 100) -> List[Delivery]:
    """Newest first, with each delivery's complaint loaded (for its case number)."""
    query = select(Delivery).options(joinedload(Delivery.complaint)).order_by(Delivery.id.desc()).limit(limit)
    if states:
        query = query.where(Delivery.state.in_(list(states)))
    with store.reader() as session:
        return list(session.scalars(query).unique())


def get_delivery(store: Database, delivery_id: int) -> Delivery:
    with store.reader() as session:
        delivery = session.get(Delivery, delivery_id, options=[joinedload(Delivery.complaint)])
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    return delivery


def delivery_attempts(store: Database, delivery_id: int) -> List[DeliveryAttempt]:
    with store.reader() as session:
        return list(session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)
        ))
