"""A fake WeChat API on loopback for tests, the benchmark and ``make run``.

    GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=    issues access tokens
    POST /cgi-bin/message/custom/send?access_token=                      records customer-service messages
    GET  /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code

It behaves like WeChat where the channels depend on it: answers are HTTP 200 with an errcode;
a newer token invalidates older ones after a grace period (5 minutes at WeChat); tokens expire
after ``expires_in``; a login code works once; text over 2048 bytes is refused (45002). Tests can
make the next calls fail with any errcode (``fail_next``), close a user's window (45015) or slow
every answer down (``delay``).

In process: ``FakeWeChatServer(...).start()`` serves on a free port on a background thread.
Another process: ``python -m bot.wechat.fake_api --port P --appid A --secret S``, controlled
through ``/_fake/state``, ``/_fake/codes``, ``/_fake/faults``, ``/_fake/windows`` and ``/_fake/reset``.
"""

import argparse
import asyncio
import json
import logging
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from wechatpy.constants import WeChatErrorCode as Code

from bot.intake.serving import ServerThread
from bot.privacy.masking import mask_text

log = logging.getLogger(__name__)

DEFAULT_EXPIRES_IN = 7200
DEFAULT_GRACE = 300.0
TEXT_LIMIT_BYTES = 2048
MAX_BODY_BYTES = 1024 * 1024
ENDPOINTS = ("token", "send", "jscode2session")
ACCESS_TOKEN_MISSING = 41001
DATA_FORMAT_ERROR = 47001


@dataclass
class IssuedToken:
    token: str
    issued_at: float
    expires_at: float


@dataclass
class Fault:
    errcode: int
    errmsg: str
    endpoint: Optional[str]  # one of ENDPOINTS, or None for any
    remaining: int


