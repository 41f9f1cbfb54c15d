"""One HTTP call to the WeChat API and its answer as a dict, or a typed error.

Every failure becomes a WeChatApiError: errcode -1 with a clear message when there is no usable
answer (network error, timeout, HTTP error status, not JSON), WeChat's own errcode otherwise, and
OutsideWindow for the 48-hour window codes. Secrets in URLs (secret, access_token, js_code) never
reach an error message.
"""

import asyncio
import json
import re
from typing import Any, Dict, Optional, Tuple

import aiohttp
import requests
from wechatpy.constants import WeChatErrorCode

from bot.wechat.errors import NETWORK_ERRCODE, OutsideWindow, WeChatApiError

# Connect slightly above a multiple of 3 s (TCP's retransmission step), read generously: the API
# is called from background tasks, never while WeChat waits for a passive reply.
TIMEOUT: Tuple[float, float] = (3.05, 10.0)
OUTSIDE_WINDOW_CODES = frozenset({
    WeChatErrorCode.OUT_OF_RESPONSE_TIME_LIMIT.value,  # 45015: the user last wrote over 48 h ago
    WeChatErrorCode.OUT_OF_RESPONSE_COUNT_LIMIT.value,  # 45047: the replies allowed are used up
})
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")
_SECRET_PARAMS = re.compile(r"((?:secret|access_token|js_code)=)[^&\s'\"]+")


def call(session: requests.Session, method: str, url: str, *, params: Optional[Dict[str, str]] = None,
         body: Optional[Dict[str, Any]] = None, timeout: Tuple[float, float] = TIMEOUT) -> Dict[str, Any]:
    path = url.split("?", 1)[0]
    data, headers = _encode(body)
    try:
        response = session.request(method, url, params=params, data=data, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise _timed_out(method, path, timeout) from None
    except requests.RequestException as exc:
        raise _unreachable(method, path, exc) from None
    return _result(method, path, response.status_code, response.content)


async def call_async(session: aiohttp.ClientSession, method: str, url: str, *,
                     params: Optional[Dict[str, str]] = None, body: Optional[Dict[str, Any]] = None,
                     timeout: Tuple[float, float] = TIMEOUT) -> Dict[str, Any]:
    """``call`` on the running event loop (aiohttp), with the same answers and errors."""
    path = url.split("?", 1)[0]
    data, headers = _encode(body)
    limits = aiohttp.ClientTimeout(connect=timeout[0], sock_read=timeout[1])
    try:
        async with session.request(method, url, params=params, data=data, headers=headers, timeout=limits) as answer:
            return _result(method, path, answer.status, await answer.read())
    except asyncio.TimeoutError:
        raise _timed_out(method, path, timeout) from None
    except aiohttp.ClientError as exc:
        raise _unreachable(method, path, exc) from None


def _encode(body: Optional[Dict[str, Any]]) -> Tuple[Optional[bytes], Optional[Dict[str, str]]]:
    if body is None:
        return None, None
    # UTF-8 as is: WeChat shows \uXXXX escapes literally if the JSON is ASCII-escaped.
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"}


def _timed_out(method: str, path: str, timeout: Tuple[float, float]) -> WeChatApiError:
    return WeChatApiError(NETWORK_ERRCODE, f"{method} {path}: no answer within {timeout[0]:g}+{timeout[1]:g} s")


def _unreachable(method: str, path: str, exc: Exception) -> WeChatApiError:
    return WeChatApiError(NETWORK_ERRCODE, f"{method} {path}: cannot reach the WeChat API ({_reason(exc)})")


def redact(value: Any) -> str:
    """``str(value)`` with secret, access_token and js_code values masked."""
    return _SECRET_PARAMS.sub(r"\1***", str(value))


def _reason(exc: Exception) -> str:
    """The operating system's words ("[Errno 111] Connection refused") rather than urllib3's
    nested reprs; the exception's class otherwise."""
    found = _ERRNO.search(str(exc))
    return found.group(0).strip() if found else f"{exc.__class__.__name__}: {redact(exc)}"


def _result(method: str, path: str, status: int, content: bytes) -> Dict[str, Any]:
    if status != 200:
        raise WeChatApiError(NETWORK_ERRCODE, f"{method} {path}: HTTP {status}")
    try:
        result = json.loads(content.decode("utf-8"))
    except ValueError:
        raise WeChatApiError(NETWORK_ERRCODE, f"{method} {path}: the answer is not JSON") from None
    if not isinstance(result, dict):
        raise WeChatApiError(NETWORK_ERRCODE, f"{method} {path}: the answer is not a JSON object")
    errcode = _errcode(result.get("errcode", 0))
    if errcode == 0:
        return result
    errmsg = str(result.get("errmsg") or "no errmsg")
    if errcode in OUTSIDE_WINDOW_CODES:
        raise OutsideWindow(errcode, errmsg)
    raise WeChatApiError(errcode, errmsg)


def _errcode(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return NETWORK_ERRCODE
