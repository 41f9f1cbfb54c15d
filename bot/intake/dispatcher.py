"""The delivery loop: claim due deliveries, send them, record what happened.

    python -m bot dispatch --once            send everything due now, then exit
    python -m bot dispatch                   keep going, polling every --poll-interval seconds

Several dispatchers may run at once (threads, processes or hosts): each delivery is owned by one
lease at a time, so we never send it twice - except after a dispatcher dies mid-send, when the
lease expires and another dispatcher resends under the same Idempotency-Key, which the agency
answers with its first answer. Retries are scheduled in the outbox (next_attempt_at); nothing
here sleeps between attempts.
"""

import logging
import os
import random
import socket
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable, Dict, List, Optional

from sqlalchemy.exc import SQLAlchemyError

from bot.intake import outbox
from bot.intake.backoff import next_attempt_time
from bot.intake.client import AgencyClient, PermanentAgencyError, RetryableAgencyError
from bot.intake.db import Database
from bot.intake.endpoints import Endpoints
from bot.intake.errors import StoreError
from bot.intake.settings import DeliverySettings
from bot.intake.timeutil import utcnow

log = logging.getLogger(__name__)

OUTCOMES = ("delivered", "retried", "dead", "held", "released", "lost")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    def __init__(
        self,
        store: Database,
        endpoints: Endpoints,
        client: AgencyClient,
        settings: DeliverySettings,
        batch: int = 32,
        concurrency: int = 8,
        worker_id: Optional[str] = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store, self.endpoints, self.client, self.settings = store, endpoints, client, settings
        self.batch = max(1, batch)
        self.concurrency = max(1, concurrency)
        self.worker_id = worker_id or default_worker_id()
        self.clock, self.rand = clock, rand
        self.stop = threading.Event()
        self.stats: Counter = Counter()

    def run_once(self) -> Dict[str, int]:
        """Send everything due now (including retries that fall due meanwhile), then return the counts."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="deliver") as pool:
            while not self.stop.is_set() and self.step(pool):
                pass
        return self.summary()

    def run_forever(self, poll_interval: float) -> Dict[str, int]:
        """Until ``stop`` is set: claim and send; when nothing is due, wait ``poll_interval`` seconds."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="deliver") as pool:
            while not self.stop.is_set():
                try:
                    claimed = self.step(pool)
                except StoreError as exc:
                    log.error("%s; trying again in %g s", exc, poll_interval)
                    claimed = 0
                if claimed < self.batch:
                    self.stop.wait(poll_interval)
        return self.summary()

    def step(self, pool: ThreadPoolExecutor) -> int:
        """Claim one batch, send it (requests in parallel), record every outcome in one transaction."""
        try:
            claims = outbox.claim_due(self.store, self.worker_id, self.batch, self.settings.lease_seconds,
                                      self.clock())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot claim deliveries: {getattr(exc, 'orig', None) or exc}") from exc
        if claims:
            self.record(list(pool.map(self.attempt, claims)))
        return len(claims)

    def process(self, claims: List[outbox.Claim]) -> List[str]:
        """Attempt and record the given claims one after another (no pool); their outcome names."""
        return self.record([self.attempt(claim) for claim in claims])

    def summary(self) -> Dict[str, int]:
        return {outcome: self.stats.get(outcome, 0) for outcome in OUTCOMES}

    def attempt(self, claim: outbox.Claim) -> outbox.Outcome:
        """Send one claimed delivery (no database work here): what happened."""
        now = self.clock()
        endpoint = self.endpoints.for_agency(claim.agency_id)
        if endpoint is None:
            return outbox.Outcome(claim, "held", now, error=f"agency {claim.agency_id} has no intake endpoint")
        if self.stop.is_set() or (claim.lease_until - now).total_seconds() < self.settings.request_budget:
            return outbox.Outcome(claim, "released", now)
        try:
            ack = self.client.submit(endpoint, claim.idempotency_key, claim.payload.encode("utf-8"))
        except PermanentAgencyError as exc:
            return outbox.Outcome(claim, "dead", self.clock(), now, error=str(exc), http_status=exc.status_code)
        except RetryableAgencyError as exc:
            return self._retry_or_give_up(claim, exc, now)
        return outbox.Outcome(claim, "delivered", self.clock(), now, ack=ack, http_status=ack.http_status)

    def _retry_or_give_up(self, claim: outbox.Claim, exc: RetryableAgencyError, started: datetime):
        now, s = self.clock(), self.settings
        when = next_attempt_time(claim.attempt, claim.deadline_at, s.max_attempts, s.backoff_base, s.backoff_cap,
                                 now, exc.retry_after, self.rand)
        if when is None:
            reason = f"gave up after {claim.attempt} attempt(s) or {s.max_age_hours:g} h: {exc}"
            return outbox.Outcome(claim, "dead", now, started, error=reason, http_status=exc.status_code)
        return outbox.Outcome(claim, "retried", now, started, error=str(exc), http_status=exc.status_code,
                              retry_at=when)

    def record(self, outcomes: List[outbox.Outcome]) -> List[str]:
        try:
            took = outbox.settle(self.store, outcomes)
        except SQLAlchemyError as exc:
            # The leases expire and a later pass sends again; the agency answers resends idempotently.
            log.error("cannot record %d outcome(s): %s", len(outcomes), getattr(exc, "orig", None) or exc)
            took = [False] * len(outcomes)
        names = [outcome.kind if ok else "lost" for outcome, ok in zip(outcomes, took)]
        for outcome, name in zip(outcomes, names):
            self.stats[name] += 1
            _log_outcome(outcome, name)
        return names


def _log_outcome(outcome: outbox.Outcome, name: str) -> None:
    claim = outcome.claim
    if name == "delivered":
        ack = outcome.ack
        log.info("delivery %s delivered to %s (%s)", claim.delivery_id, claim.agency_id,
                 ack.service_request_id or f"token {ack.token}")
    elif name == "retried":
        log.warning("delivery %s attempt %s failed (%s); next attempt at %s", claim.delivery_id, claim.attempt,
                    outcome.error, outcome.retry_at.isoformat(timespec="seconds"))
    elif name == "dead":
        log.error("delivery %s to %s is a dead letter: %s", claim.delivery_id, claim.agency_id, outcome.error)
    elif name == "held":
        log.info("delivery %s held: %s", claim.delivery_id, outcome.error)
    elif name == "lost":
        log.warning("delivery %s: outcome %s not recorded (the claim was taken over)", claim.delivery_id,
                    outcome.kind)
