"""Helpers for the intake tests: settings, sample complaints, servers on loopback, processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from bot.intake.agency.records import list_records, open_agency_db, receipt_outcomes
from bot.intake.agency.server import Faults, create_agency_app
from bot.intake.endpoints import Endpoint, Endpoints
from bot.intake.serving import ServerThread
from bot.intake.settings import DeliverySettings

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SECRET = "test-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789"


def fast_settings(**overrides) -> DeliverySettings:
    """Short timeouts, leases and backoff so fault tests finish in seconds."""
    values = dict(max_attempts=10, max_age_hours=1.0, backoff_base=0.05, backoff_cap=0.2,
                  connect_timeout=0.5, read_timeout=1.0, lease_seconds=5.0)
    values.update(overrides)
    return DeliverySettings(**values)


def gateway(url: str, secret: str = SECRET) -> Endpoints:
    """Every agency through one endpoint (the "*" entry)."""
    return Endpoints({"*": Endpoint(agency_id="*", url=url, secret=secret)})


def complaint_data(**overrides) -> dict:
    data = {
        "kind": "complaint",
        "category": "trademark_counterfeit",
        "region_code": "510704",
        "respondent": "Stall 12, Youxian night market",
        "facts": "Bought counterfeit sports shoes with a fake logo on 3 March",
        "request": "Refund and stop the sale",
        "name": "Li Lei",
        "phone": "13800138000",
        "address": "Youxian District, Mianyang",
        "source": "cli",
        "evidence": [{"kind": "photo", "url_or_media_id": "media-001", "note": "the shoes"}],
    }
    data.update(overrides)
    return data


def tip_off_data(**overrides) -> dict:
    data = {
        "kind": "tip_off",
        "category": "copyright",
        "region_code": "510700",
        "respondent": "A textbook download website",
        "facts": "The site offers pirated school textbooks as free PDF downloads",
        "source": "rasa",
    }
    data.update(overrides)
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, process: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout} s")


class Agency:
    """A reference agency server on a background thread, with its own SQLite database."""

    def __init__(self, db_path: Path, faults: Optional[Faults] = None, secret: str = SECRET, port: int = 0,
                 assign_later: bool = False) -> None:
        self.db = open_agency_db(f"sqlite:///{db_path}")
        self.faults = faults or Faults()
        self.server = ServerThread(create_agency_app(self.db, secret, self.faults, assign_later), port=port)

    def start(self) -> "Agency":
        self.server.start()
        return self

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        self.db.close()

    def records(self) -> list:
        return [record.as_dict(receipts) for record, receipts in list_records(self.db)]

    def outcomes(self) -> Dict[str, Dict[str, int]]:
        return {key: dict(counter) for key, counter in receipt_outcomes(self.db).items()}


@contextmanager
def running_agency(db_path: Path, **kwargs) -> Iterator[Agency]:
    agency = Agency(db_path, **kwargs).start()
    try:
        yield agency
    finally:
        agency.stop()


def bot_command(*args: str) -> List[str]:
    return [PYTHON, "-m", "bot", *args]


def process_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
    env.update(extra)
    return env


def start_process(args: List[str], env: Dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def start_agency_process(tmp_path: Path, port: int, *flags: str, db_url: Optional[str] = None,
                         name: str = "agency") -> subprocess.Popen:
    db_url = db_url or f"sqlite:///{tmp_path / (name + '.db')}"
    process = start_process(
        bot_command("agency", "serve", "--port", str(port), "--db", db_url, "--secret-env", "TEST_AGENCY_SECRET",
                    *flags),
        process_env(TEST_AGENCY_SECRET=SECRET), tmp_path / f"{name}.log",
    )
    wait_for_port(port, process=process)
    return process


def write_gateway_config(path: Path, url: str) -> Path:
    path.write_text(f'"*":\n  url: {url}\n  secret_env: TEST_AGENCY_SECRET\n', encoding="utf-8")
    return path
