"""What the Official Account and mini-program channels share: settings from credentials, the
checks every push passes (bot.channels.security), what a WeChat message asks of the dialogue
(a Turn), running the dialogue, and the 5-second rule with de-duplication (Responder).

The 5-second rule: WeChat drops a passive reply that takes longer than 5 s and retries the
message. The dialogue runs as a task; if it answers within the reply budget (4 s by default) the
first text is the passive reply and the rest (at most 4 more) follow as customer-service messages;
otherwise the webhook answers "success" at once and every text follows as customer-service
messages when the dialogue is done. A retry never runs the dialogue again: it waits for the first
delivery's reply (bot.wechat.dedupe) and gets "success" if that is not ready in time.

Behind the gateway (bot.channels.gateway) the budget is what the gateway says is left
(bot.channels.relay); a push it acknowledged already is answered by the customer-service API, and
its relay request only when the dialogue is done, so the gateway bounds the dialogues running here.
"""

import asyncio
import functools
import inspect
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import BaseMessage

from bot.channels import security
from bot.channels.evidence import EvidenceLog
from bot.channels.relay import gateway_secret, relayed_time_left
from bot.channels.security import Rejected
from bot.channels.texts import ChannelTexts, channel_texts
from bot.wechat.api import WeChatApi
from bot.wechat.choices import Choices
from bot.wechat.dedupe import Deduper, message_key
from bot.wechat.errors import InvalidMessage, OutsideWindow, WeChatError
from bot.wechat.push import Outlet, StatusPusher, take_news
from bot.wechat.render import MAX_MESSAGES, TEXT_LIMIT_BYTES, pack, render, with_truncation_mark
from bot.wechat.settings import WeChatSettings, configured_settings
from bot.wechat.stores import KeyValue, make_kv
from bot.wechat.tokens import AccessTokenProvider
from bot.wechat.window import ServiceWindow

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
SUCCESS = "success"
# The customer-service messages after a passive reply wait this long, so that WeChat shows the
# passive reply (sent with the HTTP response) before them.
FOLLOW_UP_DELAY = 1.0
# Events that are notifications, not something the user said: answered with "success" and
# nothing else (kf_* arrive when a handed-over chat opens or closes at WeChat customer service).
SILENT_EVENTS = frozenset({
    "unsubscribe", "view", "location", "masssendjobfinish", "templatesendjobfinish", "view_miniprogram",
    "kf_create_session", "kf_close_session", "kf_switch_session",
})
# wechatpy renames a subscription through a QR code to subscribe_scan (in the raw fields too).
WELCOME_EVENTS = frozenset({"subscribe", "subscribe_scan", "user_enter_tempsession"})
# Leading slashes and blanks: Rasa reads "/intent{...}" as a command, not as words.
_COMMAND_PREFIX = re.compile(r"^[\s/]+")


def settings_from_credentials(credentials: Optional[Mapping[str, Any]], prefix: str,
                              env: Optional[Mapping[str, str]] = None) -> Optional[WeChatSettings]:
    """The channel's settings (credentials.yml over the environment); None when not configured."""
    return configured_settings(prefix, credentials, env)


def neutralise(text: str) -> str:
    """The user's words without leading slashes, so they are never read as an intent command."""
    return _COMMAND_PREFIX.sub("", text or "").strip()


def compose(pieces: List[str]) -> List[str]:
    """The channel's own texts and the dialogue's, packed into at most MAX_MESSAGES texts."""
    texts = pack([piece for piece in pieces if piece], TEXT_LIMIT_BYTES)
    if len(texts) > MAX_MESSAGES:
        texts = [*texts[:MAX_MESSAGES - 1], with_truncation_mark(texts[MAX_MESSAGES - 1], TEXT_LIMIT_BYTES)]
    return texts


