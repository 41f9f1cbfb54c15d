"""Building pushes the way the WeChat server builds them, serving a channel on loopback with a
stand-in dialogue, and reading the replies."""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import requests
import xmltodict
from sanic import Sanic
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.intake.serving import ServerThread, new_app

TOKEN = "ipr-channel-test-token"
APPID = "wx00000000channels"
APPSECRET = "channels-test-app-secret"
# 43 characters, as the WeChat console generates them.
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
ACCOUNT = "gh_0123456789ab"
HTTP_TIMEOUT = 15

TEXT = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[{content}]]></Content>
<MsgId>{msg_id}</MsgId>
</xml>"""

VOICE = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[voice]]></MsgType>
<MediaId><![CDATA[voice-media-1]]></MediaId>
<Format><![CDATA[amr]]></Format>
{recognition}<MsgId>{msg_id}</MsgId>
</xml>"""

IMAGE = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[image]]></MsgType>
<PicUrl><![CDATA[http://mmbiz.qpic.cn/example.jpg]]></PicUrl>
<MediaId><![CDATA[{media_id}]]></MediaId>
<MsgId>{msg_id}</MsgId>
</xml>"""

FILE = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[file]]></MsgType>
<Title><![CDATA[invoice.pdf]]></Title>
<MediaId><![CDATA[{media_id}]]></MediaId>
<MsgId>{msg_id}</MsgId>
</xml>"""

LOCATION = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[location]]></MsgType>
<Location_X>31.4648</Location_X>
<Location_Y>104.7420</Location_Y>
<Scale>15</Scale>
<Label><![CDATA[{label}]]></Label>
<MsgId>{msg_id}</MsgId>
</xml>"""

LINK = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[link]]></MsgType>
<Title><![CDATA[{title}]]></Title>
<Description><![CDATA[a shop page]]></Description>
<Url><![CDATA[{url}]]></Url>
<MsgId>{msg_id}</MsgId>
</xml>"""

EVENT = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[{event}]]></Event>
<EventKey><![CDATA[{key}]]></EventKey>
</xml>"""

VIDEO = """<xml>
<ToUserName><![CDATA[{account}]]></ToUserName>
<FromUserName><![CDATA[{openid}]]></FromUserName>
<CreateTime>{create_time}</CreateTime>
<MsgType><![CDATA[shortvideo]]></MsgType>
<MediaId><![CDATA[{media_id}]]></MediaId>
<ThumbMediaId><![CDATA[thumb-1]]></ThumbMediaId>
<MsgId>{msg_id}</MsgId>
</xml>"""


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


def new_msg_id() -> str:
    return str(uuid.uuid4().int % 10**17 + 10**17)


def xml(template: str, openid: str, **values: Any) -> str:
    values.setdefault("account", ACCOUNT)
    values.setdefault("create_time", int(time.time()))
    values.setdefault("msg_id", new_msg_id())
    return template.format(openid=openid, **values)


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


class Pusher:
    """Posts to a webhook as WeChat does: signature, timestamp and nonce in the query; in safe
    mode the message encrypted with wechatpy's WeChatCrypto and msg_signature over it."""

    def __init__(self, url: str, token: str = TOKEN, aes_key: Optional[str] = None, appid: str = APPID) -> None:
        self.url, self.token = url, token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    def query(self, timestamp: Optional[int] = None, nonce: str = "1320562132") -> Dict[str, str]:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        return {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                "openid": "o-query"}

    def post(self, body: str, *, safe: bool = False, as_json: bool = False, query: Optional[Dict[str, str]] = None,
             headers: Optional[Dict[str, str]] = None) -> requests.Response:
        query = dict(query or self.query())
        data = body.encode("utf-8")
        if safe:
            encrypt = self.encrypt(body, query)
            signature = sign(self.token, query["timestamp"], query["nonce"], encrypt)
            query.update(encrypt_type="aes", msg_signature=signature)
            envelope = {"ToUserName": ACCOUNT, "Encrypt": encrypt}
            data = (json.dumps(envelope) if as_json else xmltodict.unparse({"xml": envelope})).encode("utf-8")
        return requests.post(self.url, params=query, data=data, headers=headers, timeout=HTTP_TIMEOUT)

    def encrypt(self, body: str, query: Dict[str, str]) -> str:
        envelope = self.crypto.encrypt_message(body, query["nonce"], query["timestamp"])
        return xmltodict.parse(envelope)["xml"]["Encrypt"]

    def decrypt_reply(self, reply: str) -> str:
        """A safe-mode passive reply, checked and decrypted as the WeChat server would."""
        fields = json.loads(reply) if reply.lstrip().startswith("{") else xmltodict.parse(reply)["xml"]
        return self.crypto.decrypt_message({"Encrypt": fields["Encrypt"]}, fields["MsgSignature"],
                                           str(fields["TimeStamp"]), fields["Nonce"])


def reply_fields(body: str) -> Dict[str, Any]:
    return xmltodict.parse(body)["xml"]


@dataclass
class EchoDialogue:
    """Stands in for Rasa's agent: receives UserMessages and answers through their output channel
    (the CollectingOutputChannel the channel passes), the way Rasa's actions do."""

    received: List[Any] = field(default_factory=list)
    active: int = 0  # dialogues running now
    max_active: int = 0

    @property
    def texts(self) -> List[str]:
        return [message.text for message in self.received]

    async def __call__(self, message) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._answer(message)
        finally:
            self.active -= 1

    async def _answer(self, message) -> None:
        self.received.append(message)
        text, out, sender = message.text or "", message.output_channel, message.sender_id
        if text.startswith("slow"):
            await asyncio.sleep(float(text.split()[1]) if " " in text else 1.0)
        if text == "crash":
            raise RuntimeError("the dialogue broke")
        if text == "buttons":
            await out.send_text_with_buttons(sender, "what next?", [
                {"title": "file a complaint", "payload": "/file_complaint"},
                {"title": "report", "payload": "/file_tipoff"},
            ])
        elif text == "handoff":
            await out.send_text_message(sender, "connecting you to a person")
            await out.send_custom_json(sender, {"handoff": {"reason": "citizen_request"}})
        elif text.startswith("many"):
            for index in range(int(text.split()[1])):
                await out.send_text_message(sender, f"part {index}: " + "x" * 1500)
        elif text == "cdata":
            await out.send_text_message(sender, "a]]><MsgType>evil</MsgType>b")
        else:
            await out.send_text_message(sender, f"echo: {text}")


class ServedChannel:
    """A channel's blueprint on a Sanic app on a background thread, under /webhooks/<name>, as
    Rasa mounts it."""

    def __init__(self, channel, dialogue: Optional[Callable] = None) -> None:
        self.channel = channel
        self.dialogue = dialogue or EchoDialogue()
        # A generous Sanic limit, so the channel's own 64 KiB limit is the one tested.
        self.app: Sanic = new_app("wechat_channel_test", 8 * 1024 * 1024)
        self.app.blueprint(channel.blueprint(self.dialogue), url_prefix=f"/webhooks/{channel.name()}")
        self.server = ServerThread(self.app)

    def start(self) -> "ServedChannel":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def url(self, path: str = "webhook") -> str:
        return f"{self.server.url}/webhooks/{self.channel.name()}/{path}"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
