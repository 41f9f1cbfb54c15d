"""The access_token, shared per appid by every process through the key/value store.

WeChat issues a token for 7200 s and fetching a new one invalidates the previous one 5 minutes
later, so processes must not each fetch their own: the token lives in the shared store, a lock key
lets one process refresh at a time while the others poll briefly, and ``refresh(stale)`` only
fetches if the stored token is still the one that was refused (another process may already have
replaced it). Tokens are renewed ``refresh_margin`` seconds (5 minutes) before they expire.
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import requests

from bot.wechat.errors import NETWORK_ERRCODE, WeChatApiError
from bot.wechat.settings import WeChatSettings
from bot.wechat.stores import KeyValue
from bot.wechat.transport import TIMEOUT, call

log = logging.getLogger(__name__)

REFRESH_MARGIN = 300.0
# Longer than one token request may take (connect + read timeout), so a live refresher keeps it.
LOCK_TTL = 15.0
# A little longer than LOCK_TTL: a refresher that died frees its lock before waiters give up.
WAIT_TIMEOUT = 17.0
POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class StoredToken:
    token: str
    expires_at: float  # epoch seconds
    refresh_at: float  # epoch seconds: renew from then on

    def to_json(self) -> str:
        return json.dumps({"token": self.token, "expires_at": self.expires_at, "refresh_at": self.refresh_at})

    @classmethod
    def from_json(cls, raw: Optional[str]) -> Optional["StoredToken"]:
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["token"]), float(data["expires_at"]), float(data["refresh_at"]))
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: treated as absent, so it is replaced


NeedsNew = Callable[[Optional[StoredToken], float], bool]


class AccessTokenProvider:
    def __init__(self, settings: WeChatSettings, kv: KeyValue, session: Optional[requests.Session] = None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 refresh_margin: float = REFRESH_MARGIN, lock_ttl: float = LOCK_TTL,
                 wait_timeout: float = WAIT_TIMEOUT, timeout: Tuple[float, float] = TIMEOUT) -> None:
        self.settings, self.kv = settings, kv
        self.session = session or requests.Session()
        self.clock, self.sleep = clock, sleep
        self.refresh_margin, self.lock_ttl, self.wait_timeout = refresh_margin, lock_ttl, wait_timeout
        self.timeout = timeout
        self.key = f"wechat:token:{settings.appid}"
        self.lock_key = f"{self.key}:lock"

    def get(self) -> str:
        """The shared token; renewed by one process when it is due, fetched if there is none."""
        current = self.stored()
        if current is not None and self.clock() < current.refresh_at:
            return current.token
        return self._renew(lambda token, now: token is None or now >= token.refresh_at, may_use_valid=True)

    def cached(self) -> Optional[str]:
        """The stored token if it is not due for renewal; None otherwise (``get`` then renews).
        One store read, no network: cheap enough for an event loop."""
        current = self.stored()
        return current.token if current is not None and self.clock() < current.refresh_at else None

    def refresh(self, stale: Optional[str] = None) -> str:
        """A token other than ``stale`` (WeChat refused it); fetched only if the store still holds
        ``stale``. Without ``stale``, whatever is stored now is replaced."""
        if stale is None:
            current = self.stored()
            stale = current.token if current else None

        def needs_new(token: Optional[StoredToken], now: float) -> bool:
            return token is None or token.token == stale or now >= token.expires_at

        return self._renew(needs_new, may_use_valid=False)

    def stored(self) -> Optional[StoredToken]:
        return StoredToken.from_json(self.kv.get(self.key))

    def _renew(self, needs_new: NeedsNew, may_use_valid: bool) -> str:
        deadline = time.monotonic() + self.wait_timeout
        owner = uuid.uuid4().hex
        while True:
            current = self.stored()
            if not needs_new(current, self.clock()):
                return current.token
            if self.kv.set_if_absent(self.lock_key, owner, self.lock_ttl):
                try:
                    return self._fetch_if_needed(needs_new)
                finally:
                    self.kv.delete_if_equals(self.lock_key, owner)
            # Another process is refreshing. A token that is due for renewal still works meanwhile.
            if may_use_valid and current is not None and self.clock() < current.expires_at:
                return current.token
            if time.monotonic() >= deadline:
                raise WeChatApiError(
                    NETWORK_ERRCODE,
                    f"gave up after {self.wait_timeout:g} s waiting for another process to refresh the access_token",
                )
            self.sleep(POLL_INTERVAL)

    def _fetch_if_needed(self, needs_new: NeedsNew) -> str:
        # Checked again under the lock: the previous holder may have just stored a new token.
        current = self.stored()
        if not needs_new(current, self.clock()):
            return current.token
        return self._fetch().token

    def _fetch(self) -> StoredToken:
        started = self.clock()
        result = call(self.session, "GET", f"{self.settings.api_base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.settings.appid, "secret": self.settings.appsecret,
        }, timeout=self.timeout)
        token, expires_in = result.get("access_token"), result.get("expires_in")
        if not token or not isinstance(expires_in, (int, float)) or expires_in <= 0:
            raise WeChatApiError(NETWORK_ERRCODE, "GET /cgi-bin/token: the answer has no access_token or expires_in")
        margin = min(self.refresh_margin, expires_in / 2)  # short-lived tokens (tests) still live a while
        stored = StoredToken(str(token), started + expires_in, started + expires_in - margin)
        self.kv.set(self.key, stored.to_json(), expires_in)
        log.info("fetched a new access_token for %s (expires in %s s)", self.settings.appid, expires_in)
        return stored
