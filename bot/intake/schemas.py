"""Input validation (pydantic v1): complaints and tip-offs, callback requests, agency status callbacks,
satisfaction ratings.

Every error names its field: ``phone: must be a mainland mobile ...``.
"""

import re
import unicodedata
from datetime import datetime
from typing import List, Optional
from uuid import UUID

from pydantic import BaseModel, Extra, ValidationError, root_validator, validator

from bot.intake.errors import ValidationFailed
from bot.intake.identifiers import looks_like_case_number
from bot.intake.models import RATING_SCORES, RATING_TOPICS
from bot.intake.statuses import AGENCY_STATUSES
from bot.intake.timeutil import parse_timestamp
from bot.knowledge.categories import CATEGORY_CODES

KINDS = ("complaint", "tip_off")
EVIDENCE_KINDS = ("photo", "video", "audio", "screenshot", "document", "receipt", "chat_record", "link", "other")
MIN_FACTS_LENGTH = 10
MAX_EVIDENCE = 20
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_REGION_CODE = re.compile(r"^\d{6}$")
_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,19}$")
_COUNTRY_PREFIX = re.compile(r"^(\+?86)(?=1[3-9]\d{9}$)")
_SCORE_DIGIT = re.compile(r"^[0-9]$")
PHONE_RULE = "must be a mainland mobile (11 digits, 1[3-9]...) or a landline with area code (e.g. 0816-2345678)"
_PYDANTIC_MESSAGES = {
    "field required": "is required",
    "extra fields not permitted": "is not a known field",
    "none is not an allowed value": "must not be null",
    "str type expected": "must be a string",
    "value is not a valid list": "must be a list",
    "value is not a valid dict": "must be an object",
    "value is not a valid uuid": "must be a UUID",
}


def normalise_phone(value: str) -> str:
    """Strip spaces and a +86 prefix; raise ValueError unless a mobile or landline number remains."""
    compact = re.sub(r"[\s()]", "", value)
    compact = _COUNTRY_PREFIX.sub("", compact)
    if _MOBILE.match(compact) or _LANDLINE.match(compact):
        return compact
    raise ValueError(PHONE_RULE)


def _text(value: Optional[str], maximum: int) -> Optional[str]:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > maximum:
        raise ValueError(f"must be at most {maximum} characters")
    return value


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


class EvidenceIn(_Strict):
    kind: str
    url_or_media_id: str
    note: Optional[str] = None

    @validator("kind")
    def _kind(cls, value):
        if value not in EVIDENCE_KINDS:
            raise ValueError(f"must be one of {', '.join(EVIDENCE_KINDS)}")
        return value

    @validator("url_or_media_id")
    def _ref(cls, value):
        if not value:
            raise ValueError("must not be empty")
        return _text(value, 2048)

    @validator("note")
    def _note(cls, value):
        return _text(value, 500)


class ComplaintIn(_Strict):
    uuid: Optional[UUID] = None
    kind: str
    category: str
    region_code: str
    agency_id: Optional[str] = None
    respondent: str
    facts: str
    request: Optional[str] = None
    name: Optional[str] = None
    phone: Optional[str] = None
    address: Optional[str] = None
    contact: Optional[str] = None
    source: str = "cli"
    sender_id: Optional[str] = None
    evidence: List[EvidenceIn] = []

    @validator("kind")
    def _kind(cls, value):
        if value not in KINDS:
            raise ValueError("must be complaint or tip_off")
        return value

    @validator("category")
    def _category(cls, value):
        if value not in CATEGORY_CODES:
            raise ValueError(f"must be one of {', '.join(CATEGORY_CODES)}")
        return value

    @validator("region_code")
    def _region(cls, value):
        if not _REGION_CODE.match(value):
            raise ValueError("must be a 6-digit administrative division code (GB/T 2260), e.g. 510704")
        return value

    @validator("respondent")
    def _respondent(cls, value):
        if not value:
            raise ValueError("must name who the complaint is about (a shop, company or person)")
        return _text(value, 200)

    @validator("facts")
    def _facts(cls, value):
        if len(value) < MIN_FACTS_LENGTH:
            raise ValueError(f"must be at least {MIN_FACTS_LENGTH} characters: say what happened, where and when")
        return _text(value, 5000)

    @validator("request")
    def _request(cls, value):
        return _text(value, 1000)

    @validator("name", "agency_id")
    def _short(cls, value):
        return _text(value, 80)

    @validator("address", "contact", "sender_id")
    def _long(cls, value):
        return _text(value, 200)

    @validator("phone")
    def _phone(cls, value):
        value = _text(value, 30)
        return None if value is None else normalise_phone(value)

    @validator("source")
    def _source(cls, value):
        if not _SOURCE.match(value):
            raise ValueError("must be a short lowercase name such as cli, rasa or wechat")
        return value

    @validator("evidence")
    def _evidence(cls, value):
        if len(value) > MAX_EVIDENCE:
            raise ValueError(f"at most {MAX_EVIDENCE} items")
        return value

    @root_validator(skip_on_failure=False)
    def _required_for_complaints(cls, values):
        if values.get("kind") != "complaint":
            return values
        # A field absent from values failed its own validation and is reported already.
        missing = [field for field in ("name", "phone", "request") if field in values and not values[field]]
        if missing:
            raise ValueError("; ".join(f"{field}: is required for a complaint" for field in missing))
        return values


