"""Guidance actions: remember the problem, settle the region, explain who handles it."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.knowledge.categories import category_for_intent
from bot.knowledge.presentation import present_route
from bot.knowledge.regions import NATIONAL_CODE
from bot.knowledge.routing import RouteRequest, get_router
from bot.text import normalize

MAX_REGION_ATTEMPTS = 2


def _latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


class ActionNoteProblem(Action):
    """Keep the category, the words and any place named in a problem description."""

    def name(self) -> Text:
        return "action_note_problem"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        # The NLU saw the normalised text; its entity offsets refer to that.
        text = normalize(message.get("text") or "")
        if text.startswith("/"):  # a button ("/problem_patent") stands for the words typed before it
            return [SlotSet("category", category_for_intent(_latest_intent(tracker))), SlotSet("region_attempts", 0.0),
                    *_problem_from_earlier_words(tracker)]
        events: List[EventType] = [
            SlotSet("category", category_for_intent(_latest_intent(tracker))),
            SlotSet("problem_text", text),
            SlotSet("region_attempts", 0.0),
        ]
        resolution = get_router().directory.regions.resolve(text, message.get("entities") or [])
        if resolution.region:
            events.append(SlotSet("region_code", resolution.region.code))
        return events


def _problem_from_earlier_words(tracker: Tracker) -> List[EventType]:
    for event in reversed(tracker.events[:-1]):
        words = normalize(event.get("text") or "") if event.get("event") == "user" else ""
        if words and not words.startswith("/"):
            return [SlotSet("problem_text", words)]
    return []


class ValidateRegionForm(FormValidationAction):
    """Resolve the citizen's answer to a region code; after two misses, go on with national channels."""

    def name(self) -> Text:
        return "validate_region_form"

    def validate_region_code(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return region_answer(slot_value, dispatcher, tracker)


def region_answer(slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    """The region code for an answer to "where?"; the filing forms ask the same question."""
    if _latest_intent(tracker) in ("deny", "skip"):  # "不知道" / "跳过": national channels
        return {"region_code": NATIONAL_CODE}
    router = get_router()
    text = str(slot_value or "")
    if text == NATIONAL_CODE or router.directory.regions.get(text):
        return {"region_code": text}  # a code set earlier, validated again when a form starts
    entities = tracker.latest_message.get("entities") or []
    resolution = router.directory.regions.resolve(text, entities)
    if resolution.region:
        return {"region_code": resolution.region.code, "region_attempts": 0.0}
    attempts = (tracker.get_slot("region_attempts") or 0.0) + 1
    if attempts >= MAX_REGION_ATTEMPTS:
        dispatcher.utter_message(response="utter_region_given_up")
        return {"region_code": NATIONAL_CODE, "region_attempts": 0.0}
    if resolution.ambiguous:
        names = str(router.templates["list_separator"]).join(r.name for r in resolution.candidates)
        dispatcher.utter_message(response="utter_region_ambiguous", candidates=names)
    else:
        dispatcher.utter_message(response="utter_region_unknown")
    return {"region_code": None, "region_attempts": attempts}


class ActionExplainProblem(Action):
    """Tell the citizen the category, the agencies for their region and the options."""

    def name(self) -> Text:
        return "action_explain_problem"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        category = tracker.get_slot("category")
        if not category:
            dispatcher.utter_message(response="utter_ask_problem")
            return []
        router = get_router()
        text = tracker.get_slot("problem_text") or ""
        region_code = tracker.get_slot("region_code")
        region = router.directory.regions.get(region_code) if region_code != NATIONAL_CODE else None
        flags = set(router.detect_flags(text))
        if tracker.get_slot("platform"):
            flags.add("online")
        route = router.route(
            RouteRequest(
                category=category,
                region_code=region.code if region else None,
                subkind=router.detect_subkind(category, text),
                flags=frozenset(flags),
            )
        )
        variables = present_route(route, router, region.name if region else None)
        dispatcher.utter_message(response=_response_for(category, region is not None), **variables)
        return []


def _response_for(category: str, has_region: bool) -> str:
    if category == "not_ip":
        return "utter_guidance_not_ip"
    return "utter_guidance" if has_region else "utter_guidance_national"
