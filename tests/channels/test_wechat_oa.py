"""The Official Account webhook over HTTP, with pushes built as WeChat builds them, the fake
WeChat API on loopback, Redis for de-duplication and a stand-in dialogue."""

import threading
import time

import pytest
import requests
from channels.helpers import (
    ACCOUNT,
    EVENT,
    FILE,
    IMAGE,
    LINK,
    LOCATION,
    TEXT,
    TOKEN,
    VIDEO,
    VOICE,
    Pusher,
    ServedChannel,
    new_openid,
    reply_fields,
    sign,
    wait_for,
    xml,
)

from bot.channels.evidence import EvidenceLog
from bot.channels.texts import channel_texts
from bot.channels.wechat_oa import WeChatOfficialAccountInput
from bot.wechat.render import MAX_MESSAGES
from bot.wechat.stores import RedisKeyValue

TEXTS = channel_texts()


def _say(pusher: Pusher, openid: str, content: str, **values) -> requests.Response:
    return pusher.post(xml(TEXT, openid, content=content, **values))


def _passive_text(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    fields = reply_fields(response.text)
    assert fields["MsgType"] == "text"
    return fields["Content"]


# ---- URL verification ---------------------------------------------------------------------------


def test_get_verification_echoes_echostr(serve):
    channel = serve()
    query = Pusher(channel.url()).query()
    response = requests.get(channel.url(), params={**query, "echostr": "5837397520"}, timeout=10)
    assert response.status_code == 200 and response.text == "5837397520"


@pytest.mark.parametrize("change", ["signature", "stale", "missing"])
def test_get_verification_refuses_bad_requests(serve, change):
    channel = serve()
    query = {**Pusher(channel.url()).query(), "echostr": "5837397520"}
    if change == "signature":
        query["signature"] = "0" * 40
    elif change == "stale":
        query = {**Pusher(channel.url()).query(timestamp=int(time.time()) - 301), "echostr": "1"}
    else:
        del query["signature"]
    response = requests.get(channel.url(), params=query, timeout=10)
    assert response.status_code == 403


# ---- replies inside and outside the budget ------------------------------------------------------


def test_text_inside_the_budget_gets_a_passive_reply(serve, fake):
    channel = serve()
    openid = new_openid()
    response = _say(Pusher(channel.url()), openid, "在游仙区买到假货")
    fields = reply_fields(response.text)
    assert fields["MsgType"] == "text" and fields["Content"] == "echo: 在游仙区买到假货"
    assert fields["ToUserName"] == openid and fields["FromUserName"] == ACCOUNT
    (message,) = channel.dialogue.received
    assert message.sender_id == openid and message.input_channel == "wechat"
    time.sleep(0.3)
    assert fake.sent() == []


def test_safe_mode_request_and_reply_are_encrypted(serve):
    channel = serve(safe=True)
    pusher = Pusher(channel.url(), aes_key=channel.channel.settings.aes_key)
    response = pusher.post(xml(TEXT, new_openid(), content="加密消息"), safe=True)
    assert response.status_code == 200
    assert "Encrypt" in response.text and "加密消息" not in response.text
    assert reply_fields(pusher.decrypt_reply(response.text))["Content"] == "echo: 加密消息"


def test_safe_mode_with_a_forged_msg_signature_is_refused(serve):
    channel = serve(safe=True)
    pusher = Pusher(channel.url(), aes_key=channel.channel.settings.aes_key)
    query = pusher.query()
    body = xml(TEXT, new_openid(), content="x")
    encrypt = pusher.encrypt(body, query)
    query.update(encrypt_type="aes", msg_signature=sign("another-token", query["timestamp"], query["nonce"], encrypt))
    response = requests.post(channel.url(), params=query, timeout=10,
                             data=f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>")
    assert response.status_code == 403
    assert channel.dialogue.received == []


def test_outside_the_budget_success_at_once_then_customer_service(serve, fake):
    channel = serve(budget=0.2)
    openid = new_openid()
    started = time.monotonic()
    response = _say(Pusher(channel.url()), openid, "slow 1.0")
    assert response.status_code == 200 and response.text == "success"
    assert time.monotonic() - started < 1.0
    sent = wait_for(fake.sent)
    assert [(s["touser"], s["content"]) for s in sent] == [(openid, "echo: slow 1.0")]


def test_long_answers_passive_first_then_at_most_four_customer_service_messages(serve, fake):
    channel = serve()
    openid = new_openid()
    first = _passive_text(_say(Pusher(channel.url()), openid, "many 9"))
    assert first.startswith("part 0:")
    sent = wait_for(lambda: len(fake.sent()) >= MAX_MESSAGES - 1 and fake.sent())
    time.sleep(0.3)
    assert len(fake.sent()) == MAX_MESSAGES - 1
    assert sent[0]["content"].startswith("part 1:")
    assert all(s["touser"] == openid for s in sent)


def test_a_crashing_dialogue_gets_the_polite_error_text(serve):
    channel = serve()
    assert _passive_text(_say(Pusher(channel.url()), new_openid(), "crash")) == TEXTS.texts.error


def test_bot_text_cannot_break_out_of_the_cdata_section(serve):
    channel = serve()
    assert _passive_text(_say(Pusher(channel.url()), new_openid(), "cdata")) == "a]]><MsgType>evil</MsgType>b"


# ---- retries and de-duplication ----------------------------------------------------------------


def test_a_retry_after_the_reply_gets_the_same_reply_without_a_second_run(serve):
    channel = serve()
    pusher, openid = Pusher(channel.url()), new_openid()
    body = xml(TEXT, openid, content="你好")
    first, retry = pusher.post(body), pusher.post(body)
    assert _passive_text(first) == _passive_text(retry) == "echo: 你好"
    assert len(channel.dialogue.received) == 1


def test_a_retry_during_the_first_delivery_waits_for_its_reply(serve):
    channel = serve(budget=3.0)
    pusher = Pusher(channel.url())
    body = xml(TEXT, new_openid(), content="slow 0.8")
    responses = []
    threads = [threading.Thread(target=lambda: responses.append(pusher.post(body))) for _ in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    assert [_passive_text(r) for r in responses] == ["echo: slow 0.8"] * 3
    assert len(channel.dialogue.received) == 1


def test_a_retry_of_a_late_answer_gets_success_and_one_customer_service_message(serve, fake):
    channel = serve(budget=0.2)
    pusher, openid = Pusher(channel.url()), new_openid()
    body = xml(TEXT, openid, content="slow 0.6")
    assert pusher.post(body).text == "success"
    assert pusher.post(body).text == "success"
    wait_for(fake.sent)
    time.sleep(0.8)
    assert [s["content"] for s in fake.sent()] == ["echo: slow 0.6"]
    assert len(channel.dialogue.received) == 1


def test_two_workers_sharing_redis_run_a_message_once(serve, fake_server, redis_url):
    first_worker, second_worker = serve(), serve()
    openid, msg_id = new_openid(), "24412345678901234"
    body = xml(TEXT, openid, content="你好", msg_id=msg_id)
    assert _passive_text(Pusher(first_worker.url()).post(body)) == "echo: 你好"
    assert _passive_text(Pusher(second_worker.url()).post(body)) == "echo: 你好"
    assert len(first_worker.dialogue.received) == 1 and second_worker.dialogue.received == []
    # The same MsgId from another user is another message.
    assert _passive_text(Pusher(second_worker.url()).post(xml(TEXT, new_openid(), content="嗨", msg_id=msg_id))) \
        == "echo: 嗨"


def test_events_are_deduplicated_by_sender_create_time_and_event(serve):
    channel = serve()
    pusher, openid = Pusher(channel.url()), new_openid()
    body = xml(EVENT, openid, event="CLICK", key="FILE_COMPLAINT")
    pusher.post(body)
    pusher.post(body)
    pusher.post(xml(EVENT, openid, event="CLICK", key="FILE_COMPLAINT", create_time=int(time.time()) + 1))
    assert channel.dialogue.texts == ["/file_complaint", "/file_complaint"]


# ---- security and bad input --------------------------------------------------------------------


@pytest.mark.parametrize("change", ["forged", "missing", "stale", "future", "other_token", "no_nonce"])
def test_unsigned_or_stale_pushes_are_refused_and_nothing_runs(serve, change):
    channel = serve()
    pusher = Pusher(channel.url())
    query = pusher.query()
    if change == "forged":
        query["signature"] = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
    elif change == "missing":
        del query["signature"]
    elif change == "stale":
        query = pusher.query(timestamp=int(time.time()) - 301)
    elif change == "future":
        query = pusher.query(timestamp=int(time.time()) + 301)
    elif change == "other_token":
        query = Pusher(channel.url(), token="not-" + TOKEN).query()
    else:
        del query["nonce"]
    response = pusher.post(xml(TEXT, new_openid(), content="hi"), query=query)
    assert response.status_code == 403
    assert channel.dialogue.received == []


def test_a_timestamp_within_five_minutes_is_accepted(serve):
    channel = serve()
    pusher = Pusher(channel.url())
    response = pusher.post(xml(TEXT, new_openid(), content="hi"), query=pusher.query(timestamp=int(time.time()) - 290))
    assert _passive_text(response) == "echo: hi"


@pytest.mark.parametrize("body", [
    "<xml><ToUserName>",
    "not xml at all",
    "<xml></xml>",
    "<notxml><a>1</a></notxml>",
    "<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>",
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>soon</CreateTime>"
    "<MsgType>text</MsgType></xml>",
], ids=["truncated", "text", "empty", "other-root", "no-sender", "bad-time"])
def test_malformed_xml_is_a_400(serve, body):
    channel = serve()
    response = Pusher(channel.url()).post(body)
    assert response.status_code == 400
    assert channel.dialogue.received == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol4;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&secret;</Content><MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_doctype_and_entities_are_refused(serve, body):
    channel = serve()
    assert Pusher(channel.url()).post(body).status_code == 400
    assert channel.dialogue.received == []


def test_entities_inside_the_encrypted_message_are_refused_too(serve):
    channel = serve(safe=True)
    pusher = Pusher(channel.url(), aes_key=channel.channel.settings.aes_key)
    assert pusher.post(BILLION_LAUGHS, safe=True).status_code == 400
    assert channel.dialogue.received == []


def test_oversized_bodies_are_a_413(serve):
    channel = serve()
    pusher = Pusher(channel.url())
    padding = "x" * (64 * 1024)
    assert pusher.post(xml(TEXT, new_openid(), content=padding)).status_code == 413
    # Chunked, without a Content-Length: refused while reading.
    chunks = iter([b"<xml>", padding.encode(), b"</xml>"])
    response = requests.post(channel.url(), params=pusher.query(), data=chunks, timeout=10)
    assert response.status_code == 413
    assert channel.dialogue.received == []


def test_fuzzed_bodies_never_get_a_500(serve):
    import random

    channel = serve()
    pusher = Pusher(channel.url())
    valid = xml(TEXT, new_openid(), content="你好").encode("utf-8")
    rng = random.Random(12315)
    bodies = [b"", b"\x00" * 10, b"<", b"<xml>" * 200, "<xml>\udcff</xml>".encode("utf-8", "surrogatepass"),
              b'{"MsgType": "text"}', b"<xml><MsgType><a>1</a></MsgType></xml>"]
    for _ in range(40):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        bodies.append(bytes(data))
    bodies += [valid[:cut] for cut in range(0, len(valid), 23)]
    for body in bodies:
        response = requests.post(channel.url(), params=pusher.query(), data=body, timeout=10)
        assert response.status_code in (200, 400), (response.status_code, body)


def test_an_unconfigured_channel_answers_503():
    channel = ServedChannel(WeChatOfficialAccountInput(None)).start()
    try:
        assert requests.get(channel.url(), params={"echostr": "1"}, timeout=10).status_code == 503
        assert requests.post(channel.url(), data=b"<xml/>", timeout=10).status_code == 503
        assert requests.get(channel.url(""), timeout=10).json() == {"status": "ok", "configured": False}
    finally:
        channel.stop()


# ---- message types and events ------------------------------------------------------------------


def test_voice_with_recognition_goes_to_the_dialogue(serve):
    channel = serve()
    body = xml(VOICE, new_openid(), recognition="<Recognition><![CDATA[买到假货了]]></Recognition>\n")
    assert _passive_text(Pusher(channel.url()).post(body)) == "echo: 买到假货了"


def test_voice_without_recognition_asks_to_type(serve):
    channel = serve()
    assert _passive_text(Pusher(channel.url()).post(xml(VOICE, new_openid(), recognition=""))) \
        == TEXTS.texts.voice_unrecognised
    assert channel.dialogue.received == []


def test_images_files_and_videos_are_kept_as_evidence_and_reach_the_dialogue(serve, redis_url):
    channel = serve()
    pusher, openid = Pusher(channel.url()), new_openid()
    assert _passive_text(pusher.post(xml(IMAGE, openid, media_id="media-photo-1"))) == TEXTS.evidence_received("photo")
    assert _passive_text(pusher.post(xml(FILE, openid, media_id="media-file-1"))) == TEXTS.evidence_received("document")
    assert _passive_text(pusher.post(xml(VIDEO, openid, media_id="media-video-1"))) == TEXTS.evidence_received("video")
    assert channel.dialogue.received == []
    items = EvidenceLog(RedisKeyValue.from_url(redis_url), namespace="wechat").items(openid)
    assert [(i["kind"], i["url_or_media_id"]) for i in items] == [
        ("photo", "media-photo-1"), ("document", "media-file-1"), ("video", "media-video-1")]
    _say(pusher, openid, "有付款记录")
    evidence = channel.dialogue.received[0].metadata["evidence_media"]
    assert [i["url_or_media_id"] for i in evidence] == ["media-photo-1", "media-file-1", "media-video-1"]


def test_location_sends_its_label(serve):
    channel = serve()
    assert _passive_text(Pusher(channel.url()).post(xml(LOCATION, new_openid(), label="绵阳市游仙区富乐街道"))) \
        == "echo: 绵阳市游仙区富乐街道"


def test_link_sends_title_and_url(serve):
    channel = serve()
    body = xml(LINK, new_openid(), title="/greet 高仿耐克", url="https://shop.example.com/item/1")
    assert _passive_text(Pusher(channel.url()).post(body)) == "echo: greet 高仿耐克 https://shop.example.com/item/1"


def test_subscribe_welcomes_with_the_privacy_notice(serve):
    channel = serve()
    reply = _passive_text(Pusher(channel.url()).post(xml(EVENT, new_openid(), event="subscribe", key="")))
    assert reply == "echo: /greet\n\n" + TEXTS.texts.privacy_notice
    assert channel.dialogue.texts == ["/greet"]


def test_subscribe_through_a_qr_code_and_scan_welcome(serve):
    channel = serve()
    pusher = Pusher(channel.url())
    pusher.post(xml(EVENT, new_openid(), event="subscribe", key="qrscene_12315"))
    assert _passive_text(pusher.post(xml(EVENT, new_openid(), event="SCAN", key="12315"))) == "echo: /greet"
    assert channel.dialogue.texts == ["/greet", "/greet"]


@pytest.mark.parametrize("event", ["unsubscribe", "VIEW", "LOCATION", "TEMPLATESENDJOBFINISH", "kf_close_session"])
def test_notifications_get_success_and_nothing_else(serve, fake, event):
    channel = serve()
    response = Pusher(channel.url()).post(xml(EVENT, new_openid(), event=event, key="x"))
    assert response.status_code == 200 and response.text == "success"
    assert channel.dialogue.received == []


def test_menu_clicks_become_intents(serve):
    channel = serve()
    pusher = Pusher(channel.url())
    for key in ("FILE_COMPLAINT", "CHECK_STATUS"):
        pusher.post(xml(EVENT, new_openid(), event="CLICK", key=key))
    assert channel.dialogue.texts == ["/file_complaint", "/check_status"]


@pytest.mark.parametrize("body", [
    xml(EVENT, "o-unknown-click", event="CLICK", key="NO_SUCH_KEY"),
    xml(EVENT, "o-unknown-event", event="some_new_event", key=""),
    xml(TEXT, "o-unknown-type", content="x").replace("[text]", "[music]"),
], ids=["unknown-menu-key", "unknown-event", "unknown-type"])
def test_anything_else_gets_a_polite_reply(serve, body):
    channel = serve()
    assert _passive_text(Pusher(channel.url()).post(body.replace("o-unknown", new_openid()))) == TEXTS.texts.unsupported
    assert channel.dialogue.received == []


def test_typed_commands_are_neutralised(serve):
    channel = serve()
    pusher = Pusher(channel.url())
    for text in ("/greet", " //request_human", '/file_complaint{"x": 1}'):
        _say(pusher, new_openid(), text)
    assert channel.dialogue.texts == ["greet", "request_human", 'file_complaint{"x": 1}']


def test_buttons_become_numbered_choices_a_digit_answers(serve):
    channel = serve()
    pusher, openid = Pusher(channel.url()), new_openid()
    assert _passive_text(_say(pusher, openid, "buttons")) == "what next?\n1. file a complaint\n2. report"
    _say(pusher, openid, "2")
    _say(pusher, openid, "1")  # the echo had no buttons: "1" is just "1" now
    assert channel.dialogue.texts == ["buttons", "/file_tipoff", "1"]


def test_handoff_transfers_to_customer_service_and_sends_the_text(serve, fake):
    channel = serve()
    openid = new_openid()
    response = _say(Pusher(channel.url()), openid, "handoff")
    fields = reply_fields(response.text)
    assert fields["MsgType"] == "transfer_customer_service" and fields["ToUserName"] == openid
    sent = wait_for(fake.sent)
    assert [(s["touser"], s["content"]) for s in sent] == [(openid, "connecting you to a person")]


def test_a_closed_window_at_wechat_is_logged_not_fatal(serve, fake, caplog):
    channel = serve(budget=0.2)
    openid = new_openid()
    fake.close_window(openid)
    assert _say(Pusher(channel.url()), openid, "slow 0.4").text == "success"
    wait_for(lambda: "window is closed" in caplog.text)
    assert fake.sent() == []


def test_the_first_customer_service_message_fetches_a_token_once(serve, fake):
    channel = serve(budget=0.2)
    pusher = Pusher(channel.url())
    for index in range(3):
        _say(pusher, new_openid(), f"slow 0.3 {index}")
    wait_for(lambda: len(fake.sent()) == 3)
    assert fake.tokens_issued == 1


def test_health(serve):
    channel = serve()
    assert requests.get(channel.url(""), timeout=10).json() == {"status": "ok", "configured": True}



def test_waiting_status_news_comes_first_once(serve, redis_url):
    from bot.wechat.push import NewsBox

    channel = serve()
    pusher, openid = Pusher(channel.url()), new_openid()
    NewsBox(RedisKeyValue.from_url(redis_url)).add("wechat", openid, "your case moved on")
    body = xml(TEXT, openid, content="你好")
    assert _passive_text(pusher.post(body)) == "your case moved on\n\necho: 你好"
    assert _passive_text(pusher.post(body)) == "your case moved on\n\necho: 你好"  # the retry: same reply
    assert _passive_text(_say(pusher, openid, "再问")) == "echo: 再问"
