"""Checking WeChat's request signatures in constant time, and their timestamps.

wechatpy computes the signatures (WeChatSigner: SHA-1 over the sorted parts), but 1.8.18 compares
them with ``!=`` in ``check_signature`` and ``WeChatCrypto``, which leaks through timing how much
of a forged signature is right. These functions compute with wechatpy and compare with
``hmac.compare_digest``; they raise wechatpy's own InvalidSignatureException, so they drop in for
``wechatpy.utils.check_signature``. WeChatCrypto.decrypt_message still checks again (harmlessly)
after ``check_msg_signature`` has.
"""

import hmac
import time
from typing import Optional

from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

TIMESTAMP_WINDOW = 300


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Plain mode (and the URL check): ``signature`` over (token, timestamp, nonce)."""
    _compare(_sign(token, timestamp, nonce), signature)


def check_msg_signature(token: str, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
    """Safe mode: ``msg_signature`` over (token, timestamp, nonce, Encrypt)."""
    _compare(_sign(token, timestamp, nonce, encrypt), msg_signature)


def check_timestamp(timestamp: str, window: float = TIMESTAMP_WINDOW, now: Optional[float] = None) -> None:
    """Refuse a timestamp more than ``window`` seconds away from now (a replayed request)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise InvalidSignatureException(errmsg="timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - sent) > window:
        raise InvalidSignatureException(errmsg=f"timestamp is more than {window:g} s away from now")


def _sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _compare(expected: str, given: Optional[str]) -> None:
    if not given or not hmac.compare_digest(expected.encode("ascii"), str(given).encode("utf-8")):
        raise InvalidSignatureException()
