import json

import pytest

from bot.privacy.masking import mask_data, mask_text

MOBILES = [
    ("我的电话13812345678", "我的电话138****5678"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("+8613912345678", "+86139****5678"),
    ("0086-158-1234-5678", "0086-158-****-5678"),
    ("手机：186-0816-2233，谢谢", "手机：186-****-2233，谢谢"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("13812345678和13912345678", "138****5678和139****5678"),
]
LANDLINES = [
    ("座机0816-2345678", "座机0816-*****78"),
    ("010-62345678", "010-******78"),
    ("(0816)2345678", "(0816)*****78"),
    ("（028）87654321", "（028）******21"),
    ("08162345678", "0816*****78"),
    ("+86 816 2345678", "+86 816 *****78"),
]
ID_NUMBERS = [
    ("身份证号51070319900101123X", "身份证号510*************3X"),
    ("身份证51070319900101123X", "身份证510*************3X"),
    ("510703199001011234。", "510*************34。"),
    ("51070319900101123x", "510*************3x"),
    ("510703 19900101 123X", "510*** ******** **3X"),
    ("老身份证510703900101123", "老身份证510**********23"),
]
UNTOUCHED = [
    "案件编号IP-20261122-7K3QWX，请查询",
    "专利号ZL201920123456.7被侵权",
    "专利号ZL 98123456.7",
    "公开号CN108123456A，申请号CN201920123456.7",
    "申请号201920123456.7",
    "商标注册号12345678，商标号1234567",
    "2026-11-22 10:05:33,123 INFO rasa.core.processor",
    "20261122 买的，价格1299元，另付13800元",
    "请拨打12315、12345或110",
    "intent confidence 0.13812345678",
    "订单号13812345678901234567",
    "",
]


@pytest.mark.parametrize(("text", "masked"), MOBILES)
def test_mobiles_keep_the_first_3_and_last_4_digits(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(("text", "masked"), LANDLINES)
def test_landlines_keep_the_area_code_and_last_2_digits(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(("text", "masked"), ID_NUMBERS)
def test_id_numbers_keep_the_first_3_and_last_2_characters(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", UNTOUCHED)
def test_other_numbers_are_untouched(text):
    assert mask_text(text) == text


@pytest.mark.parametrize(("text", "masked"), [*MOBILES, *LANDLINES, *ID_NUMBERS, *((text, text) for text in UNTOUCHED)])
def test_json_escaped_log_lines_are_masked_alike(text, masked):
    """Rasa's JSON log lines escape every non-ASCII character, full-width digits included."""
    assert mask_text(json.dumps({"text": text})) == json.dumps({"text": masked})


def test_masking_keeps_the_length_so_entity_offsets_stay_valid():
    text = "电话+86 138-1234-5678，身份证51070319900101123X"
    assert len(mask_text(text)) == len(text)


def test_nested_data_is_masked_into_new_objects():
    event = {
        "text": "电话13812345678",
        "parse_data": {"entities": [{"entity": "phone", "value": "13812345678", "start": 2, "end": 13}]},
        "pair": ("0816-2345678", 13812345678),
        "confidence": 0.98,
        "missing": None,
    }
    masked = mask_data(event)
    assert masked == {
        "text": "电话138****5678",
        "parse_data": {"entities": [{"entity": "phone", "value": "138****5678", "start": 2, "end": 13}]},
        "pair": ("0816-*****78", 13812345678),
        "confidence": 0.98,
        "missing": None,
    }
    assert event["text"] == "电话13812345678"
    assert event["parse_data"]["entities"][0]["value"] == "13812345678"
