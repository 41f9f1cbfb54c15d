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
from typing import Any, Awaitable, Callable

from sanic import Blueprint, response
from sanic.response import HTTPResponse
from wechatpy.replies import TextReply, TransferCustomerServiceReply
from wechatpy.utils import random_string

from bot.channels.common import (
    SUCCESS,
    Push,
    Reply,
    WeChatChannel,
    cdata_safe,
)

log = logging.getLogger(__name__)


class WeChatOfficialAccountInput(WeChatChannel):
    PREFIX = "WECHAT_"

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def blueprint(self, on_new_message: Callable[[Any], Awaitable[Any]]) -> Blueprint:
        send = self.core.api.send_text if self.core is not None else None
        blueprint, _ = self.webhook_blueprint(on_new_message, send, passive_text=True)
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
