import threading
import time

import pytest

from bot.wechat.errors import WeChatStoreError
from bot.wechat.settings import WeChatSettings
from bot.wechat.stores import MemoryKeyValue, RedisKeyValue, make_kv


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def kv(request):
    if request.param == "memory":
        return MemoryKeyValue()
    return request.getfixturevalue("redis_kv")


def test_set_if_absent_stores_only_the_first_value(kv):
    assert kv.set_if_absent("k", "first", 60) is True
    assert kv.set_if_absent("k", "second", 60) is False
    assert kv.get("k") == "first"


def test_set_overwrites_and_delete_removes(kv):
    kv.set("k", "1", 60)
    kv.set("k", "2", 60)
    assert kv.get("k") == "2"
    kv.delete("k")
    assert kv.get("k") is None
    kv.delete("k")  # deleting an absent key is fine


def test_delete_if_equals_leaves_another_owners_value(kv):
    kv.set("lock", "owner-a", 60)
    assert kv.delete_if_equals("lock", "owner-b") is False
    assert kv.get("lock") == "owner-a"
    assert kv.delete_if_equals("lock", "owner-a") is True
    assert kv.get("lock") is None


def test_values_keep_chinese_text(kv):
    kv.set("k", "我要投诉", 60)
    assert kv.get("k") == "我要投诉"


def test_only_one_of_many_threads_wins_set_if_absent(kv):
    results = []
    barrier = threading.Barrier(16)

    def contend(number: int) -> None:
        barrier.wait()
        results.append(kv.set_if_absent("contended", f"thread-{number}", 60))

    threads = [threading.Thread(target=contend, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False] * 15 + [True]


def test_memory_values_expire_with_the_clock():
    clock = Clock()
    kv = MemoryKeyValue(clock=clock)
    kv.set("k", "v", 60)
    clock.now += 59.9
    assert kv.get("k") == "v"
    assert kv.set_if_absent("k", "new", 60) is False
    clock.now += 0.2
    assert kv.get("k") is None
    assert kv.set_if_absent("k", "new", 60) is True


def test_memory_store_sweeps_keys_nobody_reads_again():
    clock = Clock()
    kv = MemoryKeyValue(clock=clock)
    for number in range(100):
        kv.set_if_absent(f"dedupe:{number}", "1", 60)
    clock.now += MemoryKeyValue.SWEEP_INTERVAL + 61
    kv.set_if_absent("dedupe:new", "1", 60)
    assert len(kv) == 1


def test_redis_values_expire(redis_kv):
    redis_kv.set("short", "v", 0.2)
    assert 0 < redis_kv.ttl("short") <= 0.2
    time.sleep(0.3)
    assert redis_kv.get("short") is None
    assert redis_kv.set_if_absent("short", "again", 0.2) is True


def test_ttl_must_be_positive(kv):
    with pytest.raises(ValueError, match="ttl must be greater than 0"):
        kv.set("k", "v", 0)


def test_unreachable_redis_is_a_store_error():
    kv = RedisKeyValue.from_url("redis://127.0.0.1:1/0", timeout=0.5)
    with pytest.raises(WeChatStoreError, match="Redis SET NX failed: ConnectionError"):
        kv.set_if_absent("k", "v", 60)


def test_make_kv_uses_redis_when_configured_else_one_store_per_process(redis_url):
    base = dict(token="t", appid="wx1", appsecret="s")
    assert isinstance(make_kv(WeChatSettings(**base, redis_url=redis_url)), RedisKeyValue)
    first = make_kv(WeChatSettings(**base))
    second = make_kv(WeChatSettings(token="t2", appid="wx2", appsecret="s2"))
    assert isinstance(first, MemoryKeyValue) and first is second
