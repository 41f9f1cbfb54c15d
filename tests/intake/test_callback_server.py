"""POST /agency/callback over loopback, on both databases: recorded once, signatures enforced,
every bad request a clear 4xx, never a 500."""

import json
import time
import uuid

import pytest
import requests
from intake.helpers import OTHER_SECRET, SECRET, complaint_data, tip_off_data

from bot.intake import callback_server, outbox, tracking
from bot.intake.callback_server import create_app
from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.service import find_complaint, submit
from bot.intake.serving import ServerThread
from bot.intake.signing import sign
from bot.intake.statuses import status_listeners
from bot.intake.timeutil import utcnow


@pytest.fixture
def endpoints():
    return Endpoints({"*": Endpoint("*", "http://127.0.0.1:9", SECRET)})


@pytest.fixture
def server(store, endpoints):
    thread = ServerThread(create_app(store, endpoints)).start()
    yield thread
    thread.stop()


@pytest.fixture
def delivered(store, endpoints):
    """A complaint the agency acknowledged with service_request_id REQ-1."""
    complaint = submit(store, complaint_data(sender_id="openid-7", source="wechat"), endpoints=endpoints)
    [claim] = outbox.claim_due(store, "w", 1, 30, utcnow())
    outbox.record_delivered(store, claim, outbox.Ack("REQ-1", None, 201), utcnow(), utcnow())
    return find_complaint(store, complaint.case_number)


def _post(server, document, agency_id, secret=SECRET, stamp=None, raw=None, headers=None):
    body = raw if raw is not None else json.dumps(document).encode()
    stamp = int(time.time()) if stamp is None else stamp
    sent = {"Content-Type": "application/json", "X-Agency-Id": agency_id, "X-Timestamp": str(stamp),
            "X-Signature": sign(secret, stamp, body)}
    sent.update(headers or {})
    return requests.post(f"{server.url}/agency/callback", data=body, headers=sent, timeout=5)


def _event(complaint, status="accepted", **overrides):
    document = {"complaint_uuid": complaint.uuid, "status": status, "note": "case opened",
                "updated_at": "2026-01-02T08:00:00+08:00", "event_id": uuid.uuid4().hex}
    document.update(overrides)
    return document


def _history(store, complaint):
    return [(e.status, e.source, e.applied) for e in tracking.history(store, complaint.id)]


def test_a_status_change_is_recorded_and_announced(server, store, delivered):
    seen = []
    status_listeners.append(seen.append)
    answer = _post(server, _event(delivered), delivered.agency_id)
    assert answer.status_code == 200
    assert answer.json() == {"result": "recorded", "case_number": delivered.case_number, "status": "accepted",
                             "applied": True}
    complaint = find_complaint(store, delivered.case_number)
    assert (complaint.status, complaint.status_note) == ("accepted", "case opened")
    assert _history(store, complaint)[-1] == ("accepted", "agency", True)
    [change] = seen
    assert (change.case_number, change.status, change.sender_id, change.channel) == (
        delivered.case_number, "accepted", "openid-7", "wechat")
    pending = tracking.pending_notifications(store)
    assert [(p.case_number, p.status) for p in pending] == [(delivered.case_number, "delivered"),
                                                              (delivered.case_number, "accepted")]
    assert tracking.mark_notified(store, [p.history_id for p in pending]) == 2
    assert tracking.pending_notifications(store) == []


def test_a_repeated_callback_changes_nothing(server, store, delivered):
    event = _event(delivered)
    assert _post(server, event, delivered.agency_id).json()["result"] == "recorded"
    before = _history(store, delivered)
    repeat = _post(server, event, delivered.agency_id)
    assert repeat.status_code == 200 and repeat.json()["result"] == "duplicate"
    assert _history(store, delivered) == before
    # without an event id, the timestamp identifies the event
    plain = _event(delivered, status="in_progress", event_id=None)
    assert _post(server, plain, delivered.agency_id).json()["result"] == "recorded"
    assert _post(server, plain, delivered.agency_id).json()["result"] == "duplicate"
    assert len(_history(store, delivered)) == len(before) + 1


def test_lookup_by_service_request_id(server, store, delivered):
    event = _event(delivered, status="in_progress", complaint_uuid=None, service_request_id="REQ-1")
    answer = _post(server, event, delivered.agency_id)
    assert answer.status_code == 200 and answer.json()["status"] == "in_progress"


def test_an_older_event_arriving_late_is_kept_but_not_applied(server, store, delivered):
    _post(server, _event(delivered, status="closed", updated_at="2026-01-05T00:00:00Z"), delivered.agency_id)
    late = _post(server, _event(delivered, status="accepted", updated_at="2026-01-02T00:00:00Z"), delivered.agency_id)
    assert late.json() == {"result": "recorded", "case_number": delivered.case_number, "status": "closed",
                           "applied": False}
    assert find_complaint(store, delivered.case_number).status == "closed"
    assert _history(store, delivered)[-1] == ("accepted", "agency", False)
    assert [p.status for p in tracking.pending_notifications(store)] == ["delivered", "closed"]


