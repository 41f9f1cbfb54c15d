"""The store's tables: complaints, evidence references, deliveries (the outbox), delivery attempts,
status history, callback requests and satisfaction ratings. Times are stored as naive UTC and read back as aware UTC."""

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from bot.intake.timeutil import UTC, isoformat

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base = declarative_base(metadata=metadata)

DELIVERY_STATES = ("pending", "held", "delivered", "dead")
REQUEST_KINDS = ("complaint", "tip_off")
RATING_TOPICS = ("guidance", "filing")
RATING_SCORES = (1, 2, 3, 4, 5)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored naive in UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        return None if value is None else value.replace(tzinfo=UTC)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("kind IN ('complaint', 'tip_off')", name="kind"),
        Index("ix_complaints_status", "status"),
        Index("ix_complaints_sender_id", "sender_id"),
        Index("ix_complaints_created_at", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    uuid = Column(String(36), nullable=False, unique=True)
    case_number = Column(String(24), nullable=False, unique=True)
    kind = Column(String(16), nullable=False)
    category = Column(String(40), nullable=False)
    region_code = Column(String(6), nullable=False)
    agency_id = Column(String(80), nullable=False)
    agency_channel = Column(String(40))
    respondent = Column(Text, nullable=False)
    facts = Column(Text, nullable=False)
    request = Column(Text)
    name = Column(String(100))
    phone = Column(String(20))
    address = Column(Text)
    contact = Column(String(200))
    source = Column(String(20), nullable=False)
    sender_id = Column(String(200))
    input_sha256 = Column(String(64), nullable=False)
    status = Column(String(20), nullable=False)
    status_note = Column(Text)
    status_at = Column(UTCDateTime, nullable=False)
    agency_status_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False)

    evidence = relationship(
        "Evidence", order_by="Evidence.position", cascade="all, delete-orphan", lazy="selectin"
    )
    deliveries = relationship("Delivery", order_by="Delivery.id", back_populates="complaint", lazy="selectin")

    def summary(self) -> Dict[str, Any]:
        delivery = self.deliveries[-1] if self.deliveries else None
        return {
            "case_number": self.case_number,
            "uuid": self.uuid,
            "kind": self.kind,
            "category": self.category,
            "region_code": self.region_code,
            "agency_id": self.agency_id,
            "status": self.status,
            "delivery_state": delivery.state if delivery else None,
            "source": self.source,
            "created_at": isoformat(self.created_at),
        }

    def as_dict(self) -> Dict[str, Any]:
        data = self.summary()
        data.update(
            agency_channel=self.agency_channel,
            respondent=self.respondent,
            facts=self.facts,
            request=self.request,
            name=self.name,
            phone=self.phone,
            address=self.address,
            contact=self.contact,
            sender_id=self.sender_id,
            status_note=self.status_note,
            status_at=isoformat(self.status_at),
            evidence=[item.as_dict() for item in self.evidence],
            deliveries=[delivery.as_dict() for delivery in self.deliveries],
        )
        return data


class Evidence(Base):
    __tablename__ = "evidence_refs"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(Integer, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    kind = Column(String(20), nullable=False)
    url_or_media_id = Column(Text, nullable=False)
    note = Column(Text)

    def as_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "url_or_media_id": self.url_or_media_id, "note": self.note}


