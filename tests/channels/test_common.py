"""The channels' shared pieces without HTTP: settings from credentials, neutralising typed
commands, the data file, signatures against known vectors, safe parsing."""

import hashlib
import time

import pytest
import yaml
from channels.helpers import AES_KEY, TEXT, xml
from support import ROOT

from bot.channels import CREDENTIAL_VARIABLES, security
from bot.channels.common import Reply, compose, neutralise, settings_from_credentials
from bot.channels.security import Rejected
from bot.channels.texts import EVIDENCE_KINDS, channel_texts, load_texts
from bot.channels.wechat_mp import WeChatMiniProgramInput
from bot.channels.wechat_oa import WeChatOfficialAccountInput
from bot.wechat.errors import WeChatConfigError
from bot.wechat.render import MAX_MESSAGES

NO_ENV = {"PATH": "/usr/bin"}


# ---- settings from credentials.yml --------------------------------------------------------------


def test_empty_credentials_leave_the_channel_unconfigured():
    empty = {"token": "", "appid": "", "appsecret": "", "aes_key": ""}
    assert settings_from_credentials(empty, "WECHAT_", env=NO_ENV) is None
    assert settings_from_credentials(None, "WECHAT_MP_", env=NO_ENV) is None


def test_credentials_win_over_the_environment():
    env = {"WECHAT_TOKEN": "env-token", "WECHAT_APPID": "wx-env", "WECHAT_APPSECRET": "env-secret",
           "WECHAT_REPLY_BUDGET": "2.5", "REDIS_URL": "redis://127.0.0.1:6379/3"}
    settings = settings_from_credentials({"token": "file-token", "aes_key": AES_KEY}, "WECHAT_", env=env)
    assert (settings.token, settings.appid, settings.aes_key) == ("file-token", "wx-env", AES_KEY)
    assert settings.reply_budget == 2.5 and settings.redis_url == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize("credentials,named", [
    ({"token": "t", "appid": "", "appsecret": "s"}, "WECHAT_APPID"),
    ({"token": "t", "appid": "wx", "appsecret": "s", "aes_key": "too-short"}, "WECHAT_AES_KEY"),
])
def test_a_partial_or_invalid_configuration_stops_rasa_naming_the_variable(credentials, named):
    with pytest.raises(WeChatConfigError, match=named):
        WeChatOfficialAccountInput.from_credentials(credentials)


def test_from_credentials_builds_configured_channels(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    channel = WeChatMiniProgramInput.from_credentials({"token": "t", "appid": "wx1", "appsecret": "s", "aes_key": ""})
    assert channel.settings.appid == "wx1" and channel.settings.aes_key is None and channel.core.crypto is None
    assert channel.name() == "wechat_mp" and WeChatOfficialAccountInput.name() == "wechat"


def test_credentials_yml_registers_both_channels_with_environment_variables():
    raw = (ROOT / "credentials.yml").read_text(encoding="utf-8")
    credentials = yaml.safe_load(raw.replace("${", "<").replace("}", ">"))
    assert credentials["bot.channels.wechat_oa.WeChatOfficialAccountInput"] == {
        "token": "<WECHAT_TOKEN>", "appid": "<WECHAT_APPID>", "appsecret": "<WECHAT_APPSECRET>",
        "aes_key": "<WECHAT_AES_KEY>"}
    assert credentials["bot.channels.wechat_mp.WeChatMiniProgramInput"] == {
        "token": "<WECHAT_MP_TOKEN>", "appid": "<WECHAT_MP_APPID>", "appsecret": "<WECHAT_MP_APPSECRET>",
        "aes_key": "<WECHAT_MP_AES_KEY>"}
    assert "rest" in credentials
    named = {value[1:-1] for channel in credentials.values() if channel for value in channel.values()}
    assert named == set(CREDENTIAL_VARIABLES)


def test_rasa_reads_credentials_yml_with_the_variables_set_empty(monkeypatch):
    from rasa.shared.exceptions import RasaException
    from rasa.shared.utils.io import read_config_file

    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RasaException, match="WECHAT_"):
        read_config_file(ROOT / "credentials.yml")
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.setenv(name, "")
    credentials = read_config_file(ROOT / "credentials.yml")
    for name, channel_class in (("bot.channels.wechat_oa.WeChatOfficialAccountInput", WeChatOfficialAccountInput),
                                ("bot.channels.wechat_mp.WeChatMiniProgramInput", WeChatMiniProgramInput)):
        assert channel_class.from_credentials(credentials[name]).settings is None


# ---- what the dialogue sees ---------------------------------------------------------------------


@pytest.mark.parametrize("typed,seen", [
    ("/greet", "greet"),
    ('/file_complaint{"region": "x"}', 'file_complaint{"region": "x"}'),
    ("  / /request_human", "request_human"),
    ("///", ""),
    ("买到假货 /greet", "买到假货 /greet"),
    ("我要投诉", "我要投诉"),
])
def test_typed_commands_are_neutralised(typed, seen):
    assert neutralise(typed) == seen
    assert not neutralise(typed).startswith("/")


