"""The WeChat channels' fixed texts and menu mapping (data/channels/wechat.yml), validated once."""

import functools
import re
from pathlib import Path
from typing import Dict, Optional

import yaml
from pydantic import BaseModel, Extra, validator

from bot.knowledge.paths import DATA_DIR

TEXTS_FILE = "channels/wechat.yml"
EVIDENCE_KINDS = ("photo", "video", "document")
# A payload the dialogue treats as an intent: "/intent" optionally followed by {"entity": ...}.
_PAYLOAD = re.compile(r"^/[a-z][a-z0-9_]*(\{.*\})?$")
# WeChat limits a menu key to 128 bytes.
_MENU_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class Texts(_Strict):
    privacy_notice: str
    voice_unrecognised: str
    location_unrecognised: str
    evidence_received: str
    unsupported: str
    error: str

    @validator("*")
    def _not_blank(cls, value):
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @validator("evidence_received")
    def _names_kind(cls, value):
        if "{kind}" not in value:
            raise ValueError("must contain {kind}")
        return value


class ChannelTexts(_Strict):
    texts: Texts
    evidence_labels: Dict[str, str]
    welcome_payload: str
    menu: Dict[str, str]

    @validator("evidence_labels")
    def _every_kind(cls, value):
        missing = set(EVIDENCE_KINDS) - set(value)
        unknown = set(value) - set(EVIDENCE_KINDS)
        if missing or unknown:
            raise ValueError(f"must name exactly {', '.join(EVIDENCE_KINDS)}")
        return value

    @validator("welcome_payload")
    def _payload(cls, value):
        return _check_payload(value)

    @validator("menu")
    def _menu(cls, value):
        for key, payload in value.items():
            if not _MENU_KEY.match(key):
                raise ValueError(f"menu key {key!r} must be 1-128 letters, digits, _ or -")
            _check_payload(payload)
        return value

    def evidence_received(self, kind: str) -> str:
        return self.texts.evidence_received.format(kind=self.evidence_labels[kind])

    def menu_payload(self, key: Optional[str]) -> Optional[str]:
        return self.menu.get(key or "")


def _check_payload(value: str) -> str:
    if not _PAYLOAD.match(value):
        raise ValueError(f"{value!r} is not an intent payload such as /greet")
    return value


def load_texts(path: Path) -> ChannelTexts:
    """Read and validate a texts file; errors name the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ChannelTexts.parse_obj(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


@functools.lru_cache(maxsize=1)
def channel_texts() -> ChannelTexts:
    return load_texts(DATA_DIR / TEXTS_FILE)
