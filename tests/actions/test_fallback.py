"""Two-stage fallback: buttons for the likeliest meanings first, a person the second time."""

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionClarify

RANKING = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "problem_patent", "confidence": 0.3},
           {"name": "check_status", "confidence": 0.2}]


def _tracker(events) -> Tracker:
    return Tracker("citizen-3", {}, {"text": "嗯那个", "intent": {"name": "nlu_fallback"}, "entities": [],
                                     "intent_ranking": RANKING}, events, False, None, {}, "action_listen")


def test_first_miss_offers_buttons_and_a_person():
    dispatcher = CollectingDispatcher()
    ActionClarify().run(dispatcher, _tracker([{"event": "user", "text": "嗯那个"}]), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_clarify"
    assert [b["payload"] for b in message["buttons"]] == ["/problem_patent", "/check_status", "/request_human"]


def test_second_miss_in_a_row_offers_a_person():
    events = [
        {"event": "user", "text": "嗯那个"},
        {"event": "action", "name": "action_clarify"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "就是那个东西"},
    ]
    dispatcher = CollectingDispatcher()
    ActionClarify().run(dispatcher, _tracker(events), {})
    assert dispatcher.messages[0]["response"] == "utter_fallback_offer_human"


def test_a_miss_after_an_understood_turn_starts_over():
    events = [
        {"event": "user", "text": "嗯那个"},
        {"event": "action", "name": "action_clarify"},
        {"event": "user", "text": "我要投诉"},
        {"event": "action", "name": "action_start_filing"},
        {"event": "user", "text": "呃"},
    ]
    dispatcher = CollectingDispatcher()
    ActionClarify().run(dispatcher, _tracker(events), {})
    assert dispatcher.messages[0]["response"] == "utter_clarify"