def test_composed_answers_never_exceed_five_messages():
    texts = compose(["x" * 1500] * 12)
    assert len(texts) == MAX_MESSAGES
    assert compose(["a", "", "b"]) == ["a\n\nb"]


def test_replies_survive_the_store():
    for reply in (Reply(), Reply(text="答复"), Reply(handoff=True)):
        assert Reply.decode(reply.encode()) == reply
    assert Reply.decode("not json") == Reply() and Reply.decode(None) == Reply()


# ---- the channel's texts (data/channels/wechat.yml) --------------------------------------------


def test_the_texts_file_is_valid_and_menu_payloads_name_domain_intents():
    texts = channel_texts()
    intents = set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])
    payloads = [*texts.menu.values(), texts.welcome_payload]
    assert all(payload[1:].split("{")[0] in intents for payload in payloads), payloads
    for kind in EVIDENCE_KINDS:
        assert texts.evidence_labels[kind] in texts.evidence_received(kind)


@pytest.mark.parametrize("change,message", [
    (lambda d: d["texts"].pop("error"), "error"),
    (lambda d: d["menu"].update(BAD_KEY="file_complaint"), "intent payload"),
    (lambda d: d["evidence_labels"].pop("photo"), "must name exactly"),
    (lambda d: d["texts"].update(evidence_received="no placeholder"), "{kind}"),
])
def test_a_broken_texts_file_is_refused_naming_the_file(tmp_path, change, message):
    data = yaml.safe_load((ROOT / "data/channels/wechat.yml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "wechat.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=str(path)) as error:
        load_texts(path)
    assert message in str(error.value)


# ---- signatures, timestamps and parsing ---------------------------------------------------------


def test_signature_against_a_known_vector():
    # Computed independently: SHA-1 of the sorted, concatenated token, timestamp and nonce.
    token, timestamp, nonce = "ipr2024token", "1700000000", "1320562132"
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    assert expected == "501f3f5cf8c64feb7d121dd06829dd7b331cafe7"
    query = {"signature": expected, "timestamp": timestamp, "nonce": nonce}
    security.check_signature(token, query)
    with pytest.raises(Rejected) as error:
        security.check_signature(token, {**query, "signature": expected.upper()})
    assert error.value.status == 403


def test_msg_signature_covers_the_encrypted_message():
    token, timestamp, nonce, encrypt = "ipr2024token", "1700000000", "1320562132", "c2VjcmV0"
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()
    query = {"msg_signature": expected, "timestamp": timestamp, "nonce": nonce}
    security.check_msg_signature(token, query, encrypt)
    with pytest.raises(Rejected):
        security.check_msg_signature(token, query, encrypt + "x")


@pytest.mark.parametrize("offset,ok", [(0, True), (-300, True), (300, True), (-301, False), (301, False)])
def test_timestamp_window(offset, ok):
    now = 1_700_000_000
    if ok:
        security.check_timestamp(str(now + offset), 300, now=now)
    else:
        with pytest.raises(Rejected):
            security.check_timestamp(str(now + offset), 300, now=now)


@pytest.mark.parametrize("timestamp", [None, "", "abc", "1e9", "9" * 40])
def test_malformed_timestamps_are_refused(timestamp):
    with pytest.raises(Rejected) as error:
        security.check_timestamp(timestamp, 300)
    assert error.value.status == 403


@pytest.mark.parametrize("body", [
    b'<!DOCTYPE xml><xml><a>1</a></xml>',
    b'<?xml version="1.0"?><!doctype xml [<!ENTITY a "b">]><xml><a>&a;</a></xml>',
    b"<xml><!-- a comment --><a>1</a></xml>",
])
def test_declarations_are_refused_before_parsing(body):
    with pytest.raises(Rejected) as error:
        security.parse_xml(body)
    assert error.value.status == 400


def test_cdata_is_still_read():
    fields = security.parse_xml(xml(TEXT, "oUser", content="<b>不是标签</b>").encode())
    assert fields["Content"] == "<b>不是标签</b>"
    assert security.message_from_fields(fields).content == "<b>不是标签</b>"


def test_json_fields_become_a_wechatpy_message():
    message = security.message_from_fields({"ToUserName": "gh", "FromUserName": "oUser", "CreateTime": int(time.time()),
                                            "MsgType": "image", "PicUrl": "http://x", "MediaId": "m1", "MsgId": 7})
    assert (message.type, message.media_id, message.source, message.id) == ("image", "m1", "oUser", 7)


def test_a_dialogue_that_answers_nothing_still_gets_a_reply(serve):
    """Rasa sends no message when an action call fails; the citizen must not be left in silence."""
    from channels.helpers import TEXT, Pusher, xml

    async def silent(message):
        return None

    channel = serve("oa", dialogue=silent)
    reply = Pusher(channel.url()).post(xml(TEXT, "oSilent0001", content="你好"))
    assert reply.status_code == 200 and "<Content>" in reply.text
