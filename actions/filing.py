"""Filing a complaint or a tip-off: start, the two forms, corrections, read-back, submission, cancel."""

import logging
import uuid
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import ATTEMPTS_SLOT, accepted, latest_entity, latest_intent, rejected
from actions.guidance import region_answer
from bot.dialogue import answers
from bot.dialogue.filing import (
    ANONYMOUS_SLOT,
    CONFIRM_SLOT,
    CONSENT_SLOT,
    EDIT_SLOT,
    FIELD_SLOTS,
    FILING_SLOTS,
    build_submission,
    channel_evidence,
    editable_fields,
    is_skippable,
    required_slots,
    summary_lines,
)
from bot.dialogue.settings import get_settings
from bot.intake.errors import IntakeError, ValidationFailed
from bot.intake.service import delivery_mode, prepare, submit
from bot.intake.store import shared_store
from bot.knowledge.categories import category_for_intent
from bot.knowledge.regions import NATIONAL_CODE
from bot.knowledge.routing import get_router

log = logging.getLogger(__name__)

KIND_FOR_INTENT = {"file_complaint": "complaint", "file_tipoff": "tip_off"}
SLOT_FIELDS = {slot: field for field, slot in FIELD_SLOTS.items()}


def _kind(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("filing_kind")


def _answers(tracker: Tracker) -> Dict[str, Any]:
    """The slots, plus the files the channel kept for this user (sent along as message metadata)."""
    metadata: Dict[str, Any] = {}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            break
    attached = set(tracker.get_slot("attached_media") or [])
    files = [item for item in channel_evidence(metadata) if item["url_or_media_id"] not in attached]
    return {**tracker.slots, "evidence_media": files}


class ActionStartFiling(Action):
    """A new filing: a fresh idempotency key, no answers yet except what guidance already learned."""

    def name(self) -> Text:
        return "action_start_filing"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kind = KIND_FOR_INTENT.get(latest_intent(tracker) or "", _kind(tracker) or "complaint")
        dispatcher.utter_message(response="utter_file_complaint" if kind == "complaint" else "utter_file_tipoff")
        events: List[EventType] = [SlotSet(slot, None) for slot in FILING_SLOTS]
        events += [
            SlotSet("filing_kind", kind),
            SlotSet("filing_uuid", str(uuid.uuid4())),
            SlotSet("region_attempts", 0.0),
            SlotSet(ATTEMPTS_SLOT, {}),
        ]
        # The problem told earlier is the start of the facts; the read-back lets the citizen change it.
        facts = answers.check_facts(tracker.get_slot("problem_text"))
        if facts:
            events.append(SlotSet("facts", facts))
        return events


class _FilingAnswers:
    """The two filing forms' validation, mixed into each (rasa-sdk registers every Action subclass,
    so the shared part must not be one)."""

    kind = "complaint"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        return required_slots(self.kind, tracker.slots)

    def _field(
        self, slot: str, value: Any, check: Callable[[Any], Optional[str]], dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> Dict[Text, Any]:
        field = SLOT_FIELDS[slot]
        if value is None or value == "":  # unanswered, or skipped earlier (forms re-check answers on restart)
            return {slot: value}
        if latest_intent(tracker) == "skip":
            if is_skippable(self.kind, field):
                return accepted(slot, "", tracker)
            dispatcher.utter_message(response="utter_cannot_skip")
            return {slot: None}
        checked = check(value)
        if checked is not None:
            return accepted(slot, checked, tracker)
        stuck = "utter_stuck_skippable" if is_skippable(self.kind, field) else "utter_stuck_required"
        return rejected(slot, tracker, dispatcher, lambda: dispatcher.utter_message(response=stuck))

    def validate_privacy_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        consent = value if isinstance(value, bool) else answers.parse_consent(value, latest_intent(tracker))
        if consent is None:
            return rejected(CONSENT_SLOT, tracker, dispatcher)
        if consent is False and not isinstance(value, bool):
            declined = "utter_consent_declined_tipoff" if self.kind == "tip_off" else "utter_consent_declined_complaint"
            dispatcher.utter_message(response=declined)
            if self.kind == "tip_off":
                return accepted(CONSENT_SLOT, False, tracker, **{ANONYMOUS_SLOT: True})
        return accepted(CONSENT_SLOT, consent, tracker)

    def validate_edit_field(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        allowed = editable_fields(self.kind, tracker.slots)
        field = answers.detect_field(value, latest_entity(tracker, "field"), allowed)
        if field is None:
            return rejected(EDIT_SLOT, tracker, dispatcher)
        return {EDIT_SLOT: None, "editing": False, **clear_field(field, dispatcher)}

    def validate_complainant_name(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._field("complainant_name", value, answers.check_name, dispatcher, tracker)

    def validate_phone(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._field("phone", value, answers.check_phone, dispatcher, tracker)

    def validate_address(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        result = self._field("address", value, answers.check_address, dispatcher, tracker)
        if result.get("address") and not tracker.get_slot("region_code"):
            region = get_router().directory.regions.resolve(result["address"], []).region
            if region:  # the address names the place: no need to ask where it happened
                result["region_code"] = region.code
        return result

    def validate_region_code(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return region_answer(value, dispatcher, tracker) if value is not None else {"region_code": None}

    def validate_respondent(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._field("respondent", value, answers.check_respondent, dispatcher, tracker)

    def validate_filing_request(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._field("filing_request", value, answers.check_request, dispatcher, tracker)

    def validate_facts(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        result = self._field("facts", value, answers.check_facts, dispatcher, tracker)
        if result.get("facts") and not tracker.get_slot("category"):
            result["category"] = _likeliest_category(tracker)
        return result

    def validate_evidence(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._field("evidence", value, answers.check_evidence, dispatcher, tracker)


def _likeliest_category(tracker: Tracker) -> str:
    """The facts of a filing started without a problem description: its best-ranked category."""
    for entry in tracker.latest_message.get("intent_ranking") or []:
        category = category_for_intent(entry.get("name"))
        if category:
            return category
    return "not_ip"


def clear_field(field: str, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    dispatcher.utter_message(response="utter_will_edit", field_label=get_settings().fields[field].label)
    cleared: Dict[Text, Any] = {FIELD_SLOTS[field]: None}
    if field == "region":
        cleared["region_attempts"] = 0.0
    return cleared


class ValidateComplaintForm(_FilingAnswers, FormValidationAction):
    kind = "complaint"

    def name(self) -> Text:
        return "validate_complaint_form"


class ValidateTipoffForm(_FilingAnswers, FormValidationAction):
    kind = "tip_off"

    def name(self) -> Text:
        return "validate_tipoff_form"

    def validate_anonymous(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        anonymous = value if isinstance(value, bool) else answers.parse_anonymous(value, latest_intent(tracker))
        if anonymous is None:
            return rejected(ANONYMOUS_SLOT, tracker, dispatcher)
        return accepted(ANONYMOUS_SLOT, anonymous, tracker)


class ActionStartEdit(Action):
    """"电话写错了" clears that answer so the form asks it again; an unnamed change asks which one."""

    def name(self) -> Text:
        return "action_start_edit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kind = _kind(tracker)
        events = [SlotSet(CONFIRM_SLOT, False)]  # always set: the rules expect it after this action
        if not kind or not tracker.get_slot("filing_uuid"):
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return events
        field = None
        if latest_intent(tracker) == "correct":
            text = tracker.latest_message.get("text")
            field = answers.detect_field(text, latest_entity(tracker, "field"), editable_fields(kind, tracker.slots))
        if field is None:
            return [*events, SlotSet("editing", True), SlotSet(EDIT_SLOT, None)]
        return [*events, *(SlotSet(slot, value) for slot, value in clear_field(field, dispatcher).items())]


class ActionReadBack(Action):
    """Everything collected and the agency it goes to; the citizen confirms or edits."""

    def name(self) -> Text:
        return "action_read_back"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kind = _kind(tracker)
        if not kind or not tracker.get_slot("filing_uuid"):
            return []
        if kind == "complaint" and tracker.get_slot(CONSENT_SLOT) is False:
            return _reset_filing()  # declined: the form already said what else is possible
        answers_now = _answers(tracker)
        submission = build_submission(kind, answers_now, tracker.sender_id, tracker.get_latest_input_channel())
        dispatcher.utter_message(
            response="utter_read_back",
            kind_label=get_settings().kinds[kind].label,
            summary_lines=summary_lines(kind, answers_now, _region_name(tracker.get_slot("region_code"))),
            agency_name=_agency_name(submission.data),
        )
        return [SlotSet(CONFIRM_SLOT, True)]


def _region_name(code: Optional[str]) -> str:
    if not code or code == NATIONAL_CODE:
        return get_settings().labels["national"]
    region = get_router().directory.regions.get(code)
    return region.name if region else code


def _agency_name(data: Dict[str, Any]) -> str:
    try:
        agency_id = prepare(data).agency_id
    except ValidationFailed:
        return get_settings().labels["unknown_agency"]
    agency = get_router().directory.get(agency_id)
    return agency.name if agency else agency_id


class ActionSubmitFiling(Action):
    """Store and queue the filing (one transaction; the uuid makes a retry harmless); give the case number."""

    def name(self) -> Text:
        return "action_submit_filing"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kind = _kind(tracker)
        declined = kind == "complaint" and tracker.get_slot(CONSENT_SLOT) is False
        if not kind or not tracker.get_slot("filing_uuid") or declined:
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return []
        settings = get_settings()
        submission = build_submission(kind, _answers(tracker), tracker.sender_id, tracker.get_latest_input_channel())
        if submission.missing:
            dispatcher.utter_message(response="utter_filing_incomplete", fields=_labels(submission.missing))
            return []
        try:
            complaint = submit(shared_store(), submission.data)
        except ValidationFailed as exc:
            dispatcher.utter_message(response="utter_filing_incomplete", fields=_labels_of(exc))
            return []
        except IntakeError as exc:  # the answers stay in the slots: "确认" again retries
            log.error("cannot file %s %s: %s", kind, submission.data.get("uuid"), exc)
            dispatcher.utter_message(response="utter_filing_failed")
            return []
        agency = get_router().directory.get(complaint.agency_id)
        held = delivery_mode(complaint.agency_id) == "local"
        dispatcher.utter_message(
            response="utter_filed_held" if held else "utter_filed",
            kind_label=settings.kinds[kind].label,
            case_number=complaint.case_number,
            agency_name=agency.name if agency else complaint.agency_id,
        )
        attached = [*(tracker.get_slot("attached_media") or []), *(e.url_or_media_id for e in complaint.evidence)]
        return [*_reset_filing(), SlotSet("last_case_number", complaint.case_number),
                SlotSet("attached_media", attached)]


def _labels_of(exc: ValidationFailed) -> str:
    fields = {problem.split(":", 1)[0] for problem in exc.problems}
    return _labels([field for field in FIELD_SLOTS if field in fields]) or get_settings().labels["not_given"]


def _labels(fields) -> str:
    separator = str(get_router().templates["list_separator"])
    return separator.join(get_settings().fields[field].label for field in fields)


def _reset_filing() -> List[EventType]:
    return [SlotSet(slot, None) for slot in (*FILING_SLOTS, "filing_kind", "filing_uuid")]


class ActionCancelFiling(Action):
    def name(self) -> Text:
        return "action_cancel_filing"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_cancelled")
        return _reset_filing()
