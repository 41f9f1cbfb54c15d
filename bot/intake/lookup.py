"""Case lookup for citizens ("what happened to my case?"), for the dialogue; pure Python, no rasa.

    case_number = normalise_case_number(user_text)          # None: ask for the case number
    if needs_phone_check(store, case_number): ...           # ask for the last four phone digits
    view = case_status(store, case_number, phone_last4=user_text)

A complaint names its author, so knowing its case number is not enough: the citizen also gives the
last four digits of the phone number filed with it. A tip-off may be anonymous and says nothing
about its author, so the case number alone shows its status. The view never carries the name,
phone or address. Four digits are guessable in 10,000 tries: the caller limits attempts per
conversation.
"""

import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, NamedTuple, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session, noload

from bot.intake.db import Database
from bot.intake.errors import NotFound, ValidationFailed, VerificationFailed
from bot.intake.identifiers import CASE_ALPHABET, CASE_SUFFIX_LENGTH
from bot.intake.models import Complaint, StatusEvent
from bot.intake.timeutil import isoformat
from bot.intake.tracking import AGENCY

# Hyphen-minus or any dash NFKC leaves alone (U+2010-U+2015, minus sign), or none, with spaces around:
# people retype case numbers from screenshots and phone calls.
_SEPARATOR = r"\s*[-\u2010-\u2015\u2212]?\s*"
_EMBEDDED_CASE_NUMBER = re.compile(
    rf"(?<![A-Z0-9])IP{_SEPARATOR}([0-9]{{8}}){_SEPARATOR}([{CASE_ALPHABET}]{{{CASE_SUFFIX_LENGTH}}})(?![A-Z0-9])"
)
_SPACE_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])\s+(?=[0-9])")
_FOUR_DIGITS = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
_NON_DIGITS = re.compile(r"[^0-9]")
COMPLAINT = "complaint"


class CaseNote(NamedTuple):
    """An agency's note on a status change it reported."""

    status: str
    note: str
    occurred_at: datetime


@dataclass(frozen=True)
class CaseView:
    """What a citizen may see of a case: no name, phone or address."""

    case_number: str
    kind: str
    category: str
    agency_id: str
    status: str
    status_at: datetime
    created_at: datetime
    notes: Tuple[CaseNote, ...]  # agency notes, oldest first

    def as_dict(self) -> Dict[str, Any]:
        return {
            "case_number": self.case_number,
            "kind": self.kind,
            "category": self.category,
            "agency_id": self.agency_id,
            "status": self.status,
            "status_at": isoformat(self.status_at),
            "created_at": isoformat(self.created_at),
            "notes": [{"status": n.status, "note": n.note, "occurred_at": isoformat(n.occurred_at)}
                      for n in self.notes],
        }


def normalise_case_number(text: Optional[str]) -> Optional[str]:
    """The first case number in ``text`` as ``IP-YYYYMMDD-XXXXXX`` (full width, any letter case,
    inside a sentence), or None when there is none."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    match = _EMBEDDED_CASE_NUMBER.search(folded)
    return f"IP-{match.group(1)}-{match.group(2)}" if match else None


def extract_phone_last4(text: Optional[str]) -> Optional[str]:
    """The four digits in ``text`` (inside a sentence, full-width or spaced), or None when there are
    none or several different groups of four."""
    if not text:
        return None
    folded = _SPACE_BETWEEN_DIGITS.sub("", unicodedata.normalize("NFKC", text))
    groups = set(_FOUR_DIGITS.findall(folded))
    return groups.pop() if len(groups) == 1 else None


def needs_phone_check(store: Database, case_number: str) -> bool:
    """Whether ``case_status`` will ask for the phone's last four digits; NotFound for an unknown case."""
    with store.reader() as session:
        return _requires_phone(_complaint(session, case_number))


def case_status(store: Database, case_number: str, phone_last4: Optional[str] = None) -> CaseView:
    """The case as the citizen may see it. NotFound for an unknown case number, ValidationFailed for
    text holding none, VerificationFailed when a complaint's phone digits are missing or wrong."""
    with store.reader() as session:
        complaint = _complaint(session, case_number)
        if _requires_phone(complaint):
            _verify(complaint.phone, phone_last4)
        return _view(complaint, _agency_notes(session, complaint.id))


def _complaint(session: Session, text: str) -> Complaint:
    case_number = normalise_case_number(text)
    if case_number is None:
        raise ValidationFailed(["case_number: must be a case number such as IP-20260101-7K3QWX"])
    complaint = session.scalar(
        select(Complaint).where(Complaint.case_number == case_number).options(noload(Complaint.evidence),
                                                                              noload(Complaint.deliveries))
    )
    if complaint is None:
        raise NotFound(f"no case {case_number}")
    return complaint


def _requires_phone(complaint: Complaint) -> bool:
    return complaint.kind == COMPLAINT and bool(complaint.phone)


def _verify(phone: str, given: Optional[str]) -> None:
    digits = extract_phone_last4(given)
    if digits is None:
        raise VerificationFailed(VerificationFailed.MISSING, "the last four digits of the phone number are needed")
    expected = _NON_DIGITS.sub("", phone)[-4:]
    if not hmac.compare_digest(digits.encode(), expected.encode()):
        raise VerificationFailed(VerificationFailed.MISMATCH, "the last four digits of the phone number do not match")


def _agency_notes(session: Session, complaint_id: int) -> Tuple[CaseNote, ...]:
    """Every note an agency sent, in the order the agency reported them (also those that arrived late
    and did not change the status: the note is still the agency's word)."""
    events = session.scalars(
        select(StatusEvent)
        .where(StatusEvent.complaint_id == complaint_id, StatusEvent.source == AGENCY, StatusEvent.note.isnot(None))
        .order_by(StatusEvent.occurred_at, StatusEvent.id)
    )
    return tuple(CaseNote(e.status, e.note, e.occurred_at) for e in events if e.note.strip())


def _view(complaint: Complaint, notes: Tuple[CaseNote, ...]) -> CaseView:
    return CaseView(
        case_number=complaint.case_number, kind=complaint.kind, category=complaint.category,
        agency_id=complaint.agency_id, status=complaint.status, status_at=complaint.status_at,
        created_at=complaint.created_at, notes=notes,
    )
