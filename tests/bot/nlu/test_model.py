"""The trained model copes with what people actually send."""

import pytest

from bot.knowledge.categories import category_for_intent
from bot.nlu.model import ModelNotFound, latest_model_path

AWKWARD_INPUTS = {
    "empty": "",
    "spaces": "   ",
    "ten_thousand_chars": "我在淘宝买到假货了" * 1200,
    "emoji_only": "😡😡😡👎",
    "english": "I bought fake Nike shoes online, what can I do?",
    "mixed": "my 抖音 video被人搬运了 help",
    "control_characters": "买到\x00假\x1b货\u200b了\x7f",
}


@pytest.mark.parametrize("name", sorted(AWKWARD_INPUTS))
def test_awkward_input_parses_to_an_intent(nlu_parser, name):
    result = nlu_parser.parse(AWKWARD_INPUTS[name])
    assert result["intent"]["name"]
    assert 0.0 <= result["intent"]["confidence"] <= 1.0


def test_control_characters_do_not_hide_the_problem(nlu_parser):
    assert nlu_parser.category(AWKWARD_INPUTS["control_characters"]) == "trademark_counterfeit"


def test_full_width_text_is_understood(nlu_parser):
    assert nlu_parser.category("在网上买到假冒ＮＩＫＥ鞋，是高仿的") == "trademark_counterfeit"


def test_emoji_only_falls_back(nlu_parser):
    assert nlu_parser.parse(AWKWARD_INPUTS["emoji_only"])["intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    "text, category",
    [
        ("拼多多上买的LV包是假的", "trademark_counterfeit"),
        ("有人照着我的外观设计专利做了一样的灯在卖", "patent"),
        ("我的小说被人原封不动发到别的网站上了", "copyright"),
        ("技术总监跳槽把我们的源代码带走了", "trade_secret"),
        ("外地的茶叶冒充西湖龙井在卖", "geographical_indication"),
        ("套牌的水稻种子冒充我们的授权品种", "plant_variety"),
        ("他们的奶茶店名字和装修都模仿我们家，顾客分不清", "unfair_competition"),
        ("快递丢了商家不管", "not_ip"),
    ],
)
def test_each_category_is_recognised(nlu_parser, text, category):
    assert category_for_intent(nlu_parser.parse(text)["intent"]["name"]) == category


def test_identifiers_are_extracted_by_pattern(nlu_parser):
    text = "对方冒用专利号ZL201920123456.7，我的电话13812345678，商标注册号第12345678号"
    entities = {e["entity"]: e["value"] for e in nlu_parser.parse(text)["entities"]}
    assert entities["patent_number"] == "ZL201920123456.7"
    assert entities["phone"] == "13812345678"
    assert entities["trademark_number"] == "12345678"


def test_case_number_is_extracted(nlu_parser):
    entities = nlu_parser.parse("帮我查一下IP-20261122-7FK3Q9的进度")["entities"]
    assert ("case_number", "IP-20261122-7FK3Q9") in {(e["entity"], e["value"]) for e in entities}


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFound, match="make train"):
        latest_model_path(tmp_path)
