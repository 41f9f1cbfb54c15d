"""Benchmark of the Official Account webhook beside Rasa's REST channel (figures, not a pass/fail test).

    python -m bot.bench wechat [--duration 30] [--rate-ack 50] [--rate-e2e 20] [--models models]
                               [--safe] [--passive] [--redis URL] [--no-broker] [--data FILE] [--log FILE]
                               [--gateway] [--workers N]
    python -m bot.wechat.bench [the same options]

What runs, all on loopback: the fake WeChat API (FakeWeChatServer, in this process, so its clock
is ours), `rasa run actions` and `rasa run` on the newest model in --models, with a temporary
credentials file registering the REST channel and the Official Account channel (secrets through
WECHAT_* variables, WECHAT_API_BASE = the fake), a temporary endpoints file (action server, and the
masking SQL event broker as `make run` has it unless --no-broker), DATABASE_URL a temporary SQLite
file, REDIS_URL empty (in-process stores) unless --redis. With --gateway the WeChat gateway
(bot.channels.gateway) stands in front of Rasa as `make run` has it: pushes go to the gateway, the
REST channel's load straight to Rasa.

WECHAT_REPLY_BUDGET is 0.001 s (settings refuse 0), so the webhook acknowledges a message with
"success" and the answer goes out through the customer-service API, where the fake records it
with its arrival time. That separates the two figures the targets are about: the acknowledgement
(HTTP response time of the push) and the answer (push sent -> last customer-service text of the
answer recorded by the fake). An answer that needs no call to the action server can be complete
before the budget is checked; it goes back passively (counted in passive_replies, its end-to-end
time is its HTTP response time).

Load is open-loop: message i is sent at start + i / rate whatever happened to earlier ones
(asyncio + aiohttp, no connection limit), each from its own FromUserName with its own MsgId,
signed as WeChat signs (SHA-1 over token, timestamp, nonce; --safe: AES-encrypted with
msg_signature), the texts being the held-out NLU lines (Chinese problem descriptions). Phases,
each one JSON line:

wechat_ack      --rate-ack msg/s for --duration s: ack latency; answers and throughput too
wechat_e2e      --rate-e2e msg/s: ack latency and end-to-end latency at the fake API
rest            the same texts at --rate-e2e msg/s to /webhooks/rest/webhook on the same server:
                end-to-end latency = HTTP response time (the answer is in the response)
wechat_passive  (--passive) Rasa restarted with the default 4 s budget, --rate-e2e msg/s: the
                answer comes back as the passive reply, end-to-end = HTTP response time

Per phase: sent and offered_per_s (the rate achieved; send_lag_ms_p99 shows the generator kept
time), errors (refused or failed requests), ack_ms_*, answered, e2e_ms_* (whole answer) and
first_text_ms_*, throughput_per_s (answers per second from the first send to the last answer) and
the CPU the Rasa server and the action server used during the phase (% of one core). Then a
summary line with wechat_e2e / rest latency ratios and the targets: ack p99 <= 50 ms at
50 msg/s; end-to-end p50 <= 300 ms and p99 <= 1.5 s at 20 msg/s; latency <= 1.2x the REST channel's.
Every phase waits for the previous one's answers to drain. All processes are stopped at the end,
on errors and on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence

import aiohttp
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.jsonl import InputFileError, read_records
from bot.metrics import percentile
from bot.nlu.model import ModelNotFound, latest_model_path
from bot.wechat.fake_api import FakeWeChatServer
from bot.workers import shared_stores

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACCOUNT = "gh_0000benchmark"
APPID = "wx00000000000bench"
STARTUP_SECONDS = 300.0
# Generous: an overloaded server's true latency is the figure, not a client timeout.
HTTP_TIMEOUT_SECONDS = 600.0
# Settings refuse a budget of 0: one millisecond is one the dialogue never meets.
CUSTOMER_SERVICE_BUDGET = "0.001"
QUIET_SECONDS = 2.0  # no new customer-service text for this long: the answers are complete
# Nothing new for this long while answers are missing: the server has nothing left in flight (a
# dialogue that failed, e.g. on the action server, sends nothing), stop waiting.
STALL_SECONDS = 30.0
PAUSE_SECONDS = 3.0  # between phases, after the drain
WARMUP_MESSAGES = 8
TARGETS = {
    "ack_p99_ms": 50.0,          # at 50 msg/s
    "e2e_p50_ms": 300.0,         # at 20 msg/s
    "e2e_p99_ms": 1500.0,        # at 20 msg/s
    "ratio_to_rest": 1.2,        # p50 and p99 against the REST channel at the same load
}

TEXT_TEMPLATE = (
    "<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
    "<FromUserName><![CDATA[{openid}]]></FromUserName>"
    "<CreateTime>{create_time}</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[{content}]]></Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)
ENVELOPE_TEMPLATE = (
    "<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
    "<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per phase (30)")
    parser.add_argument("--rate-ack", type=float, default=50.0, help="messages per second, ack phase (50)")
    parser.add_argument("--rate-e2e", type=float, default=20.0,
                        help="messages per second, end-to-end and REST phases (20)")
    parser.add_argument("--models", default="models", help="directory of trained models; the newest is served")
    parser.add_argument("--data", default="tests/data/nlu_holdout.jsonl", help="JSON Lines with a text field")
    parser.add_argument("--safe", action="store_true", help="safe mode: AES-encrypted pushes (default plain)")
    parser.add_argument("--passive", action="store_true",
                        help="also restart Rasa with the default 4 s reply budget and measure passive replies")
    parser.add_argument("--redis", metavar="URL", help="REDIS_URL for the channel's stores (default in process)")
    parser.add_argument("--no-broker", action="store_true", help="no event broker (default: as `make run`)")
    parser.add_argument("--log", metavar="FILE", help="keep the servers' log there (default: a temporary file)")
    parser.add_argument("--gateway", action="store_true",
                        help="put the WeChat gateway (bot.channels.gateway) in front, as `make run` does: "
                             "pushes go to it, the REST channel to Rasa directly")
    parser.add_argument("--workers", type=int, default=1,
                        help="Rasa server processes (SANIC_WORKERS); above 1 needs --redis, whose server then also "
                             "holds Rasa's tracker and lock stores, and the event broker is left out")


# ---- pure helpers -------------------------------------------------------------------------------


def latency_stats(prefix: str, values_ms: Sequence[float]) -> Dict[str, Optional[float]]:
    """p50, p99 and max of latencies in ms, as ``{prefix}_p50`` ...; None for no values."""
    if not values_ms:
        return {f"{prefix}_p50": None, f"{prefix}_p99": None, f"{prefix}_max": None}
    return {f"{prefix}_p50": round(percentile(values_ms, 50), 1), f"{prefix}_p99": round(percentile(values_ms, 99), 1),
            f"{prefix}_max": round(max(values_ms), 1)}


def planned_count(rate: float, duration: float) -> int:
    """Messages in a phase: rate x duration, at least one."""
    return max(1, round(rate * duration))


def send_offsets(rate: float, count: int) -> List[float]:
    """When each message is due, in seconds from the start of the phase (a fixed rate)."""
    return [index / rate for index in range(count)]


def rate_per_s(count: int, start: float, end: float) -> Optional[float]:
    """Events per second over [start, end]; None when the span is empty."""
    return round(count / (end - start), 2) if end > start else None


def ratio(value: Optional[float], reference: Optional[float]) -> Optional[float]:
    return round(value / reference, 3) if value is not None and reference else None


def bench_openid(tag: str, phase_no: int, index: int) -> str:
    """A distinct FromUserName per message of a run (``tag``), shaped like an openid (28 characters)."""
    return f"o{tag[:10]}p{phase_no:02d}u{index:07d}".ljust(28, "0")


def bench_msg_id(phase_no: int, index: int) -> int:
    """A distinct MsgId per message (64-bit like WeChat's)."""
    return 6_000_000_000_000_000_000 + phase_no * 10_000_000 + index


def cdata(text: str) -> str:
    """Text safe inside a CDATA section."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def text_message_xml(openid: str, content: str, msg_id: int, create_time: int, account: str = ACCOUNT) -> str:
    """A text message push as WeChat posts it."""
    return TEXT_TEMPLATE.format(account=cdata(account), openid=cdata(openid), create_time=create_time,
                                content=cdata(content), msg_id=msg_id)


def signature(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts (wechatpy's signer)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signed_query(token: str, timestamp: str, nonce: str, openid: str) -> Dict[str, str]:
    return {"signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
            "openid": openid}


def encrypted_push(crypto: WeChatCrypto, token: str, xml: str, query: Dict[str, str],
                   account: str = ACCOUNT) -> str:
    """Safe mode: the envelope WeChat posts for ``xml``; adds encrypt_type and msg_signature to ``query``."""
    encrypted = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
    encrypt = xmltodict.parse(encrypted)["xml"]["Encrypt"]
    query.update(encrypt_type="aes", msg_signature=signature(token, query["timestamp"], query["nonce"], encrypt))
    return ENVELOPE_TEMPLATE.format(account=account, encrypt=encrypt)


def new_aes_key() -> str:
    """A 43-character EncodingAESKey, as the WeChat console generates."""
    return base64.b64encode(os.urandom(32)).decode("ascii").rstrip("=")


def answer_times(sends: Iterable[Dict[str, Any]], users: Iterable[str]) -> Dict[str, List[float]]:
    """Arrival times of the customer-service texts to each of ``users``, oldest first."""
    wanted = set(users)
    times: Dict[str, List[float]] = {}
    for send in sends:
        if send["touser"] in wanted:
            times.setdefault(send["touser"], []).append(send["received_at"])
    return {user: sorted(values) for user, values in times.items()}


def cpu_seconds(stat_line: str, ticks_per_second: float) -> float:
    """User + system CPU seconds from a /proc/<pid>/stat line."""
    fields = stat_line.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def parent_pid(stat_line: str) -> int:
    """The parent's pid from a /proc/<pid>/stat line."""
    return int(stat_line.rsplit(")", 1)[1].split()[1])


def tree_cpu_seconds(pid: int, ticks_per_second: float) -> float:
    """CPU seconds of a process and its children (Sanic's worker processes are children)."""
    total = cpu_seconds(Path(f"/proc/{pid}/stat").read_text(), ticks_per_second)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "stat").read_text()
            if parent_pid(line) == pid:
                total += cpu_seconds(line, ticks_per_second)
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return total


