"""Case lookup for citizens: bot.intake.lookup over complaints filed through the service and agency
statuses recorded through tracking, on both databases."""

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from intake.helpers import SECRET, complaint_data, tip_off_data

from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.errors import IntakeError, NotFound, ValidationFailed, VerificationFailed
from bot.intake.lookup import (
    CaseNote,
    CaseView,
    case_status,
    extract_phone_last4,
    needs_phone_check,
    normalise_case_number,
)
from bot.intake.schemas import StatusCallbackIn, parse
from bot.intake.service import submit
from bot.intake.timeutil import isoformat
from bot.intake.tracking import record_agency_status

API = Endpoints({"*": Endpoint("*", "http://127.0.0.1:9", SECRET)})
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
UNKNOWN = "IP-20200101-AAAAAA"


@pytest.mark.parametrize("text, expected", [
    ("IP-20261122-7K3QWX", "IP-20261122-7K3QWX"),
    ("  ip-20261122-7k3qwx\n", "IP-20261122-7K3QWX"),
    ("我的编号是ip-20261122-7k3qwx", "IP-20261122-7K3QWX"),
    ("编号:IP-20261122-7K3QWX,请帮我查一下", "IP-20261122-7K3QWX"),
    ("\uff29\uff30\uff0d\uff12\uff10\uff12\uff16\uff11\uff11\uff12\uff12\uff0d\uff17\uff2b\uff13\uff31\uff37\uff38",
     "IP-20261122-7K3QWX"),  # typed in full width
    ("IP 20261122 7K3QWX", "IP-20261122-7K3QWX"),
    ("IP20261122\u20147K3QWX", "IP-20261122-7K3QWX"),  # an em dash
    ("first IP-20261122-7K3QWX then IP-20261123-ABCDEF", "IP-20261122-7K3QWX"),
    ("IP-2026112-7K3QWX", None),  # seven digits
    ("IP-20261122-7K3QW0", None),  # 0 is not in the alphabet
    ("IP-20261122-7K3QWXY", None),  # seven characters
    ("VIP-20261122-7K3QWX", None),
    ("我想查一下我的案子", None),
    ("", None),
    (None, None),
])
def test_normalise_case_number(text, expected):
    assert normalise_case_number(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("5678", "5678"),
    ("后四位是5678", "5678"),
    ("\uff15\uff16\uff17\uff18", "5678"),  # full width
    ("5 6 7 8", "5678"),
    ("5678, yes 5678", "5678"),
    ("1234 or 5678", None),  # ambiguous
    ("567", None),
    ("13800138000", None),  # the whole number is not four digits
    ("", None),
    (None, None),
])
def test_extract_phone_last4(text, expected):
    assert extract_phone_last4(text) == expected


def _agency_status(store, complaint, status, note, at, event_id):
    update = parse(StatusCallbackIn, {"complaint_uuid": complaint.uuid, "status": status, "note": note,
                                      "updated_at": isoformat(at), "event_id": event_id})
    return record_agency_status(store, complaint.agency_id, update, now=at)


@pytest.fixture
def filed(store):
    """A complaint filed with phone 13800138000."""
    return submit(store, complaint_data(), endpoints=API)


def test_a_complaint_needs_the_phone_digits(store, filed):
    assert needs_phone_check(store, filed.case_number) is True
    assert needs_phone_check(store, filed.case_number.lower()) is True


@pytest.mark.parametrize("digits", ["8000", "后四位是8000", "\uff18\uff10\uff10\uff10"])
def test_right_digits_show_the_case(store, filed, digits):
    view = case_status(store, filed.case_number, phone_last4=digits)
    assert isinstance(view, CaseView)
    assert (view.case_number, view.kind, view.category, view.agency_id, view.status) == (
        filed.case_number, "complaint", "trademark_counterfeit", filed.agency_id, "queued")
    assert view.created_at.tzinfo is not None and view.status_at.tzinfo is not None
    assert view.notes == ()