@dataclass(frozen=True)
class Turn:
    """What one WeChat message asks for: words for the dialogue and/or the channel's own texts."""

    user: str
    text: Optional[str] = None  # for the dialogue; None: answer with ``fixed`` only
    fixed: Tuple[str, ...] = ()  # the channel's texts, before the dialogue's
    trailing: Tuple[str, ...] = ()  # after the dialogue's (the privacy notice after the welcome)
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    texts: List[str]
    choices: Dict[str, str]
    handoff: bool


@dataclass(frozen=True)
class Reply:
    """The webhook's answer to WeChat: a passive text, a transfer to customer service, or "success"."""

    text: Optional[str] = None
    handoff: bool = False

    def encode(self) -> str:
        return json.dumps({"text": self.text, "handoff": self.handoff}, ensure_ascii=False)

    @classmethod
    def decode(cls, raw: Optional[str]) -> "Reply":
        try:
            data = json.loads(raw or "")
            return cls(text=data.get("text") if isinstance(data.get("text"), str) else None,
                       handoff=data.get("handoff") is True)
        except (ValueError, AttributeError):
            return cls()


class Conversation:
    """One user message through the Rasa dialogue, answered as WeChat texts."""

    def __init__(self, on_new_message: OnNewMessage, input_channel: str, choices: Choices,
                 texts: ChannelTexts) -> None:
        self.on_new_message = on_new_message
        self.input_channel = input_channel
        self.choices = choices
        self.texts = texts

    def prepare(self, user: str, text: str) -> str:
        """A typed number becomes the payload of the choice it names; other words are neutralised."""
        try:
            resolved = self.choices.resolve(user, text)
        except WeChatError as exc:
            log.warning("numbered choices unavailable: %s", exc)
            resolved = text
        return resolved if resolved != text else neutralise(text)

    async def answer(self, turn: Turn) -> Answer:
        if turn.text is None:
            return Answer(compose([*turn.fixed, *turn.trailing]), {}, False)
        collector = CollectingOutputChannel()
        message = UserMessage(turn.text, collector, turn.user, input_channel=self.input_channel,
                              metadata=turn.metadata or None)
        try:
            await self.on_new_message(message)
        except Exception:
            log.exception("the dialogue failed on a %s message", self.input_channel)
            return Answer(compose([*turn.fixed, self.texts.texts.error]), {}, False)
        rendered = render(collector.messages)
        self._remember(turn.user, rendered.choices)
        texts = rendered.texts
        if not texts and not rendered.handoff and not turn.fixed:
            # Rasa answers nothing when an action call failed (it logs and goes on): never silence.
            log.warning("the dialogue gave no answer to a %s message", self.input_channel)
            texts = [self.texts.texts.error]
        return Answer(compose([*turn.fixed, *texts, *turn.trailing]), rendered.choices, rendered.handoff)

    def _remember(self, user: str, choices: Dict[str, str]) -> None:
        try:
            self.choices.remember(user, choices)
        except WeChatError as exc:
            log.warning("numbered choices not remembered: %s", exc)