def evaluate(ack: Dict[str, Any], e2e: Dict[str, Any], rest: Dict[str, Any]) -> Dict[str, Any]:
    """The summary: latency ratios to the REST channel and each target with its value."""
    p50_ratio, p99_ratio = ratio(e2e.get("e2e_ms_p50"), rest.get("e2e_ms_p50")), \
        ratio(e2e.get("e2e_ms_p99"), rest.get("e2e_ms_p99"))
    checks = {
        "ack_p99_ms": (ack.get("ack_ms_p99"), TARGETS["ack_p99_ms"]),
        "e2e_p50_ms": (e2e.get("e2e_ms_p50"), TARGETS["e2e_p50_ms"]),
        "e2e_p99_ms": (e2e.get("e2e_ms_p99"), TARGETS["e2e_p99_ms"]),
        "ratio_p50": (p50_ratio, TARGETS["ratio_to_rest"]),
        "ratio_p99": (p99_ratio, TARGETS["ratio_to_rest"]),
    }
    targets = {name: {"value": value, "target": limit, "met": value is not None and value <= limit}
               for name, (value, limit) in checks.items()}
    # Answers lost are a miss whatever the latencies say.
    complete = all(phase.get("answered") == phase.get("sent") for phase in (ack, e2e, rest))
    return {
        "wechat_e2e_ms_p50": e2e.get("e2e_ms_p50"), "rest_e2e_ms_p50": rest.get("e2e_ms_p50"),
        "wechat_e2e_ms_p99": e2e.get("e2e_ms_p99"), "rest_e2e_ms_p99": rest.get("e2e_ms_p99"),
        "ratio_e2e_p50": p50_ratio, "ratio_e2e_p99": p99_ratio,
        "rates": {"ack": ack.get("rate_per_s"), "e2e": e2e.get("rate_per_s")},
        "all_answered": complete,
        "targets": targets,
        "targets_met": complete and all(check["met"] for check in targets.values()),
    }


