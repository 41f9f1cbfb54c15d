"""Looking a case up: the case number, for complaints also the phone's last 4 digits, then the status."""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import MAX_FAILED_ANSWERS, accepted, attempts, rejected
from bot.dialogue.presentation import case_status_variables
from bot.intake.errors import IntakeError, NotFound, VerificationFailed
from bot.intake.lookup import case_status, needs_phone_check, normalise_case_number
from bot.intake.store import shared_store

log = logging.getLogger(__name__)

_LOOKUP_SLOTS = ("case_number", "phone_last4", "status_needs_phone")


def _give_up(slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> Optional[Dict[Text, Any]]:
    """After the second miss, stop asking: the form ends with nothing to show and a person offered."""
    if attempts(tracker).get(slot, 0) + 1 < MAX_FAILED_ANSWERS:
        return None
    dispatcher.utter_message(response="utter_status_gave_up")
    return accepted(slot, "", tracker, case_number="", status_needs_phone=False)


class ValidateStatusForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_status_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        return ["case_number", "phone_last4"] if tracker.get_slot("status_needs_phone") else ["case_number"]

    def validate_case_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value in (None, ""):
            return {"case_number": value}
        number = normalise_case_number(str(value))
        try:
            needs_phone = number is not None and needs_phone_check(shared_store(), number)
        except NotFound:
            number = None
        except IntakeError as exc:
            log.error("cannot look up a case: %s", exc)
            dispatcher.utter_message(response="utter_status_unavailable")
            return {"case_number": "", "status_needs_phone": False}
        if number is None:
            return _give_up("case_number", tracker, dispatcher) or rejected("case_number", tracker, dispatcher)
        return accepted("case_number", number, tracker, status_needs_phone=needs_phone)

    def validate_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = tracker.get_slot("case_number")
        if value in (None, "") or not number:
            return {"phone_last4": value}
        try:
            case_status(shared_store(), number, str(value))
        except (NotFound, VerificationFailed):
            return _give_up("phone_last4", tracker, dispatcher) or rejected("phone_last4", tracker, dispatcher)
        except IntakeError as exc:
            log.error("cannot check a case's phone digits: %s", exc)
            dispatcher.utter_message(response="utter_status_unavailable")
            return {"phone_last4": "", "case_number": ""}
        return accepted("phone_last4", str(value), tracker)


class ActionShowStatus(Action):
    def name(self) -> Text:
        return "action_show_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        number = tracker.get_slot("case_number")
        reset = [SlotSet(slot, None) for slot in _LOOKUP_SLOTS]
        if not number:
            return reset  # the form gave up and said so
        try:
            view = case_status(shared_store(), number, tracker.get_slot("phone_last4") or None)
        except (NotFound, VerificationFailed):
            dispatcher.utter_message(response="utter_status_gave_up")
            return reset
        except IntakeError as exc:
            log.error("cannot show case %s: %s", number, exc)
            dispatcher.utter_message(response="utter_status_unavailable")
            return reset
        variables = case_status_variables(view)
        response = "utter_case_status_notes" if variables["note_lines"] else "utter_case_status"
        dispatcher.utter_message(response=response, **variables)
        return reset
