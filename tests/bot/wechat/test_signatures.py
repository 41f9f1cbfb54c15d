import hashlib

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature as wechatpy_check_signature

from bot.wechat.signatures import check_msg_signature, check_signature, check_timestamp

TOKEN = "ipr2024token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
# sha1 of the sorted ("1700000000", "ipr2024token", "nonce-1")
SIGNATURE = "eb65a79bb929dcdb238512d3a1912fec999c272d"


def test_the_signature_is_sha1_of_the_sorted_parts():
    assert hashlib.sha1("".join(sorted([TOKEN, "1700000000", "nonce-1"])).encode()).hexdigest() == SIGNATURE


def test_a_correct_signature_passes_like_wechatpys():
    wechatpy_check_signature(TOKEN, SIGNATURE, "1700000000", "nonce-1")
    check_signature(TOKEN, SIGNATURE, "1700000000", "nonce-1")


@pytest.mark.parametrize("signature", ["", None, "0" * 40, SIGNATURE[:-1], SIGNATURE.upper(), "签名"])
def test_a_wrong_or_missing_signature_fails(signature):
    with pytest.raises(InvalidSignatureException):
        check_signature(TOKEN, signature, "1700000000", "nonce-1")


def test_msg_signature_of_a_message_wechatpy_encrypted():
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    encrypted = crypto.encrypt_message("<xml><Content>你好</Content></xml>", "nonce-2", "1700000000")
    encrypt = encrypted.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    msg_signature = encrypted.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    check_msg_signature(TOKEN, msg_signature, "1700000000", "nonce-2", encrypt)
    with pytest.raises(InvalidSignatureException):
        check_msg_signature(TOKEN, msg_signature, "1700000001", "nonce-2", encrypt)


@pytest.mark.parametrize("timestamp", ["1699999700", "1700000300"])
def test_timestamps_within_five_minutes_pass(timestamp):
    check_timestamp(timestamp, now=1_700_000_000)


@pytest.mark.parametrize("timestamp, problem", [
    ("1699999699", "more than 300 s away"), ("1700000301", "more than 300 s away"), ("soon", "not a number"),
])
def test_other_timestamps_fail(timestamp, problem):
    with pytest.raises(InvalidSignatureException, match=problem):
        check_timestamp(timestamp, now=1_700_000_000)