# ---- the load ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One message sent: when, how the webhook answered and how long that took."""

    user: str
    sent_at: float  # wall clock (time.time), comparable with the fake's received_at
    seconds: Optional[float] = None  # HTTP response time; None on an error
    status: Optional[int] = None
    body: str = ""
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


async def open_loop(rate: float, count: int, send: Callable[[int], Awaitable[Outcome]]):
    """Start send(i) at start + i / rate, never waiting for earlier sends; (outcomes, lags in ms)."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks, lags = [], []
    for index, offset in enumerate(send_offsets(rate, count)):
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, loop.time() - due) * 1000)
        tasks.append(asyncio.ensure_future(send(index)))
    return list(await asyncio.gather(*tasks)), lags


async def timed_post(session: aiohttp.ClientSession, user: str, url: str, **request: Any) -> Outcome:
    outcome = Outcome(user, time.time())
    started = time.perf_counter()
    try:
        async with session.post(url, **request) as response:
            outcome.body = await response.text()
            outcome.status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome
    outcome.seconds = time.perf_counter() - started
    if outcome.status != 200:
        outcome.error = f"HTTP {outcome.status}"
    return outcome


class WeChatPusher:
    """Builds and posts signed text pushes for the Official Account webhook."""

    def __init__(self, url: str, token: str, aes_key: Optional[str]) -> None:
        self.url, self.token = url, token
        self.crypto = WeChatCrypto(token, aes_key, APPID) if aes_key else None

    async def push(self, session: aiohttp.ClientSession, openid: str, content: str, msg_id: int) -> Outcome:
        timestamp, nonce = str(int(time.time())), str(random.randint(10**8, 10**10))
        query = signed_query(self.token, timestamp, nonce, openid)
        body = text_message_xml(openid, content, msg_id, int(timestamp))
        if self.crypto is not None:
            body = encrypted_push(self.crypto, self.token, body, query)
        return await timed_post(session, openid, self.url, params=query, data=body.encode("utf-8"),
                                headers={"Content-Type": "text/xml; charset=utf-8"})


def new_session() -> aiohttp.ClientSession:
    # No connection limit: a slow server must not hold the next message back.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                 timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))


# ---- the servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Servers:
    """The fake WeChat API (in process), the action server and the Rasa server (subprocesses)."""

    def __init__(self, work: Path, model: Path, args: argparse.Namespace) -> None:
        self.work, self.model, self.args = work, model, args
        self.token = uuid.uuid4().hex
        self.appsecret = uuid.uuid4().hex
        self.aes_key = new_aes_key() if args.safe else None
        self.fake = FakeWeChatServer(appid=APPID, appsecret=self.appsecret)
        self.action_port, self.rasa_port = free_port(), free_port()
        self.log_path = Path(args.log) if args.log else work / "servers.log"
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.actions: Optional[subprocess.Popen] = None
        self.rasa: Optional[subprocess.Popen] = None
        self.gateway: Optional[subprocess.Popen] = None
        self.gateway_port = free_port() if args.gateway else None
        self.gateway_secret = uuid.uuid4().hex * 2

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def wechat_base(self) -> str:
        """Where WeChat pushes go: the gateway when there is one, else Rasa."""
        return f"http://127.0.0.1:{self.gateway_port}" if self.gateway_port else self.base

    def start(self, reply_budget: Optional[str] = CUSTOMER_SERVICE_BUDGET) -> None:
        self.fake.start()
        self._write_config()
        self.actions = subprocess.Popen(
            [str(BIN / "rasa"), "run", "actions", "--port", str(self.action_port), "--actions", "actions",
             "--logging-config-file", "config/logging.yml"],
            cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=self._env(reply_budget))
        self.start_rasa(reply_budget)
        self._wait_until_up(f"http://127.0.0.1:{self.action_port}/health")

    def start_rasa(self, reply_budget: Optional[str]) -> None:
        self.rasa = subprocess.Popen(
            [str(BIN / "rasa"), "run", "--port", str(self.rasa_port), "--model", str(self.model),
             "--endpoints", str(self.work / "endpoints.yml"), "--credentials", str(self.work / "credentials.yml"),
             "--logging-config-file", "config/logging.yml"],
            cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=self._env(reply_budget))
        self._wait_until_up(f"{self.base}/webhooks/rest/")
        if self.gateway_port:
            self.gateway = subprocess.Popen(
                [sys.executable, "-m", "bot.channels.gateway", "--host", "127.0.0.1", "--port", str(self.gateway_port),
                 "--upstream", self.base, "--log-level", "WARNING"],
                cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=self._env(reply_budget))
        health = self._wait_until_up(f"{self.wechat_base}/webhooks/wechat/")
        if not health.get("configured"):
            raise RuntimeError(f"the wechat channel is not configured: {health}")

    def restart_rasa(self, reply_budget: Optional[str]) -> None:
        _stop(self.gateway)
        _stop(self.rasa)
        self.gateway = None  # stopped on purpose: not "a server exited early"
        self.rasa_port = free_port()
        self.start_rasa(reply_budget)

    def stop(self) -> None:
        try:
            for process in (self.gateway, self.rasa, self.actions):
                _stop(process)
            self.fake.stop()
        finally:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu(self) -> Dict[str, float]:
        """CPU seconds used so far by the Rasa server, the action server and the gateway."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for name, process in (("rasa", self.rasa), ("actions", self.actions), ("gateway", self.gateway)):
            try:
                used[name] = tree_cpu_seconds(process.pid, ticks)
            except (OSError, AttributeError, IndexError, ValueError):
                used[name] = 0.0
        return used

    def _write_config(self) -> None:
        # Rasa expands ${VAR} from the environment; the secrets never touch the disk.
        (self.work / "credentials.yml").write_text(
            "rest:\n"
            "bot.channels.wechat_oa.WeChatOfficialAccountInput:\n"
            "  token: ${WECHAT_TOKEN}\n  appid: ${WECHAT_APPID}\n"
            "  appsecret: ${WECHAT_APPSECRET}\n  aes_key: ${WECHAT_AES_KEY}\n", encoding="utf-8")
        endpoints = f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
        if self.args.workers > 1:
            endpoints += shared_stores(self.args.redis)  # several workers share conversations and locks
        elif not self.args.no_broker:
            endpoints += ("event_broker:\n  type: bot.privacy.broker.MaskingEventBroker\n"
                          f"  inner:\n    type: sql\n    dialect: sqlite\n    db: {self.work / 'events.db'}\n")
        (self.work / "endpoints.yml").write_text(endpoints, encoding="utf-8")

    def _env(self, reply_budget: Optional[str]) -> Dict[str, str]:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{self.work / 'ipr.db'}", RASA_TELEMETRY_ENABLED="false",
                   WECHAT_TOKEN=self.token, WECHAT_APPID=APPID, WECHAT_APPSECRET=self.appsecret,
                   WECHAT_AES_KEY=self.aes_key or "", WECHAT_API_BASE=self.fake.url,
                   REDIS_URL=self.args.redis or "", PYTHONWARNINGS="ignore", SANIC_WORKERS=str(self.args.workers),
                   WECHAT_GATEWAY_SECRET=self.gateway_secret if self.gateway_port else "")
        env.pop("WECHAT_REPLY_BUDGET", None)
        if reply_budget is not None:
            env["WECHAT_REPLY_BUDGET"] = reply_budget
        return env

    def _wait_until_up(self, url: str) -> Dict[str, Any]:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            for process in (self.actions, self.rasa, self.gateway):
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"a server exited early with code {process.returncode}")
            try:
                response = requests.get(url, timeout=2)
                if response.ok:
                    return response.json() if "json" in response.headers.get("content-type", "") else {}
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError(f"{url} did not come up in {STARTUP_SECONDS:g} s")


