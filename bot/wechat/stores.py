"""One small key/value store with expiry, shared by de-duplication, the access_token, numbered
choices and the service window: Redis when REDIS_URL is set (shared by every process), else a
dictionary in this process.

Values are strings; every key has a time to live in seconds (fractions allowed). Both stores are
safe to use from several threads. Redis failures surface as WeChatStoreError.
"""

import threading
import time
from typing import Callable, Dict, Optional, Tuple

import redis

from bot.wechat.errors import WeChatStoreError

# Redis on the same host or LAN answers in milliseconds; a store that stalls for seconds must not
# eat the 5 seconds WeChat gives us for a reply.
REDIS_SOCKET_TIMEOUT = 1.0

# Delete a key only if it still holds our value (releasing a lock we may have lost to expiry).
_DELETE_IF_EQUALS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class KeyValue:
    """The interface; see RedisKeyValue and MemoryKeyValue."""

    def get(self, key: str) -> Optional[str]:
        raise NotImplementedError

    def set(self, key: str, value: str, ttl: float) -> None:
        raise NotImplementedError

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Store the value only if the key is absent; True if it was stored (atomic)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def delete_if_equals(self, key: str, value: str) -> bool:
        """Delete the key only if it holds ``value`` (atomic); True if it was deleted."""
        raise NotImplementedError


class RedisKeyValue(KeyValue):
    def __init__(self, client: "redis.Redis") -> None:
        self.client = client
        self._delete_if_equals = client.register_script(_DELETE_IF_EQUALS)

    @classmethod
    def from_url(cls, url: str, timeout: float = REDIS_SOCKET_TIMEOUT) -> "RedisKeyValue":
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return cls(client)

    def get(self, key: str) -> Optional[str]:
        return self._call("GET", self.client.get, key)

    def set(self, key: str, value: str, ttl: float) -> None:
        self._call("SET", self.client.set, key, value, px=_milliseconds(ttl))

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(self._call("SET NX", self.client.set, key, value, px=_milliseconds(ttl), nx=True))

    def delete(self, key: str) -> None:
        self._call("DEL", self.client.delete, key)

    def delete_if_equals(self, key: str, value: str) -> bool:
        return bool(self._call("EVAL", self._delete_if_equals, keys=[key], args=[value]))

    def ttl(self, key: str) -> Optional[float]:
        """Seconds the key has left (None if absent); for tests and diagnostics."""
        left = self._call("PTTL", self.client.pttl, key)
        return None if left is None or left < 0 else left / 1000.0

    @staticmethod
    def _call(operation: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except redis.RedisError as exc:
            raise WeChatStoreError(f"Redis {operation} failed: {exc.__class__.__name__}: {exc}") from None


class MemoryKeyValue(KeyValue):
    """In this process only; ``clock`` (monotonic seconds) can be injected by tests."""

    # Expired keys are dropped when read and, since most de-duplication keys are never read again,
    # by a sweep of the whole dictionary at most this often (seconds).
    SWEEP_INTERVAL = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: Dict[str, Tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + self.SWEEP_INTERVAL

    def get(self, key: str) -> Optional[str]:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl: float) -> None:
        expires_at = self._clock() + _milliseconds(ttl) / 1000.0
        with self._lock:
            self._sweep_if_due()
            self._items[key] = (value, expires_at)

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        expires_at = self._clock() + _milliseconds(ttl) / 1000.0
        with self._lock:
            self._sweep_if_due()
            if self._live(key) is not None:
                return False
            self._items[key] = (value, expires_at)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def delete_if_equals(self, key: str, value: str) -> bool:
        with self._lock:
            if self._live(key) != value:
                return False
            del self._items[key]
            return True

    def ttl(self, key: str) -> Optional[float]:
        with self._lock:
            if self._live(key) is None:
                return None
            return self._items[key][1] - self._clock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _sweep_if_due(self) -> None:
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_INTERVAL
        for key in [key for key, (_, expires_at) in self._items.items() if expires_at <= now]:
            del self._items[key]

    def _live(self, key: str) -> Optional[str]:
        """The value if present and not expired; drops it when expired. Call with the lock held."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._items[key]
            return None
        return item[0]


_shared_memory: Optional[MemoryKeyValue] = None
_shared_lock = threading.Lock()


def make_kv(settings) -> KeyValue:
    """Redis when ``settings.redis_url`` is set, else one in-process store shared by every caller
    in this process (so the Official Account and mini-program channels share tokens and windows
    exactly as they would through Redis)."""
    if settings.redis_url:
        return RedisKeyValue.from_url(settings.redis_url)
    global _shared_memory
    with _shared_lock:
        if _shared_memory is None:
            _shared_memory = MemoryKeyValue()
        return _shared_memory


def _milliseconds(ttl: float) -> int:
    if ttl <= 0:
        raise ValueError(f"ttl must be greater than 0 seconds, got {ttl}")
    return max(1, int(ttl * 1000))
