"""End to end: the Rasa server and the action server as `make run` starts them, over HTTP."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import free_port, wait_until_up

from bot.channels import CREDENTIAL_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 180


def _wait_until_up(url: str, processes) -> None:
    wait_until_up(url, processes, STARTUP_SECONDS)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'ipr.db'}"


@pytest.fixture(scope="module")
def rest_url(tmp_path_factory, store_url):
    rasa_port, action_port = free_port(), free_port()
    folder = tmp_path_factory.mktemp("e2e")
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n')
    # Every agency behind one intake gateway (nothing listens: deliveries stay queued for the dispatcher).
    intake = folder / "intake.yml"
    intake.write_text('"*":\n  url: http://127.0.0.1:9/open311/v2\n  secret_env: E2E_INTAKE_SECRET\n')
    # WeChat left unconfigured (empty credentials: its webhooks answer 503), as on a fresh machine.
    env = {variable: "" for variable in CREDENTIAL_VARIABLES}
    env.update(os.environ, DATABASE_URL=store_url, INTAKE_CONFIG=str(intake),
               E2E_INTAKE_SECRET="e2e-secret-of-sixteen-chars", IPR_STAFF_HOURS="1-7 00:00-24:00")
    log = open(tmp_path_factory.mktemp("logs") / "servers.log", "w")
    processes = [
        subprocess.Popen(
            [str(BIN / "rasa"), "run", "actions", "--port", str(action_port), "--actions", "actions"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        ),
        subprocess.Popen(
            [str(BIN / "rasa"), "run", "--port", str(rasa_port), "--model", "models",
             "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        ),
    ]
    try:
        _wait_until_up(f"http://127.0.0.1:{action_port}/health", processes)
        _wait_until_up(f"http://127.0.0.1:{rasa_port}/", processes)
        yield f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        log.close()


def _messages(url: str, sender: str, text: str):
    response = requests.post(url, json={"sender": sender, "message": text}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _say(url: str, sender: str, text: str):
    """The bot's messages for one user message (the REST channel splits a reply at blank lines)."""
    return [m.get("text", "") for m in _messages(url, sender, text)]


def _reply(url: str, sender: str, text: str) -> str:
    return "\n".join(_say(url, sender, text))


def test_problem_with_place_gets_category_local_agency_and_options(rest_url):
    reply = _reply(rest_url, "e2e-1", "在游仙区的夜市买到高仿的耐克鞋，鞋标都是歪的")
    assert "假冒商品" in reply
    assert "游仙区市场监督管理局" in reply
    assert "12315" in reply


def test_problem_then_place_when_asked(rest_url):
    question = _reply(rest_url, "e2e-2", "有人照着我的实用新型专利做了一样的产品在卖")
    assert "哪个市或区县" in question
    reply = _reply(rest_url, "e2e-2", "在德阳")
    assert "专利" in reply and "德阳市市场监督管理局" in reply
    assert "行政裁决" in reply


def test_not_ip_points_to_the_right_hotline(rest_url):
    reply = _reply(rest_url, "e2e-3", "公司拖欠了我三个月工资不发")
    assert "12333" in reply


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😡😡😡", "我在淘宝买到假货了" * 1200, "hello, can you help me?", "买到\x00假\x1b货\u200b了"],
    ids=["empty", "spaces", "emoji", "10k", "english", "control"],
)
def test_awkward_input_gets_a_sensible_reply(rest_url, text):
    replies = _say(rest_url, f"e2e-awkward-{len(text)}", text)
    assert replies and all(replies)
    assert not any("Traceback" in r or "Error" in r for r in replies)


def test_a_complaint_is_filed_queued_and_looked_up(rest_url, store_url):
    from bot.intake.service import find_complaint
    from bot.intake.store import open_store

    sender = "e2e-filing"
    assert "游仙区" in _reply(rest_url, sender, "在游仙区的夜市买到高仿的耐克鞋，鞋标都是歪的")
    assert "个人信息" in _reply(rest_url, sender, "我要投诉")
    assert "姓名" in _reply(rest_url, sender, "同意")
    assert "手机号" in _reply(rest_url, sender, "张伟")
    assert "号码格式不对" in _reply(rest_url, sender, "12345")
    assert "通讯地址" in _reply(rest_url, sender, "13812345678")
    assert "投诉的是谁" in _reply(rest_url, sender, "绵阳市游仙区富乐街道12号")
    assert "希望对方怎么做" in _reply(rest_url, sender, "夜市东头卖鞋的摊位")
    assert "证据" in _reply(rest_url, sender, "要求退款")
    read_back = _reply(rest_url, sender, "有付款记录和鞋子的照片")
    assert "张伟" in read_back and "13812345678" in read_back and "游仙区市场监督管理局" in read_back
    filed = _reply(rest_url, sender, "确认")
    match = re.search(r"IP-\d{8}-[0-9A-Z]{6}", filed)
    assert match, filed

    complaint = find_complaint(open_store(store_url), match.group())
    assert complaint.kind == "complaint" and complaint.category == "trademark_counterfeit"
    assert complaint.region_code == "510704" and complaint.phone == "13812345678"
    assert complaint.deliveries[0].state == "pending"  # queued for the dispatcher

    assert "案件编号" in _reply(rest_url, sender, "查询进度")
    assert "后四位" in _reply(rest_url, sender, match.group())
    assert "不符" in _reply(rest_url, sender, "1111")
    status = _reply(rest_url, sender, "5678")
    assert match.group() in status and "当前状态" in status


def test_asking_for_a_person_gives_the_hotline_and_a_handoff_signal(rest_url):
    messages = _messages(rest_url, "e2e-human", "转人工")
    assert any("12315" in m.get("text", "") for m in messages)
    assert any((m.get("custom") or {}).get("handoff") for m in messages)
