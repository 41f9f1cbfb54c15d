"""Fixtures for the WeChat core: a real Redis (db 15, flushed around each test; the tests that need
it skip, saying why, when it is unreachable) and the fake WeChat API served over HTTP on loopback."""

import os

import pytest
from support import flushed_redis, redis_unreachable

from bot.wechat.fake_api import FakeWeChatServer
from bot.wechat.settings import WeChatSettings
from bot.wechat.stores import RedisKeyValue

REDIS_TEST_URL = os.environ.get("WECHAT_TEST_REDIS", "redis://127.0.0.1:6379/15")
APPID = "wx1234567890abcdef"
APPSECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "ipr2024token"


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


@pytest.fixture
def redis_kv(redis_url):
    return RedisKeyValue.from_url(redis_url)


@pytest.fixture
def fake_server():
    with FakeWeChatServer(appid=APPID, appsecret=APPSECRET) as server:
        yield server


@pytest.fixture
def fake(fake_server):
    return fake_server.fake


@pytest.fixture
def settings(fake_server, redis_url):
    return WeChatSettings(token=TOKEN, appid=APPID, appsecret=APPSECRET, api_base=fake_server.url,
                          redis_url=redis_url)
