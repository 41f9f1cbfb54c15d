"""The WeChat gateway in front of a served channel (stand-in dialogue, the fake WeChat API, Redis):
pushes signed as WeChat signs them, the gateway and the channel each a real HTTP server on loopback."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import pytest
import requests
from channels.helpers import ACCOUNT, TEXT, Pusher, ServedChannel, new_openid, reply_fields, wait_for, xml
from support import free_port

from bot.channels.gateway import Gateway, GatewaySettings, create_app
from bot.channels.relay import DEADLINE_HEADER, SECRET_HEADER
from bot.intake.serving import ServerThread

SECRET = "gateway-test-secret-0123456789"
OA_PATH = "/webhooks/wechat/webhook"
MP_PATH = "/webhooks/wechat_mp/webhook"


class Gated:
    """A served channel with the gateway in front; ``url`` is the gateway's webhook."""

    def __init__(self, channel: ServedChannel, server: ServerThread, gateway: Gateway) -> None:
        self.channel, self.server, self.gateway = channel, server, gateway
        self.dialogue = channel.dialogue
        self.url = server.url + f"/webhooks/{channel.channel.name()}/webhook"


@pytest.fixture
def gated(serve, monkeypatch):
    """gated(kind="oa", budget=2.0, relays=8, queued=10_000, upstream=None) -> Gated; all stopped after the test."""
    monkeypatch.setenv("WECHAT_GATEWAY_SECRET", SECRET)
    servers = []

    def start(kind: str = "oa", budget: float = 2.0, relays: int = 8, queued: int = 10_000,
              upstream: Optional[str] = None) -> Gated:
        channel = serve(kind=kind, budget=budget)
        settings = GatewaySettings(upstream=upstream or channel.server.url, secret=SECRET, max_relays=relays,
                                   max_queued=queued)
        gateway = Gateway(settings, {OA_PATH if kind == "oa" else MP_PATH: channel.channel.settings})
        server = ServerThread(create_app(gateway)).start()
        servers.append(server)
        return Gated(channel, server, gateway)

    yield start
    for server in servers:
        server.stop()


def _say(url: str, openid: str, content: str, **post) -> requests.Response:
    return Pusher(url).post(xml(TEXT, openid, content=content), **post)


# ---- relaying -----------------------------------------------------------------------------------


def test_a_passive_reply_comes_back_through_the_gateway(gated, fake):
    front = gated()
    openid = new_openid()
    response = _say(front.url, openid, "在游仙区买到假货")
    fields = reply_fields(response.text)
    assert fields["Content"] == "echo: 在游仙区买到假货" and fields["ToUserName"] == openid
    assert [message.sender_id for message in front.dialogue.received] == [openid]
    time.sleep(0.3)
    assert fake.sent() == []


def test_a_tiny_budget_is_acknowledged_at_once_and_answered_by_customer_service(gated, fake):
    front = gated(budget=0.001)
    openid = new_openid()
    started = time.monotonic()
    response = _say(front.url, openid, "slow 1.0")
    assert response.status_code == 200 and response.text == "success"
    assert time.monotonic() - started < 0.5
    sent = wait_for(fake.sent)
    assert [(s["touser"], s["content"]) for s in sent] == [(openid, "echo: slow 1.0")]


def test_with_no_relay_free_a_push_is_acknowledged_at_once_and_waits_its_turn(gated, fake):
    front = gated(budget=3.0, relays=1)
    first, second = new_openid(), new_openid()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(_say, front.url, first, "slow 1.0")  # takes the only relay, waits for its reply
        wait_for(lambda: front.dialogue.received)
        started = time.monotonic()
        response = _say(front.url, second, "排在后面")
        assert response.text == "success" and time.monotonic() - started < 0.5
        assert reply_fields(waiting.result().text)["Content"] == "echo: slow 1.0"
    assert [(s["touser"], s["content"]) for s in wait_for(fake.sent)] == [(second, "echo: 排在后面")]
    assert front.dialogue.max_active == 1


def test_rasa_never_gets_more_dialogues_at_once_than_the_relays(gated, fake):
    front = gated(budget=0.001, relays=2)
    users = [new_openid() for _ in range(6)]
    for openid in users:
        assert _say(front.url, openid, "slow 0.3").text == "success"
    wait_for(lambda: len(fake.sent()) == len(users))
    assert sorted(s["touser"] for s in fake.sent()) == sorted(users)
    assert front.dialogue.max_active == 2


def test_a_full_queue_refuses_with_503_so_wechat_retries_later(gated, fake):
    front = gated(budget=0.001, relays=1, queued=1)
    assert _say(front.url, new_openid(), "slow 1.0").text == "success"  # relayed
    wait_for(lambda: front.dialogue.received)
    assert _say(front.url, new_openid(), "排队").text == "success"  # queued
    time.sleep(0.1)
    assert _say(front.url, new_openid(), "满了").status_code == 503
    wait_for(lambda: len(fake.sent()) == 2)
    assert "满了" not in front.dialogue.texts


def test_an_answer_later_than_the_budget_goes_by_customer_service(gated, fake):
    front = gated(budget=0.3)
    openid = new_openid()
    response = _say(front.url, openid, "slow 1.5")
    assert response.text == "success"
    assert [s["content"] for s in wait_for(fake.sent)] == ["echo: slow 1.5"]