class Delivery(Base):
    """One complaint to one agency: the outbox row the dispatcher claims, sends and settles."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("complaint_id", "agency_id", name="uq_deliveries_complaint_agency"),
        CheckConstraint("state IN ('pending', 'held', 'delivered', 'dead')", name="state"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True)
    complaint_id = Column(Integer, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    agency_id = Column(String(80), nullable=False)
    idempotency_key = Column(String(36), nullable=False)
    state = Column(String(16), nullable=False)
    payload = Column(Text, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False)
    deadline_at = Column(UTCDateTime, nullable=False)
    claimed_by = Column(String(120))
    claim_token = Column(String(36))
    lease_until = Column(UTCDateTime)
    last_error = Column(Text)
    last_status_code = Column(Integer)
    dead_reason = Column(Text)
    service_request_id = Column(String(120))
    token = Column(String(120))
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    delivered_at = Column(UTCDateTime)

    complaint = relationship("Complaint", back_populates="deliveries")

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "case_number": self.complaint.case_number if "complaint" in self.__dict__ else None,
            "agency_id": self.agency_id,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": isoformat(self.next_attempt_at) if self.state == "pending" else None,
            "deadline_at": isoformat(self.deadline_at),
            "claimed_by": self.claimed_by,
            "lease_until": isoformat(self.lease_until),
            "last_error": self.last_error,
            "last_status_code": self.last_status_code,
            "dead_reason": self.dead_reason,
            "service_request_id": self.service_request_id,
            "token": self.token,
            "created_at": isoformat(self.created_at),
            "delivered_at": isoformat(self.delivered_at),
        }


class DeliveryAttempt(Base):
    """One try at sending a delivery, as the dispatcher saw it."""

    __tablename__ = "delivery_attempts"

    id = Column(Integer, primary_key=True)
    delivery_id = Column(Integer, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    worker = Column(String(120), nullable=False)
    started_at = Column(UTCDateTime, nullable=False)
    finished_at = Column(UTCDateTime, nullable=False)
    outcome = Column(String(16), nullable=False)
    http_status = Column(Integer)
    error = Column(Text)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "number": self.number,
            "worker": self.worker,
            "started_at": isoformat(self.started_at),
            "finished_at": isoformat(self.finished_at),
            "outcome": self.outcome,
            "http_status": self.http_status,
            "error": self.error,
        }


class StatusEvent(Base):
    """The status history. Agency events carry a dedup key so that a repeated callback changes nothing;
    ``notified_at`` stays empty until the citizen-facing layer has passed the change on."""

    __tablename__ = "status_events"
    __table_args__ = (
        UniqueConstraint("complaint_id", "agency_id", "dedup_key", name="uq_status_events_dedup"),
        Index("ix_status_events_pending", "notified_at", "id"),
    )

    id = Column(Integer, primary_key=True)
    complaint_id = Column(Integer, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False, index=True)
    status = Column(String(20), nullable=False)
    note = Column(Text)
    source = Column(String(16), nullable=False)
    agency_id = Column(String(80))
    service_request_id = Column(String(120))
    event_id = Column(String(120))
    dedup_key = Column(String(200))
    applied = Column(Boolean, nullable=False, default=True)
    occurred_at = Column(UTCDateTime, nullable=False)
    recorded_at = Column(UTCDateTime, nullable=False)
    notified_at = Column(UTCDateTime)

    complaint = relationship("Complaint")

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "note": self.note,
            "source": self.source,
            "agency_id": self.agency_id,
            "event_id": self.event_id,
            "applied": self.applied,
            "occurred_at": isoformat(self.occurred_at),
            "recorded_at": isoformat(self.recorded_at),
        }


class CallbackRequest(Base):
    """A citizen asked for a person to call back."""

    __tablename__ = "callback_requests"
    __table_args__ = (Index("ix_callback_requests_handled", "handled", "created_at"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200))
    channel = Column(String(20), nullable=False)
    phone = Column(String(20), nullable=False)
    message = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    handled = Column(Boolean, nullable=False, default=False)
    handled_at = Column(UTCDateTime)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "sender_id": self.sender_id,
            "channel": self.channel,
            "phone": self.phone,
            "message": self.message,
            "created_at": isoformat(self.created_at),
            "handled": self.handled,
            "handled_at": isoformat(self.handled_at),
        }


class Rating(Base):
    """A citizen's 1-5 satisfaction score for a guidance answer or a filing. No foreign key to the
    complaint: a rating is feedback about the conversation and outlives any purge of complaints."""

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("topic IN ('guidance', 'filing')", name="topic"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_ratings_created_at", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200))
    channel = Column(String(20), nullable=False)
    topic = Column(String(16), nullable=False)
    score = Column(Integer, nullable=False)
    case_number = Column(String(24))
    created_at = Column(UTCDateTime, nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "sender_id": self.sender_id,
            "channel": self.channel,
            "topic": self.topic,
            "score": self.score,
            "case_number": self.case_number,
            "created_at": isoformat(self.created_at),
        }
