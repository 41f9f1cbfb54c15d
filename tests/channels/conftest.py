"""Fixtures for the WeChat channels: the fake WeChat API on loopback, a real Redis (db 14, flushed
around each test that uses it; those tests skip, saying why, when Redis is down) and channels
served on loopback with a stand-in dialogue."""

import os

import pytest
import redis
from channels.helpers import AES_KEY, APPID, APPSECRET, TOKEN, ServedChannel

from bot.channels.wechat_mp import WeChatMiniProgramInput
from bot.channels.wechat_oa import WeChatOfficialAccountInput
from bot.wechat.fake_api import FakeWeChatServer
from bot.wechat.settings import WeChatSettings

REDIS_TEST_URL = os.environ.get("WECHAT_CHANNELS_TEST_REDIS", "redis://127.0.0.1:6379/14")
CHANNELS = {"oa": WeChatOfficialAccountInput, "mp": WeChatMiniProgramInput}


@pytest.fixture(scope="session")
def redis_problem():
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_TEST_URL} is unreachable ({exc}); start redis-server to run this test"
    finally:
        client.close()
    return None


@pytest.fixture
def redis_url(redis_problem):
    if redis_problem:
        pytest.skip(redis_problem)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def fake_server():
    with FakeWeChatServer(appid=APPID, appsecret=APPSECRET) as server:
        yield server


@pytest.fixture
def fake(fake_server):
    fake_server.fake.reset()
    return fake_server.fake


@pytest.fixture
def serve(fake_server, redis_url):
    """serve(kind="oa", budget=2.0, safe=False) -> a started ServedChannel, stopped after the test."""
    served = []

    def start(kind: str = "oa", budget: float = 2.0, safe: bool = False, redis: bool = True, dialogue=None):
        settings = WeChatSettings(token=TOKEN, appid=APPID, appsecret=APPSECRET, aes_key=AES_KEY if safe else None,
                                  api_base=fake_server.url, reply_budget=budget,
                                  redis_url=redis_url if redis else None)
        channel = ServedChannel(CHANNELS[kind](settings), dialogue).start()
        served.append(channel)
        return channel

    yield start
    for channel in served:
        channel.stop()
