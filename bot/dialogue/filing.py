"""A filing in progress: which questions the form asks, the read-back, and the submission.

The conversation keeps its answers in slots; FIELD_SLOTS names the slot behind each field.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.dialogue.settings import get_settings
from bot.knowledge.regions import NATIONAL_CODE

FIELD_SLOTS = {
    "name": "complainant_name",
    "phone": "phone",
    "address": "address",
    "region": "region_code",
    "respondent": "respondent",
    "request": "filing_request",
    "facts": "facts",
    "evidence": "evidence",
}
CONSENT_SLOT = "privacy_consent"
ANONYMOUS_SLOT = "anonymous"
EDIT_SLOT = "edit_field"
# Everything a new filing starts without (category, problem and region carry over from guidance).
CONFIRM_SLOT = "awaiting_confirmation"
FILING_SLOTS = (CONSENT_SLOT, ANONYMOUS_SLOT, EDIT_SLOT, CONFIRM_SLOT, "editing", "form_attempts",
                *(slot for field, slot in FIELD_SLOTS.items() if field != "region"))


def required_slots(kind: str, slots: Mapping[str, Any]) -> List[str]:
    """The form's questions in order, given the answers so far."""
    questions = [EDIT_SLOT] if slots.get("editing") else []
    if kind == "tip_off":
        questions.append(ANONYMOUS_SLOT)
        if slots.get(ANONYMOUS_SLOT) is False:
            questions.append(CONSENT_SLOT)
    else:
        questions.append(CONSENT_SLOT)
        if slots.get(CONSENT_SLOT) is False:
            return questions  # no consent, no complaint: the read-back explains
    anonymous = kind == "tip_off" and slots.get(ANONYMOUS_SLOT) is not False
    for field in get_settings().kinds[kind].fields:
        if field == "phone" and anonymous:
            continue
        questions.append(FIELD_SLOTS[field])
    return questions


def editable_fields(kind: str, slots: Mapping[str, Any]) -> List[str]:
    fields = list(get_settings().kinds[kind].fields)
    if kind == "tip_off" and slots.get(ANONYMOUS_SLOT) is not False:
        fields.remove("phone")
    return fields


def is_skippable(kind: str, field: str) -> bool:
    return field in get_settings().kinds[kind].skippable


@dataclass(frozen=True)
class Submission:
    data: Dict[str, Any]
    missing: Sequence[str]  # fields still unanswered: not ready to submit


def build_submission(
    kind: str, slots: Mapping[str, Any], sender_id: Optional[str], channel: Optional[str]
) -> Submission:
    """The bot.intake.service.submit input for the answers in ``slots``."""
    missing = [f for f in editable_fields(kind, slots) if slots.get(FIELD_SLOTS[f]) is None]
    facts = slots.get("facts") or ""
    evidence_text = slots.get("evidence") or ""
    if evidence_text:
        facts = get_settings().labels["evidence_in_facts"].format(facts=facts, evidence=evidence_text)
    data = {
        "uuid": slots.get("filing_uuid"),
        "kind": kind,
        "category": slots.get("category") or "not_ip",
        "region_code": slots.get("region_code") or NATIONAL_CODE,
        "respondent": slots.get("respondent") or "",
        "facts": facts,
        "request": slots.get("filing_request") or None,
        "name": slots.get("complainant_name") or None,
        "phone": slots.get("phone") or None,
        "address": slots.get("address") or None,
        "source": source_name(channel),
        "sender_id": sender_id,
        "evidence": list(slots.get("evidence_media") or []),
    }
    return Submission(data=data, missing=missing)


def source_name(channel: Optional[str]) -> str:
    """The input channel as a store "source" name (short lowercase), "rasa" when it has none."""
    name = (channel or "").lower()
    return name if name.isidentifier() and name.isascii() and 0 < len(name) <= 20 else "rasa"


def channel_evidence(metadata: Mapping[str, Any]) -> List[Dict[str, str]]:
    """Files the channel kept for this user (WeChat photos and documents), as evidence items;
    anything malformed is left out rather than failing the filing."""
    from bot.intake.schemas import EVIDENCE_KINDS, MAX_EVIDENCE

    items = metadata.get("evidence_media") if isinstance(metadata, Mapping) else None
    if not isinstance(items, list):
        return []
    kept = [
        {"kind": item["kind"], "url_or_media_id": item["url_or_media_id"]}
        for item in items
        if isinstance(item, Mapping) and item.get("kind") in EVIDENCE_KINDS
        and isinstance(item.get("url_or_media_id"), str) and item["url_or_media_id"]
    ]
    return kept[-MAX_EVIDENCE:]


def summary_lines(kind: str, slots: Mapping[str, Any], region_name: str) -> str:
    """The read-back: one "label: value" line per field."""
    settings = get_settings()
    lines = []
    for field in settings.kinds[kind].fields:
        value = region_name if field == "region" else slots.get(FIELD_SLOTS[field])
        files = len(slots.get("evidence_media") or [])
        if field == "evidence" and files:
            value = settings.labels["evidence_files"].format(
                evidence=value or settings.labels["not_given"], count=files)
        if field == "phone" and kind == "tip_off" and slots.get(ANONYMOUS_SLOT) is not False:
            value = settings.labels["anonymous"]
        label = settings.fields[field].label
        lines.append(settings.labels["summary_line"].format(label=label, value=value or settings.labels["not_given"]))
    return "\n".join(lines)
