"""Evidence files a WeChat user sent (photos, videos, documents), kept so that a complaint the
user files later can carry them (bot.intake evidence items: kind + url_or_media_id).

Kept in the channels' key/value store (Redis when REDIS_URL is set) under
``<channel>:evidence:<openid>`` as a JSON list, for 3 days: WeChat deletes temporary media after 3
days, so an older MediaId is useless. The channel also passes the list with every message to the
dialogue (metadata ``evidence_media``), so actions can read it from the tracker without sharing
the store. Never imports rasa.
"""

import json
import logging
import time
from typing import Dict, List, Optional

from bot.wechat.stores import KeyValue

log = logging.getLogger(__name__)

EVIDENCE_TTL = 3 * 24 * 3600
# bot.intake accepts at most 20 evidence items per complaint.
MAX_ITEMS = 20
MAX_REFERENCE_LENGTH = 2048


class EvidenceLog:
    def __init__(self, kv: KeyValue, namespace: str = "wechat", ttl: float = EVIDENCE_TTL) -> None:
        self.kv, self.namespace, self.ttl = kv, namespace, ttl

    def add(self, user: str, kind: str, reference: str, received_at: Optional[float] = None) -> List[Dict]:
        """Record one file; the oldest items give way beyond MAX_ITEMS. Returns the list.

        Read-modify-write without a lock: WeChat delivers one user's messages one at a time, and a
        lost item in a race costs a re-send, not a wrong complaint.
        """
        item = {"kind": kind, "url_or_media_id": reference[:MAX_REFERENCE_LENGTH],
                "received_at": int(received_at if received_at is not None else time.time())}
        items = [old for old in self.items(user) if old["url_or_media_id"] != item["url_or_media_id"]]
        items = [*items, item][-MAX_ITEMS:]
        self.kv.set(self._key(user), json.dumps(items, ensure_ascii=False), self.ttl)
        return items

    def items(self, user: str) -> List[Dict]:
        raw = self.kv.get(self._key(user))
        if raw is None:
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("unreadable evidence list for a user: dropped")
            return []
        return [item for item in data if _is_item(item)] if isinstance(data, list) else []

    def clear(self, user: str) -> None:
        self.kv.delete(self._key(user))

    def _key(self, user: str) -> str:
        return f"{self.namespace}:evidence:{user}"


def _is_item(item) -> bool:
    return isinstance(item, dict) and isinstance(item.get("kind"), str) and isinstance(item.get("url_or_media_id"), str)
