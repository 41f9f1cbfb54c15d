"""The fixed problem-category codes and their link to NLU intents.

Each category is one intent named ``problem_<code>``: the trained model picks
the category, this module only translates names.
"""

from typing import Optional

CATEGORY_CODES = (
    "trademark_counterfeit",
    "patent",
    "copyright",
    "trade_secret",
    "geographical_indication",
    "plant_variety",
    "unfair_competition",
    "not_ip",
)

IP_CATEGORY_CODES = tuple(code for code in CATEGORY_CODES if code != "not_ip")

PROBLEM_INTENT_PREFIX = "problem_"


def intent_for_category(code: str) -> str:
    if code not in CATEGORY_CODES:
        raise ValueError(f"unknown category code: {code!r}")
    return PROBLEM_INTENT_PREFIX + code


def category_for_intent(intent: Optional[str]) -> Optional[str]:
    """The category code an intent stands for, or None for conversational intents."""
    if not intent or not intent.startswith(PROBLEM_INTENT_PREFIX):
        return None
    code = intent[len(PROBLEM_INTENT_PREFIX):]
    return code if code in CATEGORY_CODES else None
