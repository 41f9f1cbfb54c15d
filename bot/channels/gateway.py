"""The WeChat gateway: a small process in front of the Rasa server(s) that acknowledges pushes fast.

    python -m bot.channels.gateway --upstream http://127.0.0.1:5015 [--host 0.0.0.0] [--port 5005]

Why: Rasa runs the dialogue (NLU, policies) on the same event loop as its webhooks, so under load
a push waits behind other users' dialogues before the channel can even answer "success", and
WeChat retries what is not answered within 5 seconds, adding load. The gateway's loop does no
dialogue work: it checks each push (size, timestamp, signature, decryption, parsing; 403/413/400
as the channel would) and relays it to the Rasa channel with two headers (bot.channels.relay):

- at most WECHAT_GATEWAY_MAX_RELAYS pushes are in Rasa at once (a relayed push counts until its
  dialogue is done), so Rasa's loop never holds more than it can answer promptly; the rest wait
  here, in arrival order;
- when the channels' reply budget is tiny (WECHAT_REPLY_BUDGET < 50 ms) or no relay is free now,
  it answers "success" at once and relays the push (when its turn comes) with a deadline already
  past: the channel answers it by the customer-service API (a push that cannot reach Rasa is tried
  again for about 15 seconds, and logged if it never does);
- otherwise it waits for the channel's answer until the budget (plus a margin for the trip back)
  and passes it on, so passive replies and transfers to customer service work as without it; if
  Rasa cannot be reached it answers 503 and WeChat retries;
- more than max_queued pushes waiting here: 503, and WeChat retries later.

Everything else (URL verification, the mini-program's login and chat, the REST channel, health)
is proxied unchanged. De-duplication stays in the channel (its store is shared by all workers).
Never imports rasa.
"""

import argparse
import asyncio
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Set, Tuple

import aiohttp
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto

from bot.channels import security
from bot.channels.relay import DEADLINE_HEADER, SECRET_HEADER, SECRET_VARIABLE, gateway_secret, relay_headers
from bot.channels.security import Rejected
from bot.intake.errors import IntakeError
from bot.intake.serving import new_app, run_app
from bot.wechat.errors import WeChatConfigError
from bot.wechat.settings import WeChatSettings, configured_settings

log = logging.getLogger(__name__)

SUCCESS = "success"
# The webhooks the gateway answers itself, and whose settings (prefix) check their pushes.
WEBHOOKS = {"/webhooks/wechat/webhook": "WECHAT_", "/webhooks/wechat_mp/webhook": "WECHAT_MP_"}
# A budget this small means "acknowledge at once" (as the benchmark runs): waiting only adds a hop.
MIN_PASSIVE_BUDGET = 0.05
# A passive reply the channel made right at its deadline still has to travel back.
RELAY_GRACE = 0.5
# Enough to keep two Rasa workers busy while a dialogue waits on the action server, few enough that
# dialogues finish in arrival order instead of all slowing down together (bench at 20 msg/s, 2 cores:
# end-to-end p50 123 ms with 4, 578 ms with 16).
DEFAULT_MAX_RELAYS = 4
# Headers that belong to one connection, not to the message, and the relay's own (never taken
# from outside).
_NOT_FORWARDED = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length", SECRET_HEADER.lower(), DEADLINE_HEADER.lower(),
})
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class GatewaySettings:
    upstream: str  # the Rasa server, e.g. http://127.0.0.1:5015
    secret: str = field(repr=False)
    max_relays: int = DEFAULT_MAX_RELAYS  # pushes in Rasa at once; more wait here (and are acknowledged at once)
    max_queued: int = 10_000  # pushes waiting here; more are refused (503) for WeChat to retry
    forward_attempts: int = 8  # for a push Rasa refused the connection for (it never arrived)
    forward_timeout: float = 300.0  # a relayed push, acknowledged or not
    proxy_timeout: float = 60.0  # everything else
    max_body_bytes: int = 1024 * 1024  # proxied requests; pushes have the channel's own limit

    def __post_init__(self) -> None:
        if not self.upstream.startswith(("http://", "https://")):
            raise WeChatConfigError(f"the upstream must be an http:// or https:// URL, got {self.upstream!r}")
        object.__setattr__(self, "upstream", self.upstream.rstrip("/"))
        if self.max_relays < 1:
            raise WeChatConfigError("WECHAT_GATEWAY_MAX_RELAYS must be at least 1")
        if self.forward_attempts < 1:
            raise WeChatConfigError("forward_attempts must be at least 1")

    @classmethod
    def from_env(cls, upstream: str, env: Optional[Mapping[str, str]] = None) -> "GatewaySettings":
        env = os.environ if env is None else env
        secret = gateway_secret(env)
        if secret is None:
            raise WeChatConfigError(f"{SECRET_VARIABLE} is not set: the gateway and the Rasa server must share it")
        raw_limit = (env.get("WECHAT_GATEWAY_MAX_RELAYS") or str(DEFAULT_MAX_RELAYS)).strip()
        if not raw_limit.isdigit():
            raise WeChatConfigError(f"WECHAT_GATEWAY_MAX_RELAYS must be a whole number, got {raw_limit!r}")
        return cls(upstream=upstream, secret=secret, max_relays=int(raw_limit))


