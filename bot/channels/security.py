"""Checks every WeChat push passes before anything in it is used: size, timestamp, signature,
safe XML/JSON parsing and safe-mode decryption.

wechatpy computes the signatures and decrypts (WeChatCrypto); bot.wechat.signatures compares
in constant time (wechatpy 1.8 compares with ``!=``). Each failure raises Rejected with the HTTP
status the webhook answers with.
"""

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.messages import BaseMessage

from bot.wechat import signatures

# Markup declarations (<!DOCTYPE, <!ENTITY, comments, ...) have no place in what WeChat sends and
# are how entity-expansion attacks start; CDATA sections are the only "<!" WeChat uses.
_DECLARATION = re.compile(rb"<!(?!\[CDATA\[)")
# The fields a pushed message is identified and answered by.
_REQUIRED_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
MAX_OPENID_LENGTH = 128


class Rejected(Exception):
    """A request the webhook refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def query_params(args: Mapping[str, Any]) -> Dict[str, str]:
    """The first value of each query parameter (sanic's ``request.args`` holds lists)."""
    return {name: args.get(name) for name in args}


def check_size(body: Optional[bytes], limit: int) -> bytes:
    body = body or b""
    if len(body) > limit:
        raise Rejected(413, f"body of {len(body)} bytes is over the {limit}-byte limit")
    return body


def check_timestamp(timestamp: Optional[str], window: int, now: Optional[float] = None) -> None:
    """WeChat's timestamp must be within ``window`` seconds of our clock (a replayed request is not)."""
    if not timestamp or len(timestamp) > 12:
        raise Rejected(403, "missing or malformed timestamp")
    try:
        signatures.check_timestamp(timestamp, window, now)
    except InvalidSignatureException:
        raise Rejected(403, "timestamp missing or outside the allowed window") from None


def check_signature(token: str, query: Mapping[str, str]) -> None:
    """``signature`` = SHA-1 over (token, timestamp, nonce): proves the push comes from WeChat."""
    try:
        signatures.check_signature(token, query.get("signature"), query.get("timestamp", ""), query.get("nonce", ""))
    except InvalidSignatureException:
        raise Rejected(403, "missing or wrong signature") from None


def check_msg_signature(token: str, query: Mapping[str, str], encrypt: str) -> None:
    """Safe mode: ``msg_signature`` = SHA-1 over (token, timestamp, nonce, Encrypt)."""
    try:
        signatures.check_msg_signature(token, query.get("msg_signature"), query.get("timestamp", ""),
                                       query.get("nonce", ""), encrypt)
    except InvalidSignatureException:
        raise Rejected(403, "missing or wrong msg_signature") from None


def is_json(body: bytes) -> bool:
    """The mini-program pushes JSON or XML, as set in its console; JSON bodies are objects."""
    return body.lstrip()[:1] == b"{"


def parse_xml(body: bytes) -> Dict[str, Any]:
    """The <xml> element of a WeChat push as a dict; no declarations, no entities, UTF-8 only."""
    if _DECLARATION.search(body):
        raise Rejected(400, "XML with a DOCTYPE, ENTITY or other declaration is refused")
    try:
        text = body.decode("utf-8")
        # xmltodict refuses entity declarations itself too (disable_entities): belt and braces.
        root = xmltodict.parse(text, disable_entities=True).get("xml")
    except (UnicodeDecodeError, ValueError, ExpatError) as exc:
        raise Rejected(400, f"malformed XML: {exc.__class__.__name__}") from None
    if not isinstance(root, dict):
        raise Rejected(400, "no <xml> element with fields")
    return root


def parse_json(body: bytes) -> Dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected(400, f"malformed JSON: {exc.__class__.__name__}") from None
    if not isinstance(value, dict):
        raise Rejected(400, "JSON body must be an object")
    return value


def decrypt(crypto: Optional[WeChatCrypto], token: str, query: Mapping[str, str], envelope: Mapping[str, Any]) -> bytes:
    """The plaintext of a safe-mode push, after its msg_signature is checked."""
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise Rejected(400, "safe mode message without Encrypt")
    check_msg_signature(token, query, encrypt)
    if crypto is None:
        raise Rejected(400, "safe mode message but no AES key is configured")
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypt}, query["msg_signature"], query["timestamp"], query["nonce"])
    except Exception as exc:  # padding, base64, appid mismatch, bad UTF-8: all just "cannot decrypt"
        raise Rejected(400, f"cannot decrypt: {exc.__class__.__name__}") from None
    return plain.encode("utf-8")


@dataclass(frozen=True)
class VerifiedPush:
    """A push's fields once its signature checked out (and, in safe mode, it was decrypted)."""

    fields: Dict[str, Any]
    safe: bool  # arrived encrypted: an XML/JSON reply must be encrypted too
    as_json: bool  # arrived as JSON (the mini-program's choice): reply in JSON


def verify_push(token: str, crypto: Optional[WeChatCrypto], query: Mapping[str, str], body: bytes,
                timestamp_window: Optional[int]) -> VerifiedPush:
    """Timestamp (unless ``timestamp_window`` is None: checked on arrival by the gateway) and
    signature first; then parse and, in safe mode, decrypt."""
    if timestamp_window is not None:
        check_timestamp(query.get("timestamp"), timestamp_window)
    check_signature(token, query)
    safe = query.get("encrypt_type") == "aes"
    as_json = is_json(body)
    if safe:
        envelope = parse_json(body) if as_json else parse_xml(body)
        body = decrypt(crypto, token, query, envelope)
        as_json = is_json(body)
    fields = parse_json(body) if as_json else parse_xml(body)
    return VerifiedPush(fields, safe, as_json)


def message_from_fields(fields: Mapping[str, Any]) -> BaseMessage:
    """A wechatpy message from a push's fields (parsed XML or the mini-program's JSON).

    JSON goes through XML so wechatpy's own parse_message picks the message or event class
    (it renames some events, e.g. subscribe with a scene to subscribe_scan).
    """
    for name in _REQUIRED_FIELDS:
        value = fields.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise Rejected(400, f"message without {name}")
    if not str(fields["CreateTime"]).isdigit():
        raise Rejected(400, "CreateTime is not a number")
    if len(fields["FromUserName"]) > MAX_OPENID_LENGTH:
        raise Rejected(400, "FromUserName is too long")
    flat = {key: value for key, value in fields.items() if _is_scalar(value) or isinstance(value, dict)}
    try:
        return parse_message(xmltodict.unparse({"xml": flat}))
    except Exception as exc:  # field names that are not XML names, odd values
        raise Rejected(400, f"unreadable message: {exc.__class__.__name__}") from None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
