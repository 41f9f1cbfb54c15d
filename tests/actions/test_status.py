"""Status look-up: the case number, the phone's last four digits for complaints, then the status."""

import json
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.status import ActionShowStatus, ValidateStatusForm
from bot.intake.service import submit

TRACKERS = Path(__file__).parent / "trackers"
COMPLAINT = {
    "kind": "complaint", "category": "trademark_counterfeit", "region_code": "510704",
    "respondent": "夜市鞋摊", "facts": "在夜市买的鞋是高仿的冒牌货", "request": "退款",
    "name": "张伟", "phone": "13812345678", "source": "rest",
}


def _tracker(**slots) -> Tracker:
    tracker = Tracker.from_dict(json.loads((TRACKERS / "status_answer.json").read_text(encoding="utf-8")))
    tracker.slots.update(slots)
    return tracker


def _responses(dispatcher):
    return [m.get("response") for m in dispatcher.messages]


def test_a_complaint_number_asks_for_the_phone_digits(store):
    number = submit(store, COMPLAINT).case_number
    result = ValidateStatusForm().validate_case_number(f"我的编号是{number.lower()}", CollectingDispatcher(),
                                                       _tracker(), {})
    assert result["case_number"] == number and result["status_needs_phone"] is True


def test_an_anonymous_tip_off_needs_only_its_number(store):
    tip_off = dict(COMPLAINT, kind="tip_off", name=None, phone=None, request=None)
    number = submit(store, tip_off).case_number
    result = ValidateStatusForm().validate_case_number(number, CollectingDispatcher(), _tracker(), {})
    assert result["status_needs_phone"] is False


def test_an_unknown_number_is_asked_again_then_given_up(store):
    form = ValidateStatusForm()
    first = CollectingDispatcher()
    result = form.validate_case_number("IP-20261122-ZZZZZZ", first, _tracker(), {})
    assert result["case_number"] is None and _responses(first) == ["utter_invalid_case_number"]
    second = CollectingDispatcher()
    result = form.validate_case_number("不记得了", second, _tracker(**result), {})
    assert result["case_number"] == "" and _responses(second) == ["utter_status_gave_up"]


def test_wrong_digits_are_refused_then_the_right_ones_show_the_status(store):
    number = submit(store, COMPLAINT).case_number
    form = ValidateStatusForm()
    wrong = CollectingDispatcher()
    tracker = _tracker(case_number=number, status_needs_phone=True)
    result = form.validate_phone_last4("1111", wrong, tracker, {})
    assert result["phone_last4"] is None and _responses(wrong) == ["utter_invalid_phone_last4"]

    tracker.slots.update(result)
    result = form.validate_phone_last4("后四位是5678", CollectingDispatcher(), tracker, {})
    assert result["phone_last4"] == "后四位是5678"

    tracker.slots.update(result)
    dispatcher = CollectingDispatcher()
    events = ActionShowStatus().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_case_status"
    assert message["case_number"] == number and message["status_label"].startswith("已登记")
    assert "13812345678" not in json.dumps(message, ensure_ascii=False)
    assert {e["name"]: e["value"] for e in events} == {"case_number": None, "phone_last4": None,
                                                      "status_needs_phone": None}


def test_wrong_digits_twice_end_the_look_up(store):
    number = submit(store, COMPLAINT).case_number
    tracker = _tracker(case_number=number, status_needs_phone=True, form_attempts={"phone_last4": 1})
    dispatcher = CollectingDispatcher()
    result = ValidateStatusForm().validate_phone_last4("0000", dispatcher, tracker, {})
    assert result["case_number"] == "" and _responses(dispatcher) == ["utter_status_gave_up"]