def test_the_view_holds_nothing_personal(store, filed):
    view = case_status(store, filed.case_number, phone_last4="8000")
    fields = {field.name for field in dataclasses.fields(view)}
    assert not fields & {"name", "phone", "address", "contact", "respondent", "facts", "sender_id"}
    rendered = repr(view) + repr(view.as_dict())
    assert "13800138000" not in rendered and "Li Lei" not in rendered and "Youxian District" not in rendered
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = "closed"


@pytest.mark.parametrize("digits", ["1234", "0008", "8001"])
def test_wrong_digits_are_refused(store, filed, digits):
    with pytest.raises(VerificationFailed) as caught:
        case_status(store, filed.case_number, phone_last4=digits)
    assert caught.value.reason == VerificationFailed.MISMATCH
    assert isinstance(caught.value, IntakeError)


@pytest.mark.parametrize("digits", [None, "", "I don't remember", "800", "1234 5678 9999"])
def test_missing_digits_are_asked_for(store, filed, digits):
    with pytest.raises(VerificationFailed) as caught:
        case_status(store, filed.case_number, phone_last4=digits)
    assert caught.value.reason == VerificationFailed.MISSING


def test_a_tip_off_needs_only_its_case_number(store):
    tip_off = submit(store, tip_off_data(), endpoints=API)
    assert needs_phone_check(store, tip_off.case_number) is False
    view = case_status(store, tip_off.case_number)
    assert (view.case_number, view.kind, view.status) == (tip_off.case_number, "tip_off", "queued")
    assert case_status(store, f"my number is {tip_off.case_number.lower()}", phone_last4="0000") == view


def test_a_tip_off_with_a_phone_still_needs_none(store):
    tip_off = submit(store, tip_off_data(name="Han Meimei", phone="13900001111"), endpoints=API)
    assert needs_phone_check(store, tip_off.case_number) is False
    assert case_status(store, tip_off.case_number).kind == "tip_off"


def test_an_unknown_case_number(store, filed):
    with pytest.raises(NotFound, match=UNKNOWN):
        needs_phone_check(store, UNKNOWN)
    with pytest.raises(NotFound, match=UNKNOWN):
        case_status(store, UNKNOWN, phone_last4="8000")


@pytest.mark.parametrize("text", ["IP-2026-XYZ", "", "hello"])
def test_a_malformed_case_number_names_the_field(store, text):
    for lookup in (lambda: needs_phone_check(store, text), lambda: case_status(store, text, "8000")):
        with pytest.raises(ValidationFailed) as caught:
            lookup()
        assert caught.value.problems == ["case_number: must be a case number such as IP-20260101-7K3QWX"]


def test_agency_notes_appear_oldest_first(store, filed):
    assert case_status(store, filed.case_number, "8000").notes == ()
    _agency_status(store, filed, "accepted", "Case opened by the Youxian office", T0, "e1")
    _agency_status(store, filed, "in_progress", None, T0 + timedelta(hours=1), "e2")  # no note: not shown
    _agency_status(store, filed, "closed", "Seller fined; refund ordered", T0 + timedelta(days=3), "e3")
    # A late event, older than the last one: it does not move the status, but its note is the agency's word.
    _agency_status(store, filed, "in_progress", "Inspection on site", T0 + timedelta(days=1), "e4")
    view = case_status(store, filed.case_number, "8000")
    assert view.status == "closed"
    assert view.notes == (
        CaseNote("accepted", "Case opened by the Youxian office", T0),
        CaseNote("in_progress", "Inspection on site", T0 + timedelta(days=1)),
        CaseNote("closed", "Seller fined; refund ordered", T0 + timedelta(days=3)),
    )
    assert all(note.occurred_at.tzinfo is not None for note in view.notes)
    assert view.as_dict()["notes"][-1] == {"status": "closed", "note": "Seller fined; refund ordered",
                                           "occurred_at": "2026-03-04T02:00:00Z"}


def test_our_own_notes_are_not_shown(store):
    held = submit(store, complaint_data(), endpoints=Endpoints({}))  # "no intake API: forward by hand"
    assert held.status_note
    view = case_status(store, held.case_number, "8000")
    assert view.status == "held" and view.notes == ()