class CallbackRequestIn(_Strict):
    sender_id: Optional[str] = None
    channel: str
    phone: str
    message: str

    @validator("channel")
    def _channel(cls, value):
        if not _SOURCE.match(value):
            raise ValueError("must be a short lowercase name such as rasa or wechat")
        return value

    @validator("phone")
    def _phone(cls, value):
        return normalise_phone(value)

    @validator("message")
    def _message(cls, value):
        if not value:
            raise ValueError("must not be empty")
        return _text(value, 2000)

    @validator("sender_id")
    def _sender(cls, value):
        return _text(value, 200)


class RatingIn(_Strict):
    """A satisfaction rating. The score may arrive as an int (our own code) or as the digit a button
    payload or a typed reply carries ("5", or a full-width digit); a bool or a float is a caller's bug."""

    sender_id: Optional[str] = None
    channel: str
    topic: str
    score: int
    case_number: Optional[str] = None

    @validator("score", pre=True)
    def _score(cls, value):
        rule = f"must be a whole number from {RATING_SCORES[0]} to {RATING_SCORES[-1]}"
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).strip()
            if not _SCORE_DIGIT.match(value):
                raise ValueError(rule)
            value = int(value)
        # bool is a subclass of int: True must not pass as a score of 1.
        if isinstance(value, bool) or not isinstance(value, int) or value not in RATING_SCORES:
            raise ValueError(rule)
        return value

    @validator("topic")
    def _topic(cls, value):
        if value not in RATING_TOPICS:
            raise ValueError(f"must be one of {', '.join(RATING_TOPICS)}")
        return value

    @validator("channel")
    def _channel(cls, value):
        if not _SOURCE.match(value):
            raise ValueError("must be a short lowercase name such as rasa or wechat")
        return value

    @validator("case_number")
    def _case_number(cls, value):
        if not value:
            return None
        if not looks_like_case_number(value):
            raise ValueError("must be a case number such as IP-20260101-7K3QWX")
        return value.upper()

    @validator("sender_id")
    def _sender(cls, value):
        return _text(value, 200)


class StatusCallbackIn(BaseModel):
    """The body of POST /agency/callback (unknown extra fields are ignored for forward compatibility)."""

    service_request_id: Optional[str] = None
    complaint_uuid: Optional[UUID] = None
    status: str
    note: Optional[str] = None
    updated_at: datetime
    event_id: Optional[str] = None

    class Config:
        extra = Extra.ignore
        anystr_strip_whitespace = True

    @validator("updated_at", pre=True)
    def _timestamp(cls, value):
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 timestamp string")
        return parse_timestamp(value)

    @validator("status")
    def _status(cls, value):
        if value not in AGENCY_STATUSES:
            raise ValueError(f"must be one of {', '.join(AGENCY_STATUSES)}")
        return value

    @validator("service_request_id", "event_id")
    def _ids(cls, value):
        return _text(value, 120)

    @validator("note")
    def _note(cls, value):
        return _text(value, 2000)

    @root_validator(skip_on_failure=True)
    def _identified(cls, values):
        if not values.get("service_request_id") and not values.get("complaint_uuid"):
            raise ValueError("service_request_id or complaint_uuid: one is required")
        return values


def parse(model: type, data: object):
    """Validate ``data`` as ``model``; raise ValidationFailed naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationFailed(["expected a JSON object"])
    try:
        return model(**data)
    except ValidationError as exc:
        raise ValidationFailed(describe(exc)) from None
    except TypeError as exc:  # e.g. non-string keys
        raise ValidationFailed([str(exc)]) from None


def describe(exc: ValidationError) -> List[str]:
    problems = []
    for error in exc.errors():
        where = _location(error["loc"])
        message = _PYDANTIC_MESSAGES.get(error["msg"], error["msg"])
        if where == "__root__":
            problems.extend(message.split("; "))
        else:
            problems.append(f"{where}: {message}")
    return problems


def _location(loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
