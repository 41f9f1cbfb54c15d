"""The WeChat benchmark's pure helpers (the benchmark itself is a command, not a test)."""

import asyncio
import os
import subprocess
import sys
import time

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.channels import security
from bot.wechat import bench
from bot.wechat.signatures import check_signature

TOKEN = "bench-test-token"


def test_latency_stats_are_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert bench.latency_stats("ack_ms", values) == {"ack_ms_p50": 50.0, "ack_ms_p99": 99.0, "ack_ms_max": 100.0}
    assert bench.latency_stats("e2e_ms", []) == {"e2e_ms_p50": None, "e2e_ms_p99": None, "e2e_ms_max": None}


def test_a_fixed_rate_schedule():
    assert bench.planned_count(50, 30) == 1500
    assert bench.planned_count(20, 0.01) == 1
    assert bench.send_offsets(20, 4) == [0.0, 0.05, 0.1, 0.15]
    assert bench.rate_per_s(100, 10.0, 15.0) == 20.0
    assert bench.rate_per_s(1, 10.0, 10.0) is None


def test_every_message_has_its_own_user_and_msg_id():
    users = {bench.bench_openid("a1b2c3", phase, i) for phase in (1, 2) for i in range(2000)}
    assert len(users) == 4000
    assert all(len(user) == 28 and user.startswith("o") for user in users)
    ids = {bench.bench_msg_id(phase, i) for phase in (1, 2) for i in range(2000)}
    assert len(ids) == 4000 and max(ids) < 2**63


def test_the_text_push_is_what_the_channel_reads():
    xml = bench.text_message_xml("oUser", "在拼多多买的耐克鞋是假货]]>怎么办", 6000000000000000001, 1700000000)
    fields = security.parse_xml(xml.encode("utf-8"))
    message = security.message_from_fields(fields)
    assert message.type == "text" and message.source == "oUser"
    assert message.content == "在拼多多买的耐克鞋是假货]]>怎么办"
    assert str(message.id) == "6000000000000000001"


def test_the_query_is_signed_as_wechat_signs_it():
    query = bench.signed_query(TOKEN, "1700000000", "123456789", "oUser")
    check_signature(TOKEN, query["signature"], query["timestamp"], query["nonce"])
    assert query["openid"] == "oUser"


def test_safe_mode_pushes_decrypt_with_the_channel_checks():
    aes_key = bench.new_aes_key()
    assert len(aes_key) == 43
    crypto = WeChatCrypto(TOKEN, aes_key, bench.APPID)
    xml = bench.text_message_xml("oUser", "有人盗用我的商标", 6000000000000000002, int(time.time()))
    query = bench.signed_query(TOKEN, str(int(time.time())), "987654321", "oUser")
    envelope = bench.encrypted_push(crypto, TOKEN, xml, query)
    assert query["encrypt_type"] == "aes" and "有人" not in envelope
    plain = security.decrypt(crypto, TOKEN, query, security.parse_xml(envelope.encode("utf-8")))
    assert plain.decode("utf-8") == xml


def test_answer_times_per_user_oldest_first():
    sends = [{"touser": "a", "received_at": 3.0}, {"touser": "b", "received_at": 2.0},
             {"touser": "a", "received_at": 1.0}, {"touser": "other", "received_at": 0.5}]
    assert bench.answer_times(sends, ["a", "b", "c"]) == {"a": [1.0, 3.0], "b": [2.0]}


def test_cpu_seconds_from_a_proc_stat_line():
    line = "1234 (rasa (main)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
    assert bench.cpu_seconds(line, 100) == pytest.approx(3.0)
    assert bench.parent_pid(line) == 1


def test_tree_cpu_seconds_counts_the_children_too():
    child = subprocess.Popen([sys.executable, "-c", "import time\nt=time.process_time()\n"
                              "while time.process_time()-t<0.3: pass\ntime.sleep(30)"])
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        alone = bench.cpu_seconds(open(f"/proc/{os.getpid()}/stat").read(), ticks)
        deadline = time.monotonic() + 10
        while bench.tree_cpu_seconds(os.getpid(), ticks) - alone < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bench.tree_cpu_seconds(os.getpid(), ticks) - alone >= 0.25
    finally:
        child.kill()
        child.wait()


def _phase(**figures):
    return {"sent": 10, "answered": 10, **figures}


def test_evaluate_reports_each_target_and_the_ratios():
    ack = _phase(ack_ms_p99=12.0, rate_per_s=50)
    e2e = _phase(e2e_ms_p50=240.0, e2e_ms_p99=1300.0, rate_per_s=20)
    rest = _phase(e2e_ms_p50=200.0, e2e_ms_p99=1000.0)
    summary = bench.evaluate(ack, e2e, rest)
    assert summary["ratio_e2e_p50"] == 1.2 and summary["ratio_e2e_p99"] == 1.3
    assert summary["targets"]["ack_p99_ms"] == {"value": 12.0, "target": 50.0, "met": True}
    assert summary["targets"]["ratio_p50"]["met"] and not summary["targets"]["ratio_p99"]["met"]
    assert summary["targets_met"] is False


def test_evaluate_counts_lost_answers_as_a_miss():
    ack = _phase(ack_ms_p99=1.0)
    e2e = {**_phase(e2e_ms_p50=1.0, e2e_ms_p99=1.0), "answered": 9}
    rest = _phase(e2e_ms_p50=1.0, e2e_ms_p99=1.0)
    summary = bench.evaluate(ack, e2e, rest)
    assert all(check["met"] for check in summary["targets"].values())
    assert summary["all_answered"] is False and summary["targets_met"] is False


def test_open_loop_keeps_the_rate_when_the_server_is_slow():
    started = []

    async def slow_send(index):
        started.append(time.perf_counter())
        await asyncio.sleep(0.2)  # far slower than the 10 ms between sends
        return bench.Outcome(f"u{index}", time.time(), 0.2, 200)

    outcomes, lags = asyncio.run(bench.open_loop(100.0, 10, slow_send))
    assert [outcome.user for outcome in outcomes] == [f"u{i}" for i in range(10)]
    assert started[-1] - started[0] < 0.15  # all ten started before the first answered
    assert len(lags) == 10
