"""Filing complaints and tip-offs: the one code path for the dialogue, the CLI and the tests.

    complaint = submit(store, {"kind": "complaint", "category": ..., ...})
    complaint.case_number  ->  "IP-20250101-7K3QWX"

Submitting stores the complaint, its evidence references, its status history and its delivery
(the outbox row) in one transaction. The agency is the routing engine's first recommendation that
takes a filing, unless the input names agency_id. An agency without an intake endpoint gets the
delivery ``held`` for manual forwarding. A uuid in the input is the idempotency key: submitting
the same complaint again returns the stored one.
"""

import hashlib
import json
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.intake.db import Database
from bot.intake.endpoints import Endpoints, default_endpoints
from bot.intake.errors import Conflict, NotFound, StoreError, ValidationFailed
from bot.intake.identifiers import new_case_number
from bot.intake.models import Complaint, Delivery, Evidence
from bot.intake.payload import request_body
from bot.intake.schemas import ComplaintIn, parse
from bot.intake.settings import DeliverySettings
from bot.intake.statuses import HELD, QUEUED, RECEIVED
from bot.intake.timeutil import utcnow
from bot.intake.tracking import add_event

FILING_CHANNELS = ("complaint_12315", "tipoff_12315", "admin_enforcement", "admin_ruling")
_INSERT_TRIES = 3


@dataclass(frozen=True)
class Prepared:
    data: ComplaintIn
    uuid: str
    agency_id: str
    channel: Optional[str]
    digest: str
    given_uuid: bool  # the caller's idempotency key: look for an earlier submission under it


def submit(
    store: Database,
    data: Mapping[str, object],
    endpoints: Optional[Endpoints] = None,
    settings: Optional[DeliverySettings] = None,
) -> Complaint:
    """Validate, route and store one complaint or tip-off; raise ValidationFailed naming the field."""
    return submit_many(store, [data], endpoints, settings, label_items=False)[0]


def submit_many(
    store: Database,
    items: Sequence[Mapping[str, object]],
    endpoints: Optional[Endpoints] = None,
    settings: Optional[DeliverySettings] = None,
    label_items: bool = True,
) -> List[Complaint]:
    """Validate and route every item first; then store them all in one transaction, or none."""
    prepared = prepare_all(items, label_items)
    endpoints = endpoints if endpoints is not None else default_endpoints()
    settings = settings or DeliverySettings.from_env()
    attempt = 1
    while True:
        try:
            return _store_all(store, prepared, endpoints, settings, label_items)
        except IntegrityError as exc:  # a case-number clash, or the same uuid submitted concurrently
            if attempt == _INSERT_TRIES:
                raise StoreError(f"cannot store the complaint: {getattr(exc, 'orig', None) or exc}") from exc
            attempt += 1


def prepare_all(items: Sequence[Mapping[str, object]], label_items: bool = True) -> List[Prepared]:
    problems: List[str] = []
    prepared: List[Prepared] = []
    seen: Dict[str, int] = {}
    for index, item in enumerate(items):
        label = f"item {index}: " if label_items else ""
        try:
            entry = prepare(item)
        except ValidationFailed as exc:
            problems.extend(exc.prefixed(label).problems)
            continue
        if entry.uuid in seen:
            problems.append(f"{label}uuid: the same uuid as item {seen[entry.uuid]}")
        seen[entry.uuid] = index
        prepared.append(entry)
    if problems:
        raise ValidationFailed(problems)
    return prepared


def prepare(item: Mapping[str, object]) -> Prepared:
    data = parse(ComplaintIn, item)
    agency_id, channel = choose_agency(data)
    complaint_uuid = str(data.uuid or uuid_module.uuid4())
    return Prepared(data=data, uuid=complaint_uuid, agency_id=agency_id, channel=channel, digest=_digest(data),
                    given_uuid=data.uuid is not None)


def choose_agency(data: ComplaintIn) -> Tuple[str, Optional[str]]:
    """The agency to file with: the given agency_id, else the first routed agency that takes filings."""
    from bot.knowledge.routing import RouteRequest, get_router

    router = get_router()
    if data.agency_id:
        if router.directory.get(data.agency_id) is None:
            raise ValidationFailed([f"agency_id: unknown agency {data.agency_id!r}"])
        return data.agency_id, None
    route = router.route(RouteRequest(category=data.category, region_code=data.region_code, request=data.kind))
    for recommendation in route.recommendations:
        if recommendation.channel in FILING_CHANNELS:
            return recommendation.agency.id, recommendation.channel
    raise ValidationFailed(
        [f"agency_id: no agency takes a {data.kind} about {data.category} in {data.region_code}; give agency_id"]
    )


