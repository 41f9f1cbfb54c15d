"""Request signing: hex HMAC-SHA256 over ``<X-Timestamp> + "." + <body bytes>`` with the agency's secret.

The same scheme signs our requests to agencies and their status callbacks to us.
A receiver accepts a timestamp at most five minutes from its own clock.
"""

import hashlib
import hmac
import re
import time
from typing import Dict, Optional

SIGNATURE_WINDOW_SECONDS = 300
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
_TIMESTAMP = re.compile(r"^\d{1,12}$")
_HEX_SIGNATURE = re.compile(r"^[0-9a-fA-F]{64}$")


class SignatureError(Exception):
    """A request's signature is missing, malformed, expired or wrong."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: Optional[float] = None) -> Dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: Optional[str],
    signature: Optional[str],
    body: bytes,
    now: Optional[float] = None,
    window: int = SIGNATURE_WINDOW_SECONDS,
) -> None:
    """Raise SignatureError unless ``signature`` signs ``body`` at a ``timestamp`` within the window."""
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not _TIMESTAMP.match(timestamp.strip()):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
    if not _HEX_SIGNATURE.match(signature.strip()):
        raise SignatureError(f"{SIGNATURE_HEADER} must be 64 hex digits")
    stamp = int(timestamp.strip())
    current = time.time() if now is None else now
    if abs(current - stamp) > window:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {window // 60} minutes from the server clock")
    expected = sign(secret, stamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError("signature does not match")
