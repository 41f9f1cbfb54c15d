"""Satisfaction: asked after guidance or a filing, stored 1-5."""

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.rating import ActionAskRating, ActionSaveRating
from bot.intake.ratings import list_ratings


def _tracker(text, slots=None, events=(), entities=()) -> Tracker:
    return Tracker("citizen-4", dict(slots or {}), {"text": text, "intent": {"name": "rate"},
                                                     "entities": list(entities)},
                   list(events), False, None, {}, "action_listen")


def test_asked_after_a_filing_with_the_case():
    events = [{"event": "user", "text": "确认"}, {"event": "action", "name": "action_submit_filing"},
              {"event": "slot", "name": "last_case_number", "value": "IP-20261122-7K3QWX"}]
    dispatcher = CollectingDispatcher()
    assert ActionAskRating().run(dispatcher, _tracker("确认", events=events), {})[0]["value"] == "filing"
    assert dispatcher.messages[0]["response"] == "utter_ask_rating"


def test_not_asked_when_nothing_was_done():
    events = [{"event": "user", "text": "确认"}, {"event": "action", "name": "action_submit_filing"}]
    dispatcher = CollectingDispatcher()
    assert ActionAskRating().run(dispatcher, _tracker("确认", events=events), {}) == []
    assert dispatcher.messages == []


def test_a_typed_score_is_stored(store):
    slots = {"rating_topic": "filing", "last_case_number": "IP-20261122-7K3QWX"}
    dispatcher = CollectingDispatcher()
    ActionSaveRating().run(dispatcher, _tracker("打4分吧", slots), {})
    [rating] = list_ratings(store)
    assert (rating.score, rating.topic, rating.case_number) == (4, "filing", "IP-20261122-7K3QWX")
    assert dispatcher.messages[0]["response"] == "utter_rating_thanks"


def test_a_button_score_is_stored(store):
    ActionSaveRating().run(CollectingDispatcher(), _tracker("/rate", {"rating_topic": "guidance"},
                                                           entities=[{"entity": "rating_score", "value": "2"}]), {})
    assert list_ratings(store)[0].score == 2


def test_a_score_out_of_range_is_asked_again(store):
    dispatcher = CollectingDispatcher()
    assert ActionSaveRating().run(dispatcher, _tracker("10分", {"rating_topic": "guidance"}), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_rating_invalid"
    assert list_ratings(store) == []


def test_an_unasked_rating_is_not_stored(store):
    dispatcher = CollectingDispatcher()
    ActionSaveRating().run(dispatcher, _tracker("5"), {})
    assert dispatcher.messages[0]["response"] == "utter_rating_not_asked"
    assert list_ratings(store) == []


def test_guidance_is_rated_when_the_citizen_thanks_once():
    events = [{"event": "user", "text": "在夜市买到假鞋"}, {"event": "action", "name": "action_explain_problem"},
              {"event": "user", "text": "谢谢"}, {"event": "action", "name": "utter_you_are_welcome"}]
    dispatcher = CollectingDispatcher()
    assert ActionAskRating().run(dispatcher, _tracker("谢谢", events=events), {})[0]["value"] == "guidance"
    asked = [*events, {"event": "action", "name": "action_ask_rating"}, {"event": "user", "text": "再见"}]
    assert ActionAskRating().run(CollectingDispatcher(), _tracker("再见", events=asked), {}) == []