@pytest.mark.parametrize("case, expected", [
    ("forged", "signature does not match"),
    ("expired", "more than 5 minutes"),
    ("future", "more than 5 minutes"),
    ("no_signature", "missing X-Signature"),
    ("no_agency", "missing X-Agency-Id"),
    ("local_agency", "has no intake endpoint and secret"),
])
def test_bad_signatures_get_401_and_change_nothing(server, store, endpoints, delivered, case, expected):
    event = _event(delivered)
    agency_id = delivered.agency_id
    if case == "forged":
        answer = _post(server, event, agency_id, secret=OTHER_SECRET)
    elif case == "expired":
        answer = _post(server, event, agency_id, stamp=int(time.time()) - 301)
    elif case == "future":
        answer = _post(server, event, agency_id, stamp=int(time.time()) + 400)
    elif case == "no_signature":
        answer = _post(server, event, agency_id, headers={"X-Signature": ""})
    elif case == "no_agency":
        answer = _post(server, event, "")
    else:
        local = Endpoints({agency_id: None})
        thread = ServerThread(create_app(store, local)).start()
        try:
            answer = _post(thread, event, agency_id)
        finally:
            thread.stop()
    assert answer.status_code == 401
    assert expected in answer.json()[0]["description"]
    assert find_complaint(store, delivered.case_number).status == "delivered"
    assert _history(store, delivered)[-1][0] == "delivered"


def test_a_signature_over_a_different_body_is_refused(server, store, delivered):
    event = json.dumps(_event(delivered)).encode()
    stamp = int(time.time())
    tampered = event.replace(b"accepted", b"rejected")
    answer = requests.post(f"{server.url}/agency/callback", data=tampered, timeout=5, headers={
        "X-Agency-Id": delivered.agency_id, "X-Timestamp": str(stamp), "X-Signature": sign(SECRET, stamp, event)})
    assert answer.status_code == 401
    assert find_complaint(store, delivered.case_number).status == "delivered"


@pytest.mark.parametrize("raw, code, expected", [
    (b"{not json", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not valid JSON"),
    (b"[1, 2]", 400, "expected a JSON object"),
    (json.dumps({"status": "done", "updated_at": "2026-01-01T00:00:00Z", "service_request_id": "R"}).encode(),
     400, "status: must be one of accepted"),
    (json.dumps({"status": "closed", "updated_at": "2026-01-01T00:00:00Z"}).encode(), 400,
     "service_request_id or complaint_uuid: one is required"),
    (json.dumps({"status": "closed", "updated_at": "2026-01-01T00:00:00Z",
                 "complaint_uuid": str(uuid.uuid4())}).encode(), 404, "no request"),
    (json.dumps({"status": "closed", "updated_at": "2026-01-01T00:00:00Z",
                 "service_request_id": "REQ-UNKNOWN"}).encode(), 404, "no request REQ-UNKNOWN"),
])
def test_bad_bodies_get_a_clear_4xx(server, store, delivered, raw, code, expected):
    answer = _post(server, None, delivered.agency_id, raw=raw)
    assert answer.status_code == code
    assert expected in answer.json()[0]["description"]
    assert find_complaint(store, delivered.case_number).status == "delivered"


def test_a_request_sent_to_another_agency_is_not_found(server, store, endpoints, delivered):
    answer = _post(server, _event(delivered), "some_other_agency")
    assert answer.status_code == 404
    assert find_complaint(store, delivered.case_number).status == "delivered"


def test_a_complaint_still_queued_can_be_updated_by_uuid(server, store, endpoints):
    queued = submit(store, tip_off_data(), endpoints=endpoints)
    answer = _post(server, _event(queued, status="accepted"), queued.agency_id)
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"


def test_an_oversized_body_gets_413(server, store, delivered):
    event = _event(delivered, note="x" * (64 * 1024))
    answer = _post(server, event, delivered.agency_id)
    assert answer.status_code == 413
    assert answer.json()[0]["code"] == 413
    assert find_complaint(store, delivered.case_number).status == "delivered"


def test_other_methods_and_paths_get_json_errors(server):
    assert requests.get(f"{server.url}/agency/callback", timeout=5).status_code == 405
    missing = requests.post(f"{server.url}/nowhere", timeout=5)
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"ok": True}


def test_store_failures_are_503_never_500(server, store, delivered, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*args):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(callback_server, "record_agency_status", down)
    answer = _post(server, _event(delivered), delivered.agency_id)
    assert answer.status_code == 503 and "try again later" in answer.json()[0]["description"]


def test_unexpected_errors_are_503_never_500(server, store, delivered, monkeypatch):
    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(callback_server, "record_agency_status", broken)
    answer = _post(server, _event(delivered), delivered.agency_id)
    assert answer.status_code == 503 and answer.json() == [{"code": 503,
                                                            "description": "temporarily unavailable: try again later"}]