def _stop(process: Optional[subprocess.Popen]) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# ---- the phases --------------------------------------------------------------------------------


class Bench:
    def __init__(self, servers: Servers, texts: List[str], args: argparse.Namespace) -> None:
        self.servers, self.texts, self.args = servers, texts, args
        self.tag = uuid.uuid4().hex[:6]
        self.phase_no = 0

    def pusher(self) -> WeChatPusher:
        return WeChatPusher(f"{self.servers.wechat_base}/webhooks/wechat/webhook", self.servers.token,
                            self.servers.aes_key)

    def warm_up(self) -> None:
        """A few messages through both channels, one at a time (model, token, connections)."""
        async def run() -> List[Outcome]:
            async with new_session() as session:
                outcomes = []
                for index in range(WARMUP_MESSAGES):
                    text = self.texts[-1 - index]
                    outcomes.append(await self.pusher().push(session, bench_openid(self.tag, 99, index), text,
                                                             bench_msg_id(99, index)))
                    outcomes.append(await timed_post(session, f"warm-{self.tag}-{index}",
                                                     f"{self.servers.base}/webhooks/rest/webhook",
                                                     json={"sender": f"warm-{self.tag}-{index}", "message": text}))
                return outcomes
        outcomes = asyncio.run(run())
        failed = [outcome for outcome in outcomes if not outcome.ok]
        if failed:
            raise RuntimeError(f"warm-up failed: {failed[0].error} {failed[0].body[:200]}")
        users = [outcome.user for outcome in outcomes[::2] if outcome.body == "success"]
        self.wait_for_answers(users, timeout=120.0)

    def wechat_phase(self, name: str, rate: float, passive: bool = False) -> Dict[str, Any]:
        self.phase_no += 1
        count, phase_no, pusher = planned_count(rate, self.args.duration), self.phase_no, self.pusher()

        async def run():
            async with new_session() as session:
                return await open_loop(rate, count, lambda index: pusher.push(
                    session, bench_openid(self.tag, phase_no, index), self.texts[index % len(self.texts)],
                    bench_msg_id(phase_no, index)))

        cpu_before, wall_before = self.servers.cpu(), time.time()
        outcomes, lags = asyncio.run(run())
        acked = [outcome for outcome in outcomes if outcome.ok]
        # A passive reply carries the answer; "success" means it follows by the customer-service API.
        passive_replies = [outcome for outcome in acked if outcome.body.strip() != "success"]
        later = [outcome.user for outcome in acked if outcome.body.strip() == "success"]
        # The next phase starts once this one's answers are in (a backlog would slow it down).
        arrivals = self.wait_for_answers(later, timeout=max(120.0, self.args.duration * 4, len(later) * 0.5))
        done_at = {outcome.user: outcome.sent_at + outcome.seconds for outcome in passive_replies}
        e2e_ms, first_ms = [], []
        sent_at = {outcome.user: outcome.sent_at for outcome in outcomes}
        for user, times in arrivals.items():
            e2e_ms.append((times[-1] - sent_at[user]) * 1000)
            first_ms.append((times[0] - sent_at[user]) * 1000)
            done_at[user] = times[-1]
        e2e_ms += [outcome.seconds * 1000 for outcome in passive_replies]
        first_ms += [outcome.seconds * 1000 for outcome in passive_replies]
        result = {
            "phase": name, "channel": "wechat", "mode": "safe" if self.servers.aes_key else "plain",
            "reply": "passive (4 s budget)" if passive else "customer-service API (1 ms budget)",
            **self._load_figures(rate, outcomes, lags),
            "acked": len(acked), "errors": len(outcomes) - len(acked),
            **latency_stats("ack_ms", [outcome.seconds * 1000 for outcome in acked]),
            "passive_replies": len(passive_replies),
            "answered": len(done_at), "unanswered": len(acked) - len(done_at),
            **latency_stats("e2e_ms", e2e_ms),
            **latency_stats("first_text_ms", first_ms),
            "throughput_per_s": rate_per_s(len(done_at), min(sent_at.values()), max(done_at.values(), default=0)),
            **self._cpu_figures(cpu_before, wall_before),
        }
        result["first_error"] = next((outcome.error for outcome in outcomes if not outcome.ok), None)
        return result

    def rest_phase(self, rate: float) -> Dict[str, Any]:
        self.phase_no += 1
        count, url = planned_count(rate, self.args.duration), f"{self.servers.base}/webhooks/rest/webhook"

        async def run():
            async with new_session() as session:
                def send(index: int) -> Awaitable[Outcome]:
                    sender = f"rest-{self.tag}-{index}"
                    return timed_post(session, sender, url, json={"sender": sender,
                                                                  "message": self.texts[index % len(self.texts)]})
                return await open_loop(rate, count, send)

        cpu_before, wall_before = self.servers.cpu(), time.time()
        outcomes, lags = asyncio.run(run())
        answered = [outcome for outcome in outcomes if outcome.ok and _has_messages(outcome.body)]
        e2e_ms = [outcome.seconds * 1000 for outcome in answered]
        ends = [outcome.sent_at + outcome.seconds for outcome in answered]
        return {
            "phase": "rest", "channel": "rest", **self._load_figures(rate, outcomes, lags),
            "answered": len(answered), "errors": len(outcomes) - len(answered),
            **latency_stats("e2e_ms", e2e_ms),
            "throughput_per_s": rate_per_s(len(answered), min(o.sent_at for o in outcomes), max(ends, default=0)),
            **self._cpu_figures(cpu_before, wall_before),
            "first_error": next((outcome.error or f"no messages: {outcome.body[:200]}" for outcome in outcomes
                                 if not (outcome.ok and _has_messages(outcome.body))), None),
        }

    def wait_for_answers(self, users: List[str], timeout: float) -> Dict[str, List[float]]:
        """Customer-service texts to ``users``: once each has one and none came for QUIET_SECONDS,
        or none came for STALL_SECONDS, or at ``timeout``."""
        deadline, last_count, last_change = time.monotonic() + timeout, -1, time.monotonic()
        while True:
            arrivals = answer_times(self.servers.fake.fake.sent(), users)
            count, now = sum(len(times) for times in arrivals.values()), time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            quiet = now - last_change
            if (len(arrivals) == len(users) and quiet >= QUIET_SECONDS) or quiet >= STALL_SECONDS or now > deadline:
                return arrivals
            time.sleep(0.25)

    def _load_figures(self, rate: float, outcomes: List[Outcome], lags: List[float]) -> Dict[str, Any]:
        sent = [outcome.sent_at for outcome in outcomes]
        return {"rate_per_s": rate, "duration_s": self.args.duration, "sent": len(outcomes),
                "offered_per_s": rate_per_s(len(sent) - 1, min(sent), max(sent)) if len(sent) > 1 else None,
                "send_lag_ms_p99": round(percentile(lags, 99), 1)}

    def _cpu_figures(self, before: Dict[str, float], wall_before: float) -> Dict[str, Any]:
        after, wall = self.servers.cpu(), time.time() - wall_before
        return {f"{name}_cpu_pct": round((after[name] - before[name]) / wall * 100, 1) for name in after}


