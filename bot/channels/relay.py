"""What the WeChat gateway (bot.channels.gateway) tells the Rasa channel behind it, in two headers.

The gateway has checked the push's timestamp on arrival and says by when the answer must be back
with it for a passive reply (a wall-clock deadline; past: acknowledged already, answer by the
customer-service API). The channel believes it only with the shared secret (WECHAT_GATEWAY_SECRET,
compared in constant time) and never beyond its own reply budget.
"""

import hmac
import os
import time
from typing import Mapping, Optional

from bot.wechat.errors import WeChatConfigError

SECRET_HEADER = "X-IPR-Gateway-Secret"
DEADLINE_HEADER = "X-IPR-Reply-Deadline"
SECRET_VARIABLE = "WECHAT_GATEWAY_SECRET"
MIN_SECRET_LENGTH = 16


def gateway_secret(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The shared secret; None when unset (requests are then never taken as the gateway's)."""
    value = ((os.environ if env is None else env).get(SECRET_VARIABLE) or "").strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_LENGTH:
        raise WeChatConfigError(f"{SECRET_VARIABLE} must be at least {MIN_SECRET_LENGTH} characters")
    return value


def relay_headers(secret: str, deadline: float) -> dict:
    return {SECRET_HEADER: secret, DEADLINE_HEADER: f"{deadline:.3f}"}


def relayed_time_left(headers: Mapping[str, str], secret: Optional[str], budget: float,
                      now: Optional[float] = None) -> Optional[float]:
    """Seconds left for a passive reply to a push the gateway relayed (0 when acknowledged already,
    at most ``budget``); None when the request is not the gateway's (no or wrong secret, no deadline)."""
    offered = headers.get(SECRET_HEADER)
    if secret is None or not offered or not hmac.compare_digest(offered.encode(), secret.encode()):
        return None
    try:
        deadline = float(headers.get(DEADLINE_HEADER) or "")
    except ValueError:
        return None
    if deadline != deadline:  # NaN
        return None
    left = deadline - (time.time() if now is None else now)
    return min(max(left, 0.0), budget)