def test_a_handoff_is_still_a_transfer(gated):
    front = gated()
    fields = reply_fields(_say(front.url, new_openid(), "handoff").text)
    assert fields["MsgType"] == "transfer_customer_service"


def test_a_retry_through_the_gateway_runs_the_dialogue_once(gated, fake):
    front = gated(budget=0.001)
    openid = new_openid()
    body = xml(TEXT, openid, content="重复的消息")
    pusher = Pusher(front.url)
    assert pusher.post(body).text == "success"
    assert pusher.post(body).text == "success"
    wait_for(fake.sent)
    time.sleep(0.5)
    assert front.dialogue.texts == ["重复的消息"]
    assert len(fake.sent()) == 1


def test_mini_program_pushes_in_json(gated, fake):
    front = gated(kind="mp", budget=0.001)
    openid = new_openid()
    body = json.dumps({"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
                       "MsgType": "text", "Content": "小程序里的问题", "MsgId": 12345}, ensure_ascii=False)
    response = Pusher(front.url).post(body, headers={"Content-Type": "application/json"})
    assert response.text == "success"
    sent = wait_for(fake.sent)
    assert [(s["touser"], s["content"]) for s in sent] == [(openid, "echo: 小程序里的问题")]


# ---- refused at the gateway: nothing relayed ----------------------------------------------------


@pytest.mark.parametrize("change, status", [
    ("forged", 403), ("stale", 403), ("malformed", 400), ("entity", 400), ("oversized", 413),
])
def test_bad_pushes_are_refused_and_never_relayed(gated, change, status):
    front = gated(budget=0.001)
    pusher = Pusher(front.url)
    query, body = pusher.query(), xml(TEXT, new_openid(), content="x")
    if change == "forged":
        query["signature"] = "0" * 40
    elif change == "stale":
        query = pusher.query(timestamp=int(time.time()) - 301)
    elif change == "malformed":
        body = "<xml><ToUserName>"
    elif change == "entity":
        body = '<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    else:
        body = "<xml>" + "x" * 70_000 + "</xml>"
    response = pusher.post(body, query=query)
    assert response.status_code == status
    time.sleep(0.3)
    assert front.dialogue.received == []


# ---- the channel believes the gateway only with the secret ---------------------------------------


def test_the_channel_takes_a_relayed_deadline_with_the_secret(gated, fake):
    front = gated(budget=3.0)
    direct = front.channel.url()
    headers = {SECRET_HEADER: SECRET, DEADLINE_HEADER: f"{time.time() - 1:.3f}"}
    response = _say(direct, new_openid(), "slow 0.5", headers=headers)
    assert response.text == "success"  # the deadline had passed: no waiting for a passive reply
    assert [s["content"] for s in wait_for(fake.sent)] == ["echo: slow 0.5"]


def test_a_wrong_secret_is_not_the_gateway(gated):
    front = gated(budget=3.0)
    pusher = Pusher(front.channel.url())
    headers = {SECRET_HEADER: "not-the-secret-at-all-000", DEADLINE_HEADER: f"{time.time() - 1:.3f}"}
    stale = pusher.query(timestamp=int(time.time()) - 301)
    # Without the secret the timestamp is checked again, and a passive reply is waited for.
    assert pusher.post(xml(TEXT, new_openid(), content="x"), query=stale, headers=headers).status_code == 403
    response = pusher.post(xml(TEXT, new_openid(), content="等一下"), headers=headers)
    assert reply_fields(response.text)["Content"] == "echo: 等一下"


def test_relay_headers_from_outside_are_not_passed_on(gated):
    front = gated()
    query = {**Pusher(front.url).query(), "echostr": "42"}
    response = requests.get(front.url, params=query, headers={SECRET_HEADER: "x" * 20}, timeout=10)
    assert response.status_code == 200 and response.text == "42"


# ---- everything else is proxied ------------------------------------------------------------------


def test_url_verification_and_health_are_proxied(gated):
    front = gated()
    query = {**Pusher(front.url).query(), "echostr": "5837397520"}
    assert requests.get(front.url, params=query, timeout=10).text == "5837397520"
    health = requests.get(front.server.url + "/webhooks/wechat/", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok", "configured": True}
    assert requests.get(front.url, params={**query, "signature": "0" * 40}, timeout=10).status_code == 403


# ---- Rasa unreachable ------------------------------------------------------------------------------


def test_rasa_down_a_waiting_push_is_a_503_so_wechat_retries(gated):
    front = gated(upstream=f"http://127.0.0.1:{free_port()}")
    response = _say(front.url, new_openid(), "有人吗")
    assert response.status_code == 503
    proxied = requests.get(front.server.url + "/webhooks/wechat/", timeout=10)
    assert proxied.status_code == 502 and "not reachable" in proxied.json()["error"]


def test_an_acknowledged_push_waits_for_rasa_to_come_up(gated, fake):
    port = free_port()
    front = gated(budget=0.001, upstream=f"http://127.0.0.1:{port}")
    openid = new_openid()
    assert _say(front.url, openid, "先确认再送达").text == "success"
    time.sleep(0.6)  # refused twice by now
    late = ServedChannel(front.channel.channel, front.dialogue)
    late.server = ServerThread(late.app, port=port)
    late.start()
    try:
        assert [s["content"] for s in wait_for(fake.sent, timeout=15)] == ["echo: 先确认再送达"]
    finally:
        late.stop()
