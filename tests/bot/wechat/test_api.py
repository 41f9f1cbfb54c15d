import asyncio
import json
import socket
import time

import pytest

from bot.wechat.api import WeChatApi
from bot.wechat.errors import OutsideWindow, WeChatApiError
from bot.wechat.settings import WeChatSettings
from bot.wechat.stores import MemoryKeyValue, RedisKeyValue
from bot.wechat.tokens import AccessTokenProvider, StoredToken

OPENID = "oUser-0001"
ANSWER = "这属于【商标侵权/假冒】。\n\n在游仙区可以找：\n绵阳市游仙区市场监督管理局"


@pytest.fixture
def api(settings):
    kv = RedisKeyValue.from_url(settings.redis_url)
    return WeChatApi(settings, AccessTokenProvider(settings, kv))


def test_send_text_posts_a_customer_service_message(api, fake):
    api.send_text(OPENID, ANSWER)
    [sent] = fake.sent()
    assert sent["body"] == {"touser": OPENID, "msgtype": "text", "text": {"content": ANSWER}}
    assert sent["access_token"] == fake.latest_token
    assert sent["received_at"] > 0


def test_chinese_text_goes_out_as_utf8_not_escapes(settings, fake):
    raw = []
    original = fake.custom_send

    def spy(params, body):
        raw.append(body)
        return original(params, body)

    fake.custom_send = spy
    WeChatApi(settings, AccessTokenProvider(settings, MemoryKeyValue())).send_text(OPENID, "我要投诉")
    assert "我要投诉".encode() in raw[0] and b"\\u" not in raw[0]
    assert json.loads(raw[0])["text"]["content"] == "我要投诉"


def test_mini_program_text_uses_the_same_endpoint(api, fake):
    api.send_mp_text("oMini-0001", "您好")
    assert [(sent["touser"], sent["content"]) for sent in fake.sent()] == [("oMini-0001", "您好")]


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_refused_token_is_refreshed_and_the_send_retried_once(api, fake, errcode):
    api.send_text(OPENID, "first")  # a token is in the store
    fake.fail_next(1, errcode, endpoint="send")
    api.send_text(OPENID, "second")
    assert [sent["content"] for sent in fake.sent()] == ["first", "second"]
    assert fake.tokens_issued == 2
    assert fake.sent()[1]["access_token"] == fake.latest_token


def test_a_token_refused_twice_is_an_error_after_one_retry(api, fake):
    fake.fail_next(2, 40001, endpoint="send")
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "hello")
    assert caught.value.errcode == 40001
    assert fake.tokens_issued == 2  # the first token, one refresh, no more
    assert fake.sent() == []


def test_a_token_invalidated_elsewhere_is_replaced(settings, fake):
    api = WeChatApi(settings, AccessTokenProvider(settings, MemoryKeyValue()))
    api.send_text(OPENID, "first")
    fake.grace = 0  # another client fetched a token and the old one is dead at once
    fake.issue_token({"grant_type": "client_credential", "appid": settings.appid, "secret": settings.appsecret})
    api.send_text(OPENID, "second")
    assert [sent["content"] for sent in fake.sent()] == ["first", "second"]
    assert fake.tokens_issued == 3


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_outside_the_window_is_its_own_error(api, fake, errcode):
    fake.fail_next(1, errcode, "response out of time limit or subscription is canceled", endpoint="send")
    with pytest.raises(OutsideWindow) as caught:
        api.send_text(OPENID, "too late")
    assert caught.value.errcode == errcode
    assert "response out of time limit" in caught.value.errmsg


def test_a_closed_window_at_the_fake_is_outside_window(api, fake):
    fake.close_window(OPENID)
    with pytest.raises(OutsideWindow):
        api.send_text(OPENID, "too late")


def test_other_errcodes_are_api_errors(api, fake):
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "长" * 700)  # 2100 bytes: over WeChat's text limit
    assert caught.value.errcode == 45002
    assert not isinstance(caught.value, OutsideWindow)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_network_errors_are_api_errors_with_errcode_minus_one_and_no_secret():
    settings = WeChatSettings(token="t", appid="wx1234567890abcdef", appsecret="very-secret-value",
                              api_base=f"http://127.0.0.1:{_closed_port()}")
    api = WeChatApi(settings, AccessTokenProvider(settings, MemoryKeyValue()))
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "hello")
    assert caught.value.errcode == -1
    assert str(caught.value).endswith("/cgi-bin/token: cannot reach the WeChat API ([Errno 111] Connection refused)")
    assert "very-secret-value" not in str(caught.value)


