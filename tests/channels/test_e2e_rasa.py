"""End to end: two `rasa run` workers with the repository's credentials.yml (both WeChat channels
registered through ${WECHAT_*} variables), one action server, the fake WeChat API on loopback,
Redis shared by the workers and the WeChat gateway in front of the first worker, over HTTP as
WeChat and the mini-program front end would call them."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from channels.helpers import AES_KEY, APPID, APPSECRET, EVENT, TEXT, TOKEN, Pusher, new_openid, reply_fields, xml
from support import free_port, wait_until_up

from bot.wechat.fake_api import FakeWeChatServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 240
REDIS_E2E_URL = os.environ.get("WECHAT_CHANNELS_TEST_REDIS", "redis://127.0.0.1:6379/14")
ANSWER_SECONDS = 60
GATEWAY_SECRET = "e2e-gateway-secret-0123456789"


def _wait_until_up(url: str, processes) -> None:
    wait_until_up(url, processes, STARTUP_SECONDS)


@pytest.fixture(scope="module")
def fake_server():
    with FakeWeChatServer(appid=APPID, appsecret=APPSECRET) as server:
        yield server


@pytest.fixture(scope="module")
def workers(tmp_path_factory, fake_server):
    """Two Rasa servers (URLs) sharing Redis and one action server."""
    client = redis.Redis.from_url(REDIS_E2E_URL, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_E2E_URL} is unreachable ({exc})")
    folder = tmp_path_factory.mktemp("wechat_e2e")
    action_port, ports = free_port(), [free_port(), free_port()]
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n')
    env = dict(
        os.environ, DATABASE_URL=f"sqlite:///{folder / 'ipr.db'}", IPR_STAFF_HOURS="1-7 00:00-24:00",
        WECHAT_TOKEN=TOKEN, WECHAT_APPID=APPID, WECHAT_APPSECRET=APPSECRET, WECHAT_AES_KEY="",
        WECHAT_MP_TOKEN=TOKEN, WECHAT_MP_APPID=APPID, WECHAT_MP_APPSECRET=APPSECRET, WECHAT_MP_AES_KEY=AES_KEY,
        WECHAT_API_BASE=fake_server.url, REDIS_URL=REDIS_E2E_URL, WECHAT_GATEWAY_SECRET=GATEWAY_SECRET,
    )
    log = open(folder / "servers.log", "w")
    processes = [subprocess.Popen(
        [str(BIN / "rasa"), "run", "actions", "--port", str(action_port), "--actions", "actions"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)]
    processes += [subprocess.Popen(
        [str(BIN / "rasa"), "run", "--port", str(port), "--model", "models", "--endpoints", str(endpoints),
         "--credentials", "credentials.yml"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env) for port in ports]
    gateway_port = free_port()
    processes.append(subprocess.Popen(
        [sys.executable, "-m", "bot.channels.gateway", "--host", "127.0.0.1", "--port", str(gateway_port),
         "--upstream", f"http://127.0.0.1:{ports[0]}"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env))
    try:
        _wait_until_up(f"http://127.0.0.1:{action_port}/health", processes)
        for port in [*ports, gateway_port]:
            _wait_until_up(f"http://127.0.0.1:{port}/webhooks/wechat/", processes)
        # Two workers, then the gateway in front of the first.
        yield [f"http://127.0.0.1:{port}" for port in [*ports, gateway_port]]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        log.close()
        client.flushdb()


@pytest.fixture
def fake(fake_server):
    return fake_server.fake


def _oa(base: str) -> Pusher:
    return Pusher(f"{base}/webhooks/wechat/webhook")


def _conversation_texts(fake, openid: str, response: requests.Response, until: str) -> str:
    """The passive reply (if any) and every customer-service message to ``openid`` so far, once
    ``until`` shows up in them."""
    assert response.status_code == 200, response.text
    passive = ""
    if response.text != "success":
        fields = reply_fields(response.text)
        passive = fields.get("Content") or ""
    deadline = time.monotonic() + ANSWER_SECONDS
    while True:
        sent = [s["content"] for s in fake.sent() if s["touser"] == openid]
        text = "\n".join([passive, *sent])
        if until in text or time.monotonic() > deadline:
            assert until in text, text
            return text
        time.sleep(0.2)


def test_url_verification_through_rasa(workers):
    pusher = _oa(workers[0])
    response = requests.get(pusher.url, params={**pusher.query(), "echostr": "hello-wechat"}, timeout=10)
    assert response.text == "hello-wechat"
    forged = {**pusher.query(), "echostr": "x", "signature": "0" * 40}
    assert requests.get(pusher.url, params=forged, timeout=10).status_code == 403


def test_rest_channel_still_serves(workers):
    response = requests.post(f"{workers[0]}/webhooks/rest/webhook", json={"sender": "e2e-rest", "message": "你好"},
                             timeout=60)
    assert response.status_code == 200 and response.json()


def test_a_problem_gets_guidance_and_a_digit_files_a_complaint(workers, fake):
    pusher, openid = _oa(workers[0]), new_openid()
    response = pusher.post(xml(TEXT, openid, content="在游仙区的夜市买到高仿的耐克鞋，鞋标都是歪的"))
    guidance = _conversation_texts(fake, openid, response, "游仙区市场监督管理局")
    assert "1. 我要投诉" in guidance
    response = pusher.post(xml(TEXT, openid, content="1"))
    assert "个人信息" in _conversation_texts(fake, openid, response, "个人信息")


def test_subscribing_gets_the_greeting_and_the_privacy_notice(workers, fake):
    openid = new_openid()
    response = _oa(workers[0]).post(xml(EVENT, openid, event="subscribe", key=""))
    text = _conversation_texts(fake, openid, response, "隐私提示")
    assert "知识产权维权助手" in text


def test_a_retry_at_the_other_worker_does_not_run_the_conversation_again(workers, fake):
    first, second = _oa(workers[0]), _oa(workers[1])
    openid = new_openid()
    question = first.post(xml(TEXT, openid, content="有人照着我的实用新型专利做了一样的产品在卖"))
    _conversation_texts(fake, openid, question, "哪个市或区县")
    answer = xml(TEXT, openid, content="在德阳")
    original = first.post(answer)
    retry = second.post(answer)
    # The second worker has never seen this user: run there, "在德阳" alone would not be patent guidance.
    assert retry.text == original.text
    text = _conversation_texts(fake, openid, original, "德阳市市场监督管理局")
    assert "行政裁决" in text
    sends = [s for s in fake.sent() if s["touser"] == openid]
    assert len(sends) == len({s["content"] for s in sends})  # nothing sent twice


def test_asking_for_a_person_transfers_to_customer_service(workers, fake):
    openid = new_openid()
    response = _oa(workers[0]).post(xml(TEXT, openid, content="转人工"))
    text = _conversation_texts(fake, openid, response, "12315")
    if response.text != "success":
        assert reply_fields(response.text)["MsgType"] == "transfer_customer_service"
    assert "人工" in text


def test_mini_program_login_and_chat(workers, fake):
    openid = new_openid()
    fake.add_code("e2e-code", openid)
    base = f"{workers[1]}/webhooks/wechat_mp"
    token = requests.post(f"{base}/login", json={"code": "e2e-code"}, timeout=10).json()["token"]
    response = requests.post(f"{base}/chat", json={"message": "在游仙区的夜市买到高仿的耐克鞋"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert any("游仙区市场监督管理局" in text for text in body["messages"])
    assert body["choices"]["1"] == "/file_complaint"
    assert requests.post(f"{base}/chat", json={"message": "hi"}, timeout=10).status_code == 401


def _mini_program_wage_question_in_safe_mode_json(base: str, fake, msg_id: int) -> None:
    """Not IP (unpaid wages): answered by the customer-service API, naming the labour hotline 12333."""
    openid = new_openid()
    pusher = Pusher(f"{base}/webhooks/wechat_mp/webhook", aes_key=AES_KEY)
    body = json.dumps({"ToUserName": "gh_0123456789ab", "FromUserName": openid, "CreateTime": int(time.time()),
                       "MsgType": "text", "Content": "公司拖欠了我三个月工资不发", "MsgId": msg_id},
                      ensure_ascii=False)
    response = pusher.post(body, safe=True, as_json=True)
    assert response.text == "success"
    _conversation_texts(fake, openid, response, "12333")


def test_mini_program_push_in_safe_mode_json(workers, fake):
    _mini_program_wage_question_in_safe_mode_json(workers[0], fake, 24412345678909999)


# ---- through the gateway (workers[2]) -----------------------------------------------------------


def test_through_the_gateway_a_problem_gets_a_passive_answer(workers, fake):
    openid = new_openid()
    response = _oa(workers[2]).post(xml(TEXT, openid, content="在游仙区的夜市买到高仿的耐克鞋，鞋标都是歪的"))
    assert response.status_code == 200 and response.text != "success"  # answered within the 4 s budget
    assert "游仙区市场监督管理局" in _conversation_texts(fake, openid, response, "游仙区市场监督管理局")


def test_through_the_gateway_forged_pushes_never_reach_rasa(workers, fake):
    pusher, openid = _oa(workers[2]), new_openid()
    query = {**pusher.query(), "signature": "0" * 40}
    assert pusher.post(xml(TEXT, openid, content="转人工"), query=query).status_code == 403
    time.sleep(1.0)
    assert [s for s in fake.sent() if s["touser"] == openid] == []


def test_through_the_gateway_the_mini_program_and_rest_work(workers, fake):
    _mini_program_wage_question_in_safe_mode_json(workers[2], fake, 24412345678908888)
    rest = requests.post(f"{workers[2]}/webhooks/rest/webhook", json={"sender": "e2e-gw", "message": "你好"},
                         timeout=60)
    assert rest.status_code == 200 and rest.json()
