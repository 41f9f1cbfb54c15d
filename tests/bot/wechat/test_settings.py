import pytest

from bot.wechat.errors import WeChatConfigError
from bot.wechat.settings import WeChatSettings

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
OA_ENV = {"WECHAT_TOKEN": "ipr2024token", "WECHAT_APPID": "wx1234567890abcdef", "WECHAT_APPSECRET": "s3cr3t"}


def test_defaults_from_the_required_variables():
    settings = WeChatSettings.from_env(env=OA_ENV)
    assert (settings.token, settings.appid, settings.appsecret) == ("ipr2024token", "wx1234567890abcdef", "s3cr3t")
    assert settings.aes_key is None and not settings.encrypted
    assert settings.api_base == "https://api.weixin.qq.com"
    assert settings.reply_budget == 4.0
    assert settings.redis_url is None
    assert (settings.max_body_bytes, settings.timestamp_window, settings.dedupe_ttl) == (65536, 300, 120)


@pytest.mark.parametrize("missing", ["WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_APPSECRET"])
def test_a_missing_variable_is_named(missing):
    env = {key: value for key, value in OA_ENV.items() if key != missing}
    with pytest.raises(WeChatConfigError, match=rf"^{missing} is not set$"):
        WeChatSettings.from_env(env=env)


def test_a_blank_variable_counts_as_missing():
    with pytest.raises(WeChatConfigError, match="WECHAT_APPSECRET is not set"):
        WeChatSettings.from_env(env={**OA_ENV, "WECHAT_APPSECRET": "   "})


def test_mini_program_prefix_reads_its_own_account_and_the_shared_variables():
    env = {
        **OA_ENV,
        "WECHAT_MP_TOKEN": "mptoken", "WECHAT_MP_APPID": "wxmini0000000001", "WECHAT_MP_APPSECRET": "mpsecret",
        "WECHAT_MP_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": "http://127.0.0.1:8011/", "REDIS_URL": "redis://127.0.0.1:6379/2",
        "WECHAT_REPLY_BUDGET": "3.5",
    }
    settings = WeChatSettings.from_env("WECHAT_MP_", env=env)
    assert (settings.token, settings.appid, settings.appsecret) == ("mptoken", "wxmini0000000001", "mpsecret")
    assert settings.aes_key == AES_KEY and settings.encrypted
    assert settings.api_base == "http://127.0.0.1:8011"  # trailing slash dropped
    assert settings.redis_url == "redis://127.0.0.1:6379/2"
    assert settings.reply_budget == 3.5


def test_mini_program_missing_variable_is_named_with_its_prefix():
    with pytest.raises(WeChatConfigError, match=r"^WECHAT_MP_APPID is not set$"):
        WeChatSettings.from_env("WECHAT_MP_", env={**OA_ENV, "WECHAT_MP_TOKEN": "t", "WECHAT_MP_APPSECRET": "s"})


@pytest.mark.parametrize("key", [AES_KEY[:42], AES_KEY + "H", AES_KEY[:42] + "!"])
def test_aes_key_must_be_43_base64_characters(key):
    with pytest.raises(WeChatConfigError, match="WECHAT_AES_KEY must be the 43-character EncodingAESKey"):
        WeChatSettings.from_env(env={**OA_ENV, "WECHAT_AES_KEY": key})


@pytest.mark.parametrize("budget, problem", [
    ("abc", "a number of seconds"), ("5", "less than 5"), ("0", "more than 0"),
])
def test_reply_budget_must_leave_time_before_wechat_gives_up(budget, problem):
    with pytest.raises(WeChatConfigError, match=f"WECHAT_REPLY_BUDGET must be .*{problem}"):
        WeChatSettings.from_env(env={**OA_ENV, "WECHAT_REPLY_BUDGET": budget})


def test_api_base_must_be_an_http_url():
    with pytest.raises(WeChatConfigError, match="WECHAT_API_BASE must start with http"):
        WeChatSettings.from_env(env={**OA_ENV, "WECHAT_API_BASE": "api.weixin.qq.com"})


def test_unknown_prefix_is_refused():
    with pytest.raises(WeChatConfigError, match="unknown settings prefix 'WX_'"):
        WeChatSettings.from_env("WX_", env=OA_ENV)


def test_dedupe_ttl_below_a_minute_is_refused():
    with pytest.raises(WeChatConfigError, match="dedupe_ttl must be at least 60"):
        WeChatSettings(token="t", appid="a", appsecret="s", dedupe_ttl=30)


def test_secrets_stay_out_of_repr():
    settings = WeChatSettings.from_env(env={**OA_ENV, "WECHAT_AES_KEY": AES_KEY,
                                            "REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0"})
    text = repr(settings)
    assert "wx1234567890abcdef" in text
    for secret in ("ipr2024token", "s3cr3t", AES_KEY, "hunter2"):
        assert secret not in text