@dataclass(frozen=True)
class Upstream:
    """The Rasa server's answer to a relayed request."""

    status: int
    body: bytes
    headers: Tuple[Tuple[str, str], ...]

    def as_response(self) -> HTTPResponse:
        headers = {name: value for name, value in self.headers if name.lower() not in _NOT_FORWARDED}
        content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None)
        return response.raw(self.body, status=self.status, headers=headers, content_type=content_type)


class Gateway:
    def __init__(self, settings: GatewaySettings, channels: Mapping[str, Optional[WeChatSettings]]) -> None:
        self.settings = settings
        self.channels: Dict[str, Tuple[WeChatSettings, Optional[WeChatCrypto]]] = {
            path: (config, WeChatCrypto(config.token, config.aes_key, config.appid) if config.aes_key else None)
            for path, config in channels.items() if config is not None
        }
        self.queued = 0  # acknowledged pushes waiting for a relay
        self.session: Optional[aiohttp.ClientSession] = None
        self.relays: Optional[asyncio.Semaphore] = None
        self._tasks: Set[asyncio.Task] = set()

    async def open(self) -> None:
        self.relays = asyncio.Semaphore(self.settings.max_relays)
        # A new connection per request: Rasa's worker processes share one listening socket, and the
        # one that accepts first is the least busy; a kept-alive connection would pin requests to
        # whichever worker took it. The relays (max_relays) bound the connections.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True),
                                             auto_decompress=False)

    async def close(self, drain: float = 10.0) -> None:
        """Relays in flight get ``drain`` seconds to reach Rasa before the session closes."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=drain)
            if pending:
                log.error("%d acknowledged pushes were still being relayed at shutdown", len(pending))
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: Request) -> HTTPResponse:
        if request.method == "POST" and request.path in self.channels:
            return await self.push(request, *self.channels[request.path])
        return await self.proxy(request)

    async def push(self, request: Request, channel: WeChatSettings, crypto: Optional[WeChatCrypto]) -> HTTPResponse:
        received = time.time()
        try:
            body = security.check_size(request.body, channel.max_body_bytes)
            security.verify_push(channel.token, crypto, security.query_params(request.args), body,
                                 channel.timestamp_window)
        except Rejected as rejected:
            log.info("push refused (%d): %s", rejected.status, rejected.reason)
            return response.text(rejected.reason, status=rejected.status)
        if channel.reply_budget >= MIN_PASSIVE_BUDGET and not self.relays.locked():
            return await self._relay_waiting(request, body, received + channel.reply_budget)
        if self.queued >= self.settings.max_queued:
            log.error("%d pushes are waiting for Rasa already: refusing one (WeChat retries it)", self.queued)
            return response.text("busy; try again later", status=503)
        self._spawn(self._relay_acknowledged(request, body, received))
        return response.text(SUCCESS)

    async def _relay_waiting(self, request: Request, body: bytes, deadline: float) -> HTTPResponse:
        # One attempt: if Rasa is down, a 503 now makes WeChat retry the push.
        task = self._spawn(self._relay(request, body, deadline, attempts=1))
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline + RELAY_GRACE - time.time()))
        if not done:
            # The channel answers by the customer-service API once its own deadline passed.
            return response.text(SUCCESS)
        upstream = task.result()
        if upstream is None:
            return response.text("the assistant is not reachable; try again later", status=503)
        return upstream.as_response()

    async def _relay_acknowledged(self, request: Request, body: bytes, deadline: float) -> None:
        upstream = await self._relay(request, body, deadline, self.settings.forward_attempts, queued=True)
        if upstream is not None and upstream.status != 200:
            log.error("an acknowledged push was refused by the Rasa server (%d): %s", upstream.status,
                      upstream.body[:200].decode("utf-8", "replace"))

    async def _relay(self, request: Request, body: bytes, deadline: float, attempts: int,
                     queued: bool = False) -> Optional[Upstream]:
        """The push to Rasa once a relay is free; ``queued``: counted in ``self.queued`` until then."""
        self.queued += queued
        try:
            await self.relays.acquire()
        finally:
            self.queued -= queued
        try:
            return await self._forward(request, body, deadline, attempts)
        finally:
            self.relays.release()

    async def _forward(self, request: Request, body: bytes, deadline: float, attempts: int) -> Optional[Upstream]:
        headers = {"Content-Type": request.headers.get("content-type", "text/xml"),
                   **relay_headers(self.settings.secret, deadline)}
        timeout = aiohttp.ClientTimeout(total=self.settings.forward_timeout)
        problem: Optional[BaseException] = None
        for attempt in range(attempts):
            try:
                return await self._request("POST", self._url(request), body, headers, timeout)
            except aiohttp.ClientConnectorError as exc:  # it never reached Rasa: safe to try again
                problem = exc
                if attempt + 1 < attempts:
                    await asyncio.sleep(min(0.25 * 2 ** attempt, 4.0))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                log.error("a push was relayed but Rasa gave no answer (%s)", exc.__class__.__name__)
                return None
        log.error("a push could not be relayed, Rasa is unreachable (%s)", problem)
        return None

    async def proxy(self, request: Request) -> HTTPResponse:
        if len(request.body or b"") > self.settings.max_body_bytes:
            return response.text("request body too large", status=413)
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _NOT_FORWARDED}
        timeout = aiohttp.ClientTimeout(total=self.settings.proxy_timeout)
        try:
            upstream = await self._request(request.method, self._url(request), request.body or None, headers, timeout)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("proxied %s %s failed: %s", request.method, request.path, exc.__class__.__name__)
            return response.json({"error": "the assistant is not reachable; try again later"}, status=502)
        return upstream.as_response()

    async def _request(self, method: str, url: str, body: Optional[bytes], headers: Mapping[str, str],
                       timeout: aiohttp.ClientTimeout) -> Upstream:
        async with self.session.request(method, url, data=body, headers=headers, timeout=timeout,
                                        allow_redirects=False) as answer:
            content = await answer.read()
            return Upstream(answer.status, content, tuple(answer.headers.items()))

    def _url(self, request: Request) -> str:
        # The path and query exactly as received: signatures are over the query's values.
        return self.settings.upstream + request.raw_url.decode("latin-1")

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # a task nobody references may be garbage-collected mid-flight
        task.add_done_callback(self._tasks.discard)
        return task


def channel_settings(env: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[WeChatSettings]]:
    """The two webhooks' settings, from the same WECHAT_* / WECHAT_MP_* variables as the channels."""
    return {path: configured_settings(prefix, env=env) for path, prefix in WEBHOOKS.items()}


def create_app(gateway: Gateway) -> Sanic:
    app = new_app("wechat_gateway", gateway.settings.max_body_bytes)

    @app.listener("before_server_start")
    async def open_session(app, loop) -> None:
        await gateway.open()

    @app.listener("after_server_stop")
    async def close_session(app, loop) -> None:
        await gateway.close()

    @app.route("/", methods=_METHODS)
    async def root(request: Request) -> HTTPResponse:
        return await gateway.handle(request)

    @app.route("/<path:path>", methods=_METHODS)
    async def anything(request: Request, path: str) -> HTTPResponse:
        return await gateway.handle(request)

    return app


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.channels.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the Rasa server, e.g. http://127.0.0.1:5015")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    from bot.intake.cli_support import configure_logging

    configure_logging(args.log_level)
    try:
        gateway = Gateway(GatewaySettings.from_env(args.upstream), channel_settings())
        app = create_app(gateway)
        log.info("WeChat gateway on %s:%d in front of %s", args.host, args.port, args.upstream)
        run_app(app, args.host, args.port)
    except (WeChatConfigError, IntakeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
