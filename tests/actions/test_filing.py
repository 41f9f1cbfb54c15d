"""Filing actions against literal trackers and a real (SQLite) store."""

import asyncio
import json
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.filing import (
    ActionReadBack,
    ActionStartEdit,
    ActionStartFiling,
    ActionSubmitFiling,
    ValidateComplaintForm,
    ValidateTipoffForm,
)
from bot.intake.service import find_complaint
from bot.intake.store import shared_store

TRACKERS = Path(__file__).parent / "trackers"


def _tracker(name: str, **slots) -> Tracker:
    tracker = Tracker.from_dict(json.loads((TRACKERS / name).read_text(encoding="utf-8")))
    tracker.slots.update(slots)
    return tracker


def _said(text: str, tracker: Tracker, intent: str = "inform", entities=()) -> Tracker:
    ranking = tracker.latest_message.get("intent_ranking")
    tracker.latest_message = {"text": text, "intent": {"name": intent, "confidence": 0.9},
                              "entities": list(entities), "intent_ranking": ranking}
    return tracker


def _slots(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def _responses(dispatcher: CollectingDispatcher):
    return [m.get("response") for m in dispatcher.messages]


def test_start_keeps_the_problem_as_facts_and_gives_a_fresh_key():
    tracker = _tracker("complaint_read_back.json")
    tracker.latest_message = {"text": "我要投诉", "intent": {"name": "file_complaint"}, "entities": []}
    dispatcher = CollectingDispatcher()
    slots = _slots(ActionStartFiling().run(dispatcher, tracker, {}))
    assert slots["filing_kind"] == "complaint"
    assert slots["filing_uuid"] != tracker.get_slot("filing_uuid")
    assert slots["phone"] is None and slots["complainant_name"] is None
    assert slots["facts"] == "在游仙区夜市买的鞋子是高仿的冒牌货"
    assert _responses(dispatcher) == ["utter_file_complaint"]


def test_read_back_names_every_answer_and_the_agency():
    dispatcher = CollectingDispatcher()
    events = ActionReadBack().run(dispatcher, _tracker("complaint_read_back.json"), {})
    assert _slots(events) == {"awaiting_confirmation": True}
    [message] = dispatcher.messages
    assert message["response"] == "utter_read_back"
    assert message["kind_label"] == "投诉"
    assert "联系电话：13812345678" in message["summary_lines"]
    assert "问题发生地：游仙区" in message["summary_lines"]
    assert "游仙区市场监督管理局" in message["agency_name"]


def test_confirm_stores_and_queues_the_complaint_once(store):
    tracker = _tracker("complaint_read_back.json")
    dispatcher = CollectingDispatcher()
    slots = _slots(ActionSubmitFiling().run(dispatcher, tracker, {}))
    [message] = dispatcher.messages
    assert message["response"] == "utter_filed_held"  # no intake API configured: held for staff
    case_number = message["case_number"]
    assert case_number.startswith("IP-") and slots["last_case_number"] == case_number
    assert slots["filing_kind"] is None and slots["awaiting_confirmation"] is None

    # The same conversation confirming again (a retried action) files nothing new.
    again = CollectingDispatcher()
    ActionSubmitFiling().run(again, _tracker("complaint_read_back.json"), {})
    assert again.messages[0]["case_number"] == case_number

    complaint = find_complaint(store, case_number)
    assert complaint.phone == "13812345678" and complaint.source == "rest"
    assert complaint.sender_id == "citizen-7"
    assert "付款记录" in complaint.facts
    assert complaint.deliveries[0].state == "held"


def test_a_store_failure_keeps_everything_for_a_retry(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nothing-listens-here")
    shared_store.cache_clear()
    try:
        dispatcher = CollectingDispatcher()
        events = ActionSubmitFiling().run(dispatcher, _tracker("complaint_read_back.json"), {})
    finally:
        shared_store.cache_clear()
    assert _responses(dispatcher) == ["utter_filing_failed"]
    assert events == []


def test_nothing_to_confirm_without_a_filing():
    dispatcher = CollectingDispatcher()
    ActionSubmitFiling().run(dispatcher, _tracker("complaint_read_back.json", filing_uuid=None), {})
    assert _responses(dispatcher) == ["utter_nothing_to_confirm"]


def test_a_bad_phone_is_explained_and_the_second_miss_offers_a_person():
    form = ValidateComplaintForm()
    tracker = _tracker("complaint_form_answer.json")
    first = CollectingDispatcher()
    result = form.validate_phone("12345", first, tracker, {})
    assert result["phone"] is None and result["form_attempts"] == {"phone": 1}
    assert _responses(first) == ["utter_invalid_phone"]

    tracker.slots.update(result)
    second = CollectingDispatcher()
    result = form.validate_phone("138123", second, _said("138123", tracker), {})
    assert _responses(second) == ["utter_invalid_phone", "utter_stuck_required"]

    tracker.slots.update(result)
    third = CollectingDispatcher()
    result = form.validate_phone("0816-2345678", third, _said("0816-2345678", tracker), {})
    assert result["phone"] == "0816-2345678" and result["form_attempts"] == {}


def test_skip_works_only_for_optional_questions():
    form = ValidateComplaintForm()
    tracker = _said("跳过", _tracker("complaint_form_answer.json"), intent="skip")
    assert form.validate_address("跳过", CollectingDispatcher(), tracker, {})["address"] == ""
    dispatcher = CollectingDispatcher()
    assert form.validate_phone("跳过", dispatcher, tracker, {}) == {"phone": None}
    assert _responses(dispatcher) == ["utter_cannot_skip"]


def test_an_address_that_names_the_place_settles_the_region():
    result = ValidateComplaintForm().validate_address(
        "绵阳市游仙区富乐街道", CollectingDispatcher(), _tracker("complaint_form_answer.json"), {})
    assert result["region_code"] == "510704"


def test_facts_of_a_direct_complaint_give_the_category():
    result = ValidateComplaintForm().validate_facts(
        "同行照着我的专利做了一模一样的产品在卖", CollectingDispatcher(), _tracker("complaint_form_answer.json"), {})
    assert result["category"] == "patent"


def test_declining_consent_ends_a_complaint_but_makes_a_tip_off_anonymous():
    tracker = _said("不同意", _tracker("complaint_form_answer.json", privacy_consent=None), intent="deny")
    dispatcher = CollectingDispatcher()
    result = ValidateComplaintForm().validate_privacy_consent("不同意", dispatcher, tracker, {})
    assert result["privacy_consent"] is False
    assert _responses(dispatcher) == ["utter_consent_declined_complaint"]
    result = ValidateTipoffForm().validate_privacy_consent("不同意", CollectingDispatcher(), tracker, {})
    assert result["anonymous"] is True


def test_the_form_asks_only_what_applies():
    form = ValidateTipoffForm()
    tracker = _tracker("complaint_form_answer.json", filing_kind="tip_off", anonymous=True)
    questions = asyncio.run(form.required_slots([], CollectingDispatcher(), tracker, {}))
    assert "phone" not in questions and "complainant_name" not in questions


def test_a_named_correction_clears_that_answer():
    tracker = _said("电话写错了", _tracker("complaint_read_back.json"), intent="correct",
                    entities=[{"entity": "field", "value": "phone"}])
    dispatcher = CollectingDispatcher()
    slots = _slots(ActionStartEdit().run(dispatcher, tracker, {}))
    assert slots == {"awaiting_confirmation": False, "phone": None}
    assert dispatcher.messages[0]["field_label"] == "联系电话"


def test_an_unnamed_change_asks_which_answer():
    tracker = _said("修改", _tracker("complaint_read_back.json"), intent="deny")
    slots = _slots(ActionStartEdit().run(CollectingDispatcher(), tracker, {}))
    assert slots["editing"] is True


def test_the_answer_to_which_field_clears_it():
    tracker = _said("被投诉的店名", _tracker("complaint_read_back.json", editing=True))
    result = ValidateComplaintForm().validate_edit_field("被投诉的店名", CollectingDispatcher(), tracker, {})
    assert result == {"edit_field": None, "editing": False, "respondent": None}


def test_files_sent_through_the_channel_are_read_back_and_attached(store):
    tracker = _tracker("complaint_read_back.json")
    files = [{"kind": "photo", "url_or_media_id": "MEDIA-1", "received_at": 1763800000},
             {"kind": "document", "url_or_media_id": "MEDIA-2", "received_at": 1763800001},
             {"kind": "hologram", "url_or_media_id": "MEDIA-3"}]
    tracker.events[-1]["metadata"] = {"evidence_media": files}
    read_back = CollectingDispatcher()
    ActionReadBack().run(read_back, tracker, {})
    assert "另附2个文件" in read_back.messages[0]["summary_lines"]
    filed = CollectingDispatcher()
    events = ActionSubmitFiling().run(filed, tracker, {})
    complaint = find_complaint(store, filed.messages[0]["case_number"])
    assert [(e.kind, e.url_or_media_id) for e in complaint.evidence] == [("photo", "MEDIA-1"), ("document", "MEDIA-2")]

    # A second filing in the same conversation does not carry the first one's files again.
    tracker.slots.update({e["name"]: e["value"] for e in events if e["event"] == "slot"})
    tracker.slots.update(filing_kind="complaint", filing_uuid="7e1f3a4b-2c3d-4e5f-8a9b-0c1d2e3f4a5b")
    again = CollectingDispatcher()
    ActionReadBack().run(again, tracker, {})
    assert "另附" not in again.messages[0]["summary_lines"]
