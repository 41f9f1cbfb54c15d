"""De-duplication of WeChat's retries.

WeChat re-sends a message it got no answer to within 5 seconds, up to 3 times, possibly to
another process. The first delivery claims the message's key (SET NX in the shared store) and
runs the conversation; a retry finds the key taken and waits for the first delivery's reply,
which that delivery hands over with ``remember_reply``. The conversation never runs twice.
"""

import asyncio
import time
from typing import Any, Mapping, Optional

from bot.wechat.errors import InvalidMessage, WeChatConfigError
from bot.wechat.settings import MIN_DEDUPE_TTL
from bot.wechat.stores import KeyValue

POLL_INTERVAL = 0.05
_CLAIMED = "1"


class Deduper:
    def __init__(self, kv: KeyValue, ttl: float = 120, namespace: str = "wechat",
                 poll_interval: float = POLL_INTERVAL) -> None:
        if ttl < MIN_DEDUPE_TTL:
            raise WeChatConfigError(f"de-duplication TTL must be at least {MIN_DEDUPE_TTL} s, got {ttl:g}")
        self.kv, self.ttl = kv, ttl
        self.namespace = namespace
        self.poll_interval = min(poll_interval, POLL_INTERVAL)

    def claim(self, key: str) -> bool:
        """True for the first delivery of a message; False for every retry within the TTL."""
        return self.kv.set_if_absent(self._claim_key(key), _CLAIMED, self.ttl)

    def remember_reply(self, key: str, reply: str) -> None:
        """Hand the first delivery's reply (the passive reply body, or "success") to retries."""
        self.kv.set(self._reply_key(key), reply, self.ttl)

    def reply(self, key: str) -> Optional[str]:
        """The remembered reply, if there is one yet."""
        return self.kv.get(self._reply_key(key))

    async def wait_reply(self, key: str, timeout: float) -> Optional[str]:
        """The first delivery's reply once it is remembered, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.reply(key)
            if reply is not None:
                return reply
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            await asyncio.sleep(min(self.poll_interval, left))

    def _claim_key(self, key: str) -> str:
        return f"{self.namespace}:dedupe:claim:{key}"

    def _reply_key(self, key: str) -> str:
        return f"{self.namespace}:dedupe:reply:{key}"


def message_key(msg: Any) -> str:
    """``msg:<FromUserName>:<MsgId>`` for messages, ``event:<FromUserName>:<CreateTime>:<Event>``
    for events (they carry no MsgId). MsgId is keyed together with the sender because MsgIds have
    collided across users in practice.

    ``msg`` is the dict WeChat sent (the mini-program's JSON, or parsed XML) or a message from
    ``wechatpy.parse_message``; for the latter its raw fields are read, because wechatpy gives
    events of types it does not know no ``event`` attribute and every message without a MsgId the
    id 0 (a retry parses the same, so its key is the same).
    """
    raw = msg if isinstance(msg, Mapping) else getattr(msg, "_data", None)
    if not isinstance(raw, Mapping):
        raise InvalidMessage(f"cannot identify a {type(msg).__name__}: expected a dict or a wechatpy message")
    sender = _field(raw, "FromUserName")
    if str(raw.get("MsgType", "")).lower() == "event":
        return f"event:{sender}:{_field(raw, 'CreateTime')}:{_field(raw, 'Event')}"
    return f"msg:{sender}:{_field(raw, 'MsgId')}"


def _field(raw: Mapping, name: str) -> str:
    value = str(raw.get(name) or "").strip()
    if not value:
        raise InvalidMessage(f"message has no {name}")
    return value
