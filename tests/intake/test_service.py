"""Filing complaints and tip-offs through bot.intake.service, on both databases."""

import json
import uuid

import pytest
from intake.helpers import SECRET, complaint_data, tip_off_data
from sqlalchemy import func, select

from bot.intake.agency.catalogue import problems as contract_problems
from bot.intake.callback_requests import create_callback_request, list_callback_requests, mark_callback_handled
from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.errors import Conflict, NotFound, ValidationFailed
from bot.intake.identifiers import looks_like_case_number
from bot.intake.models import Complaint, Delivery, StatusEvent
from bot.intake.service import FILING_CHANNELS, delivery_mode, find_complaint, list_complaints, submit, submit_many
from bot.intake.tracking import history
from bot.knowledge.routing import RouteRequest, get_router

API = Endpoints({"*": Endpoint("*", "http://127.0.0.1:9", SECRET)})
LOCAL = Endpoints({})


def _count(store, model):
    with store.reader() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_submit_stores_complaint_evidence_history_and_delivery(store):
    complaint = submit(store, complaint_data(sender_id="openid-1", source="wechat"), endpoints=API)
    assert looks_like_case_number(complaint.case_number)
    assert complaint.status == "queued"
    assert (complaint.agency_id, complaint.agency_channel) in _routed("trademark_counterfeit", "510704")
    assert complaint.agency_channel in FILING_CHANNELS
    stored = find_complaint(store, complaint.case_number)
    assert stored.uuid == complaint.uuid and stored.sender_id == "openid-1" and stored.source == "wechat"
    assert [e.as_dict() for e in stored.evidence] == [{"kind": "photo", "url_or_media_id": "media-001",
                                                       "note": "the shoes"}]
    [delivery] = stored.deliveries
    assert (delivery.state, delivery.idempotency_key, delivery.attempts) == ("pending", complaint.uuid, 0)
    assert [e.status for e in history(store, complaint.id)] == ["received", "queued"]


def test_the_payload_meets_the_contract(store):
    complaint = submit(store, complaint_data(), endpoints=API)
    [delivery] = find_complaint(store, complaint.case_number).deliveries
    body = json.loads(delivery.payload)
    assert contract_problems(body, complaint.uuid) == []
    assert body["case_number"] == complaint.case_number and body["service_code"] == "trademark_counterfeit"
    assert body["requester"]["phone"] == "13800138000" and body["attributes"]["request"]


def test_an_anonymous_tip_off(store):
    complaint = submit(store, tip_off_data(), endpoints=API)
    assert complaint.kind == "tip_off" and complaint.name is None
    body = json.loads(find_complaint(store, complaint.uuid).deliveries[0].payload)
    assert body["requester"] is None and "request" not in body["attributes"]
    assert contract_problems(body, complaint.uuid) == []


def test_agency_without_an_endpoint_is_held(store):
    complaint = submit(store, complaint_data(), endpoints=LOCAL)
    assert complaint.status == "held" and complaint.deliveries[0].state == "held"
    assert "forward by hand" in complaint.status_note
    assert delivery_mode(complaint.agency_id, LOCAL) == "local" and delivery_mode(complaint.agency_id, API) == "api"


def test_explicit_agency(store):
    some_agency = sorted(get_router().directory.agencies)[0]
    complaint = submit(store, complaint_data(agency_id=some_agency), endpoints=API)
    assert complaint.agency_id == some_agency and complaint.agency_channel is None
    with pytest.raises(ValidationFailed, match="agency_id: unknown agency 'nowhere'"):
        submit(store, complaint_data(agency_id="nowhere"), endpoints=API)


def _routed(category, region, kind="complaint"):
    """The routing engine's recommendations as (agency id, channel), in order."""
    route = get_router().route(RouteRequest(category=category, region_code=region, request=kind))
    return [(r.agency.id, r.channel) for r in route.recommendations]


