"""Fault tests with real processes: dispatchers killed with SIGKILL at random moments, and the whole
chain (agency server, dispatcher, callback server, set-status) as separate processes.

Exactly once means: the reference agency stored every complaint under one key (one "created"
receipt each, no conflicts), every delivery ends delivered, and nothing is left leased or pending.
A dispatcher killed mid-send leaves a lease that expires; the next dispatcher resends under the
same Idempotency-Key and the agency answers with its first answer ("replayed").
"""

import json
import random
import signal
import subprocess
import time

import pytest
import requests
from intake.helpers import (
    PYTHON,
    ROOT,
    SECRET,
    bot_command,
    complaint_data,
    free_port,
    process_env,
    start_agency_process,
    start_process,
    stop_process,
    tip_off_data,
    wait_for_port,
    write_gateway_config,
)

from bot.intake import outbox
from bot.intake.agency.records import list_records, open_agency_db, receipt_outcomes
from bot.intake.service import find_complaint, submit_many
from bot.intake.store import open_store

KILL_RUNS = 50
PER_RUN = 8
DISPATCH_ENV = {
    "INTAKE_LEASE_SECONDS": "4",
    "INTAKE_CONNECT_TIMEOUT": "0.3",
    "INTAKE_READ_TIMEOUT": "0.7",
    "INTAKE_BACKOFF_BASE": "0.05",
    "INTAKE_BACKOFF_CAP": "0.2",
    # kills count as attempts (a send may have happened): keep them from exhausting a delivery
    "INTAKE_MAX_ATTEMPTS": "100",
}


def _dispatch_env(db_url, config):
    return process_env(DATABASE_URL=db_url, INTAKE_CONFIG=str(config), TEST_AGENCY_SECRET=SECRET, **DISPATCH_ENV)


def _dispatcher(tmp_path, env, *flags):
    command = bot_command("dispatch", "--poll-interval", "0.05", "--batch", "8", "--concurrency", "4",
                          "--log-level", "WARNING", *flags)
    return start_process(command, env, tmp_path / "dispatch.log")


def _wait_until_delivered(store, expected, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [d.state for d in outbox.list_deliveries(store, limit=100_000)]
        if states.count("delivered") == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"only {states.count('delivered')} of {expected} delivered: {sorted(set(states))}")