def test_a_slow_api_times_out_as_an_api_error(settings, fake):
    fake.delay = 1.0
    api = WeChatApi(settings, AccessTokenProvider(settings, MemoryKeyValue(), timeout=(1.0, 0.2)))
    with pytest.raises(WeChatApiError, match="no answer within") as caught:
        api.send_text(OPENID, "hello")
    assert caught.value.errcode == -1


def test_code2session_exchanges_a_login_code(api, fake):
    fake.add_code("081code", "oMini-0001", session_key="sk-1", unionid="uUnion-1")
    assert api.code2session("081code") == {"openid": "oMini-0001", "session_key": "sk-1", "unionid": "uUnion-1"}
    assert fake.tokens_issued == 0  # jscode2session needs no access_token


def test_code2session_refuses_unknown_and_reused_codes(api, fake):
    fake.add_code("081code", "oMini-0001")
    api.code2session("081code")
    for code in ("081code", "never-issued"):
        with pytest.raises(WeChatApiError) as caught:
            api.code2session(code)
        assert caught.value.errcode == 40029


# ---- the same send on the event loop (what the channels use) -------------------------------------


def _send_async(api: WeChatApi, openid: str, text: str) -> None:
    async def send() -> None:
        try:
            await api.send_custom_text_async(openid, text)
        finally:
            await api.aclose()
    asyncio.run(send())


def test_async_send_posts_the_same_message(api, fake):
    _send_async(api, OPENID, ANSWER)
    [sent] = fake.sent()
    assert sent["body"] == {"touser": OPENID, "msgtype": "text", "text": {"content": ANSWER}}
    assert sent["access_token"] == fake.latest_token


def test_async_send_uses_the_shared_token_without_fetching_again(api, fake):
    api.send_text(OPENID, "first")
    _send_async(api, OPENID, "second")
    assert fake.tokens_issued == 1
    assert [sent["content"] for sent in fake.sent()] == ["first", "second"]


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_async_send_refreshes_a_refused_token_and_retries_once(api, fake, errcode):
    api.send_text(OPENID, "first")
    fake.fail_next(1, errcode, endpoint="send")
    _send_async(api, OPENID, "second")
    assert [sent["content"] for sent in fake.sent()] == ["first", "second"]
    assert fake.tokens_issued == 2


def test_async_send_refused_twice_is_an_error(api, fake):
    fake.fail_next(2, 40001, endpoint="send")
    with pytest.raises(WeChatApiError) as caught:
        _send_async(api, OPENID, "hello")
    assert caught.value.errcode == 40001 and fake.sent() == []


def test_async_send_outside_the_window_is_its_own_error(api, fake):
    fake.close_window(OPENID)
    with pytest.raises(OutsideWindow):
        _send_async(api, OPENID, "too late")


def test_async_send_network_errors_are_api_errors_without_the_token():
    settings = WeChatSettings(token="t", appid="wx1234567890abcdef", appsecret="very-secret-value",
                              api_base=f"http://127.0.0.1:{_closed_port()}")
    kv = MemoryKeyValue()
    tokens = AccessTokenProvider(settings, kv)
    kv.set(tokens.key, StoredToken("stored-token-value", time.time() + 7200, time.time() + 6900).to_json(), 7200)
    with pytest.raises(WeChatApiError) as caught:
        _send_async(WeChatApi(settings, tokens), OPENID, "hello")
    assert caught.value.errcode == -1
    assert "/cgi-bin/message/custom/send: cannot reach the WeChat API" in str(caught.value)
    assert "stored-token-value" not in str(caught.value)


def test_async_send_to_a_slow_api_times_out(settings, fake):
    api = WeChatApi(settings, AccessTokenProvider(settings, MemoryKeyValue()), timeout=(1.0, 0.2))
    api.send_text(OPENID, "token first")
    fake.delay = 1.0
    with pytest.raises(WeChatApiError, match="no answer within") as caught:
        _send_async(api, OPENID, "hello")
    assert caught.value.errcode == -1
