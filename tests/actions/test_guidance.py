"""Guidance actions run against literal tracker dumps."""

import json
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.guidance import ActionExplainProblem, ActionNoteProblem, ValidateRegionForm

TRACKERS = Path(__file__).parent / "trackers"


def _tracker(name: str) -> Tracker:
    return Tracker.from_dict(json.loads((TRACKERS / name).read_text(encoding="utf-8")))


def _slots(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_note_problem_keeps_category_text_and_place():
    events = ActionNoteProblem().run(CollectingDispatcher(), _tracker("counterfeit_in_youxian.json"), {})
    slots = _slots(events)
    assert slots["category"] == "trademark_counterfeit"
    assert slots["region_code"] == "510704"
    assert "高仿" in slots["problem_text"]


def test_explain_names_the_local_office_and_the_takedown_option():
    tracker = _tracker("counterfeit_in_youxian.json")
    tracker.slots.update(_slots(ActionNoteProblem().run(CollectingDispatcher(), tracker, {})))
    dispatcher = CollectingDispatcher()
    assert ActionExplainProblem().run(dispatcher, tracker, {}) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_guidance"
    assert message["region_name"] == "游仙区"
    assert "游仙区市场监督管理局" in message["agency_lines"]
    assert "下架" in message["channel_lines"]  # bought on a platform: notice-and-takedown applies


def test_explain_tells_patent_passing_off_apart():
    dispatcher = CollectingDispatcher()
    ActionExplainProblem().run(dispatcher, _tracker("patent_passing_off_explained.json"), {})
    [message] = dispatcher.messages
    assert "假冒专利" in message["category_label"]
    assert "德阳市市场监督管理局" in message["agency_lines"]


def test_not_ip_gets_the_other_hotlines():
    dispatcher = CollectingDispatcher()
    ActionExplainProblem().run(dispatcher, _tracker("not_ip_refund.json"), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_guidance_not_ip"
    assert "12333" in message["redirect_lines"] and "12345" in message["redirect_lines"]


def test_explain_without_a_problem_asks_for_one():
    tracker = _tracker("not_ip_refund.json")
    tracker.slots["category"] = None
    dispatcher = CollectingDispatcher()
    ActionExplainProblem().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["response"] == "utter_ask_problem"


@pytest.mark.parametrize("answer, code", [("游仙", "510704"), ("四川绵阳", "510700"), ("淮北相山区", "340603")])
def test_region_answers_are_resolved(answer, code):
    tracker = _tracker("region_answer_unknown.json")
    result = ValidateRegionForm().validate_region_code(answer, CollectingDispatcher(), tracker, {})
    assert result["region_code"] == code


def test_unknown_place_is_asked_again_then_given_up_with_national_channels():
    tracker = _tracker("region_answer_unknown.json")
    dispatcher = CollectingDispatcher()
    first = ValidateRegionForm().validate_region_code("就在我家附近", dispatcher, tracker, {})
    assert first == {"region_code": None, "region_attempts": 1.0}
    assert dispatcher.messages[-1]["response"] == "utter_region_unknown"
    tracker.slots["region_attempts"] = 1.0
    second = ValidateRegionForm().validate_region_code("不清楚啊", dispatcher, tracker, {})
    assert second["region_code"] == "100000"
    assert dispatcher.messages[-1]["response"] == "utter_region_given_up"


def test_ambiguous_place_names_the_candidates():
    dispatcher = CollectingDispatcher()
    tracker = _tracker("region_answer_unknown.json")
    result = ValidateRegionForm().validate_region_code("成都和德阳", dispatcher, tracker, {})
    assert result["region_code"] is None
    assert dispatcher.messages[-1]["response"] == "utter_region_ambiguous"
    assert "成都市" in dispatcher.messages[-1]["candidates"] and "德阳市" in dispatcher.messages[-1]["candidates"]


def test_deny_means_no_region():
    tracker = _tracker("region_answer_unknown.json")
    tracker.latest_message["intent"] = {"name": "deny", "confidence": 0.9}
    result = ValidateRegionForm().validate_region_code("不知道", CollectingDispatcher(), tracker, {})
    assert result == {"region_code": "100000"}


def test_slot_set_events_are_plain_rasa_events():
    events = ActionNoteProblem().run(CollectingDispatcher(), _tracker("counterfeit_in_youxian.json"), {})
    assert SlotSet("category", "trademark_counterfeit") in events
