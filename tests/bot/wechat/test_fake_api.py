"""The fake WeChat API itself: it must behave like WeChat where the channels depend on it."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.wechat.fake_api import FakeWeChat, FakeWeChatServer

ROOT = Path(__file__).resolve().parents[3]
APPID, SECRET = "wx1234567890abcdef", "0123456789abcdef0123456789abcdef"
TOKEN_PARAMS = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def send(fake: FakeWeChat, token: str, content: str = "您好") -> dict:
    body = f'{{"touser": "oUser-1", "msgtype": "text", "text": {{"content": "{content}"}}}}'.encode()
    return fake.custom_send({"access_token": token}, body)


def test_tokens_over_http(fake_server):
    answer = requests.get(f"{fake_server.url}/cgi-bin/token", params=TOKEN_PARAMS, timeout=5).json()
    assert answer["expires_in"] == 7200 and answer["access_token"] == fake_server.fake.latest_token
    wrong = requests.get(f"{fake_server.url}/cgi-bin/token", params={**TOKEN_PARAMS, "secret": "x"}, timeout=5)
    assert wrong.status_code == 200 and wrong.json()["errcode"] == 40125
    assert fake_server.fake.tokens_issued == 1


def test_a_newer_token_invalidates_the_older_after_the_grace_period():
    clock = Clock()
    fake = FakeWeChat(APPID, SECRET, grace=300, clock=clock)
    old = fake.issue_token(TOKEN_PARAMS)["access_token"]
    new = fake.issue_token(TOKEN_PARAMS)["access_token"]
    clock.now += 299
    assert send(fake, old)["errcode"] == 0
    clock.now += 2
    assert send(fake, old)["errcode"] == 40001
    assert send(fake, new)["errcode"] == 0
    assert fake.tokens_issued == 2


def test_tokens_expire():
    clock = Clock()
    fake = FakeWeChat(APPID, SECRET, expires_in=60, clock=clock)
    token = fake.issue_token(TOKEN_PARAMS)["access_token"]
    clock.now += 60
    assert send(fake, token)["errcode"] == 42001
    assert send(fake, "made-up")["errcode"] == 40001
    assert send(fake, "")["errcode"] == 41001


def test_faults_apply_to_the_named_endpoint_and_run_out():
    fake = FakeWeChat(APPID, SECRET)
    fake.fail_next(2, 45015, endpoint="send")
    token = fake.issue_token(TOKEN_PARAMS)["access_token"]  # not a send: unaffected
    assert [send(fake, token)["errcode"] for _ in range(3)] == [45015, 45015, 0]
    assert len(fake.sent()) == 1


def test_a_fault_for_any_endpoint_hits_the_next_call():
    fake = FakeWeChat(APPID, SECRET)
    fake.fail_next(1, -1, "system busy")
    assert fake.issue_token(TOKEN_PARAMS) == {"errcode": -1, "errmsg": "system busy"}
    assert "access_token" in fake.issue_token(TOKEN_PARAMS)


def test_sends_are_recorded_with_the_time_they_arrived():
    fake = FakeWeChat(APPID, SECRET)
    token = fake.issue_token(TOKEN_PARAMS)["access_token"]
    before = time.time()
    send(fake, token, "第一条")
    [sent] = fake.sent()
    assert sent["touser"] == "oUser-1" and sent["content"] == "第一条" and sent["msgtype"] == "text"
    assert before <= sent["received_at"] <= time.time()


def test_malformed_sends_are_refused_like_wechat():
    fake = FakeWeChat(APPID, SECRET)
    token = fake.issue_token(TOKEN_PARAMS)["access_token"]
    assert fake.custom_send({"access_token": token}, b"not json")["errcode"] == 47001
    assert fake.custom_send({"access_token": token}, b'{"msgtype": "text"}')["errcode"] == 40003
    assert fake.sent() == []


def test_control_routes_for_a_fake_in_another_process(fake_server):
    url = fake_server.url
    assert requests.post(f"{url}/_fake/codes", json={"code": "c1", "openid": "oMini-1"}, timeout=5).json() == {
        "ok": True}
    assert requests.post(f"{url}/_fake/faults", json={"errcode": 45047, "endpoint": "send"}, timeout=5).ok
    assert requests.post(f"{url}/_fake/codes", json={"openid": "no code"}, timeout=5).status_code == 400
    session = requests.get(f"{url}/sns/jscode2session", timeout=5, params={
        "appid": APPID, "secret": fake_server.fake.appsecret, "js_code": "c1", "grant_type": "authorization_code"})
    assert session.json()["openid"] == "oMini-1"
    state = requests.get(f"{url}/_fake/state", timeout=5).json()
    assert state == {"tokens_issued": 0, "sends": [], "calls": 1}
    assert requests.post(f"{url}/_fake/reset", timeout=5).ok
    assert requests.get(f"{url}/nowhere", timeout=5).status_code == 404


def test_servers_start_on_free_ports_and_stop():
    with FakeWeChatServer() as first, FakeWeChatServer() as second:
        assert first.url != second.url
        assert requests.get(f"{first.url}/_fake/state", timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{first.url}/_fake/state", timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_line_serves_until_interrupted():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.wechat.fake_api", "--port", str(port), "--appid", APPID, "--secret", SECRET],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        answer = None
        deadline = time.monotonic() + 20
        while answer is None and time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/cgi-bin/token", params=TOKEN_PARAMS, timeout=2).json()
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None and answer["expires_in"] == 7200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"fake WeChat API on http://127.0.0.1:{port}" in output


def test_command_line_reports_a_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot.wechat.fake_api", "--port", str(port), "--appid", APPID, "--secret", SECRET],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
