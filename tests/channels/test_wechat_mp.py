"""The mini-program channel: the customer-service message push (JSON and XML, plain and safe
mode) and the front end's login and chat API."""

import hashlib
import json
import time

import pytest
import redis
import requests
from channels.helpers import (
    ACCOUNT,
    IMAGE,
    TEXT,
    Pusher,
    ServedChannel,
    new_msg_id,
    new_openid,
    reply_fields,
    wait_for,
    xml,
)

from bot.channels.texts import channel_texts
from bot.channels.wechat_mp import MAX_MESSAGE_CHARS, WeChatMiniProgramInput

TEXTS = channel_texts()


def _json_text(openid: str, content: str, msg_id: str = "") -> str:
    return json.dumps({"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
                       "MsgType": "text", "Content": content, "MsgId": int(msg_id or new_msg_id())},
                      ensure_ascii=False)


def _json_event(openid: str, event: str) -> str:
    return json.dumps({"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
                       "MsgType": "event", "Event": event, "SessionFrom": "menu"})


# ---- customer-service message push --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
def test_a_pushed_message_is_answered_through_the_customer_service_api(serve, fake, fmt, safe):
    channel = serve("mp", safe=safe)
    pusher = Pusher(channel.url(), aes_key=channel.channel.settings.aes_key)
    openid = new_openid()
    body = _json_text(openid, "小程序里问问") if fmt == "json" else xml(TEXT, openid, content="小程序里问问")
    response = pusher.post(body, safe=safe, as_json=fmt == "json")
    assert response.status_code == 200 and response.text == "success"
    sent = wait_for(fake.sent)
    assert [(s["touser"], s["content"]) for s in sent] == [(openid, "echo: 小程序里问问")]
    (message,) = channel.dialogue.received
    assert message.input_channel == "wechat_mp" and message.sender_id == openid


def test_a_late_answer_still_goes_out(serve, fake):
    channel = serve("mp", budget=0.2)
    openid = new_openid()
    assert Pusher(channel.url()).post(_json_text(openid, "slow 0.5")).text == "success"
    assert [s["content"] for s in wait_for(fake.sent)] == ["echo: slow 0.5"]


def test_a_retry_runs_nothing_twice(serve, fake):
    channel = serve("mp")
    pusher, openid = Pusher(channel.url()), new_openid()
    body = _json_text(openid, "你好", msg_id="24412345678901299")
    assert pusher.post(body).text == "success"
    assert pusher.post(body).text == "success"
    wait_for(fake.sent)
    time.sleep(0.3)
    assert len(fake.sent()) == 1 and len(channel.dialogue.received) == 1


def test_handoff_in_json_is_a_transfer(serve, fake):
    channel = serve("mp")
    openid = new_openid()
    reply = json.loads(Pusher(channel.url()).post(_json_text(openid, "handoff")).text)
    assert reply["MsgType"] == "transfer_customer_service"
    assert reply["ToUserName"] == openid and reply["FromUserName"] == ACCOUNT
    assert [s["content"] for s in wait_for(fake.sent)] == ["connecting you to a person"]


def test_handoff_in_safe_mode_json_is_an_encrypted_transfer(serve):
    channel = serve("mp", safe=True)
    pusher, openid = Pusher(channel.url(), aes_key=channel.channel.settings.aes_key), new_openid()
    response = pusher.post(_json_text(openid, "handoff"), safe=True, as_json=True)
    envelope = json.loads(response.text)
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    reply = json.loads(pusher.decrypt_reply(response.text))
    assert reply["MsgType"] == "transfer_customer_service" and reply["ToUserName"] == openid


def test_handoff_in_safe_mode_xml_is_an_encrypted_transfer(serve):
    channel = serve("mp", safe=True)
    pusher, openid = Pusher(channel.url(), aes_key=channel.channel.settings.aes_key), new_openid()
    response = pusher.post(xml(TEXT, openid, content="handoff"), safe=True)
    fields = reply_fields(pusher.decrypt_reply(response.text))
    assert fields["MsgType"] == "transfer_customer_service" and fields["ToUserName"] == openid


def test_entering_the_session_welcomes(serve, fake):
    channel = serve("mp")
    openid = new_openid()
    Pusher(channel.url()).post(_json_event(openid, "user_enter_tempsession"))
    assert channel.dialogue.texts == ["/greet"]
    assert wait_for(fake.sent)[0]["content"] == "echo: /greet\n\n" + TEXTS.texts.privacy_notice


def test_images_are_kept_as_evidence(serve, fake):
    channel = serve("mp")
    openid = new_openid()
    Pusher(channel.url()).post(xml(IMAGE, openid, media_id="mp-media-1"))
    assert wait_for(fake.sent)[0]["content"] == TEXTS.evidence_received("photo")


