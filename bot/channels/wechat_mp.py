"""The WeChat mini-program (小程序) channel. Input channel name: "wechat_mp".

* POST /webhooks/wechat_mp/webhook — customer-service message push (JSON or XML, plain or safe
  mode; GET for WeChat's URL verification). Mini-programs take no passive text: the answer goes
  by the customer-service API; a handoff is answered passively with transfer_customer_service.
* POST /webhooks/wechat_mp/login {"code"} — the code from wx.login, exchanged through
  code2session for the user's openid; answers {"token", "expires_in"}: an opaque session token
  (the session_key never leaves the server; only the token's SHA-256 is stored).
* POST /webhooks/wechat_mp/chat {"message"} with ``Authorization: Bearer <token>`` — the
  mini-program front end's chat: {"messages": [...], "choices": {"1": payload}, "handoff": bool}.

credentials.yml: as the Official Account's, with WECHAT_MP_ variables.
"""

import asyncio
import hashlib
import json
import logging
import re
import secrets
import time
from typing import Any, Awaitable, Callable, Dict

import xmltodict
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.replies import TransferCustomerServiceReply
from wechatpy.utils import random_string

from bot.channels import security
from bot.channels.common import (
    SUCCESS,
    Conversation,
    Push,
    Rejected,
    Reply,
    WeChatChannel,
    read_body,
)
from bot.wechat.errors import NETWORK_ERRCODE, WeChatApiError, WeChatError

log = logging.getLogger(__name__)

SESSION_TTL = 24 * 3600
MAX_MESSAGE_CHARS = 2000
MAX_CODE_LENGTH = 256
# The chat API waits for the dialogue this long (a slow action server), then answers 503.
CHAT_TIMEOUT = 30.0
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9_\-]{20,128})$", re.IGNORECASE)


class WeChatMiniProgramInput(WeChatChannel):
    PREFIX = "WECHAT_MP_"

    @classmethod
    def name(cls) -> str:
        return "wechat_mp"

    def blueprint(self, on_new_message: Callable[[Any], Awaitable[Any]]) -> Blueprint:
        send = self.core.api.send_mp_text if self.core is not None else None
        blueprint, conversation = self.webhook_blueprint(on_new_message, send, passive_text=False)

        @blueprint.route("/login", methods=["POST"], stream=True)
        async def login(request: Request) -> HTTPResponse:
            return await _json_endpoint(self.login(request))

        @blueprint.route("/chat", methods=["POST"], stream=True)
        async def chat(request: Request) -> HTTPResponse:
            return await _json_endpoint(self.chat(request, conversation))

        return blueprint

    # ---- customer-service message push ----

    def passive(self, push: Push, reply: Reply) -> HTTPResponse:
        """"success", or the transfer to customer service in the format the push came in."""
        if not reply.handoff:
            return response.text(SUCCESS)
        if push.as_json:
            body = json.dumps({"ToUserName": push.msg.source, "FromUserName": push.msg.target,
                               "CreateTime": int(time.time()), "MsgType": "transfer_customer_service"})
            if push.safe:
                body = json.dumps(self._json_envelope(body))
            return response.text(body, content_type="application/json")
        xml = TransferCustomerServiceReply(message=push.msg).render()
        if push.safe:
            xml = self.core.crypto.encrypt_message(xml, random_string(16))
        return response.text(xml, content_type="application/xml; charset=utf-8")

    def _json_envelope(self, body: str) -> Dict[str, Any]:
        """Safe mode in JSON: wechatpy encrypts and signs (into XML); the same fields as JSON."""
        fields = xmltodict.parse(self.core.crypto.encrypt_message(body, random_string(16)))["xml"]
        return {"Encrypt": fields["Encrypt"], "MsgSignature": fields["MsgSignature"],
                "TimeStamp": int(fields["TimeStamp"]), "Nonce": fields["Nonce"]}

    # ---- the front end's JSON API ----

    async def login(self, request: Request) -> HTTPResponse:
        self._require_configured()
        data = security.parse_json(await read_body(request, self.settings.max_body_bytes))
        code = data.get("code")
        if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_LENGTH:
            raise Rejected(400, "code must be the string wx.login gave")
        try:
            session = await asyncio.get_running_loop().run_in_executor(None, self.core.api.code2session, code)
        except WeChatApiError as exc:
            if exc.errcode == NETWORK_ERRCODE:
                log.error("code2session failed: %s", exc)
                raise Rejected(503, "WeChat cannot be reached, try again") from None
            log.info("login code refused: %s", exc)
            raise Rejected(401, "login code refused") from None
        token = secrets.token_urlsafe(32)
        self.core.kv.set(session_key(token), str(session["openid"]), SESSION_TTL)
        return response.json({"token": token, "expires_in": SESSION_TTL})

    async def chat(self, request: Request, conversation: Conversation) -> HTTPResponse:
        self._require_configured()
        user = self._session_user(request)
        data = security.parse_json(await read_body(request, self.settings.max_body_bytes))
        message = data.get("message")
        if not isinstance(message, str):
            raise Rejected(400, "message must be a string")
        if len(message) > MAX_MESSAGE_CHARS:
            raise Rejected(413, f"message is over {MAX_MESSAGE_CHARS} characters")
        turn = self._dialogue(user, conversation.prepare(user, message), "chat")
        try:
            answer = await asyncio.wait_for(asyncio.shield(conversation.answer(turn)), CHAT_TIMEOUT)
        except asyncio.TimeoutError:
            raise Rejected(503, "the assistant is busy, try again") from None
        return response.json({"messages": answer.texts, "choices": answer.choices, "handoff": answer.handoff})

    def _session_user(self, request: Request) -> str:
        match = _BEARER.match(request.headers.get("authorization", "").strip())
        user = self.core.kv.get(session_key(match.group(1))) if match else None
        if not user:
            raise Rejected(401, "missing, unknown or expired session token")
        return user


def session_key(token: str) -> str:
    """Where a session lives: under the token's SHA-256, so the store never holds a usable token."""
    return "wechat_mp:session:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


async def _json_endpoint(handler: Awaitable[HTTPResponse]) -> HTTPResponse:
    """Errors as {"error": ...} with their status; never a 500."""
    try:
        return await handler
    except Rejected as rejected:
        log.info("wechat_mp request refused (%d): %s", rejected.status, rejected.reason)
        headers = {"WWW-Authenticate": "Bearer"} if rejected.status == 401 else None
        return response.json({"error": rejected.reason}, status=rejected.status, headers=headers)
    except WeChatError as exc:
        log.error("wechat_mp request failed: %s", exc)
        return response.json({"error": "temporarily unavailable"}, status=503)
    except Exception:
        log.exception("wechat_mp request failed")
        return response.json({"error": "temporarily unavailable"}, status=503)
