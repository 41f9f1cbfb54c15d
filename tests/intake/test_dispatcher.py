"""The dispatcher against the reference agency on loopback, on both databases: exactly-once
delivery through server errors, timeouts, refused connections, rejections and concurrency."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from intake.helpers import OTHER_SECRET, SECRET, fast_settings, free_port, gateway, running_agency, tip_off_data

from bot.intake import outbox
from bot.intake.agency.server import Faults
from bot.intake.client import AgencyClient
from bot.intake.dispatcher import Dispatcher
from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.service import find_complaint, submit_many
from bot.intake.statuses import status_listeners
from bot.intake.timeutil import utcnow


def _dispatcher(store, endpoints, settings=None, **kwargs):
    settings = settings or fast_settings()
    return Dispatcher(store, endpoints, AgencyClient.from_settings(settings), settings, **kwargs)


def _queue(store, endpoints, n):
    return submit_many(store, [tip_off_data() for _ in range(n)], endpoints=endpoints)


def _drain(dispatcher, timeout=20.0, until=None):
    """Run passes until nothing is pending (retries included) or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_once()
        pending = outbox.list_deliveries(dispatcher.store, ["pending"])
        if not pending and (until is None or until()):
            return
        time.sleep(0.05)
    raise AssertionError(f"deliveries still pending after {timeout} s")


def _assert_exactly_once(agency, complaints, replays_allowed=False):
    records = agency.records()
    assert sorted(r["idempotency_key"] for r in records) == sorted(c.uuid for c in complaints)
    outcomes = agency.outcomes()
    for complaint in complaints:
        assert outcomes[complaint.uuid].get("created") == 1
        assert "conflict" not in outcomes[complaint.uuid]
        if not replays_allowed:
            assert "replayed" not in outcomes[complaint.uuid]


def _states(store):
    return sorted({d.state for d in outbox.list_deliveries(store, limit=10_000)})


def test_everything_is_delivered_once(store, agency):
    endpoints = gateway(agency.url)
    complaints = _queue(store, endpoints, 25)
    summary = _dispatcher(store, endpoints, batch=7, concurrency=4).run_once()
    assert summary["delivered"] == 25 and summary["retried"] == summary["dead"] == 0
    _assert_exactly_once(agency, complaints)
    assert _states(store) == ["delivered"]
    by_key = {r["idempotency_key"]: r for r in agency.records()}
    for complaint in complaints:
        stored = find_complaint(store, complaint.case_number)
        assert stored.status == "delivered"
        assert stored.deliveries[0].service_request_id == by_key[complaint.uuid]["service_request_id"]
        assert by_key[complaint.uuid]["request"] == json.loads(stored.deliveries[0].payload)


def test_server_errors_then_delivered_once(store, tmp_path):
    with running_agency(tmp_path / "a.db", faults=Faults(fail_first=6, fail_status=500)) as agency:
        endpoints = gateway(agency.url)
        complaints = _queue(store, endpoints, 3)
        dispatcher = _dispatcher(store, endpoints, concurrency=1)
        _drain(dispatcher)
        _assert_exactly_once(agency, complaints)
        assert dispatcher.stats["retried"] == 6 and dispatcher.stats["delivered"] == 3
    attempts = sum(len(outbox.delivery_attempts(store, c.deliveries[0].id)) for c in complaints)
    assert attempts == 9


def test_retry_after_is_honoured(store, tmp_path):
    with running_agency(tmp_path / "a.db", faults=Faults(fail_first=1, fail_status=503, retry_after=60)) as agency:
        endpoints = gateway(agency.url)
        _queue(store, endpoints, 1)
        before = utcnow()
        summary = _dispatcher(store, endpoints).run_once()
        assert summary["retried"] == 1
        [delivery] = outbox.list_deliveries(store)
        assert delivery.next_attempt_at >= before + timedelta(seconds=60)
        assert delivery.last_status_code == 503


