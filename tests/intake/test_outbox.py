"""Claiming with leases and settling deliveries, on both databases."""

import threading
from datetime import timedelta

import pytest
from intake.helpers import SECRET, complaint_data, tip_off_data
from sqlalchemy import select

from bot.intake import outbox
from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.errors import Conflict, NotFound
from bot.intake.models import Delivery, DeliveryAttempt
from bot.intake.service import find_complaint, submit, submit_many
from bot.intake.settings import DeliverySettings
from bot.intake.statuses import status_listeners
from bot.intake.timeutil import utcnow
from bot.intake.tracking import pending_notifications

API = Endpoints({"*": Endpoint("*", "http://127.0.0.1:9", SECRET)})
LEASE = 30.0


def _queue(store, n):
    return submit_many(store, [tip_off_data() for _ in range(n)], endpoints=API)


def _delivery(store, delivery_id):
    with store.reader() as session:
        return session.get(Delivery, delivery_id)


def test_claims_are_disjoint_and_leased(store):
    _queue(store, 5)
    now = utcnow()
    first = outbox.claim_due(store, "a", 3, LEASE, now)
    second = outbox.claim_due(store, "b", 3, LEASE, now)
    assert len(first) == 3 and len(second) == 2
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    assert outbox.claim_due(store, "c", 3, LEASE, now) == []
    row = _delivery(store, first[0].delivery_id)
    assert row.claimed_by == "a" and row.attempts == 1 and row.lease_until == first[0].lease_until


def test_an_expired_lease_is_taken_over(store):
    _queue(store, 1)
    now = utcnow()
    [crashed] = outbox.claim_due(store, "a", 10, LEASE, now)
    assert outbox.claim_due(store, "b", 10, LEASE, now + timedelta(seconds=LEASE - 1)) == []
    [taken] = outbox.claim_due(store, "b", 10, LEASE, now + timedelta(seconds=LEASE + 1))
    assert taken.delivery_id == crashed.delivery_id and taken.attempt == 2 and taken.token != crashed.token
    # the old owner can no longer settle it, except to record a success
    assert not outbox.record_retry(store, crashed, "late", 500, now, now, now)
    assert not outbox.release(store, crashed, now)
    assert outbox.record_retry(store, taken, "busy", 503, now + timedelta(seconds=5), now, now)


def test_not_due_until_next_attempt(store):
    _queue(store, 1)
    now = utcnow()
    [claim] = outbox.claim_due(store, "a", 10, LEASE, now)
    assert outbox.record_retry(store, claim, "agency answered 503", 503, now + timedelta(seconds=60), now, now)
    assert outbox.claim_due(store, "a", 10, LEASE, now + timedelta(seconds=59)) == []
    assert len(outbox.claim_due(store, "a", 10, LEASE, now + timedelta(seconds=61))) == 1
    row = _delivery(store, claim.delivery_id)
    assert row.last_error == "agency answered 503" and row.last_status_code == 503


def test_delivered_records_the_agency_id_and_moves_the_complaint(store):
    [complaint] = _queue(store, 1)
    seen = []
    status_listeners.append(seen.append)
    now = utcnow()
    [claim] = outbox.claim_due(store, "a", 10, LEASE, now)
    assert outbox.record_delivered(store, claim, outbox.Ack("REQ-1", None, 201), now, now)
    row = _delivery(store, claim.delivery_id)
    assert (row.state, row.service_request_id, row.claimed_by, row.lease_until) == ("delivered", "REQ-1", None, None)
    assert find_complaint(store, complaint.case_number).status == "delivered"
    assert [c.status for c in seen] == ["delivered"]
    assert [c.status for c in pending_notifications(store)] == ["delivered"]
    # nothing claims a delivered delivery again
    assert outbox.claim_due(store, "b", 10, LEASE, now + timedelta(hours=2)) == []
    assert not outbox.record_delivered(store, claim, outbox.Ack("REQ-1", None, 201), now, now)


