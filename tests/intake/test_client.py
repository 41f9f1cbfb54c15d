"""The agency client against the reference server on loopback: answers, and how failures are classified."""

import json
import uuid

import pytest
from intake.helpers import OTHER_SECRET, SECRET, free_port, running_agency
from sanic import response

from bot.intake.agency.server import Faults
from bot.intake.client import AgencyClient, ConflictError, PermanentAgencyError, RetryableAgencyError
from bot.intake.endpoints import Endpoint
from bot.intake.payload import canonical_json
from bot.intake.serving import ServerThread, new_app


def _body(key, **overrides):
    document = {
        "service_code": "patent", "request_kind": "tip_off", "complaint_uuid": key,
        "case_number": "IP-20260101-7K3QWX", "agency_id": "mianyang_amr", "region_code": "510700",
        "description": "A shop sells products copying a patented design", "requested_datetime": "2026-01-01T00:00:00Z",
        "source": "cli", "attributes": {"respondent": "Shop 3"}, "requester": None, "evidence": [],
    }
    document.update(overrides)
    return canonical_json(document).encode("utf-8")


@pytest.fixture
def client():
    client = AgencyClient(connect_timeout=0.5, read_timeout=1.0)
    yield client
    client.close()


def _endpoint(url, secret=SECRET):
    return Endpoint("mianyang_amr", url, secret)


def test_created_then_replayed_then_conflict(agency, client):
    key = str(uuid.uuid4())
    ack = client.submit(_endpoint(agency.url), key, _body(key))
    assert ack.http_status == 201 and ack.service_request_id.startswith("REQ-") and ack.token is None
    again = client.submit(_endpoint(agency.url), key, _body(key))
    assert again == ack
    with pytest.raises(ConflictError, match="409 Conflict: the agency holds a different body") as caught:
        client.submit(_endpoint(agency.url), key, _body(key, description="A different description of the matter"))
    assert caught.value.status_code == 409
    assert agency.outcomes()[key] == {"created": 1, "replayed": 1, "conflict": 1}


def test_fetch_request_and_services(agency, client):
    key = str(uuid.uuid4())
    ack = client.submit(_endpoint(agency.url), key, _body(key))
    view = client.fetch_request(_endpoint(agency.url), ack.service_request_id)
    assert view["status"] == "received" and view["case_number"] == "IP-20260101-7K3QWX"
    services = client.fetch_services(_endpoint(agency.url))
    assert "patent" in {s["service_code"] for s in services}
    with pytest.raises(PermanentAgencyError, match="404"):
        client.fetch_request(_endpoint(agency.url), "REQ-NOPE")


def test_wrong_secret_is_permanent(agency, client):
    key = str(uuid.uuid4())
    with pytest.raises(PermanentAgencyError, match=r"refused the request \(401\): signature does not match"):
        client.submit(_endpoint(agency.url, OTHER_SECRET), key, _body(key))


def test_contract_violation_is_permanent(agency, client):
    key = str(uuid.uuid4())
    with pytest.raises(PermanentAgencyError, match=r"attributes\.respondent: is required"):
        client.submit(_endpoint(agency.url), key, _body(key, attributes={}))


def test_server_errors_are_retryable_with_retry_after(tmp_path, client):
    with running_agency(tmp_path / "a.db", faults=Faults(fail_first=2, fail_status=503, retry_after=7)) as agency:
        key = str(uuid.uuid4())
        for _ in range(2):
            with pytest.raises(RetryableAgencyError, match="503") as caught:
                client.submit(_endpoint(agency.url), key, _body(key))
            assert caught.value.retry_after == 7 and caught.value.status_code == 503
        assert client.submit(_endpoint(agency.url), key, _body(key)).http_status == 201


def test_token_answers(tmp_path, client):
    with running_agency(tmp_path / "a.db", assign_later=True) as agency:
        key = str(uuid.uuid4())
        ack = client.submit(_endpoint(agency.url), key, _body(key))
        assert ack.http_status == 202 and ack.service_request_id is None and ack.token


def test_refused_connection_is_retryable(client):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RetryableAgencyError, match=r"cannot connect: .*Connection refused"):
        client.submit(_endpoint(url), "k", b"{}")


def test_slow_answer_is_a_retryable_timeout(tmp_path, client):
    with running_agency(tmp_path / "a.db", faults=Faults(delay=2.0, delay_first=1)) as agency:
        key = str(uuid.uuid4())
        with pytest.raises(RetryableAgencyError, match="no answer within 1 s"):
            client.submit(_endpoint(agency.url), key, _body(key))
        # the agency stored it before answering: the resend gets the first answer
        assert client.submit(_endpoint(agency.url), key, _body(key)).http_status == 201
        assert agency.outcomes()[key] == {"created": 1, "replayed": 1}


@pytest.fixture
def odd_server():
    """Answers the client must not mistake for an acknowledgement."""
    app = new_app("odd", 1024)

    async def redirect(request):
        return response.redirect("http://elsewhere.example/requests", status=301)

    async def empty_ok(request):
        return response.json({"ok": True}, status=200)

    async def html_500(request):
        return response.html("<h1>Bad gateway</h1>", status=502)

    async def too_many(request):
        return response.json([{"code": 429, "description": "slow down"}], status=429,
                             headers={"Retry-After": "Thu, 01 Jan 2099 00:00:00 GMT"})

    async def gone(request):
        return response.text("gone", status=410)

    for name, handler in [("redirect", redirect), ("empty", empty_ok), ("html", html_500), ("many", too_many),
                          ("gone", gone)]:
        app.add_route(handler, f"/{name}/requests", methods=["POST"], name=name)
    server = ServerThread(app).start()
    yield server.url
    server.stop()


@pytest.mark.parametrize("path, error, message", [
    ("redirect", PermanentAgencyError, "301 redirecting to http://elsewhere.example/requests"),
    ("empty", RetryableAgencyError, "answered 200 without a service_request_id or token"),
    ("html", RetryableAgencyError, "answered 502: <h1>Bad gateway</h1>"),
    ("many", RetryableAgencyError, "answered 429: slow down"),
    ("gone", PermanentAgencyError, r"refused the request \(410\): gone"),
])
def test_odd_answers(odd_server, client, path, error, message):
    with pytest.raises(error, match=message) as caught:
        client.submit(_endpoint(f"{odd_server}/{path}"), "k", b"{}")
    if path == "many":
        assert caught.value.retry_after > 365 * 86400
    assert type(caught.value) is error


def test_responses_are_read_up_to_a_limit(agency):
    small = AgencyClient(0.5, 1.0, max_response_bytes=10)
    try:
        with pytest.raises(RetryableAgencyError, match="without a service_request_id"):
            key = str(uuid.uuid4())
            small.submit(_endpoint(agency.url), key, _body(key))
    finally:
        small.close()


def test_requests_carry_the_documented_headers(tmp_path, client):
    seen = {}
    app = new_app("echo", 4096)

    async def capture(request):
        seen.update(request.headers)
        seen["body"] = request.body
        return response.json([{"service_request_id": "R-1"}], status=201)

    app.add_route(capture, "/requests", methods=["POST"], name="capture")
    server = ServerThread(app).start()
    try:
        client.submit(_endpoint(server.url), "key-1", b'{"a":1}')
    finally:
        server.stop()
    from bot.intake.signing import verify

    assert seen["idempotency-key"] == "key-1" and seen["content-type"].startswith("application/json")
    verify(SECRET, seen["x-timestamp"], seen["x-signature"], seen["body"])
    assert json.loads(seen["body"]) == {"a": 1}
