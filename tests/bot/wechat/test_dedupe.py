import asyncio
import threading
import time

import pytest
from wechatpy import parse_message

from bot.wechat.dedupe import Deduper, message_key
from bot.wechat.errors import InvalidMessage, WeChatConfigError
from bot.wechat.stores import MemoryKeyValue, RedisKeyValue

TEXT_XML = """<xml>
<ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>
<FromUserName><![CDATA[oUser-0001]]></FromUserName>
<CreateTime>1700000000</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[在游仙区夜市买到高仿的耐克鞋]]></Content>
<MsgId>24412345678901234</MsgId>
</xml>"""

SUBSCRIBE_XML = """<xml>
<ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>
<FromUserName><![CDATA[oUser-0001]]></FromUserName>
<CreateTime>1700000100</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[subscribe]]></Event>
<EventKey><![CDATA[qrscene_12315]]></EventKey>
</xml>"""


def test_message_key_of_a_parsed_text_message():
    assert message_key(parse_message(TEXT_XML)) == "msg:oUser-0001:24412345678901234"


def test_message_key_of_an_event_uses_create_time_and_the_event():
    # wechatpy names a subscription through a QR code subscribe_scan; every retry parses the same.
    assert message_key(parse_message(SUBSCRIBE_XML)) == "event:oUser-0001:1700000100:subscribe_scan"
    assert message_key(parse_message(SUBSCRIBE_XML)) == message_key(parse_message(SUBSCRIBE_XML))


def test_message_key_of_an_event_wechatpy_does_not_know():
    xml = SUBSCRIBE_XML.replace("subscribe", "new_kind_of_event")
    assert message_key(parse_message(xml)) == "event:oUser-0001:1700000100:new_kind_of_event"


def test_message_key_of_mini_program_json():
    text = {"ToUserName": "gh_mini", "FromUserName": "oMini-0001", "CreateTime": 1700000000,
            "MsgType": "text", "Content": "你好", "MsgId": 24412345678901234}
    event = {"ToUserName": "gh_mini", "FromUserName": "oMini-0001", "CreateTime": 1700000200,
             "MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "wxapp"}
    assert message_key(text) == "msg:oMini-0001:24412345678901234"
    assert message_key(event) == "event:oMini-0001:1700000200:user_enter_tempsession"


def test_the_same_msg_id_from_two_users_gives_two_keys():
    first = {"FromUserName": "oUser-A", "MsgType": "text", "MsgId": "1"}
    second = {"FromUserName": "oUser-B", "MsgType": "text", "MsgId": "1"}
    assert message_key(first) != message_key(second)


@pytest.mark.parametrize("message, missing", [
    ({"MsgType": "text", "MsgId": "1"}, "FromUserName"),
    ({"FromUserName": "oUser", "MsgType": "text"}, "MsgId"),
    ({"FromUserName": "oUser", "MsgType": "event", "CreateTime": "1700000000"}, "Event"),
    ({"FromUserName": "oUser", "MsgType": "event", "Event": "subscribe"}, "CreateTime"),
])
def test_message_key_names_the_missing_field(message, missing):
    with pytest.raises(InvalidMessage, match=f"message has no {missing}"):
        message_key(message)


def test_message_key_refuses_something_that_is_not_a_message():
    with pytest.raises(InvalidMessage, match="cannot identify a str"):
        message_key("<xml/>")


def test_first_delivery_claims_and_retries_do_not(redis_kv):
    deduper = Deduper(redis_kv)
    assert deduper.claim("msg:oUser-0001:1") is True
    assert deduper.claim("msg:oUser-0001:1") is False
    assert deduper.claim("msg:oUser-0001:1") is False
    assert deduper.claim("msg:oUser-0001:2") is True


def test_claims_are_shared_by_processes_through_redis(redis_url):
    # Two Dedupers with their own Redis connections, as two processes would have.
    first, second = Deduper(RedisKeyValue.from_url(redis_url)), Deduper(RedisKeyValue.from_url(redis_url))
    assert first.claim("msg:oUser-0001:7") is True
    assert second.claim("msg:oUser-0001:7") is False


def test_a_retry_in_another_process_gets_the_first_reply(redis_url):
    first, retry = Deduper(RedisKeyValue.from_url(redis_url)), Deduper(RedisKeyValue.from_url(redis_url))
    key = "msg:oUser-0001:8"
    assert first.claim(key)

    def answer_later() -> None:
        time.sleep(0.3)
        first.remember_reply(key, "<xml>reply</xml>")

    worker = threading.Thread(target=answer_later)
    worker.start()
    assert retry.claim(key) is False
    started = time.monotonic()
    reply = asyncio.run(retry.wait_reply(key, timeout=3.0))
    waited = time.monotonic() - started
    worker.join()
    assert reply == "<xml>reply</xml>"
    assert 0.2 < waited < 0.3 + 0.2  # polled at most every 50 ms


def test_many_concurrent_deliveries_run_the_conversation_once(redis_url):
    runs = []
    replies = []
    key = "msg:oUser-0001:9"

    def deliver() -> None:
        deduper = Deduper(RedisKeyValue.from_url(redis_url))
        if deduper.claim(key):
            runs.append(1)
            time.sleep(0.1)
            deduper.remember_reply(key, "answer")
            replies.append("answer")
        else:
            replies.append(asyncio.run(deduper.wait_reply(key, timeout=2.0)))

    threads = [threading.Thread(target=deliver) for _ in range(4)]  # the first delivery and 3 retries
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert runs == [1]
    assert replies == ["answer"] * 4


def test_wait_reply_gives_up_after_the_timeout(redis_kv):
    deduper = Deduper(redis_kv)
    deduper.claim("msg:oUser-0001:10")
    started = time.monotonic()
    assert asyncio.run(deduper.wait_reply("msg:oUser-0001:10", timeout=0.2)) is None
    assert 0.2 <= time.monotonic() - started < 0.4


def test_an_empty_reply_is_a_reply(redis_kv):
    deduper = Deduper(redis_kv)
    deduper.remember_reply("msg:oUser-0001:11", "")
    assert asyncio.run(deduper.wait_reply("msg:oUser-0001:11", timeout=0.1)) == ""


def test_claims_and_replies_live_for_the_ttl_in_redis(redis_kv):
    deduper = Deduper(redis_kv, ttl=90)
    deduper.claim("msg:oUser-0001:12")
    deduper.remember_reply("msg:oUser-0001:12", "answer")
    claim_left = redis_kv.ttl("wechat:dedupe:claim:msg:oUser-0001:12")
    reply_left = redis_kv.ttl("wechat:dedupe:reply:msg:oUser-0001:12")
    assert 89 < claim_left <= 90 and 89 < reply_left <= 90


def test_a_message_can_be_claimed_again_after_the_ttl():
    now = [0.0]
    deduper = Deduper(MemoryKeyValue(clock=lambda: now[0]), ttl=60)
    assert deduper.claim("msg:oUser-0001:13")
    now[0] = 59.0
    assert not deduper.claim("msg:oUser-0001:13")
    now[0] = 60.5
    assert deduper.claim("msg:oUser-0001:13")


def test_ttl_under_a_minute_is_refused():
    with pytest.raises(WeChatConfigError, match="at least 60 s"):
        Deduper(MemoryKeyValue(), ttl=15)
