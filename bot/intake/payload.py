"""The body we POST to ``{agency url}/requests`` (schema ServiceRequest in openapi.yaml).

Built once, when the complaint is stored, and kept byte for byte in the outbox: a resend under
the same Idempotency-Key must carry the same body, or the agency answers 409.
"""

import json
from typing import Any, Dict, Optional, Sequence

from bot.intake.schemas import ComplaintIn
from bot.intake.timeutil import isoformat


def request_body(
    complaint: ComplaintIn, uuid: str, case_number: str, agency_id: str, created_at, evidence: Sequence[Any]
) -> str:
    document = {
        "service_code": complaint.category,
        "request_kind": complaint.kind,
        "complaint_uuid": uuid,
        "case_number": case_number,
        "agency_id": agency_id,
        "region_code": complaint.region_code,
        "description": complaint.facts,
        "requested_datetime": isoformat(created_at),
        "source": complaint.source,
        "attributes": _attributes(complaint),
        "requester": _requester(complaint),
        "evidence": [{"kind": e.kind, "url_or_media_id": e.url_or_media_id, "note": e.note} for e in evidence],
    }
    return canonical_json(document)


def canonical_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _attributes(complaint: ComplaintIn) -> Dict[str, str]:
    attributes = {"respondent": complaint.respondent}
    if complaint.request:
        attributes["request"] = complaint.request
    return attributes


def _requester(complaint: ComplaintIn) -> Optional[Dict[str, Optional[str]]]:
    fields = {
        "name": complaint.name,
        "phone": complaint.phone,
        "address": complaint.address,
        "contact": complaint.contact,
    }
    if not any(fields.values()):
        return None  # an anonymous tip-off
    return fields
