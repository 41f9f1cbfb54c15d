"""The reference agency's storage: requests stored once per Idempotency-Key, every receipt logged,
status events kept until the assistant acknowledges them."""

import hashlib
import json
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Tuple

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.intake.agency.models import AgencySetting, CallbackEvent, IntakeRecord, Receipt, agency_metadata
from bot.intake.db import Database, check_connection, make_engine
from bot.intake.errors import NotFound
from bot.intake.timeutil import isoformat

SERVICE_NOTICE = "received; the office decides within 7 working days whether to accept it"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    outcome: str


def open_agency_db(url: str) -> Database:
    engine = make_engine(url)
    check_connection(engine)
    with engine.begin() as connection:
        agency_metadata.create_all(connection)
    return Database(engine)


def save_settings(db: Database, values: Dict[str, Optional[str]]) -> None:
    with db.transaction() as session:
        for key, value in values.items():
            if value is not None:
                session.merge(AgencySetting(key=key, value=value))


def load_settings(db: Database) -> Dict[str, str]:
    with db.reader() as session:
        return {row.key: row.value for row in session.scalars(select(AgencySetting))}


def accept(db: Database, key: str, body: bytes, document: dict, assign_later: bool, now: datetime) -> Answer:
    """Store a new request, or answer a repeat: the first answer again, or 409 for a different body."""
    digest = hashlib.sha256(body).hexdigest()
    for _ in range(2):
        try:
            with db.engine.begin() as connection:
                stored = connection.execute(_FIND_BY_KEY, {"key": key}).first()
                if stored:
                    answer = _repeat(stored, digest)
                else:
                    answer = _create(connection, key, digest, body, document, assign_later, now)
                connection.execute(insert(_RECEIPTS), {"idempotency_key": key, "outcome": answer.outcome,
                                                       "http_status": answer.status, "received_at": now})
                return answer
        except IntegrityError:
            continue  # the same key arrived concurrently: answer as a repeat
    raise RuntimeError(f"cannot store request {key}")


_REQUESTS = IntakeRecord.__table__
_RECEIPTS = Receipt.__table__
_FIND_BY_KEY = select(_REQUESTS.c.body_sha256, _REQUESTS.c.response_status, _REQUESTS.c.response_body).where(
    _REQUESTS.c.idempotency_key == bindparam("key")
)


def _repeat(stored, digest: str) -> Answer:
    if stored.body_sha256 != digest:
        body = [{"code": 409, "description": "Idempotency-Key reused with a different body"}]
        return Answer(409, json.dumps(body), "conflict")
    return Answer(stored.response_status, stored.response_body, "replayed")


def _create(connection, key: str, digest: str, body: bytes, document: dict, assign_later: bool, now) -> Answer:
    service_request_id = f"REQ-{secrets.token_hex(5).upper()}"
    token = uuid.uuid4().hex if assign_later else None
    if token:
        status, answer = 202, [{"token": token, "service_notice": SERVICE_NOTICE}]
    else:
        status, answer = 201, [{"service_request_id": service_request_id, "service_notice": SERVICE_NOTICE}]
    response_body = json.dumps(answer, ensure_ascii=False)
    connection.execute(insert(_REQUESTS), dict(
        service_request_id=service_request_id, token=token, idempotency_key=key, body_sha256=digest,
        body=body.decode("utf-8"), response_status=status, response_body=response_body,
        service_code=document["service_code"], request_kind=document["request_kind"],
        case_number=document.get("case_number"), agency_id=document["agency_id"], status="received",
        status_notes=None, received_at=now, updated_at=now,
    ))
    return Answer(status, response_body, "created")


def log_receipt(db: Database, key: str, outcome: str, status: int, now: datetime) -> None:
    with db.transaction() as session:
        session.add(Receipt(idempotency_key=key, outcome=outcome, http_status=status, received_at=now))


def find_record(db: Database, reference: str, by_token: bool = False) -> IntakeRecord:
    """A request by service_request_id, Idempotency-Key or case number (or by token)."""
    with db.reader() as session:
        if by_token:
            record = session.scalar(select(IntakeRecord).where(IntakeRecord.token == reference))
        else:
            record = session.scalar(select(IntakeRecord).where(
                (IntakeRecord.service_request_id == reference)
                | (IntakeRecord.idempotency_key == reference)
                | (IntakeRecord.case_number == reference)
            ))
    if record is None:
        raise NotFound(f"no request {reference}")
    return record


def list_records(db: Database) -> List[Tuple[IntakeRecord, int]]:
    """Every stored request with the number of POSTs that carried its key, oldest first."""
    with db.reader() as session:
        counts = dict(session.execute(
            select(Receipt.idempotency_key, func.count()).group_by(Receipt.idempotency_key)
        ).all())
        records = list(session.scalars(select(IntakeRecord).order_by(IntakeRecord.id)))
    return [(record, counts.get(record.idempotency_key, 0)) for record in records]


def receipt_outcomes(db: Database) -> Dict[str, Counter]:
    """{idempotency_key: Counter(outcome)} over every receipt."""
    result: Dict[str, Counter] = {}
    with db.reader() as session:
        for key, outcome, count in session.execute(
            select(Receipt.idempotency_key, Receipt.outcome, func.count()).group_by(
                Receipt.idempotency_key, Receipt.outcome)
        ):
            result.setdefault(key, Counter())[outcome] = count
    return result


def prepare_event(db: Database, reference: str, status: str, note: Optional[str], now: datetime):
    """Set a request's status; the event to report (an unsent identical event is reused, so that
    running set-status again resends it under the same event_id)."""
    record = find_record(db, reference)
    with db.transaction() as session:
        row = session.get(IntakeRecord, record.id, with_for_update=True)
        latest = session.scalar(
            select(CallbackEvent).where(CallbackEvent.request_id == row.id).order_by(CallbackEvent.id.desc())
        )
        if latest is None or latest.sent_at is not None or (latest.status, latest.note) != (status, note):
            latest = CallbackEvent(request_id=row.id, event_id=uuid.uuid4().hex, status=status, note=note,
                                   updated_at=now)
            session.add(latest)
        row.status, row.status_notes, row.updated_at = status, note, now
        session.flush()
        return row, latest


def mark_event(db: Database, event_pk: int, sent_at: Optional[datetime], error: Optional[str]) -> None:
    with db.transaction() as session:
        event = session.get(CallbackEvent, event_pk)
        event.sent_at, event.last_error = sent_at, error


def callback_document(record: IntakeRecord, event: CallbackEvent) -> dict:
    return {
        "service_request_id": record.service_request_id,
        "complaint_uuid": record.idempotency_key,
        "status": event.status,
        "note": event.note,
        "updated_at": isoformat(event.updated_at),
        "event_id": event.event_id,
    }
