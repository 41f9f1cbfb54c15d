"""The dialogue's words and labels (data/guidance/dialogue.yml), validated once and cached."""

import functools
import os
import re
from typing import Dict, List, Tuple

import yaml
from pydantic import BaseModel, Extra, validator

from bot.knowledge.paths import DATA_DIR

FIELD_NAMES = ("name", "phone", "address", "region", "respondent", "request", "facts", "evidence")
FILING_KINDS = ("complaint", "tip_off")
_HOURS = re.compile(r"^(?P<first>[1-7])-(?P<last>[1-7]) (?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)$")


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class FieldWords(_Strict):
    label: str
    keywords: Tuple[str, ...]


class KindFields(_Strict):
    label: str
    fields: Tuple[str, ...]
    skippable: Tuple[str, ...]

    @validator("fields", "skippable", each_item=True)
    def _known(cls, value):
        if value not in FIELD_NAMES:
            raise ValueError(f"unknown field {value!r}")
        return value


class Handoff(_Strict):
    hotline: str
    timezone: str
    weekdays: Tuple[int, ...]
    start: str
    end: str
    hours_text: str

    @validator("start", "end")
    def _clock(cls, value):
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) <= 24 and int(minutes) < 60):
            raise ValueError("must be HH:MM")
        return value


class DialogueSettings(_Strict):
    fields: Dict[str, FieldWords]
    kinds: Dict[str, KindFields]
    none_words: Tuple[str, ...]
    consent_yes: Tuple[str, ...]
    consent_no: Tuple[str, ...]
    anonymous_yes: Tuple[str, ...]
    anonymous_no: Tuple[str, ...]
    labels: Dict[str, str]
    rating_words: Dict[int, Tuple[str, ...]]
    rating_numerals: Dict[str, int]
    statuses: Dict[str, str]
    handoff: Handoff
    intent_buttons: Dict[str, str]
    max_intent_buttons: int

    @validator("fields")
    def _all_fields(cls, value):
        missing = set(FIELD_NAMES) - set(value)
        if missing:
            raise ValueError(f"missing fields: {', '.join(sorted(missing))}")
        return value

    @validator("kinds")
    def _both_kinds(cls, value):
        if set(value) != set(FILING_KINDS):
            raise ValueError(f"must describe exactly {', '.join(FILING_KINDS)}")
        return value

    @validator("labels")
    def _labels(cls, value):
        missing = {"not_given", "anonymous", "national", "unknown_agency", "summary_line", "evidence_in_facts",
                   "note_line", "status_push", "status_push_note", "evidence_files"} - set(value)
        if missing:
            raise ValueError(f"missing labels: {', '.join(sorted(missing))}")
        return value


def load_settings(path=None) -> DialogueSettings:
    with open(path or DATA_DIR / "guidance" / "dialogue.yml", encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document["handoff"] = _with_env_hours(document["handoff"], os.environ.get("IPR_STAFF_HOURS"))
    text = os.environ.get("IPR_STAFF_HOURS_TEXT")
    if text:
        document["handoff"]["hours_text"] = text
    return DialogueSettings(**document)


def _with_env_hours(handoff: dict, spec: str) -> dict:
    """IPR_STAFF_HOURS="1-5 09:00-17:00": ISO weekdays first-last, then the daily window."""
    if not spec:
        return handoff
    match = _HOURS.match(spec.strip())
    if not match:
        raise ValueError(f"IPR_STAFF_HOURS must look like '1-5 09:00-17:00', not {spec!r}")
    first, last = int(match["first"]), int(match["last"])
    return {**handoff, "weekdays": list(range(first, last + 1)), "start": match["start"], "end": match["end"]}


@functools.lru_cache(maxsize=1)
def get_settings() -> DialogueSettings:
    """Loaded on first use (never at import: rasa-sdk imports every action module)."""
    return load_settings()


def kind_fields(kind: str) -> List[str]:
    return list(get_settings().kinds[kind].fields)
