"""The WeChat Official Account (公众号) channel: POST /webhooks/wechat/webhook (plain and safe
mode) and GET for WeChat's URL verification. Answers passively within the reply budget, else
"success" and the customer-service API (bot.channels.common). Input channel name: "wechat".

credentials.yml:

    bot.channels.wechat_oa.WeChatOfficialAccountInput:
      token: ${WECHAT_TOKEN}
      appid: ${WECHAT_APPID}
      appsecret: ${WECHAT_APPSECRET}
      aes_key: ${WECHAT_AES_KEY}      # empty: plain mode only
"""

import logging
from typing import Any, Awaitable, Callable, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.replies import TextReply, TransferCustomerServiceReply
from wechatpy.utils import random_string

from bot.channels.common import (
    SUCCESS,
    Conversation,
    Push,
    Rejected,
    Reply,
    Responder,
    WeChatChannel,
    cdata_safe,
    refusal,
)

log = logging.getLogger(__name__)


class WeChatOfficialAccountInput(WeChatChannel):
    PREFIX = "WECHAT_"

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def blueprint(self, on_new_message: Callable[[Any], Awaitable[Any]]) -> Blueprint:
        blueprint = self.new_blueprint()
        conversation: Optional[Conversation] = None
        responder: Optional[Responder] = None
        if self.core is not None:
            conversation = Conversation(on_new_message, self.name(), self.core.choices, self.texts)
            responder = self.responder(self.core.api.send_text, passive_text=True)
            self.add_status_push(blueprint, self.core.api.send_text)

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return self.health()

        @blueprint.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return await self.verify(request)

        @blueprint.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                push, started = await self.read_push(request)
                return self.passive(push, await self.answer(push, started, conversation, responder))
            except Rejected as rejected:
                return refusal(rejected)
            except Exception:
                # Never a 500: WeChat would retry and then tell the user the account is broken.
                log.exception("wechat webhook failed")
                return response.text(SUCCESS)

        return blueprint

    def passive(self, push: Push, reply: Reply) -> HTTPResponse:
        """The passive reply: a text, a transfer to WeChat customer service, or "success"."""
        if reply.handoff:
            xml = TransferCustomerServiceReply(message=push.msg).render()
        elif reply.text:
            xml = TextReply(message=push.msg, content=cdata_safe(reply.text)).render()
        else:
            return response.text(SUCCESS)
        if push.safe:
            xml = self.core.crypto.encrypt_message(xml, random_string(16))
        return response.text(xml, content_type="application/xml; charset=utf-8")
