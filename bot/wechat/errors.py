"""Typed errors of the WeChat core; every message is one line a person can act on.

    WeChatError          base class
    WeChatConfigError    a setting is missing or invalid (the message names the variable)
    WeChatStoreError     the shared key/value store (Redis) cannot be reached
    InvalidMessage       a pushed message lacks the fields that identify it
    WeChatApiError       the WeChat API refused a call (``errcode``, ``errmsg``); errcode -1 when
                         there was no usable answer at all (network error, timeout, not JSON)
    OutsideWindow        45015 / 45047: the 48-hour customer-service window is closed
"""

NETWORK_ERRCODE = -1


class WeChatError(Exception):
    """Base class of the WeChat core's errors."""


class WeChatConfigError(WeChatError):
    """A WeChat setting is missing or invalid."""


class WeChatStoreError(WeChatError):
    """The shared key/value store failed (e.g. Redis is down)."""


class InvalidMessage(WeChatError, ValueError):
    """A message from WeChat cannot be identified (no FromUserName, MsgId, ...)."""


class WeChatApiError(WeChatError):
    """The WeChat API answered with a non-zero errcode, or could not be reached (errcode -1)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat API error {errcode}: {errmsg}")


class OutsideWindow(WeChatApiError):
    """The user has not written within 48 hours (45015) or the reply quota is spent (45047)."""
