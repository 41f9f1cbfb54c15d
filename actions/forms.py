"""What every form validator here shares: counting failed answers, explaining after two."""

from typing import Any, Callable, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.filing import source_name

ATTEMPTS_SLOT = "form_attempts"
MAX_FAILED_ANSWERS = 2


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_entity(tracker: Tracker, entity: str) -> Optional[str]:
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == entity and item.get("value") is not None:
            return str(item["value"])
    return None


def channel_of(tracker: Tracker) -> str:
    return source_name(tracker.get_latest_input_channel())


def attempts(tracker: Tracker) -> Dict[str, int]:
    return dict(tracker.get_slot(ATTEMPTS_SLOT) or {})


def accepted(slot: str, value: Any, tracker: Tracker, **more: Any) -> Dict[Text, Any]:
    counts = attempts(tracker)
    counts.pop(slot, None)
    return {slot: value, ATTEMPTS_SLOT: counts, **more}


def rejected(
    slot: str, tracker: Tracker, dispatcher: CollectingDispatcher, on_second: Optional[Callable[[], None]] = None
) -> Dict[Text, Any]:
    """Explain what was wrong (utter_invalid_<slot>); from the second miss on, also ``on_second``."""
    counts = attempts(tracker)
    counts[slot] = counts.get(slot, 0) + 1
    dispatcher.utter_message(response=f"utter_invalid_{slot}")
    if counts[slot] >= MAX_FAILED_ANSWERS and on_second:
        on_second()
    return {slot: None, ATTEMPTS_SLOT: counts}
