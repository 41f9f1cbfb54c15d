"""Reading a citizen's answers to the forms' questions: each check returns the value to keep,
or None when the answer does not do (the form then explains and asks again)."""

import re
from typing import Iterable, Optional

from bot.dialogue.settings import get_settings
from bot.intake.schemas import MIN_FACTS_LENGTH, normalise_phone
from bot.text import has_meaningful_text, normalize

_PHONE_IN_TEXT = re.compile(r"(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}|0\d{2,3}-?\d{7,8}")
_DIGIT = re.compile(r"\d")
_PUNCTUATION = re.compile(r"[\s\W_]+")
_SCORE = re.compile(r"(?<!\d)([1-5])(?!\d)")
# Corrections of an e-mail or WeChat id are about the contact, which the forms keep as the phone.
_FIELD_ALIASES = {"contact": "phone"}
_LIMITS = {"name": 40, "address": 200, "respondent": 200, "request": 1000, "facts": 5000, "evidence": 500}


def _clean(text: object) -> str:
    return normalize(str(text or ""))


def _bare(text: str) -> str:
    return _PUNCTUATION.sub("", text)


def _within(text: object, field: str, minimum: int) -> Optional[str]:
    """The answer as typed (Chinese punctuation kept), if its normalised form is long enough."""
    folded = _clean(text)
    if len(_bare(folded)) < minimum or len(folded) > _LIMITS[field] or not has_meaningful_text(folded):
        return None
    return " ".join(str(text).split())


def check_name(text: object) -> Optional[str]:
    """A name is short and has no digits (a phone number typed in its place is not a name)."""
    return None if _DIGIT.search(_clean(text)) else _within(text, "name", 1)


def check_phone(text: object) -> Optional[str]:
    """The first mobile or landline number in the answer, normalised."""
    match = _PHONE_IN_TEXT.search(_clean(text))
    if not match:
        return None
    raw = match.group()
    try:
        return normalise_phone(raw if raw.startswith("0") else re.sub(r"[\s-]", "", raw))
    except ValueError:
        return None


def check_address(text: object) -> Optional[str]:
    return _within(text, "address", 2)


def check_respondent(text: object) -> Optional[str]:
    return _within(text, "respondent", 2)


def check_request(text: object) -> Optional[str]:
    return _within(text, "request", 2)


def check_facts(text: object) -> Optional[str]:
    return _within(text, "facts", MIN_FACTS_LENGTH)


def check_evidence(text: object) -> Optional[str]:
    """A description of the evidence; "" when the citizen has none (a valid answer)."""
    if _bare(_clean(text)) in get_settings().none_words:
        return ""
    return _within(text, "evidence", 1)


def _yes_no(text: object, yes: Iterable[str], no: Iterable[str]) -> Optional[bool]:
    """No-words first: "不同意" contains "同意". One-character words only count alone ("好", not "不好")."""
    bare = _bare(_clean(text))
    if any(_mentions(bare, word) for word in sorted(no, key=len, reverse=True)):
        return False
    if any(_mentions(bare, word) for word in yes):
        return True
    return None


def _mentions(bare: str, word: str) -> bool:
    return bare == word if len(word) == 1 else word in bare


def parse_consent(text: object, intent: Optional[str]) -> Optional[bool]:
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    settings = get_settings()
    return _yes_no(text, settings.consent_yes, settings.consent_no)


def parse_anonymous(text: object, intent: Optional[str]) -> Optional[bool]:
    """The answer to "do you want to stay anonymous?": affirm means anonymous."""
    settings = get_settings()
    words = _yes_no(text, settings.anonymous_yes, settings.anonymous_no)
    if words is not None:
        return words
    return {"affirm": True, "deny": False}.get(intent or "")


def parse_score(text: object) -> Optional[int]:
    """1-5 from a digit, a Chinese numeral with 分/星, or a word such as 满意; None otherwise."""
    value = _clean(text)
    digits = _SCORE.findall(value)
    if len(digits) == 1 and not re.search(r"\d{2,}", value):
        return int(digits[0])
    bare = _bare(value)
    # Longest words first: "很不满意" (1) before "不满意" (2) before "满意" (4).
    pairs = [(word, score) for score, words in get_settings().rating_words.items() for word in words]
    for word, score in sorted(pairs, key=lambda pair: len(pair[0]), reverse=True):
        if word in bare:
            return score
    numerals = get_settings().rating_numerals
    if len(bare) <= 2 and bare[:1] in numerals:
        return numerals[bare[0]]
    return None


def detect_field(text: object, entity_value: Optional[str], allowed: Iterable[str]) -> Optional[str]:
    """Which field a correction is about: the NLU's `field` entity, else the field words in the text."""
    allowed = list(allowed)
    entity_value = _FIELD_ALIASES.get(entity_value or "", entity_value)
    if entity_value in allowed:
        return entity_value
    value = _clean(text)
    settings = get_settings()
    for name in allowed:
        if name == value or any(word in value for word in settings.fields[name].keywords):
            return name
    return None
