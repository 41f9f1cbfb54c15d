"""Status transitions and the listener registry."""

from datetime import datetime, timezone

import pytest

from bot.intake import statuses
from bot.intake.statuses import StatusChange, TransitionError, check_delivery_transition, complaint_status_after


@pytest.mark.parametrize(
    "current, reported, after",
    [
        ("received", "queued", "queued"),
        ("received", "held", "held"),
        ("queued", "delivered", "delivered"),
        ("queued", "held", "held"),  # a dead letter: forward by hand
        ("held", "queued", "queued"),  # staff retry
        ("held", "delivered", "delivered"),
        ("delivered", "accepted", "accepted"),
        ("queued", "accepted", "accepted"),  # the agency's callback raced our own record
        ("accepted", "delivered", "accepted"),  # ours never overwrites the agency's
        ("in_progress", "held", "in_progress"),
        ("delivered", "queued", "delivered"),
        ("delivered", "held", "delivered"),
        ("queued", "received", "queued"),
        ("closed", "in_progress", "in_progress"),  # the agency reopened it
        ("accepted", "rejected", "rejected"),
    ],
)
def test_complaint_status_after(current, reported, after):
    assert complaint_status_after(current, reported) == after


def test_unknown_status_is_refused():
    with pytest.raises(TransitionError):
        complaint_status_after("queued", "lost")


@pytest.mark.parametrize("old, new", [("pending", "delivered"), ("pending", "dead"), ("pending", "held"),
                                      ("dead", "pending"), ("held", "pending"), ("pending", "pending"),
                                      ("dead", "delivered"), ("held", "delivered")])
def test_allowed_delivery_transitions(old, new):
    check_delivery_transition(old, new)


@pytest.mark.parametrize("old, new", [("delivered", "pending"), ("delivered", "dead"), ("dead", "held"),
                                      ("held", "dead"), ("unknown", "pending")])
def test_forbidden_delivery_transitions(old, new):
    with pytest.raises(TransitionError):
        check_delivery_transition(old, new)


def test_states_before_give_the_outbox_guards():
    assert statuses.delivery_states_before("delivered") == ("dead", "held", "pending")
    assert statuses.delivery_states_before("pending") == ("dead", "held", "pending")
    assert statuses.delivery_states_before("dead") == ("pending",)


def _change(status="accepted") -> StatusChange:
    return StatusChange(history_id=1, complaint_uuid="u", case_number="IP-20260101-AAAAAA", status=status,
                        note=None, occurred_at=datetime.now(timezone.utc), source="agency", channel="wechat",
                        sender_id="openid-1", agency_id="youxian_amr")


def test_listeners_get_every_change_and_a_failing_one_does_not_stop_the_rest(caplog):
    seen = []

    def broken(change):
        raise RuntimeError("listener bug")

    statuses.status_listeners.extend([broken, seen.append])
    statuses.notify_listeners([_change("accepted"), _change("closed")])
    assert [c.status for c in seen] == ["accepted", "closed"]
    assert "listener" in caplog.text and "failed" in caplog.text