def test_timeouts_then_delivered_once_at_the_agency(store, tmp_path):
    # The agency stores the first two requests but answers after the client gave up (1 s).
    with running_agency(tmp_path / "a.db", faults=Faults(delay=1.5, delay_first=2)) as agency:
        endpoints = gateway(agency.url)
        complaints = _queue(store, endpoints, 2)
        dispatcher = _dispatcher(store, endpoints, concurrency=2)
        _drain(dispatcher)
        _assert_exactly_once(agency, complaints, replays_allowed=True)
        assert dispatcher.stats["retried"] == 2 and dispatcher.stats["delivered"] == 2
        assert all(agency.outcomes()[c.uuid] == {"created": 1, "replayed": 1} for c in complaints)


def test_refused_connections_for_a_while_then_delivered_once(store, tmp_path):
    port = free_port()
    endpoints = gateway(f"http://127.0.0.1:{port}")
    complaints = _queue(store, endpoints, 4)
    dispatcher = _dispatcher(store, endpoints)
    dispatcher.run_once()
    assert dispatcher.stats["retried"] >= 4 and dispatcher.stats["delivered"] == 0
    assert "Connection refused" in outbox.list_deliveries(store)[0].last_error
    with running_agency(tmp_path / "a.db", port=port) as agency:
        _drain(dispatcher)
        _assert_exactly_once(agency, complaints)
    assert _states(store) == ["delivered"]


def test_a_rejected_request_is_a_dead_letter_at_once_and_can_be_retried(store, tmp_path):
    with running_agency(tmp_path / "a.db") as agency:
        wrong = gateway(agency.url, secret=OTHER_SECRET)
        [complaint] = _queue(store, wrong, 1)
        summary = _dispatcher(store, wrong).run_once()
        assert summary == {"delivered": 0, "retried": 0, "dead": 1, "held": 0, "released": 0, "lost": 0}
        [dead] = outbox.list_deliveries(store, ["dead"])
        assert "401" in dead.dead_reason and dead.attempts == 1
        assert find_complaint(store, complaint.case_number).status == "held"
        outbox.retry_delivery(store, dead.id, fast_settings(), utcnow())
        assert _dispatcher(store, gateway(agency.url)).run_once()["delivered"] == 1
        assert find_complaint(store, complaint.case_number).status == "delivered"


def test_409_is_never_retried(store, agency):
    endpoints = gateway(agency.url)
    [complaint] = _queue(store, endpoints, 1)
    # Something else already used this complaint's key with another body at the agency.
    other = json.dumps(dict(json.loads(find_complaint(store, complaint.uuid).deliveries[0].payload),
                            description="A different body under the same key")).encode()
    AgencyClient(0.5, 1.0).submit(Endpoint("x", agency.url, SECRET), complaint.uuid, other)
    summary = _dispatcher(store, endpoints).run_once()
    assert summary["dead"] == 1 and summary["retried"] == 0
    [dead] = outbox.list_deliveries(store, ["dead"])
    assert dead.dead_reason.startswith("409 Conflict") and dead.last_status_code == 409


def test_gives_up_after_max_attempts(store, tmp_path):
    with running_agency(tmp_path / "a.db", faults=Faults(fail_first=1000, fail_status=503)) as agency:
        endpoints = gateway(agency.url)
        _queue(store, endpoints, 1)
        dispatcher = _dispatcher(store, endpoints, fast_settings(max_attempts=3, backoff_base=0.01,
                                                                 backoff_cap=0.01))
        _drain(dispatcher)
        [dead] = outbox.list_deliveries(store, ["dead"])
        assert dead.attempts == 3 and dead.dead_reason.startswith("gave up after 3 attempt(s)")
        assert "503" in dead.dead_reason


def test_gives_up_after_the_deadline(store, tmp_path):
    with running_agency(tmp_path / "a.db", faults=Faults(fail_first=1000, fail_status=503, retry_after=30)) as agency:
        endpoints = gateway(agency.url)
        settings = fast_settings(max_age_hours=10 / 3600)  # 10 seconds
        submit_many(store, [tip_off_data()], endpoints=endpoints, settings=settings)
        summary = _dispatcher(store, endpoints, settings).run_once()
        assert summary["dead"] == 1  # the next try (in 30 s) would be after the deadline
        [dead] = outbox.list_deliveries(store, ["dead"])
        assert dead.attempts == 1


