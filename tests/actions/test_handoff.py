"""Reaching a person: the handover signal on duty, a stored callback request off duty."""

import asyncio
import json
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionRequestHuman, ActionSaveCallback, ValidateCallbackForm
from bot.dialogue.settings import get_settings
from bot.intake.callback_requests import list_callback_requests

TRACKERS = Path(__file__).parent / "trackers"


def _tracker(**slots) -> Tracker:
    tracker = Tracker.from_dict(json.loads((TRACKERS / "status_answer.json").read_text(encoding="utf-8")))
    tracker.slots.update(slots)
    return tracker


def _with_hours(monkeypatch, spec):
    monkeypatch.setenv("IPR_STAFF_HOURS", spec)
    get_settings.cache_clear()


def test_on_duty_the_channel_gets_a_handoff_signal(monkeypatch):
    _with_hours(monkeypatch, "1-7 00:00-24:00")
    try:
        dispatcher = CollectingDispatcher()
        events = ActionRequestHuman().run(dispatcher, _tracker(), {})
    finally:
        get_settings.cache_clear()
    assert dispatcher.messages[0]["response"] == "utter_handoff"
    assert dispatcher.messages[0]["hotline"] == "12315"
    assert dispatcher.messages[1]["custom"]["handoff"]["reason"] == "citizen_request"
    assert events[0]["value"] is True


def test_off_duty_a_callback_is_offered_with_the_known_phone(monkeypatch):
    _with_hours(monkeypatch, "1-1 00:00-00:00")  # never on duty
    try:
        dispatcher = CollectingDispatcher()
        events = ActionRequestHuman().run(dispatcher, _tracker(phone="13912345678"), {})
    finally:
        get_settings.cache_clear()
    assert dispatcher.messages[0]["response"] == "utter_handoff_closed"
    slots = {e["name"]: e["value"] for e in events}
    assert slots["staff_available"] is False and slots["callback_phone"] == "13912345678"


def test_the_callback_form_asks_consent_first_unless_given():
    form = ValidateCallbackForm()
    assert asyncio.run(form.required_slots([], CollectingDispatcher(), _tracker(), {}))[0] == "privacy_consent"
    given = _tracker(privacy_consent=True)
    assert asyncio.run(form.required_slots([], CollectingDispatcher(), given, {})) == ["callback_phone",
                                                                                       "callback_message"]


def test_a_callback_request_is_stored_with_the_complaints(store):
    dispatcher = CollectingDispatcher()
    tracker = _tracker(privacy_consent=True, callback_phone="13912345678", callback_message="想问投诉多久有结果")
    ActionSaveCallback().run(dispatcher, tracker, {})
    [saved] = list_callback_requests(store)
    assert saved.phone == "13912345678" and saved.sender_id == "citizen-9"
    assert dispatcher.messages[0]["response"] == "utter_callback_saved"
    assert dispatcher.messages[0]["phone"] == "139****5678"


def test_no_consent_no_callback(store):
    dispatcher = CollectingDispatcher()
    ActionSaveCallback().run(dispatcher, _tracker(privacy_consent=False), {})
    assert dispatcher.messages[0]["response"] == "utter_callback_declined"
    assert list_callback_requests(store) == []