def _has_messages(body: str) -> bool:
    try:
        return bool(json.loads(body))
    except ValueError:
        return False


def run_bench(args: argparse.Namespace, emit: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    texts = [record["text"] for record in read_records(args.data, required=("text",))]
    if not texts:
        raise InputFileError(f"{args.data}: no texts to send")
    model = latest_model_path(args.models).resolve()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ipr-wechat-bench-") as tmp:
        servers = Servers(Path(tmp), model, args)
        try:
            started = time.monotonic()
            servers.start()
            startup_s = round(time.monotonic() - started, 1)
            bench = Bench(servers, texts, args)
            bench.warm_up()
            phases = {}
            for name, rate in (("wechat_ack", args.rate_ack), ("wechat_e2e", args.rate_e2e)):
                phases[name] = bench.wechat_phase(name, rate)
                emit(phases[name])
                time.sleep(PAUSE_SECONDS)
            phases["rest"] = bench.rest_phase(args.rate_e2e)
            emit(phases["rest"])
            if args.passive:
                time.sleep(PAUSE_SECONDS)
                servers.restart_rasa(reply_budget=None)
                bench.warm_up()
                emit(bench.wechat_phase("wechat_passive", args.rate_e2e, passive=True))
        except BaseException:
            tail = servers.log_tail()
            if tail:
                print(f"--- last lines of the servers' log ---\n{tail}", file=sys.stderr)
            raise
        finally:
            servers.stop()
    summary = {"summary": True, "model": model.name, "cpus": os.cpu_count(), "workers": args.workers,
               "gateway": bool(args.gateway), "startup_s": startup_s,
               "loadavg_start": [round(value, 2) for value in load_start],
               "loadavg_end": [round(value, 2) for value in os.getloadavg()],
               **evaluate(phases["wechat_ack"], phases["wechat_e2e"], phases["rest"])}
    emit(summary)
    return summary


def _terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the servers are stopped in ``finally``."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, handler)


def main_wechat(args: argparse.Namespace) -> int:
    _terminate_on_sigterm()

    def emit(record: Dict[str, Any]) -> None:
        print(json.dumps(record, ensure_ascii=False), flush=True)

    if args.workers > 1 and not args.redis:
        print("error: --workers above 1 needs --redis URL (the workers share their stores there)", file=sys.stderr)
        return 2
    try:
        run_bench(args, emit)
    except (InputFileError, ModelNotFound, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.wechat.bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main_wechat(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
