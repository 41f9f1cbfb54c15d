"""Satisfaction: after a guidance answer or a filing, ask for 1-5 and store the answer."""

import logging
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import channel_of, latest_entity
from bot.dialogue.answers import parse_score
from bot.intake.errors import IntakeError
from bot.intake.ratings import record_rating
from bot.intake.store import shared_store

log = logging.getLogger(__name__)


def _this_turn(tracker: Tracker):
    """The events since the latest user message."""
    events = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        events.append(event)
    return events


def _topic(tracker: Tracker) -> Optional[str]:
    """"filing" right after a case number was given; "guidance" when a guidance answer came since
    the last rating question; else nothing to rate."""
    if any(e.get("event") == "slot" and e.get("name") == "last_case_number" and e.get("value")
           for e in _this_turn(tracker)):
        return "filing"
    for event in reversed(tracker.events):
        if event.get("event") != "action":
            continue
        if event.get("name") == "action_explain_problem":
            return "guidance"
        if event.get("name") in ("action_ask_rating", "action_save_rating"):
            return None
    return None


class ActionAskRating(Action):
    def name(self) -> Text:
        return "action_ask_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        topic = _topic(tracker)
        if topic is None:  # e.g. the submission failed: nothing to rate yet
            return []
        dispatcher.utter_message(response="utter_ask_rating")
        return [SlotSet("rating_topic", topic)]


class ActionSaveRating(Action):
    def name(self) -> Text:
        return "action_save_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        topic = tracker.get_slot("rating_topic")
        if not topic:
            dispatcher.utter_message(response="utter_rating_not_asked")
            return []
        score = parse_score(latest_entity(tracker, "rating_score") or tracker.latest_message.get("text"))
        if score is None:
            dispatcher.utter_message(response="utter_rating_invalid")
            return []
        case_number = tracker.get_slot("last_case_number") if topic == "filing" else None
        try:
            record_rating(shared_store(), {
                "sender_id": tracker.sender_id, "channel": channel_of(tracker), "topic": topic, "score": score,
                "case_number": case_number,
            })
        except IntakeError as exc:
            log.error("cannot store a rating: %s", exc)
            dispatcher.utter_message(response="utter_rating_failed")
            return [SlotSet("rating_topic", None)]
        dispatcher.utter_message(response="utter_rating_thanks")
        return [SlotSet("rating_topic", None)]

