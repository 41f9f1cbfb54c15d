"""What the channel believes of a relayed push (bot.channels.relay) and the gateway's settings."""

import pytest

from bot.channels.gateway import GatewaySettings, channel_settings
from bot.channels.relay import DEADLINE_HEADER, SECRET_HEADER, gateway_secret, relayed_time_left
from bot.wechat.errors import WeChatConfigError

SECRET = "relay-secret-0123456789"
NOW = 1_790_000_000.0


def _headers(secret=SECRET, deadline=NOW + 1.5):
    return {SECRET_HEADER: secret, DEADLINE_HEADER: str(deadline)}


def test_the_time_left_is_the_gateways_deadline_never_more_than_the_budget():
    assert relayed_time_left(_headers(), SECRET, budget=4.0, now=NOW) == pytest.approx(1.5)
    assert relayed_time_left(_headers(deadline=NOW + 60), SECRET, budget=4.0, now=NOW) == 4.0
    assert relayed_time_left(_headers(deadline=NOW - 3), SECRET, budget=4.0, now=NOW) == 0.0


@pytest.mark.parametrize("headers, secret", [
    ({}, SECRET),
    (_headers(secret="another-secret-000000000"), SECRET),
    (_headers(secret=SECRET[:-1]), SECRET),
    (_headers(), None),  # this server has no secret: nobody is the gateway
    ({SECRET_HEADER: SECRET}, SECRET),
    (_headers(deadline="soon"), SECRET),
    (_headers(deadline="nan"), SECRET),
])
def test_without_the_secret_and_a_deadline_a_request_is_not_the_gateways(headers, secret):
    assert relayed_time_left(headers, secret, budget=4.0, now=NOW) is None


def test_the_secret_comes_from_the_environment_and_must_be_long_enough():
    assert gateway_secret({}) is None
    assert gateway_secret({"WECHAT_GATEWAY_SECRET": "  "}) is None
    assert gateway_secret({"WECHAT_GATEWAY_SECRET": SECRET}) == SECRET
    with pytest.raises(WeChatConfigError, match="WECHAT_GATEWAY_SECRET"):
        gateway_secret({"WECHAT_GATEWAY_SECRET": "short"})


def test_gateway_settings_from_the_environment():
    settings = GatewaySettings.from_env("http://127.0.0.1:5015/", {"WECHAT_GATEWAY_SECRET": SECRET,
                                                                   "WECHAT_GATEWAY_MAX_RELAYS": "3"})
    assert settings.upstream == "http://127.0.0.1:5015" and settings.max_relays == 3
    assert SECRET not in repr(settings)


@pytest.mark.parametrize("env, named", [
    ({}, "WECHAT_GATEWAY_SECRET"),
    ({"WECHAT_GATEWAY_SECRET": SECRET, "WECHAT_GATEWAY_MAX_RELAYS": "0"}, "WECHAT_GATEWAY_MAX_RELAYS"),
    ({"WECHAT_GATEWAY_SECRET": SECRET, "WECHAT_GATEWAY_MAX_RELAYS": "-1"}, "WECHAT_GATEWAY_MAX_RELAYS"),
    ({"WECHAT_GATEWAY_SECRET": SECRET, "WECHAT_GATEWAY_MAX_RELAYS": "many"}, "WECHAT_GATEWAY_MAX_RELAYS"),
])
def test_bad_gateway_settings_name_the_variable(env, named):
    with pytest.raises(WeChatConfigError, match=named):
        GatewaySettings.from_env("http://127.0.0.1:5015", env)


def test_the_upstream_must_be_a_url():
    with pytest.raises(WeChatConfigError, match="upstream"):
        GatewaySettings(upstream="127.0.0.1:5015", secret=SECRET)


def test_the_gateway_checks_the_webhooks_configured_like_the_channels():
    env = {"WECHAT_TOKEN": "t", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s"}
    settings = channel_settings(env)
    assert settings["/webhooks/wechat/webhook"].appid == "wx1"
    assert settings["/webhooks/wechat_mp/webhook"] is None
    with pytest.raises(WeChatConfigError, match="WECHAT_MP_APPSECRET"):
        channel_settings({**env, "WECHAT_MP_TOKEN": "t", "WECHAT_MP_APPID": "wx2"})
