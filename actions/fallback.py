"""Two-stage fallback: first offer the likeliest meanings as buttons, then a person - never two
plain "I don't understand" in a row."""

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.dialogue.clarify import likeliest_choices

CLARIFY_ACTION = "action_clarify"


def _clarified_last_turn(tracker: Tracker) -> bool:
    """Whether the bot's answer to the previous user message was this clarifying question."""
    users_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users_seen += 1
            if users_seen == 2:
                return False
        elif users_seen == 1 and event.get("event") == "action" and event.get("name") == CLARIFY_ACTION:
            return True
    return False


class ActionClarify(Action):
    def name(self) -> Text:
        return CLARIFY_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if _clarified_last_turn(tracker):
            dispatcher.utter_message(response="utter_fallback_offer_human")
            return []
        ranking = tracker.latest_message.get("intent_ranking") or []
        buttons = [{"title": title, "payload": f"/{intent}"} for intent, title in likeliest_choices(ranking)]
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return []