class FakeWeChat:
    """The fake's state; thread-safe (the server thread writes, tests read)."""

    def __init__(self, appid: str, appsecret: str, expires_in: int = DEFAULT_EXPIRES_IN,
                 grace: float = DEFAULT_GRACE, clock: Callable[[], float] = time.time) -> None:
        self.appid, self.appsecret = appid, appsecret
        self.expires_in, self.grace, self.clock = expires_in, grace, clock
        self.delay = 0.0
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.tokens: List[IssuedToken] = []
            self.sends: List[Dict[str, Any]] = []
            self.calls: List[Dict[str, Any]] = []
            self.codes: Dict[str, Dict[str, str]] = {}
            self.closed_windows: set = set()
            self._faults: List[Fault] = []

    # ---- what tests tell the fake --------------------------------------------------------------

    def add_code(self, code: str, openid: str, session_key: str = "fake-session-key",
                 unionid: Optional[str] = None) -> None:
        session = {"openid": openid, "session_key": session_key}
        if unionid:
            session["unionid"] = unionid
        with self._lock:
            self.codes[code] = session

    def fail_next(self, count: int = 1, errcode: int = Code.INVALID_CREDENTIAL.value,
                  errmsg: Optional[str] = None, endpoint: Optional[str] = None) -> None:
        """The next ``count`` calls (to ``endpoint``, or any) answer ``errcode``."""
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)} or None, got {endpoint!r}")
        with self._lock:
            self._faults.append(Fault(errcode, errmsg or f"injected error {errcode}", endpoint, count))

    def close_window(self, openid: str) -> None:
        """Customer-service messages to ``openid`` answer 45015 until ``open_window``."""
        with self._lock:
            self.closed_windows.add(openid)

    def open_window(self, openid: str) -> None:
        with self._lock:
            self.closed_windows.discard(openid)

    # ---- what tests read -----------------------------------------------------------------------

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return len(self.tokens)

    @property
    def latest_token(self) -> Optional[str]:
        with self._lock:
            return self.tokens[-1].token if self.tokens else None

    def sent(self) -> List[Dict[str, Any]]:
        """A copy of the recorded customer-service messages, oldest first."""
        with self._lock:
            return [dict(send) for send in self.sends]

    def state(self) -> Dict[str, Any]:
        with self._lock:
            return {"tokens_issued": len(self.tokens), "sends": [dict(send) for send in self.sends],
                    "calls": len(self.calls)}

    # ---- the API -------------------------------------------------------------------------------

    def issue_token(self, params: Dict[str, str]) -> Dict[str, Any]:
        with self._lock:
            failure = self._begin("token", params)
            if failure:
                return failure
            if params.get("grant_type") != "client_credential":
                return _error(Code.INVALID_CREDENTIAL_TYPE.value, "invalid grant_type")
            if params.get("appid") != self.appid:
                return _error(Code.INVALID_APP_ID.value, "invalid appid")
            if params.get("secret") != self.appsecret:
                return _error(Code.INVALID_APP_SECRET.value, "invalid appsecret")
            now = self.clock()
            issued = IssuedToken(f"fake-{uuid.uuid4().hex}", now, now + self.expires_in)
            self.tokens.append(issued)
            return {"access_token": issued.token, "expires_in": self.expires_in}

    def custom_send(self, params: Dict[str, str], raw_body: bytes) -> Dict[str, Any]:
        with self._lock:
            failure = self._begin("send", params) or self._token_problem(params.get("access_token"))
            if failure:
                return failure
            try:
                body = json.loads(raw_body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return _error(DATA_FORMAT_ERROR, "data format error: the body is not UTF-8 JSON")
            problem = _send_problem(body)
            if problem:
                return problem
            if body["touser"] in self.closed_windows:
                return _error(Code.OUT_OF_RESPONSE_TIME_LIMIT.value, "response out of time limit")
            content = body["text"]["content"]
            self.sends.append({"touser": body["touser"], "msgtype": body["msgtype"], "content": content,
                               "body": body, "access_token": params.get("access_token"),
                               "received_at": time.time()})
        # Masked: in `make run` this log shows the bot's answers, which may read back a phone number.
        log.info("customer-service message to %s: %s", body["touser"], mask_text(content))
        return _error(0, "ok")

    def jscode2session(self, params: Dict[str, str]) -> Dict[str, Any]:
        with self._lock:
            failure = self._begin("jscode2session", params)
            if failure:
                return failure
            if params.get("appid") != self.appid:
                return _error(Code.INVALID_APP_ID.value, "invalid appid")
            if params.get("secret") != self.appsecret:
                return _error(Code.INVALID_APP_SECRET.value, "invalid appsecret")
            if params.get("grant_type") != "authorization_code":
                return _error(Code.INVALID_CREDENTIAL_TYPE.value, "invalid grant_type")
            session = self.codes.pop(params.get("js_code") or "", None)
            if session is None:
                return _error(Code.INVALID_OAUTH_CODE.value, "invalid code")
            return dict(session)

    def _begin(self, endpoint: str, params: Dict[str, str]) -> Optional[Dict[str, Any]]:
        """Record the call; the injected failure it consumes, if any. Call with the lock held."""
        self.calls.append({"endpoint": endpoint, "received_at": time.time()})
        for fault in self._faults:
            if fault.remaining > 0 and fault.endpoint in (None, endpoint):
                fault.remaining -= 1
                self._faults = [item for item in self._faults if item.remaining > 0]
                return _error(fault.errcode, fault.errmsg)
        return None

    def _token_problem(self, token: Optional[str]) -> Optional[Dict[str, Any]]:
        if not token:
            return _error(ACCESS_TOKEN_MISSING, "access_token missing")
        now = self.clock()
        for index, issued in enumerate(self.tokens):
            if issued.token != token:
                continue
            if now >= issued.expires_at:
                return _error(Code.EXPIRED_ACCESS_TOKEN.value, "access_token expired")
            newer = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
            if newer is not None and now >= newer.issued_at + self.grace:
                return _error(Code.INVALID_CREDENTIAL.value, "invalid credential, access_token is not latest")
            return None
        return _error(Code.INVALID_CREDENTIAL.value, "invalid credential, access_token is invalid")


def _send_problem(body: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(body, dict) or not body.get("touser"):
        return _error(Code.INVALID_OPENID.value, "invalid openid")
    if body.get("msgtype") != "text":
        return _error(Code.INVALID_MESSAGE_TYPE.value, "invalid message type: the fake supports text only")
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    if not isinstance(content, str) or not content:
        return _error(DATA_FORMAT_ERROR, "data format error: text.content is required")
    if len(content.encode("utf-8")) > TEXT_LIMIT_BYTES:
        return _error(Code.OUT_OF_CONTENT_SIZE_LIMIT.value, "content size out of limit")
    return None


def _error(errcode: int, errmsg: str) -> Dict[str, Any]:
    return {"errcode": errcode, "errmsg": errmsg}


class _JsonErrors(ErrorHandler):
    """Sanic's own errors (404, 405, 413) in WeChat's shape; never an HTML page."""

    def default(self, request, exception):
        status = getattr(exception, "status_code", None) if isinstance(exception, SanicException) else None
        if status is None:
            log.error("fake WeChat API failed", exc_info=exception)
        return response.json(_error(-1, str(exception) or "error"), status=status or 500)


def create_app(appid: str, appsecret: str, fake: Optional[FakeWeChat] = None, **options: Any) -> Sanic:
    """The fake's sanic app; its state is ``app.ctx.fake`` (``options`` go to FakeWeChat)."""
    fake = fake or FakeWeChat(appid, appsecret, **options)
    # Sanic registers apps by name per process: each needs its own.
    app = Sanic(f"fake_wechat_{uuid.uuid4().hex[:8]}", error_handler=_JsonErrors(), configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.ACCESS_LOG = False
    app.ctx.fake = fake

    def params(request) -> Dict[str, str]:
        return {key: request.args.get(key) for key in request.args}

    async def answer(result: Dict[str, Any]):
        if fake.delay:
            await asyncio.sleep(fake.delay)
        return response.json(result, ensure_ascii=False)

    @app.get("/cgi-bin/token")
    async def token(request):
        return await answer(fake.issue_token(params(request)))

    @app.post("/cgi-bin/message/custom/send")
    async def custom_send(request):
        return await answer(fake.custom_send(params(request), request.body or b""))

    @app.get("/sns/jscode2session")
    async def jscode2session(request):
        return await answer(fake.jscode2session(params(request)))

    _add_control_routes(app, fake)
    return app


def _add_control_routes(app: Sanic, fake: FakeWeChat) -> None:
    """Telling a fake in another process what to do (loopback only, like the fake itself)."""

    def control(action: Callable[[Dict[str, Any]], None]):
        async def handler(request):
            body = request.json if request.body else {}
            try:
                action(body if isinstance(body, dict) else {})
            except (KeyError, TypeError, ValueError) as exc:
                return response.json({"ok": False, "error": f"bad request: {exc!r}"}, status=400)
            return response.json({"ok": True})
        return handler

    def add_code(body: Dict[str, Any]) -> None:
        fake.add_code(str(body["code"]), str(body["openid"]), str(body.get("session_key") or "fake-session-key"),
                      body.get("unionid"))

    def add_fault(body: Dict[str, Any]) -> None:
        fake.fail_next(int(body.get("count", 1)), int(body["errcode"]), body.get("errmsg"), body.get("endpoint"))

    def set_window(body: Dict[str, Any]) -> None:
        if body.get("open"):
            fake.open_window(str(body["openid"]))
        else:
            fake.close_window(str(body["openid"]))

    async def state(request):
        return response.json(fake.state(), ensure_ascii=False)

    app.add_route(state, "/_fake/state", methods=["GET"], name="fake_state")
    app.add_route(control(add_code), "/_fake/codes", methods=["POST"], name="fake_codes")
    app.add_route(control(add_fault), "/_fake/faults", methods=["POST"], name="fake_faults")
    app.add_route(control(set_window), "/_fake/windows", methods=["POST"], name="fake_windows")
    app.add_route(control(lambda body: fake.reset()), "/_fake/reset", methods=["POST"], name="fake_reset")


class FakeWeChatServer:
    """The fake served on a background thread (port 0: a free port), for sync tests and the
    benchmark. Use as a context manager, or start() and stop()."""

    def __init__(self, appid: str = "wx0000000000fake", appsecret: str = "fake-app-secret",
                 host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.fake = FakeWeChat(appid, appsecret, **options)
        self.app = create_app(appid, appsecret, fake=self.fake)
        self._server = ServerThread(self.app, host, port)

    def start(self, timeout: float = 10.0) -> "FakeWeChatServer":
        self._server.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.stop(timeout)

    @property
    def url(self) -> str:
        """The API base to give WeChatSettings (WECHAT_API_BASE)."""
        return self._server.url

    def __enter__(self) -> "FakeWeChatServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.wechat.fake_api", description="A fake WeChat API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--appid", required=True)
    parser.add_argument("--secret", required=True, help="the AppSecret the fake accepts")
    parser.add_argument("--expires-in", type=int, default=DEFAULT_EXPIRES_IN, help="token lifetime in seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fake-wechat %(message)s")
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"fake WeChat API: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    app = create_app(args.appid, args.secret, expires_in=args.expires_in)
    print(f"fake WeChat API on http://{args.host}:{sock.getsockname()[1]} (appid {args.appid})", flush=True)
    try:
        app.run(sock=sock, access_log=False, workers=1, motd=False)
    finally:
        sock.close()
    return 0


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


if __name__ == "__main__":
    sys.exit(main())
