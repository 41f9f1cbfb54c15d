"""Status push: an agency's status change reaches the citizen who filed through WeChat.

A customer-service message goes out while the user's 48-hour window is open; otherwise the news
waits in a per-user box the channel empties into its reply to the user's next message. Several
pushers may run (one per Rasa worker): each change is claimed in the shared KeyValue before it is
sent, so a citizen hears it once.
"""

import json
import logging
import time
from dataclasses import dataclass
from typing import Callable, Dict, List

from bot.dialogue.settings import get_settings
from bot.intake.db import Database
from bot.intake.statuses import StatusChange
from bot.intake.tracking import AGENCY, mark_notified, pending_notifications
from bot.wechat.errors import OutsideWindow, WeChatError
from bot.wechat.stores import KeyValue
from bot.wechat.window import ServiceWindow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 300.0
NEWS_SECONDS = 30 * 24 * 3600.0  # undelivered news is kept a month
LOCK_SECONDS = 5.0


@dataclass(frozen=True)
class Outlet:
    """How one channel reaches its users: its service window and its customer-service send."""

    window: ServiceWindow
    send: Callable[[str, str], None]  # (openid, text)


class NewsBox:
    """Texts waiting for a user's next message, per channel."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    def add(self, channel: str, user: str, text: str) -> None:
        key = self._key(channel, user)
        with _locked(self.kv, key):
            texts = [*self._read(key), text]
            self.kv.set(key, json.dumps(texts, ensure_ascii=False), NEWS_SECONDS)

    def take(self, channel: str, user: str) -> List[str]:
        """The waiting texts, oldest first; the box is empty afterwards."""
        key = self._key(channel, user)
        with _locked(self.kv, key):
            texts = self._read(key)
            if texts:
                self.kv.delete(key)
        return texts

    def _read(self, key: str) -> List[str]:
        raw = self.kv.get(key)
        try:
            texts = json.loads(raw) if raw else []
        except ValueError:
            return []
        return [t for t in texts if isinstance(t, str)] if isinstance(texts, list) else []

    @staticmethod
    def _key(channel: str, user: str) -> str:
        return f"wechat:news:{channel}:{user}"


class _locked:
    """A short best-effort lock in the KeyValue (two pushers adding news for one user at once)."""

    def __init__(self, kv: KeyValue, key: str) -> None:
        self.kv, self.key = kv, key + ":lock"

    def __enter__(self) -> None:
        deadline = time.monotonic() + LOCK_SECONDS
        while not self.kv.set_if_absent(self.key, "1", LOCK_SECONDS) and time.monotonic() < deadline:
            time.sleep(0.02)

    def __exit__(self, *exc_info) -> None:
        self.kv.delete(self.key)


def status_text(change: StatusChange) -> str:
    settings = get_settings()
    label = settings.statuses.get(change.status, change.status)
    template = settings.labels["status_push_note" if change.note else "status_push"]
    return template.format(case_number=change.case_number, status_label=label, note=change.note or "")


class StatusPusher:
    def __init__(self, store: Database, kv: KeyValue, outlets: Dict[str, Outlet]) -> None:
        self.store, self.kv, self.outlets = store, kv, outlets
        self.news = NewsBox(kv)

    def push_once(self, limit: int = 100) -> int:
        """Pass on every pending change of complaints filed through these channels; returns how
        many reached the citizen or their news box."""
        passed = 0
        for change in pending_notifications(self.store, limit, sources=self.outlets):
            if not self.kv.set_if_absent(f"wechat:push:{change.history_id}", "1", CLAIM_SECONDS):
                continue  # another pusher has it
            if self._pass_on(change):
                mark_notified(self.store, [change.history_id])
                passed += 1
            else:
                self.kv.delete(f"wechat:push:{change.history_id}")  # try again on the next round
        return passed

    def _pass_on(self, change: StatusChange) -> bool:
        if change.source != AGENCY or not change.sender_id:
            return True  # our own steps (queued, delivered) are not news; nothing to do but mark them
        outlet = self.outlets[change.channel]
        text = status_text(change)
        if outlet.window.is_open(change.sender_id):
            try:
                outlet.send(change.sender_id, text)
                return True
            except OutsideWindow:
                pass
            except WeChatError as exc:
                log.warning("status push for %s failed, will retry: %s", change.case_number, exc)
                return False
        self.news.add(change.channel, change.sender_id, text)
        return True


def take_news(kv: KeyValue, channel: str, user: str) -> List[str]:
    """For the channel: news to put before its reply to this user's message."""
    return NewsBox(kv).take(channel, user)

