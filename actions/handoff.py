"""Reaching a person: hand over while staff are on duty, else take a callback request."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import accepted, channel_of, latest_intent, rejected
from bot.dialogue import answers
from bot.dialogue.filing import CONSENT_SLOT
from bot.dialogue.schedule import staff_on_duty
from bot.dialogue.settings import get_settings
from bot.intake.callback_requests import create_callback_request
from bot.intake.errors import IntakeError
from bot.intake.store import shared_store
from bot.privacy.masking import mask_text

log = logging.getLogger(__name__)

# The message a channel acts on (the WeChat channel transfers the chat to its customer service).
HANDOFF_SIGNAL = "handoff"


def _handoff_variables() -> Dict[str, str]:
    handoff = get_settings().handoff
    return {"hours": handoff.hours_text, "hotline": handoff.hotline}


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        variables = _handoff_variables()
        if not staff_on_duty():
            dispatcher.utter_message(response="utter_handoff_closed", **variables)
            return [SlotSet("staff_available", False), SlotSet("callback_phone", tracker.get_slot("phone")),
                    SlotSet("callback_message", None)]
        dispatcher.utter_message(response="utter_handoff", **variables)
        dispatcher.utter_message(json_message={HANDOFF_SIGNAL: {"reason": "citizen_request",
                                                                "hotline": variables["hotline"]}})
        return [SlotSet("staff_available", True)]


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_callback_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        consent = tracker.get_slot(CONSENT_SLOT)
        if consent is True:
            return ["callback_phone", "callback_message"]
        return [CONSENT_SLOT] if consent is False else [CONSENT_SLOT, "callback_phone", "callback_message"]

    def validate_privacy_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        consent = value if isinstance(value, bool) else answers.parse_consent(value, latest_intent(tracker))
        if consent is None:
            return rejected(CONSENT_SLOT, tracker, dispatcher)
        return accepted(CONSENT_SLOT, consent, tracker)

    def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        phone = answers.check_phone(value) if value is not None else None
        if value is None:
            return {"callback_phone": None}
        if phone is None:
            return rejected("callback_phone", tracker, dispatcher,
                            lambda: dispatcher.utter_message(response="utter_stuck_required"))
        return accepted("callback_phone", phone, tracker)

    def validate_callback_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        message = answers.check_request(value) if value is not None else None
        if value is None:
            return {"callback_message": None}
        if message is None:
            return rejected("callback_message", tracker, dispatcher)
        return accepted("callback_message", message, tracker)


class ActionSaveCallback(Action):
    """The callback request lands with the complaints, for staff to call back in order."""

    def name(self) -> Text:
        return "action_save_callback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        variables = _handoff_variables()
        phone, message = tracker.get_slot("callback_phone"), tracker.get_slot("callback_message")
        reset = [SlotSet("callback_phone", None), SlotSet("callback_message", None)]
        if tracker.get_slot(CONSENT_SLOT) is False or not phone or not message:
            dispatcher.utter_message(response="utter_callback_declined", **variables)
            return reset
        try:
            create_callback_request(shared_store(), {
                "sender_id": tracker.sender_id, "channel": channel_of(tracker), "phone": phone, "message": message,
            })
        except IntakeError as exc:
            log.error("cannot store a callback request: %s", exc)
            dispatcher.utter_message(response="utter_callback_failed", **variables)
            return []  # keep the answers: asking for a person again retries
        dispatcher.utter_message(response="utter_callback_saved", phone=mask_text(phone), **variables)
        return reset

