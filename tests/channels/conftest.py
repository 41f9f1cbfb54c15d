"""Fixtures for the WeChat channels: the fake WeChat API on loopback, a real Redis (db 14, flushed
around each test that uses it; those tests skip, saying why, when Redis is down) and channels
served on loopback with a stand-in dialogue."""

import os

import pytest
from channels.helpers import AES_KEY, APPID, APPSECRET, TOKEN, ServedChannel
from support import flushed_redis, redis_unreachable

from bot.channels.wechat_mp import WeChatMiniProgramInput
from bot.channels.wechat_oa import WeChatOfficialAccountInput
from bot.wechat.fake_api import FakeWeChatServer
from bot.wechat.settings import WeChatSettings

REDIS_TEST_URL = os.environ.get("WECHAT_CHANNELS_TEST_REDIS", "redis://127.0.0.1:6379/14")
CHANNELS = {"oa": WeChatOfficialAccountInput, "mp": WeChatMiniProgramInput}


@pytest.fixture(scope="session")
def redis_problem():
    """None when Redis answers, else why not (the reason the Redis tests skip with)."""
    return redis_unreachable(REDIS_TEST_URL)


@pytest.fixture
def redis_url(redis_problem):
    if redis_problem:
        pytest.skip(redis_problem)
    with flushed_redis(REDIS_TEST_URL) as url:
        yield url


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
