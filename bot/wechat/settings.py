"""WeChat settings from the environment, read when asked for (never at import time).

Per account, with the prefix WECHAT_ (Official Account) or WECHAT_MP_ (mini-program):

    {prefix}TOKEN        the token set in the message-push configuration (required)
    {prefix}APPID        the AppID (required)
    {prefix}APPSECRET    the AppSecret (required)
    {prefix}AES_KEY      the 43-character EncodingAESKey; set it for safe (encrypted) mode

Shared by both channels:

    WECHAT_API_BASE      https://api.weixin.qq.com unless set (tests point it at the fake server)
    WECHAT_REPLY_BUDGET  seconds to wait for the dialogue before answering "success" (default 4;
                         WeChat gives up after 5)
    REDIS_URL            e.g. redis://127.0.0.1:6379/0; unset: de-duplication, tokens, choices and
                         the window live in this process only
"""

import os
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from bot.wechat.errors import WeChatConfigError

DEFAULT_API_BASE = "https://api.weixin.qq.com"
WECHAT_TIMEOUT_SECONDS = 5.0
MIN_DEDUPE_TTL = 60
AES_KEY_LENGTH = 43
PREFIXES = ("WECHAT_", "WECHAT_MP_")
# The secrets of one account, each read as <prefix><NAME>.
SECRET_NAMES = ("token", "appid", "appsecret", "aes_key")
_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")


@dataclass(frozen=True)
class WeChatSettings:
    # Secrets stay out of repr(): settings objects end up in logs and tracebacks.
    token: str = field(repr=False)
    appid: str
    appsecret: str = field(repr=False)
    aes_key: Optional[str] = field(default=None, repr=False)
    api_base: str = DEFAULT_API_BASE
    reply_budget: float = 4.0
    redis_url: Optional[str] = field(default=None, repr=False)  # may carry a password
    max_body_bytes: int = 65536
    timestamp_window: int = 300
    dedupe_ttl: int = 120
    # Only used to name variables in error messages.
    prefix: str = field(default="WECHAT_", compare=False)

    def __post_init__(self) -> None:
        for name in ("token", "appid", "appsecret"):
            if not getattr(self, name):
                raise WeChatConfigError(f"{self.prefix}{name.upper()} is not set")
        if self.aes_key is not None and not _AES_KEY.match(self.aes_key):
            raise WeChatConfigError(
                f"{self.prefix}AES_KEY must be the {AES_KEY_LENGTH}-character EncodingAESKey "
                f"(letters, digits, + and /), got {len(self.aes_key)} characters"
            )
        if not self.api_base.startswith(("http://", "https://")):
            raise WeChatConfigError(f"WECHAT_API_BASE must start with http:// or https://, got {self.api_base!r}")
        # Callers join paths that start with "/".
        object.__setattr__(self, "api_base", self.api_base.rstrip("/"))
        if not 0 < self.reply_budget < WECHAT_TIMEOUT_SECONDS:
            raise WeChatConfigError(
                f"WECHAT_REPLY_BUDGET must be more than 0 and less than {WECHAT_TIMEOUT_SECONDS:g} seconds "
                f"(WeChat drops replies after that), got {self.reply_budget:g}"
            )
        if self.dedupe_ttl < MIN_DEDUPE_TTL:
            raise WeChatConfigError(
                f"dedupe_ttl must be at least {MIN_DEDUPE_TTL} seconds (WeChat retries for about 15 s), "
                f"got {self.dedupe_ttl}"
            )
        if self.max_body_bytes <= 0 or self.timestamp_window <= 0:
            raise WeChatConfigError("max_body_bytes and timestamp_window must be greater than 0")

    @property
    def encrypted(self) -> bool:
        """Safe mode: messages arrive AES-encrypted and replies must be encrypted too."""
        return self.aes_key is not None

    @classmethod
    def from_env(cls, prefix: str = "WECHAT_", env: Optional[Mapping[str, str]] = None) -> "WeChatSettings":
        if prefix not in PREFIXES:
            raise WeChatConfigError(f"unknown settings prefix {prefix!r}: use one of {', '.join(PREFIXES)}")
        env = os.environ if env is None else env
        return cls(
            token=_required(env, prefix + "TOKEN"),
            appid=_required(env, prefix + "APPID"),
            appsecret=_required(env, prefix + "APPSECRET"),
            aes_key=_optional(env, prefix + "AES_KEY"),
            api_base=_optional(env, "WECHAT_API_BASE") or DEFAULT_API_BASE,
            reply_budget=_seconds(env, "WECHAT_REPLY_BUDGET", 4.0),
            redis_url=_optional(env, "REDIS_URL"),
            prefix=prefix,
        )


def configured_settings(prefix: str, overrides: Optional[Mapping[str, object]] = None,
                        env: Optional[Mapping[str, str]] = None) -> Optional[WeChatSettings]:
    """The account's settings; None when none of its secrets is set (its webhooks answer 503).

    ``overrides`` (a channel's entry in credentials.yml) win over the environment; a partial or
    invalid configuration raises WeChatConfigError naming the variable, so nothing starts half-configured.
    """
    merged = dict(os.environ if env is None else env)
    for name in SECRET_NAMES:
        if overrides and name in overrides:
            value = overrides[name]
            merged[prefix + name.upper()] = "" if value is None else str(value)
    if not any((merged.get(prefix + name.upper()) or "").strip() for name in SECRET_NAMES):
        return None
    return WeChatSettings.from_env(prefix, merged)


def _optional(env: Mapping[str, str], name: str) -> Optional[str]:
    value = (env.get(name) or "").strip()
    return value or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise WeChatConfigError(f"{name} is not set")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise WeChatConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
