"""Sanic plumbing shared by the callback server and the reference agency server: JSON error
bodies for every failure (never an HTML page, never a 500), and running an app in the foreground
(the CLI) or on a background thread (tests and the benchmark)."""

import asyncio
import logging
import socket
import threading
import uuid
from typing import Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler

from bot.intake.errors import IntakeError

log = logging.getLogger(__name__)


def json_error(code: int, description: str, headers: Optional[dict] = None):
    """An Open311-style error body: ``[{"code": 400, "description": "..."}]``."""
    return response.json([{"code": code, "description": description}], status=code, headers=headers)


class JsonErrorHandler(ErrorHandler):
    """Sanic's own errors (404, 405, 413, ...) as JSON; anything unexpected as a 503 to retry later."""

    def default(self, request, exception):
        if isinstance(exception, SanicException):
            code = getattr(exception, "status_code", None) or 400
            return json_error(code if code < 500 else 503, str(exception) or "request failed")
        log.error("unexpected error on %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"),
                  exc_info=exception)
        return json_error(503, "temporarily unavailable: try again later")


def new_app(prefix: str, max_body_bytes: int) -> Sanic:
    # Sanic keeps a registry of app names per process: make each one unique.
    app = Sanic(f"{prefix}_{uuid.uuid4().hex[:8]}", error_handler=JsonErrorHandler(), configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max_body_bytes
    app.config.MOTD = False
    app.config.ACCESS_LOG = False
    app.config.KEEP_ALIVE_TIMEOUT = 15
    return app


def run_app(app: Sanic, host: str, port: int) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; IntakeError if the address cannot be bound."""
    sock = bind(host, port)
    try:
        app.run(sock=sock, access_log=False, workers=1)
    finally:
        sock.close()


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise IntakeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class ServerThread:
    """An app served on a background thread's own event loop; ``port=0`` picks a free port."""

    def __init__(self, app: Sanic, host: str = "127.0.0.1", port: int = 0) -> None:
        # Sanic rewrites its request-handling methods at startup (TouchUp); in test mode it keeps the
        # originals, so that several apps can start in one process (tests, the benchmark).
        Sanic.test_mode = True
        self.app, self.host, self.port = app, host, port
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._serve, name=f"serve-{app.name}", daemon=True)

    def start(self, timeout: float = 10.0) -> "ServerThread":
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(f"server {self.app.name} did not start: {self._error}")
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
        future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    async def _close(self, grace: float = 1.0) -> None:
        """Sanic's own shutdown sequence: stop accepting, let idle keep-alive connections go, abort the rest."""
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        connections = self._server.connections
        for connection in list(connections):
            connection.close_if_idle()
        waited = 0.0
        while connections and waited < grace:
            await asyncio.sleep(0.05)
            waited += 0.05
        for connection in list(connections):
            connection.abort()
        await self._server.after_stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            sock = bind(self.host, self.port)  # port 0: the OS picks a free one (Sanic would take 8000)
            self.port = sock.getsockname()[1]
            self._server = loop.run_until_complete(
                self.app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
            )
            loop.run_until_complete(self._server.startup())
            loop.run_until_complete(self._server.before_start())
            loop.run_until_complete(self._server.after_start())
            self._loop = loop
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
