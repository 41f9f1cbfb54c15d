"""The 48-hour customer-service window: WeChat accepts customer-service messages to a user only
within 48 hours of the user's last message (45015 after that). The channel touches the window on
every user message and checks it before sending late answers, rather than spending a request on a
refusal.
"""

import time
from typing import Callable, Optional

from bot.wechat.stores import KeyValue

WINDOW_SECONDS = 48 * 3600


class ServiceWindow:
    def __init__(self, kv: KeyValue, namespace: str = "wechat", clock: Callable[[], float] = time.time,
                 window: float = WINDOW_SECONDS) -> None:
        self.kv, self.namespace, self.clock, self.window = kv, namespace, clock, window

    def touch(self, user: str) -> None:
        """The user wrote just now."""
        self.kv.set(self._key(user), repr(self.clock()), self.window)

    def is_open(self, user: str) -> bool:
        last = self.last_message_at(user)
        return last is not None and self.clock() - last < self.window

    def last_message_at(self, user: str) -> Optional[float]:
        raw = self.kv.get(self._key(user))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None

    def _key(self, user: str) -> str:
        return f"{self.namespace}:window:{user}"
