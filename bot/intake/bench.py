"""Benchmark of delivery to a loopback reference agency (figures, not a pass/fail test).

    python -m bot.bench dispatch [--complaints 2000] [--rate 200] [--seconds 10]
    python -m bot.intake.bench   [the same options]

Two runs against `python -m bot agency serve` on a free loopback port, each dispatcher a real
`python -m bot dispatch` process:

throughput  N complaints are queued first, then one `dispatch --once` drains them: complaints per
            second from the first attempt to the last acknowledgement.
latency     a dispatcher runs in loop mode while complaints are submitted at --rate per second for
            --seconds; delivery latency is created_at -> acknowledged (delivered_at), p50/p99/max.

The store is a temporary SQLite file unless --db names a scratch database (it is written to).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy import func, select

from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.errors import IntakeError
from bot.intake.models import Delivery, DeliveryAttempt
from bot.intake.service import submit_many
from bot.intake.settings import REPO_ROOT
from bot.intake.store import Store, open_store
from bot.metrics import percentile

SECRET_ENV = "BENCH_AGENCY_SECRET"
SUBMIT_CHUNK = 100
TICK_SECONDS = 0.02


def add_arguments(parser) -> None:
    parser.add_argument("--complaints", type=int, default=2000, help="complaints in the throughput run (2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="submissions per second in the latency run (200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run (10)")
    parser.add_argument("--concurrency", type=int, default=8, help="dispatcher requests in flight (8)")
    parser.add_argument("--batch", type=int, default=32, help="dispatcher claim size (32)")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="dispatcher idle poll, seconds (0.05)")
    parser.add_argument("--db", help="a scratch database URL for the store (default: a temporary SQLite file)")


def bench_dispatch(args) -> Dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ipr-bench-") as tmp:
        work = Path(tmp)
        secret = os.urandom(16).hex()
        port = _free_port()
        env = _environment(work, port, secret, args.db or f"sqlite:///{work / 'ipr.db'}")
        agency = _start_agency(work, port, env)
        store = open_store(env["DATABASE_URL"])
        endpoints = Endpoints({"*": Endpoint("*", f"http://127.0.0.1:{port}", secret)})
        try:
            throughput = _throughput_run(store, endpoints, env, args)
            latency = _latency_run(store, endpoints, env, args)
        finally:
            store.close()
            _stop(agency)
    return {"store": "postgresql" if args.db and args.db.startswith("postgres") else "sqlite",
            "concurrency": args.concurrency, "batch": args.batch, **throughput, **latency}


def main_dispatch(args) -> int:
    try:
        result = bench_dispatch(args)
    except (IntakeError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.intake.bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main_dispatch(parser.parse_args(argv))


def _environment(work: Path, port: int, secret: str, db_url: str) -> Dict[str, str]:
    config = work / "intake.yml"
    config.write_text(f'"*":\n  url: http://127.0.0.1:{port}\n  secret_env: {SECRET_ENV}\n', encoding="utf-8")
    env = dict(os.environ, DATABASE_URL=db_url, INTAKE_CONFIG=str(config), PYTHONWARNINGS="ignore")
    env[SECRET_ENV] = secret
    return env


def _throughput_run(store: Store, endpoints: Endpoints, env: Dict[str, str], args) -> Dict[str, object]:
    complaints = _submit(store, endpoints, args.complaints)
    started = time.perf_counter()
    result = subprocess.run(_dispatch_command(args, "--once"), cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"dispatch --once failed: {result.stderr.strip()[-500:]}")
    first, last, delivered = _delivery_span(store, [c.id for c in complaints])
    span = (last - first).total_seconds()
    return {"throughput_complaints": args.complaints, "throughput_delivered": delivered,
            "throughput_per_s": round(delivered / span, 1) if span else None,
            "throughput_process_wall_s": round(wall, 2)}


def _latency_run(store: Store, endpoints: Endpoints, env: Dict[str, str], args) -> Dict[str, object]:
    dispatcher = subprocess.Popen(_dispatch_command(args, "--poll-interval", str(args.poll_interval)), cwd=REPO_ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # let it start before the clock runs
        ids, achieved = _paced_submissions(store, endpoints, args.rate, args.seconds)
        _wait_for(store, ids, timeout=max(30.0, args.seconds * 3))
    finally:
        dispatcher.terminate()
        dispatcher.wait(30)
    latencies = _latencies(store, ids)
    return {"latency_complaints": len(ids), "latency_submit_rate_per_s": round(achieved, 1),
            "latency_p50_s": round(percentile(latencies, 50), 3), "latency_p99_s": round(percentile(latencies, 99), 3),
            "latency_max_s": round(max(latencies), 3)}


def _dispatch_command(args, *extra: str) -> List[str]:
    return [sys.executable, "-m", "bot", "dispatch", "--concurrency", str(args.concurrency), "--batch",
            str(args.batch), "--log-level", "ERROR", *extra]


def _submit(store: Store, endpoints: Endpoints, count: int) -> list:
    complaints = []
    for start in range(0, count, SUBMIT_CHUNK):
        complaints += submit_many(store, [_tip_off(start + i) for i in range(min(SUBMIT_CHUNK, count - start))],
                                  endpoints=endpoints)
    return complaints


def _paced_submissions(store: Store, endpoints: Endpoints, rate: float, seconds: float):
    """Submit ``rate`` complaints per second for ``seconds``: every tick (20 ms) what is due by then,
    in one transaction, as several dialogue processes would."""
    ids, started, total = [], time.perf_counter(), int(rate * seconds)
    while len(ids) < total:
        due = min(total, int((time.perf_counter() - started) * rate)) - len(ids)
        if due <= 0:
            time.sleep(TICK_SECONDS)
            continue
        batch = [_tip_off(len(ids) + i) for i in range(due)]
        ids += [c.id for c in submit_many(store, batch, endpoints=endpoints)]
    return ids, total / (time.perf_counter() - started)


def _tip_off(n: int) -> dict:
    return {"kind": "tip_off", "category": "trademark_counterfeit", "region_code": "510704",
            "respondent": f"Benchmark stall {n}", "facts": f"Benchmark tip-off number {n}: counterfeit goods on sale",
            "source": "cli"}


def _delivery_span(store: Store, complaint_ids: List[int]):
    with store.reader() as session:
        first = session.scalar(select(func.min(DeliveryAttempt.started_at)).join(
            Delivery, Delivery.id == DeliveryAttempt.delivery_id).where(Delivery.complaint_id.in_(complaint_ids)))
        last, delivered = session.execute(
            select(func.max(Delivery.delivered_at), func.count(Delivery.delivered_at))
            .where(Delivery.complaint_id.in_(complaint_ids))).one()
    return first, last.replace(tzinfo=first.tzinfo) if last and last.tzinfo is None else last, delivered


def _wait_for(store: Store, ids: List[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.reader() as session:
            done = session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.complaint_id.in_(ids), Delivery.state == "delivered"))
        if done == len(ids):
            return
        time.sleep(0.2)
    raise RuntimeError(f"only {done} of {len(ids)} complaints delivered after {timeout:g} s")


def _latencies(store: Store, ids: List[int]) -> List[float]:
    with store.reader() as session:
        rows = session.scalars(select(Delivery).where(Delivery.complaint_id.in_(ids))).all()
        return [(d.delivered_at - d.created_at).total_seconds() for d in rows]


def _start_agency(work: Path, port: int, env: Dict[str, str]) -> subprocess.Popen:
    log = open(work / "agency.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "bot", "agency", "serve", "--port", str(port), "--db",
                                f"sqlite:///{work / 'agency.db'}", "--secret-env", SECRET_ENV], cwd=REPO_ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the agency server exited: {(work / 'agency.log').read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    _stop(process)
    raise RuntimeError("the agency server did not start within 20 s")


def _stop(process: Optional[subprocess.Popen]) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