@pytest.mark.parametrize("body,status", [
    ('{"ToUserName": ', 400),
    ("[1, 2]", 400),
    ('{"MsgType": "text"}', 400),
    ('{"ToUserName": "gh", "FromUserName": {"a": 1}, "CreateTime": 1, "MsgType": "text"}', 400),
    ('{"ToUserName": "gh", "FromUserName": "o", "CreateTime": 1, "MsgType": "text", "a b": "c"}', 400),
    ('{"ToUserName": "gh", "FromUserName": "o", "CreateTime": 1, "MsgType": "text", "Content": "x"}', 400),
], ids=["truncated", "array", "no-fields", "nested-sender", "bad-key", "no-msgid"])
def test_malformed_json_pushes_are_a_400(serve, body, status):
    channel = serve("mp")
    assert Pusher(channel.url()).post(body).status_code == status
    assert channel.dialogue.received == []


def test_forged_pushes_are_refused(serve):
    channel = serve("mp")
    pusher = Pusher(channel.url(), token="wrong-token")
    assert pusher.post(_json_text(new_openid(), "hi")).status_code == 403
    assert channel.dialogue.received == []


def test_get_verification(serve):
    channel = serve("mp")
    response = requests.get(channel.url(), params={**Pusher(channel.url()).query(), "echostr": "abc"}, timeout=10)
    assert response.text == "abc"


# ---- login and chat API ------------------------------------------------------------------------


def _login(channel, fake, openid: str) -> str:
    fake.add_code("code-" + openid, openid, session_key="secret-session-key")
    response = requests.post(channel.url("login"), json={"code": "code-" + openid}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "expires_in"}
    return body["token"]


def _chat(channel, token, payload, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(channel.url("chat"), headers=headers, timeout=10, **({"json": payload} if payload is not None
                                                                              else kwargs))


def test_login_then_chat(serve, fake, redis_url):
    channel = serve("mp")
    openid = new_openid()
    token = _login(channel, fake, openid)
    response = _chat(channel, token, {"message": "buttons"})
    assert response.status_code == 200
    assert response.json() == {"messages": ["what next?\n1. file a complaint\n2. report"],
                               "choices": {"1": "/file_complaint", "2": "/file_tipoff"}, "handoff": False}
    assert _chat(channel, token, {"message": "1"}).json()["messages"] == ["echo: /file_complaint"]
    assert _chat(channel, token, {"message": "/greet"}).json()["messages"] == ["echo: greet"]
    assert [m.sender_id for m in channel.dialogue.received] == [openid] * 3
    # The store holds the token's hash only, and never the session_key.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = client.keys("*session*")
    assert keys == ["wechat_mp:session:" + hashlib.sha256(token.encode()).hexdigest()]
    assert client.get(keys[0]) == openid
    assert not any("secret-session-key" in (client.get(key) or "") for key in client.keys("*")
                   if client.type(key) == "string")


def test_chat_reports_a_handoff(serve, fake):
    channel = serve("mp")
    token = _login(channel, fake, new_openid())
    assert _chat(channel, token, {"message": "handoff"}).json()["handoff"] is True


@pytest.mark.parametrize("token", [None, "not-a-token", "A" * 43], ids=["missing", "malformed", "unknown"])
def test_chat_without_a_valid_token_is_a_401(serve, token):
    channel = serve("mp")
    response = _chat(channel, token, {"message": "hi"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert channel.dialogue.received == []


def test_chat_bad_bodies(serve, fake):
    channel = serve("mp")
    token = _login(channel, fake, new_openid())
    assert _chat(channel, token, None, data=b"{not json").status_code == 400
    assert _chat(channel, token, {"message": 12}).status_code == 400
    assert _chat(channel, token, {"text": "hi"}).status_code == 400
    assert _chat(channel, token, {"message": "x" * (MAX_MESSAGE_CHARS + 1)}).status_code == 413
    assert _chat(channel, token, None, data=b'{"message": "' + b"x" * 70000 + b'"}').status_code == 413
    assert _chat(channel, token, {"message": "x" * MAX_MESSAGE_CHARS}).status_code == 200


@pytest.mark.parametrize("payload", [{"code": "never-issued"}, {"code": ""}, {"code": 5}, {}],
                         ids=["unknown-code", "empty", "number", "missing"])
def test_bad_login_codes(serve, fake, payload):
    channel = serve("mp")
    response = requests.post(channel.url("login"), json=payload, timeout=10)
    assert response.status_code == (401 if payload.get("code") == "never-issued" else 400)


def test_a_login_code_works_once(serve, fake):
    channel = serve("mp")
    openid = new_openid()
    _login(channel, fake, openid)
    response = requests.post(channel.url("login"), json={"code": "code-" + openid}, timeout=10)
    assert response.status_code == 401


def test_login_when_wechat_is_down_is_a_503(serve, fake):
    channel = serve("mp")
    fake.fail_next(errcode=-1, endpoint="jscode2session")
    fake.add_code("c1", new_openid())
    response = requests.post(channel.url("login"), json={"code": "c1"}, timeout=10)
    assert response.status_code == 503


def test_an_unconfigured_mini_program_answers_503():
    channel = ServedChannel(WeChatMiniProgramInput(None)).start()
    try:
        for path in ("webhook", "login", "chat"):
            assert requests.post(channel.url(path), json={}, timeout=10).status_code == 503
    finally:
        channel.stop()