def _digest(data: ComplaintIn) -> str:
    document = data.dict(exclude={"uuid"})
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _store_all(
    store: Database, prepared: Sequence[Prepared], endpoints: Endpoints, settings: DeliverySettings, label: bool
) -> List[Complaint]:
    now = utcnow()
    with store.transaction() as session:
        complaints = []
        for index, entry in enumerate(prepared):
            existing = _existing(session, entry, f"item {index}: " if label else "") if entry.given_uuid else None
            complaints.append(existing or _insert(session, entry, endpoints, settings, now))
    return complaints


def _existing(session: Session, entry: Prepared, label: str) -> Optional[Complaint]:
    complaint = session.scalar(select(Complaint).where(Complaint.uuid == entry.uuid))
    if complaint is not None and complaint.input_sha256 != entry.digest:
        raise Conflict(f"{label}uuid {entry.uuid} was already used for a different complaint ({complaint.case_number})")
    return complaint


def _insert(
    session: Session, entry: Prepared, endpoints: Endpoints, settings: DeliverySettings, now: datetime
) -> Complaint:
    data = entry.data
    case_number = new_case_number(now)  # a clash (about 1 in 10^8 per day) fails the unique key: tried again
    local = endpoints.is_local(entry.agency_id)
    complaint = Complaint(
        uuid=entry.uuid, case_number=case_number, kind=data.kind, category=data.category,
        region_code=data.region_code, agency_id=entry.agency_id, agency_channel=entry.channel,
        respondent=data.respondent, facts=data.facts, request=data.request, name=data.name, phone=data.phone,
        address=data.address, contact=data.contact, source=data.source, sender_id=data.sender_id,
        input_sha256=entry.digest, status=RECEIVED, status_at=now, created_at=now,
        evidence=[
            Evidence(position=i, kind=e.kind, url_or_media_id=e.url_or_media_id, note=e.note)
            for i, e in enumerate(data.evidence)
        ],
        deliveries=[_delivery(case_number, entry, local, settings, now)],
    )
    session.add(complaint)
    add_event(session, complaint, RECEIVED, None, now, notified=True)
    note = f"agency {entry.agency_id} has no intake API: forward by hand" if local else None
    add_event(session, complaint, HELD if local else QUEUED, note, now, notified=True)
    return complaint


def _delivery(case_number: str, entry: Prepared, local: bool, settings: DeliverySettings, now: datetime) -> Delivery:
    body = request_body(entry.data, entry.uuid, case_number, entry.agency_id, now, entry.data.evidence)
    return Delivery(
        agency_id=entry.agency_id, idempotency_key=entry.uuid, state="held" if local else "pending", payload=body,
        attempts=0, next_attempt_at=now, deadline_at=now + timedelta(hours=settings.max_age_hours),
        created_at=now, updated_at=now,
    )


def delivery_mode(agency_id: str, endpoints: Optional[Endpoints] = None) -> str:
    """"api" when complaints reach this agency over its intake API, "local" when they are held for
    staff to forward (the dialogue then gives the citizen the phone or visit route)."""
    endpoints = endpoints if endpoints is not None else default_endpoints()
    return "local" if endpoints.is_local(agency_id) else "api"


def find_complaint(store: Database, reference: str) -> Complaint:
    """A complaint by case number (any letter case) or uuid."""
    text = reference.strip()
    with store.reader() as session:
        complaint = session.scalar(
            select(Complaint).where((Complaint.case_number == text.upper()) | (Complaint.uuid == text.lower()))
        )
    if complaint is None:
        raise NotFound(f"no complaint with case number or uuid {reference!r}")
    return complaint


def list_complaints(
    store: Database, status: Optional[str] = None, sender_id: Optional[str] = None, limit: int = 100
) -> List[Complaint]:
    """Newest first."""
    query = select(Complaint).order_by(Complaint.id.desc()).limit(limit)
    if status:
        query = query.where(Complaint.status == status)
    if sender_id:
        query = query.where(Complaint.sender_id == sender_id)
    with store.reader() as session:
        return list(session.scalars(query))