def test_a_late_success_beats_a_dead_letter(store):
    [complaint] = _queue(store, 1)
    now = utcnow()
    [slow] = outbox.claim_due(store, "a", 10, LEASE, now)
    [other] = outbox.claim_due(store, "b", 10, LEASE, now + timedelta(seconds=LEASE + 1))
    assert outbox.record_dead(store, other, "agency refused the request (400)", 400, now, now)
    assert find_complaint(store, complaint.case_number).status == "held"
    assert outbox.record_delivered(store, slow, outbox.Ack(None, "tok-1", 202), now, now)
    assert _delivery(store, slow.delivery_id).state == "delivered"
    assert find_complaint(store, complaint.case_number).status == "delivered"


def test_dead_letters_and_staff_retry(store):
    [complaint] = _queue(store, 1)
    now = utcnow()
    [claim] = outbox.claim_due(store, "a", 10, LEASE, now)
    assert outbox.record_dead(store, claim, "agency refused the request (400): bad", 400, now, now)
    [dead] = outbox.list_deliveries(store, ["dead"])
    assert dead.dead_reason.startswith("agency refused") and dead.complaint.case_number == complaint.case_number
    assert "forward by hand" in find_complaint(store, complaint.case_number).status_note
    settings = DeliverySettings(max_age_hours=2)
    retried = outbox.retry_delivery(store, dead.id, settings, now)
    assert (retried.state, retried.attempts, retried.dead_reason) == ("pending", 0, None)
    assert retried.deadline_at == now + timedelta(hours=2)
    assert find_complaint(store, complaint.case_number).status == "queued"
    with pytest.raises(Conflict, match="is pending: only dead or held"):
        outbox.retry_delivery(store, dead.id, settings, now)
    with pytest.raises(NotFound):
        outbox.retry_delivery(store, 12345, settings, now)
    attempts = outbox.delivery_attempts(store, dead.id)
    assert [(a.number, a.outcome, a.http_status) for a in attempts] == [(1, "dead", 400)]


def test_held_when_the_endpoint_disappears_and_release(store):
    _queue(store, 2)
    now = utcnow()
    claims = outbox.claim_due(store, "a", 10, LEASE, now)
    assert outbox.record_held(store, claims[0], "agency has no intake endpoint", now)
    assert outbox.release(store, claims[1], now)
    held, released = _delivery(store, claims[0].delivery_id), _delivery(store, claims[1].delivery_id)
    assert (held.state, held.attempts) == ("held", 0)
    assert (released.state, released.attempts, released.claimed_by) == ("pending", 0, None)
    assert [c.delivery_id for c in outbox.claim_due(store, "b", 10, LEASE, now)] == [claims[1].delivery_id]
    retried = outbox.retry_delivery(store, held.id, DeliverySettings(), now)
    assert retried.state == "pending"


def test_concurrent_claimers_never_share_a_delivery(store):
    _queue(store, 60)
    claimed, errors = [], []
    lock = threading.Lock()

    def claimer(name):
        try:
            while True:
                got = outbox.claim_due(store, name, 4, LEASE, utcnow())
                if not got:
                    return
                with lock:
                    claimed.extend(c.delivery_id for c in got)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(claimed) == list(range(min(claimed), min(claimed) + 60))


def test_held_deliveries_are_never_claimed(store):
    submit(store, complaint_data(), endpoints=Endpoints({}))
    assert outbox.claim_due(store, "a", 10, LEASE, utcnow() + timedelta(days=1)) == []


def test_attempts_are_logged(store):
    _queue(store, 1)
    now = utcnow()
    [claim] = outbox.claim_due(store, "w", 1, LEASE, now)
    outbox.record_retry(store, claim, "cannot connect", None, now, now, now + timedelta(seconds=1))
    [claim] = outbox.claim_due(store, "w", 1, LEASE, now)
    outbox.record_delivered(store, claim, outbox.Ack("R", None, 201), now, now)
    with store.reader() as session:
        rows = list(session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))
    assert [(r.number, r.outcome, r.error) for r in rows] == [(1, "retried", "cannot connect"), (2, "delivered", None)]
    assert outbox.get_delivery(store, claim.delivery_id).as_dict()["attempts"] == 2
