"""The reference agency's own tables (prefixed agency_ so they never clash with the assistant's)."""

import json
from typing import Any, Dict

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import declarative_base

from bot.intake.models import NAMING_CONVENTION, UTCDateTime
from bot.intake.timeutil import isoformat

agency_metadata = MetaData(naming_convention=NAMING_CONVENTION)
AgencyBase = declarative_base(metadata=agency_metadata)


class AgencySetting(AgencyBase):
    """What `agency serve` was started with, for `agency set-status` to reuse (callback URL, secret)."""

    __tablename__ = "agency_settings"

    key = Column(String(40), primary_key=True)
    value = Column(Text, nullable=False)


class IntakeRecord(AgencyBase):
    """One service request, stored once per Idempotency-Key with the answer we gave."""

    __tablename__ = "agency_requests"

    id = Column(Integer, primary_key=True)
    service_request_id = Column(String(40), nullable=False, unique=True)
    token = Column(String(40), unique=True)
    idempotency_key = Column(String(255), nullable=False, unique=True)
    body_sha256 = Column(String(64), nullable=False)
    body = Column(Text, nullable=False)
    response_status = Column(Integer, nullable=False)
    response_body = Column(Text, nullable=False)
    service_code = Column(String(40), nullable=False)
    request_kind = Column(String(16), nullable=False)
    case_number = Column(String(40))
    agency_id = Column(String(80), nullable=False)
    status = Column(String(20), nullable=False)
    status_notes = Column(Text)
    received_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)

    def as_dict(self, receipts: int = 0) -> Dict[str, Any]:
        return {
            "service_request_id": self.service_request_id,
            "token": self.token,
            "idempotency_key": self.idempotency_key,
            "case_number": self.case_number,
            "agency_id": self.agency_id,
            "service_code": self.service_code,
            "request_kind": self.request_kind,
            "status": self.status,
            "status_notes": self.status_notes,
            "received_at": isoformat(self.received_at),
            "updated_at": isoformat(self.updated_at),
            "receipts": receipts,
            "request": json.loads(self.body),
        }


class Receipt(AgencyBase):
    """Every POST /requests that passed the signature check, and what became of it."""

    __tablename__ = "agency_receipts"

    id = Column(Integer, primary_key=True)
    idempotency_key = Column(String(255), nullable=False, index=True)
    outcome = Column(String(20), nullable=False)  # created, replayed, conflict, invalid, injected_failure
    http_status = Column(Integer, nullable=False)
    received_at = Column(UTCDateTime, nullable=False)


class CallbackEvent(AgencyBase):
    """A status change to report to the assistant; sent_at stays empty until it acknowledged."""

    __tablename__ = "agency_events"

    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("agency_requests.id", ondelete="CASCADE"), nullable=False, index=True)
    event_id = Column(String(40), nullable=False, unique=True)
    status = Column(String(20), nullable=False)
    note = Column(Text)
    updated_at = Column(UTCDateTime, nullable=False)
    sent_at = Column(UTCDateTime)
    last_error = Column(Text)
