"""The status vocabulary, which changes are allowed, and the listener registry.

Complaint status:  received -> queued | held -> delivered -> accepted | rejected | in_progress | closed
(``held``: recorded, to be forwarded by hand - an agency without an intake API, or a dead letter.)
Delivery state:    pending -> delivered | dead | held;  dead | held -> pending (staff retry).

Listeners: the WeChat layer appends a callable to ``status_listeners``; it is called with a
StatusChange after each status change this process commits. Other processes poll
``bot.intake.tracking.pending_notifications`` instead (changes not yet passed on to the citizen).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, List, Optional, Tuple

log = logging.getLogger(__name__)

RECEIVED = "received"
QUEUED = "queued"
HELD = "held"
DELIVERED = "delivered"
AGENCY_STATUSES = ("accepted", "rejected", "in_progress", "closed")
COMPLAINT_STATUSES = (RECEIVED, QUEUED, HELD, DELIVERED, *AGENCY_STATUSES)

PENDING, DELIVERY_HELD, DELIVERY_DELIVERED, DEAD = "pending", "held", "delivered", "dead"
# dead/held -> delivered: a dispatcher whose lease ran out mid-send still records the agency's
# acknowledgement, even if another one meanwhile gave up on the delivery.
DELIVERY_TRANSITIONS = {
    PENDING: {PENDING, DELIVERY_DELIVERED, DEAD, DELIVERY_HELD},
    DELIVERY_HELD: {PENDING, DELIVERY_DELIVERED},
    DEAD: {PENDING, DELIVERY_DELIVERED},
    DELIVERY_DELIVERED: set(),
}
_OUR_ORDER = {RECEIVED: 0, QUEUED: 1, HELD: 1, DELIVERED: 2}


class TransitionError(ValueError):
    """A status change that must not happen (e.g. a delivered delivery sent again)."""


def check_delivery_transition(old: str, new: str) -> None:
    if new not in DELIVERY_TRANSITIONS.get(old, set()):
        raise TransitionError(f"a {old} delivery cannot become {new}")


def delivery_states_before(new: str) -> Tuple[str, ...]:
    """The delivery states that may change into ``new`` (the guard of the outbox's UPDATEs)."""
    return tuple(sorted(old for old, targets in DELIVERY_TRANSITIONS.items() if new in targets))


def complaint_status_after(current: str, new: str) -> str:
    """The complaint's status once ``new`` is reported: the agency's word always wins (the caller
    orders agency events by time); our own statuses never overwrite the agency's or go backwards,
    except that a queued complaint can be held (dead letter) and a held one queued again."""
    if new not in COMPLAINT_STATUSES:
        raise TransitionError(f"unknown complaint status {new!r}")
    if new in AGENCY_STATUSES:
        return new
    if current in AGENCY_STATUSES:
        return current
    if current == DELIVERED:
        return current
    if _OUR_ORDER[new] >= _OUR_ORDER.get(current, 0) or (current, new) == (HELD, QUEUED):
        return new
    return current


def event_effect(current: str, status: str) -> Tuple[bool, bool]:
    """(applied, moves) for one of our events: whether the complaint has ``status`` afterwards, and
    whether that changes it (only a change is announced to the citizen)."""
    applied = complaint_status_after(current, status) == status
    return applied, applied and current != status


@dataclass(frozen=True)
class StatusChange:
    history_id: int  # the status_events row; pass it to tracking.mark_notified once announced
    complaint_uuid: str
    case_number: str
    status: str
    note: Optional[str]
    occurred_at: datetime
    source: str  # "assistant" or "agency"
    channel: str  # where the complaint came from: cli, rasa, wechat, ...
    sender_id: Optional[str]
    agency_id: Optional[str]


StatusListener = Callable[[StatusChange], None]
status_listeners: List[StatusListener] = []


def notify_listeners(changes: Iterable[StatusChange]) -> None:
    """Call every listener with every change; a failing listener is logged and never breaks delivery."""
    for change in changes:
        for listener in list(status_listeners):
            try:
                listener(change)
            except Exception:
                log.exception("status listener %r failed for %s", listener, change.case_number)