class Responder:
    """The 5-second rule and de-duplication for one channel (see the module docstring)."""

    def __init__(self, settings: WeChatSettings, deduper: Deduper, window: ServiceWindow,
                 send: Callable[[str, str], Awaitable[None]], passive_text: bool,
                 news: Optional[Callable[[str], List[str]]] = None) -> None:
        self.settings = settings
        self.deduper = deduper
        self.window = window
        self.send = send  # a customer-service text, on the event loop
        # Status news that waited for the user's next message (bot.wechat.push): goes first.
        self.news = news
        # The Official Account shows a passive text; the mini-program only takes "success" or a
        # transfer passively, so every text goes by the customer-service API.
        self.passive_text = passive_text
        self._tasks: Set[asyncio.Task] = set()

    async def respond(self, key: str, turn: Turn, conversation: Conversation, deadline: float,
                      hold: bool = False) -> Reply:
        """``deadline``: the time.monotonic() by which a passive reply must be ready. ``hold``: the
        gateway acknowledged the push already; answer its request only when the dialogue is done,
        so that the gateway bounds how many dialogues run here at once (it queues the rest)."""
        if not self._claim(key):
            return await self._replay(key, deadline)
        self._touch(turn.user)
        task = asyncio.ensure_future(conversation.answer(self._with_news(turn)))
        if hold:
            self._remember(key, Reply())
            # Delivered by the callback even if this request is dropped meanwhile.
            task.add_done_callback(functools.partial(self._deliver_late, turn.user))
            await asyncio.wait({task})
            return Reply()
        done, _ = await asyncio.wait({task}, timeout=_left(deadline))
        # Done but late (asyncio.wait can finish a quick task before its timeout fires): whoever
        # relayed the push may have answered it already, so the texts must not ride on this reply.
        if not done or time.monotonic() > deadline:
            # Too slow for a passive reply: "success" now, every text once the dialogue is done.
            self._remember(key, Reply())
            task.add_done_callback(functools.partial(self._deliver_late, turn.user))
            return Reply()
        reply, follow_ups = self._split(task.result())
        self._remember(key, reply)
        if follow_ups:
            self._spawn(self._deliver(turn.user, follow_ups, FOLLOW_UP_DELAY))
        return reply

    def _with_news(self, turn: Turn) -> Turn:
        """Only the first delivery takes the news: a retry must not empty the box again."""
        if self.news is None:
            return turn
        try:
            news = self.news(turn.user)
        except WeChatError as exc:
            log.warning("waiting status news unavailable: %s", exc)
            return turn
        return replace(turn, fixed=(*news, *turn.fixed)) if news else turn

    def _split(self, answer: Answer) -> Tuple[Reply, List[str]]:
        if answer.handoff:
            return Reply(handoff=True), answer.texts
        if self.passive_text and answer.texts:
            return Reply(text=answer.texts[0]), answer.texts[1:]
        return Reply(), answer.texts

    async def _replay(self, key: str, deadline: float) -> Reply:
        """A retry: the first delivery's reply if it is ready in time, else "success"."""
        try:
            raw = await self.deduper.wait_reply(key, _left(deadline))
        except WeChatError as exc:
            log.warning("retry of a message answered with success: %s", exc)
            return Reply()
        return Reply.decode(raw) if raw is not None else Reply()

    def _deliver_late(self, user: str, task: "asyncio.Future[Answer]") -> None:
        if task.cancelled() or task.exception() is not None:
            log.error("a late dialogue answer was lost: %r", None if task.cancelled() else task.exception())
            return
        answer = task.result()
        if answer.handoff:
            log.info("handoff answered too late for a transfer; its texts go by the customer-service API")
        self._spawn(self._deliver(user, answer.texts, 0.0))

    async def _deliver(self, user: str, texts: List[str], delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        for text in texts:
            try:
                await self.send(user, text)
            except OutsideWindow as exc:
                log.warning("customer-service message not sent, the 48-hour window is closed: %s", exc)
                return
            except WeChatError as exc:
                # Later texts would arrive without the one before them: stop here.
                log.error("customer-service message not sent: %s", exc)
                return
            except Exception:
                log.exception("customer-service message not sent")
                return

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # a task nobody references may be garbage-collected mid-flight
        task.add_done_callback(self._tasks.discard)

    def _claim(self, key: str) -> bool:
        try:
            return self.deduper.claim(key)
        except WeChatError as exc:
            # Better a rare duplicate answer than no answer while the store is down.
            log.error("de-duplication unavailable, handling the message anyway: %s", exc)
            return True

    def _remember(self, key: str, reply: Reply) -> None:
        try:
            self.deduper.remember_reply(key, reply.encode())
        except WeChatError as exc:
            log.error("reply not remembered for retries: %s", exc)

    def _touch(self, user: str) -> None:
        try:
            self.window.touch(user)
        except WeChatError as exc:
            log.warning("customer-service window not updated: %s", exc)


@dataclass(frozen=True)
class Push:
    """A verified, decrypted, parsed message from WeChat."""

    msg: BaseMessage
    safe: bool  # arrived encrypted: an XML/JSON reply must be encrypted too
    as_json: bool  # arrived as JSON (the mini-program's choice): reply in JSON
    deadline: float  # time.monotonic() by which a passive reply must be ready
    acknowledged: bool = False  # the gateway in front answered WeChat already


@dataclass
class Core:
    """The bot.wechat pieces a configured channel works with."""

    kv: KeyValue
    deduper: Deduper
    choices: Choices
    window: ServiceWindow
    evidence: EvidenceLog
    api: WeChatApi
    crypto: Optional[WeChatCrypto]

    @classmethod
    def build(cls, settings: WeChatSettings, namespace: str) -> "Core":
        kv = make_kv(settings)
        crypto = WeChatCrypto(settings.token, settings.aes_key, settings.appid) if settings.aes_key else None
        return cls(
            kv=kv,
            deduper=Deduper(kv, ttl=settings.dedupe_ttl, namespace=namespace),
            choices=Choices(kv, namespace=namespace),
            window=ServiceWindow(kv, namespace=namespace),
            evidence=EvidenceLog(kv, namespace=namespace),
            api=WeChatApi(settings, AccessTokenProvider(settings, kv)),
            crypto=crypto,
        )


class WeChatChannel(InputChannel):
    """Base of the two WeChat channels; subclasses set PREFIX and add their routes and replies."""

    PREFIX = "WECHAT_"

    def __init__(self, settings: Optional[WeChatSettings], texts: Optional[ChannelTexts] = None) -> None:
        self.settings = settings
        self.texts = texts or channel_texts()
        self.core = Core.build(settings, self.name()) if settings else None
        self.gateway_secret = gateway_secret()
        if settings is None:
            log.warning("%s channel not configured (set %sTOKEN, %sAPPID, %sAPPSECRET): its webhooks answer 503",
                        self.name(), self.PREFIX, self.PREFIX, self.PREFIX)

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatChannel":
        return cls(settings_from_credentials(credentials, cls.PREFIX))

    # ---- status push: agencies' status changes reach citizens who filed through this channel ----

    def add_status_push(self, blueprint: Blueprint, send: Callable[[str, str], None]) -> None:
        """Poll the complaint store while the server runs (bot.wechat.push: each change is claimed in
        the shared store, so several workers send it once)."""
        if self.core is None:
            return
        tasks: List[asyncio.Task[None]] = []

        @blueprint.listener("after_server_start")
        async def start_push(app, loop) -> None:
            tasks.append(loop.create_task(self._push_forever(send)))

        @blueprint.listener("before_server_stop")
        async def stop_push(app, loop) -> None:
            for task in tasks:
                task.cancel()

    async def _push_forever(self, send: Callable[[str, str], None]) -> None:
        from bot.intake.store import shared_store

        loop = asyncio.get_running_loop()
        interval = float(os.environ.get("WECHAT_PUSH_INTERVAL", "5"))
        pusher: Optional[StatusPusher] = None
        while True:
            try:
                if pusher is None:
                    store = await loop.run_in_executor(None, shared_store)
                    pusher = StatusPusher(store, self.core.kv, {self.name(): Outlet(self.core.window, send)})
                await loop.run_in_executor(None, pusher.push_once)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store or WeChat is down: try again next round
                log.exception("%s status push failed", self.name())
            await asyncio.sleep(interval)

    # ---- routes shared by both channels ----

    def webhook_blueprint(self, on_new_message: OnNewMessage, send: Callable[[str, str], None],
                          passive_text: bool) -> Tuple[Blueprint, Optional["Conversation"]]:
        """The health check, WeChat's URL verification and the message push, answered by
        ``self.passive``; the status push while the server runs (``send``: its blocking
        customer-service send, run in a thread). Subclasses add their own routes."""
        blueprint = self.new_blueprint()
        conversation: Optional[Conversation] = None
        responder: Optional[Responder] = None
        if self.core is not None:
            conversation = Conversation(on_new_message, self.name(), self.core.choices, self.texts)
            responder = self.responder(passive_text=passive_text)
            self.add_status_push(blueprint, send)

            @blueprint.listener("after_server_stop")
            async def close_api(app, loop) -> None:
                await self.core.api.aclose()

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return self.health()

        @blueprint.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return await self.verify(request)

        @blueprint.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                push = await self.read_push(request)
                return self.passive(push, await self.answer(push, conversation, responder))
            except Rejected as rejected:
                return refusal(rejected)
            except Exception:
                # Never a 500: WeChat would retry and then tell the user the account is broken.
                log.exception("%s webhook failed", self.name())
                return response.text(SUCCESS)

        return blueprint, conversation

    def passive(self, push: "Push", reply: "Reply") -> HTTPResponse:
        raise NotImplementedError

    def new_blueprint(self) -> Blueprint:
        module = inspect.getmodule(self)
        return Blueprint(f"wechat_{type(self).__name__}", module.__name__ if module else None)

    async def verify(self, request: Request) -> HTTPResponse:
        """GET: WeChat checks the server URL by having us echo ``echostr`` back."""
        try:
            self._require_configured()
            query = security.query_params(request.args)
            self._check_query(query)
            echostr = query.get("echostr")
            if not echostr:
                raise Rejected(400, "no echostr")
            return response.text(echostr)
        except Rejected as rejected:
            return refusal(rejected)
        except Exception:
            log.exception("%s verification failed", self.name())
            return response.text("", status=503)

    async def read_push(self, request: Request) -> Push:
        """The checked push, due within the reply budget from now, or within what the gateway in
        front says is left (bot.channels.relay)."""
        received = time.monotonic()
        self._require_configured()
        body = await read_body(request, self.settings.max_body_bytes)
        left = relayed_time_left(request.headers, self.gateway_secret, self.settings.reply_budget)
        # The gateway checked the timestamp on arrival; the push may have queued here since.
        window = self.settings.timestamp_window if left is None else None
        query = security.query_params(request.args)
        verified = security.verify_push(self.settings.token, self.core.crypto, query, body, window)
        return Push(security.message_from_fields(verified.fields), verified.safe, verified.as_json,
                    deadline=received + (self.settings.reply_budget if left is None else left),
                    acknowledged=left == 0.0)

    def _require_configured(self) -> None:
        if self.settings is None:
            raise Rejected(503, f"{self.name()} channel is not configured")

    def _check_query(self, query: Mapping[str, str]) -> None:
        security.check_timestamp(query.get("timestamp"), self.settings.timestamp_window)
        security.check_signature(self.settings.token, query)

    async def answer(self, push: Push, conversation: Conversation, responder: "Responder") -> Reply:
        key = self.dedupe_key(push.msg)
        turn = self.turn_for(push.msg, conversation)
        if turn is None:
            return Reply()
        return await responder.respond(key, turn, conversation, push.deadline, hold=push.acknowledged)

    def responder(self, passive_text: bool) -> "Responder":
        return Responder(self.settings, self.core.deduper, self.core.window, self.core.api.send_custom_text_async,
                         passive_text,
                         news=functools.partial(take_news, self.core.kv, self.name()))

    def health(self) -> HTTPResponse:
        return response.json({"status": "ok", "configured": self.settings is not None})

    # ---- a message -> what the dialogue is asked ----

    def dedupe_key(self, msg: BaseMessage) -> str:
        try:
            return message_key(msg)
        except InvalidMessage as exc:
            raise Rejected(400, str(exc)) from None

    def turn_for(self, msg: BaseMessage, conversation: Conversation) -> Optional[Turn]:
        """What to do with a message; None for notifications that need no answer."""
        raw = msg._data  # wechatpy keeps the fields WeChat sent; it renames some events
        msg_type = _text(raw.get("MsgType")).lower()
        user = _text(raw.get("FromUserName"))
        if msg_type == "event":
            return self._event_turn(user, _text(raw.get("Event")).lower(), raw, conversation)
        if msg_type == "text":
            return self._dialogue(user, conversation.prepare(user, _text(raw.get("Content"))), msg_type)
        if msg_type == "voice":
            recognition = _text(raw.get("Recognition")).strip()
            if recognition:
                return self._dialogue(user, conversation.prepare(user, recognition), msg_type)
            return Turn(user, fixed=(self.texts.texts.voice_unrecognised,))
        if msg_type in _EVIDENCE_TYPES:
            return self._evidence(user, _EVIDENCE_TYPES[msg_type], raw)
        if msg_type == "location":
            label = neutralise(_text(raw.get("Label")))
            if label:
                return self._dialogue(user, label, msg_type)
            return Turn(user, fixed=(self.texts.texts.location_unrecognised,))
        if msg_type == "link":
            words = " ".join(part for part in (_text(raw.get("Title")), _text(raw.get("Url"))) if part)
            return self._dialogue(user, neutralise(words), msg_type)
        return Turn(user, fixed=(self.texts.texts.unsupported,))

    def _event_turn(self, user: str, event: str, raw: Mapping[str, Any],
                    conversation: Conversation) -> Optional[Turn]:
        if event in SILENT_EVENTS:
            return None
        if event in WELCOME_EVENTS:
            return self._dialogue(user, self.texts.welcome_payload, event, trailing=(self.texts.texts.privacy_notice,))
        if event == "scan":
            return self._dialogue(user, self.texts.welcome_payload, event)
        if event == "click":
            payload = self.texts.menu_payload(_text(raw.get("EventKey")))
            if payload:
                return self._dialogue(user, payload, event)
        return Turn(user, fixed=(self.texts.texts.unsupported,))

    def _dialogue(self, user: str, text: str, msg_type: str, trailing: Tuple[str, ...] = ()) -> Turn:
        metadata: Dict[str, Any] = {"wechat_msg_type": msg_type}
        evidence = self._evidence_items(user)
        if evidence:
            metadata["evidence_media"] = evidence
        return Turn(user, text=text, trailing=trailing, metadata=metadata)

    def _evidence(self, user: str, kind: str, raw: Mapping[str, Any]) -> Turn:
        reference = _text(raw.get("MediaId")) or _text(raw.get("FileKey")) or _text(raw.get("PicUrl"))
        if not reference:
            return Turn(user, fixed=(self.texts.texts.unsupported,))
        try:
            self.core.evidence.add(user, kind, reference)
        except WeChatError as exc:
            log.error("evidence not recorded: %s", exc)
            return Turn(user, fixed=(self.texts.texts.error,))
        return Turn(user, fixed=(self.texts.evidence_received(kind),))

    def _evidence_items(self, user: str) -> List[Dict[str, Any]]:
        try:
            return self.core.evidence.items(user)
        except WeChatError as exc:
            log.warning("evidence list unavailable: %s", exc)
            return []


# MsgType -> evidence kind (bot.intake's kinds). "file" is what WeChat sends for a chat file.
_EVIDENCE_TYPES = {"image": "photo", "video": "video", "shortvideo": "video", "file": "document"}


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it passes ``limit`` bytes, declared or not."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"declared body of {declared} bytes is over the {limit}-byte limit")
    if request.stream is None:  # not a streaming route: Sanic has read the body already
        return security.check_size(request.body, limit)
    chunks, size = [], 0
    async for chunk in request.stream:
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def refusal(rejected: Rejected) -> HTTPResponse:
    log.info("request refused (%d): %s", rejected.status, rejected.reason)
    return response.text(rejected.reason, status=rejected.status)


def cdata_safe(text: str) -> str:
    """Text for a CDATA section (wechatpy does not escape): "]]>" would end it and let the rest,
    which may echo the user's words, inject XML into our reply."""
    return text.replace("]]>", "]]]]><![CDATA[>")
