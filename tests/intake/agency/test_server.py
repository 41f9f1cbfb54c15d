"""The reference agency server: signatures, idempotency, validation, fault injection, status look-ups."""

import json
import time
import uuid

import pytest
import requests
from intake.helpers import OTHER_SECRET, SECRET, running_agency

from bot.intake.agency.records import accept, find_record, list_records, prepare_event
from bot.intake.agency.server import Faults
from bot.intake.signing import sign
from bot.intake.timeutil import utcnow


def _body(key, **overrides):
    document = {"service_code": "copyright", "request_kind": "tip_off", "complaint_uuid": key,
                "case_number": "IP-20260101-ABCDEF", "agency_id": "youxian_culture", "region_code": "510704",
                "description": "Pirated DVDs sold at the market", "attributes": {"respondent": "Stall 5"},
                "requester": None, "evidence": []}
    document.update(overrides)
    return json.dumps(document).encode()


def _post(agency, key, body, secret=SECRET, stamp=None):
    stamp = int(time.time()) if stamp is None else stamp
    headers = {"Content-Type": "application/json", "X-Timestamp": str(stamp), "X-Signature": sign(secret, stamp, body)}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{agency.url}/requests", data=body, headers=headers, timeout=5)


def _get(agency, path, secret=SECRET):
    stamp = int(time.time())
    headers = {"X-Timestamp": str(stamp), "X-Signature": sign(secret, stamp, b"")}
    return requests.get(f"{agency.url}{path}", headers=headers, timeout=5)


def test_first_answer_is_repeated_and_a_changed_body_conflicts(agency):
    key = str(uuid.uuid4())
    first = _post(agency, key, _body(key))
    assert first.status_code == 201
    [created] = first.json()
    again = _post(agency, key, _body(key))
    assert (again.status_code, again.json()) == (201, [created])
    conflict = _post(agency, key, _body(key, description="Something else"))
    assert conflict.status_code == 409 and "different body" in conflict.json()[0]["description"]
    assert agency.outcomes()[key] == {"created": 1, "replayed": 1, "conflict": 1}
    [record] = agency.records()
    assert record["receipts"] == 3 and record["service_request_id"] == created["service_request_id"]


@pytest.mark.parametrize("secret, stamp, message", [
    (OTHER_SECRET, None, "signature does not match"),
    (SECRET, 1_000_000, "more than 5 minutes"),
])
def test_unsigned_requests_are_refused_and_not_stored(agency, secret, stamp, message):
    key = str(uuid.uuid4())
    answer = _post(agency, key, _body(key), secret=secret, stamp=stamp)
    assert answer.status_code == 401 and message in answer.json()[0]["description"]
    assert agency.records() == [] and agency.outcomes() == {}


def test_key_and_body_are_checked(agency):
    key = str(uuid.uuid4())
    missing = _post(agency, None, _body(key))
    assert missing.status_code == 400 and "Idempotency-Key" in missing.json()[0]["description"]
    bad_json = _post(agency, key, b"{")
    assert bad_json.status_code == 400 and bad_json.json()[0]["description"] == "body is not valid JSON"
    invalid = _post(agency, key, _body(key, attributes={}))
    assert invalid.status_code == 400
    assert invalid.json()[0]["description"] == "attributes.respondent: is required for a tip_off"
    assert agency.records() == [] and agency.outcomes()[key] == {"invalid": 2}


def test_injected_failures_then_success(tmp_path):
    with running_agency(tmp_path / "a.db", faults=Faults(fail_first=2, fail_status=503, retry_after=3)) as agency:
        key = str(uuid.uuid4())
        for number in (1, 2):
            answer = _post(agency, key, _body(key))
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "3"
            assert answer.json()[0]["description"] == f"injected failure {number} of 2"
        assert _post(agency, key, _body(key)).status_code == 201
        assert agency.outcomes()[key] == {"injected_failure": 2, "created": 1}


def test_tokens_and_status_lookups(tmp_path):
    with running_agency(tmp_path / "a.db", assign_later=True) as agency:
        key = str(uuid.uuid4())
        answer = _post(agency, key, _body(key))
        assert answer.status_code == 202
        token = answer.json()[0]["token"]
        [lookup] = _get(agency, f"/tokens/{token}").json()
        assert lookup["token"] == token and lookup["service_request_id"].startswith("REQ-")
        prepare_event(agency.db, lookup["service_request_id"], "in_progress", "inspecting", utcnow())
        [view] = _get(agency, f"/requests/{lookup['service_request_id']}").json()
        assert (view["status"], view["status_notes"], view["agency_responsible"]) == (
            "in_progress", "inspecting", "youxian_culture")
        assert _get(agency, "/tokens/nope").status_code == 404
        assert _get(agency, f"/requests/{key}").status_code == 404  # only by service_request_id
        assert _get(agency, f"/requests/{lookup['service_request_id']}", secret=OTHER_SECRET).status_code == 401


def test_services_are_public(agency):
    services = requests.get(f"{agency.url}/services", timeout=5).json()
    assert len(services) == 8
    definition = requests.get(f"{agency.url}/services/patent", timeout=5).json()
    assert definition["service_code"] == "patent" and definition["attributes"]
    assert requests.get(f"{agency.url}/services/nope", timeout=5).status_code == 404


def test_events_are_reused_until_acknowledged(agency):
    key = str(uuid.uuid4())
    body = json.loads(_body(key))
    accept(agency.db, key, json.dumps(body).encode(), body, False, utcnow())
    _, first = prepare_event(agency.db, key, "accepted", "ok", utcnow())
    _, again = prepare_event(agency.db, "IP-20260101-ABCDEF", "accepted", "ok", utcnow())
    assert again.event_id == first.event_id  # not yet sent: the same event is resent
    _, other = prepare_event(agency.db, key, "closed", "done", utcnow())
    assert other.event_id != first.event_id
    assert find_record(agency.db, key).status == "closed"
    assert [r.status for r, _ in list_records(agency.db)] == ["closed"]