def _wait_until_working(store, keys, process, timeout=30.0):
    """Until the dispatcher has claimed or delivered one of ``keys``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for delivery in outbox.list_deliveries(store, limit=100_000):
            if delivery.idempotency_key in keys and (delivery.claimed_by or delivery.state == "delivered"):
                return
        time.sleep(0.01)
    raise AssertionError(f"the dispatcher took none of its batch within {timeout:g} s (exit code {process.poll()})")


def _deliver_the_rest(tmp_path, env, store, expected, timeout):
    deadline = time.monotonic() + timeout
    while True:
        final = _dispatcher(tmp_path, env, "--once")
        final.wait(timeout)
        assert final.returncode == 0
        states = [d.state for d in outbox.list_deliveries(store, limit=100_000)]
        if states.count("delivered") == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"only {states.count('delivered')} of {expected} delivered: {sorted(set(states))}")
        time.sleep(0.5)


def test_dispatchers_killed_at_random_moments_deliver_everything_exactly_once(tmp_path, db_url):
    rng = random.Random(20260101)
    port = free_port()
    agency_process = start_agency_process(tmp_path, port, "--delay", "0.02")
    config = write_gateway_config(tmp_path / "intake.yml", f"http://127.0.0.1:{port}")
    env = _dispatch_env(db_url, config)
    store = open_store(db_url)
    from intake.helpers import gateway

    endpoints = gateway(f"http://127.0.0.1:{port}")
    complaints = []
    try:
        for _ in range(KILL_RUNS):
            batch = submit_many(store, [tip_off_data() for _ in range(PER_RUN)], endpoints=endpoints)
            complaints += batch
            process = _dispatcher(tmp_path, env)
            # Killed at a random moment of its work, not while it is still starting (slow machines).
            _wait_until_working(store, {c.uuid for c in batch}, process)
            time.sleep(rng.uniform(0.0, 1.0))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        delivered_by_killed = sum(1 for d in outbox.list_deliveries(store, limit=100_000) if d.state == "delivered")
        # Whatever the killed ones left: single passes (each must exit cleanly) until their leases
        # have expired and everything is delivered.
        _deliver_the_rest(tmp_path, env, store, len(complaints), timeout=60)
    finally:
        stop_process(agency_process)
    agency_db = open_agency_db(f"sqlite:///{tmp_path / 'agency.db'}")
    records = list_records(agency_db)
    outcomes = receipt_outcomes(agency_db)
    agency_db.close()
    keys = sorted(c.uuid for c in complaints)
    assert sorted(record.idempotency_key for record, _ in records) == keys
    assert all(outcomes[key]["created"] == 1 and "conflict" not in outcomes[key] for key in keys)
    deliveries = outbox.list_deliveries(store, limit=100_000)
    assert {d.state for d in deliveries} == {"delivered"}
    assert all(d.claimed_by is None and d.lease_until is None for d in deliveries)
    by_key = {record.idempotency_key: record.service_request_id for record, _ in records}
    assert all(d.service_request_id == by_key[d.idempotency_key] for d in deliveries)
    replays = sum(outcomes[key].get("replayed", 0) for key in keys)
    assert replays <= KILL_RUNS * 8  # at most one batch in flight per killed dispatcher
    print(f"kill runs: {KILL_RUNS}, delivered before the final run: {delivered_by_killed}, replays: {replays}")
    assert 0 < delivered_by_killed  # the killed dispatchers did real work before dying
    store.close()


def test_the_whole_chain_as_processes(tmp_path, db_url):
    agency_port, callback_port = free_port(), free_port()
    callback_url = f"http://127.0.0.1:{callback_port}/agency/callback"
    agency_db = f"sqlite:///{tmp_path / 'agency.db'}"
    # The agency is down at first: connections are refused.
    config = write_gateway_config(tmp_path / "intake.yml", f"http://127.0.0.1:{agency_port}")
    env = _dispatch_env(db_url, config)
    (tmp_path / "c.json").write_text(json.dumps([complaint_data(), tip_off_data()]), encoding="utf-8")
    submitted = subprocess.run(bot_command("complaints", "submit", "--json", str(tmp_path / "c.json")), cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    cases = submitted.stdout.split()
    callbacks = start_process(bot_command("callbacks", "serve", "--port", str(callback_port)), env,
                              tmp_path / "callbacks.log")
    dispatcher = _dispatcher(tmp_path, env)
    agency = None
    try:
        wait_for_port(callback_port, process=callbacks)
        time.sleep(1.5)  # the dispatcher meets refused connections and schedules retries
        agency = start_agency_process(tmp_path, agency_port, "--fail-first", "2", "--callback-url", callback_url,
                                      db_url=agency_db)
        store = open_store(db_url)
        _wait_until_delivered(store, 2, timeout=30)
        listed = subprocess.run(bot_command("agency", "list", "--db", agency_db, "--json"), cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        records = json.loads(listed.stdout)
        assert sorted(r["case_number"] for r in records) == sorted(cases)
        assert all(r["receipts"] >= 1 for r in records)
        target = records[0]
        for _ in range(2):  # a repeated set-status posts the same event again: recorded once
            status = subprocess.run(
                bot_command("agency", "set-status", target["service_request_id"], "in_progress", "inspecting",
                            "--db", agency_db), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            assert status.returncode == 0, status.stderr
        complaint = find_complaint(store, target["case_number"])
        assert complaint.status == "in_progress" and complaint.status_note == "inspecting"
        health = requests.get(f"http://127.0.0.1:{callback_port}/healthz", timeout=5)
        assert health.json() == {"ok": True}
        store.close()
    finally:
        for process in (dispatcher, callbacks, agency):
            if process is not None:
                stop_process(process)
    assert dispatcher.returncode == 0 and callbacks.returncode == 0
    summary = (tmp_path / "dispatch.log").read_text().strip().splitlines()[-1]
    assert json.loads(summary)["delivered"] == 2


@pytest.mark.parametrize("flags", [["--secret", "short"], []])
def test_the_agency_server_refuses_to_start_without_a_usable_secret(tmp_path, flags):
    env = process_env()
    env.pop("AGENCY_SECRET", None)
    result = subprocess.run([PYTHON, "-m", "bot", "agency", "serve", "--port", str(free_port()), "--db",
                             f"sqlite:///{tmp_path / 'a.db'}", *flags], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error:") and "secret" in result.stderr
    assert "Traceback" not in result.stderr
