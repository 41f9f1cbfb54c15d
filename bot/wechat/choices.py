"""The numbered choices last shown to each user, so that a typed "2" means the second button.

WeChat text messages have no buttons: render.py turns them into numbered lines, the channel
remembers the numbers here, and resolves the user's next message before the dialogue sees it.
Kept as long as the customer-service window (48 h); a turn without buttons clears them, so a
number always refers to the last message the user saw.
"""

import json
import unicodedata
from typing import Dict, Optional

from bot.wechat.stores import KeyValue

CHOICES_TTL = 48 * 3600


class Choices:
    def __init__(self, kv: KeyValue, namespace: str = "wechat", ttl: float = CHOICES_TTL) -> None:
        self.kv, self.namespace, self.ttl = kv, namespace, ttl

    def remember(self, user: str, choices: Dict[str, str]) -> None:
        if choices:
            self.kv.set(self._key(user), json.dumps(choices, ensure_ascii=False), self.ttl)
        else:
            self.kv.delete(self._key(user))

    def resolve(self, user: str, text: str) -> str:
        """The payload of the choice ``text`` names ("2", "２", " 2 "), else ``text`` unchanged."""
        number = unicodedata.normalize("NFKC", text or "").strip().rstrip(".")
        if not number.isdigit():
            return text
        return self.recall(user).get(number, text)

    def recall(self, user: str) -> Dict[str, str]:
        choices = _loads(self.kv.get(self._key(user)))
        return choices or {}

    def _key(self, user: str) -> str:
        return f"{self.namespace}:choices:{user}"


def _loads(raw: Optional[str]) -> Optional[Dict[str, str]]:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return {str(key): str(value) for key, value in data.items()} if isinstance(data, dict) else None