def test_local_agencies_are_held_never_sent(store, agency):
    endpoints = Endpoints({"*": Endpoint("*", agency.url, SECRET)})
    complaints = _queue(store, endpoints, 2)
    # The config changes: the agency of the first complaint loses its endpoint before dispatch.
    local_agency = complaints[0].agency_id
    changed = Endpoints({"*": Endpoint("*", agency.url, SECRET), local_agency: None})
    summary = _dispatcher(store, changed).run_once()
    assert summary["held"] == len([c for c in complaints if c.agency_id == local_agency])
    assert agency.records() == [r for r in agency.records() if r["agency_id"] != local_agency]
    held = outbox.list_deliveries(store, ["held"])
    assert held and "no intake endpoint" in held[0].last_error and held[0].attempts == 0


def test_listeners_hear_deliveries(store, agency):
    seen = []
    status_listeners.append(seen.append)
    endpoints = gateway(agency.url)
    complaints = _queue(store, endpoints, 3)
    _dispatcher(store, endpoints).run_once()
    assert sorted(c.case_number for c in seen) == sorted(c.case_number for c in complaints)
    assert {c.status for c in seen} == {"delivered"}


def test_several_dispatchers_at_once_send_each_delivery_once(store, agency):
    endpoints = gateway(agency.url)
    complaints = _queue(store, endpoints, 60)
    # Generous timeouts: a send that times out on a slow machine is resent (and "replayed"), which
    # is right, but this test is about claims never overlapping.
    settings = fast_settings(read_timeout=5.0, lease_seconds=15.0)
    dispatchers = [_dispatcher(store, endpoints, settings, batch=5, concurrency=3, worker_id=f"d{i}")
                   for i in range(4)]
    threads = [threading.Thread(target=d.run_once) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_exactly_once(agency, complaints)
    assert sum(d.stats["delivered"] for d in dispatchers) == 60
    assert sum(1 for d in dispatchers if d.stats["delivered"]) >= 2


def test_loop_mode_picks_up_new_work_and_stops(store, agency):
    endpoints = gateway(agency.url)
    dispatcher = _dispatcher(store, endpoints)
    thread = threading.Thread(target=dispatcher.run_forever, args=(0.05,))
    thread.start()
    try:
        complaints = _queue(store, endpoints, 5)
        deadline = time.monotonic() + 10
        while len(agency.records()) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.stop.set()
        thread.join(5)
    assert not thread.is_alive()
    _assert_exactly_once(agency, complaints)


def test_too_little_lease_left_releases_the_claim(store, agency):
    endpoints = gateway(agency.url)
    _queue(store, endpoints, 1)
    settings = fast_settings()
    dispatcher = _dispatcher(store, endpoints, settings)
    [claim] = outbox.claim_due(store, "w", 1, settings.request_budget - 0.5, utcnow())
    assert dispatcher.process([claim]) == ["released"]
    assert agency.records() == []
    assert dispatcher.run_once()["delivered"] == 1


def test_a_stopping_dispatcher_releases_unsent_claims(store, agency):
    endpoints = gateway(agency.url)
    _queue(store, endpoints, 2)
    dispatcher = _dispatcher(store, endpoints)
    claims = outbox.claim_due(store, "w", 2, 60, utcnow())
    dispatcher.stop.set()
    assert dispatcher.process(claims) == ["released", "released"]
    assert [d.claimed_by for d in outbox.list_deliveries(store)] == [None, None]


@pytest.mark.parametrize("answer", ["token"])
def test_token_acknowledgements_are_recorded(store, tmp_path, answer):
    with running_agency(tmp_path / "a.db", assign_later=True) as agency:
        endpoints = gateway(agency.url)
        [complaint] = _queue(store, endpoints, 1)
        _dispatcher(store, endpoints).run_once()
        [delivery] = find_complaint(store, complaint.uuid).deliveries
        assert delivery.state == "delivered" and delivery.token and delivery.service_request_id is None
        assert uuid.UUID(delivery.token)
