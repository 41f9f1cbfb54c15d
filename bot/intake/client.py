"""The agency intake API client: the only code that talks to agencies.

Every request is signed (signing.py) and carries explicit connect and read timeouts. This client
never retries by itself: it classifies each failure, and the outbox schedules the next attempt.

    RetryableAgencyError   connection refused/reset, timeouts, 408, 429, 5xx (with Retry-After)
    PermanentAgencyError   any other 4xx, redirects, malformed URLs: straight to dead letters
    ConflictError          409: the agency holds a different body under our Idempotency-Key (a bug)
"""

import json
import re
import threading
from typing import Any, List, Optional, Tuple

import requests

from bot.intake.backoff import parse_retry_after
from bot.intake.endpoints import Endpoint
from bot.intake.outbox import Ack
from bot.intake.settings import DeliverySettings
from bot.intake.signing import signed_headers
from bot.intake.timeutil import utcnow

USER_AGENT = "ipr-assistant-intake/1"
MAX_RESPONSE_BYTES = 1024 * 1024
RETRYABLE_STATUSES = {408, 429}
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")


class AgencyError(Exception):
    """A request to an agency failed; ``status_code`` is the HTTP status if there was an answer."""

    def __init__(self, message: str, status_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableAgencyError(AgencyError):
    def __init__(self, message: str, status_code: Optional[int] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message, status_code)
        self.retry_after = retry_after


class PermanentAgencyError(AgencyError):
    pass


class ConflictError(PermanentAgencyError):
    pass


class AgencyClient:
    def __init__(self, connect_timeout: float, read_timeout: float, max_response_bytes: int = MAX_RESPONSE_BYTES):
        self.timeout: Tuple[float, float] = (connect_timeout, read_timeout)
        self.max_response_bytes = max_response_bytes
        self._local = threading.local()
        self._sessions: List[requests.Session] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> "AgencyClient":
        return cls(settings.connect_timeout, settings.read_timeout)

    def submit(self, endpoint: Endpoint, idempotency_key: str, body: bytes) -> Ack:
        """POST {url}/requests; the agency's acknowledgement, or an AgencyError saying what to do next."""
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_key}
        status, payload, response_headers = self._call("POST", endpoint, endpoint.requests_url, body, headers)
        if 200 <= status < 300:
            return _acknowledgement(status, payload)
        raise _failure(status, payload, response_headers, idempotency_key)

    def fetch_request(self, endpoint: Endpoint, service_request_id: str) -> dict:
        """GET {url}/requests/{id}: the agency's view of one request."""
        url = f"{endpoint.url}/requests/{requests.utils.quote(service_request_id, safe='')}"
        status, payload, headers = self._call("GET", endpoint, url, b"", {})
        if status != 200:
            raise _failure(status, payload, headers, None)
        if not isinstance(payload, list) or not payload or not isinstance(payload[0], dict):
            raise PermanentAgencyError(f"GET {url}: the answer is not a list of requests", status)
        return payload[0]

    def fetch_services(self, endpoint: Endpoint) -> list:
        """GET {url}/services: the agency's service catalogue."""
        status, payload, headers = self._call("GET", endpoint, f"{endpoint.url}/services", b"", {})
        if status != 200 or not isinstance(payload, list):
            raise _failure(status, payload, headers, None)
        return payload

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _call(self, method: str, endpoint: Endpoint, url: str, body: bytes, headers: dict):
        headers = dict(headers, **signed_headers(endpoint.secret, body))
        try:
            response = self._session().request(
                method, url, data=body or None, headers=headers, timeout=self.timeout,
                allow_redirects=False, stream=True,
            )
        except requests.exceptions.ConnectTimeout:
            raise RetryableAgencyError(f"{method} {url}: no connection within {self.timeout[0]:g} s") from None
        except requests.exceptions.ReadTimeout:
            raise RetryableAgencyError(f"{method} {url}: no answer within {self.timeout[1]:g} s") from None
        except requests.exceptions.ConnectionError as exc:
            raise RetryableAgencyError(f"{method} {url}: cannot connect: {_root_cause(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise PermanentAgencyError(f"{method} {url}: {exc}") from None
        with response:
            try:
                content = self._read(response)
            except requests.exceptions.RequestException as exc:
                raise RetryableAgencyError(f"{method} {url}: answer cut off: {_root_cause(exc)}") from None
        return response.status_code, _json_or_text(content), response.headers

    def _read(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_response_bytes:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def _acknowledgement(status: int, payload: Any) -> Ack:
    first = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], dict) else {}
    service_request_id = first.get("service_request_id")
    token = first.get("token")
    if not (isinstance(service_request_id, str) and service_request_id) and not (isinstance(token, str) and token):
        raise RetryableAgencyError(f"agency answered {status} without a service_request_id or token", status)
    return Ack(service_request_id=service_request_id or None, token=token or None, http_status=status)


def _failure(status: int, payload: Any, headers, idempotency_key: Optional[str]) -> AgencyError:
    description = _description(payload)
    if status == 409:
        return ConflictError(
            f"409 Conflict: the agency holds a different body under Idempotency-Key {idempotency_key} "
            f"(a bug on our side; never retried): {description}", status,
        )
    if status in RETRYABLE_STATUSES or status >= 500 or status < 200:
        retry_after = parse_retry_after(headers.get("Retry-After"), utcnow())
        return RetryableAgencyError(f"agency answered {status}: {description}", status, retry_after)
    if 300 <= status < 400:
        location = headers.get("Location", "?")
        return PermanentAgencyError(f"agency answered {status} redirecting to {location}: check its url", status)
    return PermanentAgencyError(f"agency refused the request ({status}): {description}", status)


def _description(payload: Any) -> str:
    """The description from an Open311 error list, else the start of the body."""
    if isinstance(payload, list) and payload and isinstance(payload[0], dict) and payload[0].get("description"):
        return str(payload[0]["description"])[:500]
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return text.strip()[:200] or "(empty body)"


def _json_or_text(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def _root_cause(exc: BaseException) -> str:
    """The OS-level reason inside requests' nested errors, e.g. "[Errno 111] Connection refused"."""
    match = _ERRNO.search(str(exc))
    return match.group(0) if match else type(exc).__name__