@pytest.mark.parametrize("category, region, kind", [
    ("patent", "510704", "complaint"),
    ("copyright", "510704", "tip_off"),
    ("plant_variety", "510600", "complaint"),
    ("trademark_counterfeit", "440100", "complaint"),
    ("not_ip", "340603", "complaint"),
])
def test_routing_picks_the_first_agency_that_takes_filings(store, category, region, kind):
    data = complaint_data(category=category, region_code=region, kind=kind)
    complaint = submit(store, data, endpoints=API)
    routed = _routed(category, region, kind)
    first_filing = next(pair for pair in routed if pair[1] in FILING_CHANNELS)
    assert (complaint.agency_id, complaint.agency_channel) == first_filing
    skipped = routed[: routed.index(first_filing)]
    assert all(channel not in FILING_CHANNELS for _, channel in skipped)


def test_same_uuid_same_complaint_is_idempotent(store):
    key = str(uuid.uuid4())
    first = submit(store, complaint_data(uuid=key), endpoints=API)
    again = submit(store, complaint_data(uuid=key), endpoints=API)
    assert again.case_number == first.case_number
    assert _count(store, Complaint) == 1 and _count(store, Delivery) == 1
    with pytest.raises(Conflict, match="already used for a different complaint"):
        submit(store, complaint_data(uuid=key, facts="Something else entirely happened here"), endpoints=API)


def test_a_bad_item_stores_nothing(store):
    items = [complaint_data(), tip_off_data(), complaint_data(phone="12345"), tip_off_data(facts="short")]
    with pytest.raises(ValidationFailed) as caught:
        submit_many(store, items, endpoints=API)
    assert caught.value.problems[0].startswith("item 2: phone: must be a mainland mobile")
    assert caught.value.problems[1].startswith("item 3: facts: must be at least 10 characters")
    assert _count(store, Complaint) == 0 and _count(store, StatusEvent) == 0


def test_duplicate_uuids_in_one_batch_are_refused(store):
    key = str(uuid.uuid4())
    with pytest.raises(ValidationFailed, match="item 1: uuid: the same uuid as item 0"):
        submit_many(store, [tip_off_data(uuid=key), tip_off_data(uuid=key)], endpoints=API)


def test_a_batch_is_one_transaction(store):
    complaints = submit_many(store, [complaint_data(), tip_off_data(), tip_off_data()], endpoints=API)
    assert len({c.case_number for c in complaints}) == 3
    assert _count(store, Delivery) == 3


def test_find_and_list(store):
    first = submit(store, complaint_data(sender_id="a"), endpoints=API)
    second = submit(store, tip_off_data(sender_id="b"), endpoints=LOCAL)
    assert find_complaint(store, first.case_number.lower()).id == first.id
    assert find_complaint(store, second.uuid.upper()).id == second.id
    with pytest.raises(NotFound, match="no complaint"):
        find_complaint(store, "IP-20200101-AAAAAA")
    assert [c.id for c in list_complaints(store)] == [second.id, first.id]
    assert [c.id for c in list_complaints(store, status="held")] == [second.id]
    assert [c.id for c in list_complaints(store, sender_id="a")] == [first.id]
    assert list_complaints(store, limit=1)[0].id == second.id


def test_callback_requests(store):
    first = create_callback_request(store, {"channel": "wechat", "phone": "13900000000", "message": "Call me",
                                            "sender_id": "openid-9"})
    second = create_callback_request(store, {"channel": "cli", "phone": "0816-2345678", "message": "Evening only"})
    assert [r.id for r in list_callback_requests(store)] == [first.id, second.id]
    handled = mark_callback_handled(store, first.id)
    assert handled.handled and handled.handled_at is not None
    assert [r.id for r in list_callback_requests(store, pending_only=True)] == [second.id]
    with pytest.raises(NotFound):
        mark_callback_handled(store, 9999)
    with pytest.raises(ValidationFailed, match="phone"):
        create_callback_request(store, {"channel": "cli", "phone": "12", "message": "x"})
