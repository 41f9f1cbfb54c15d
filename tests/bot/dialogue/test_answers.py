"""Reading form answers the way citizens type them."""

import pytest

from bot.dialogue import answers


@pytest.mark.parametrize("text, phone", [
    ("13812345678", "13812345678"),
    ("我的电话是 138 1234 5678", "13812345678"),
    ("+86 139-1234-5678", "13912345678"),
    ("１３８１２３４５６７８", "13812345678"),  # full-width digits from a phone keyboard
    ("座机0816-2345678", "0816-2345678"),
])
def test_phone_numbers_are_found_and_normalised(text, phone):
    assert answers.check_phone(text) == phone


@pytest.mark.parametrize("text", ["12345", "138123", "23812345678", "我没有电话", "", None])
def test_bad_phone_numbers_are_refused(text):
    assert answers.check_phone(text) is None


def test_a_name_has_no_digits():
    assert answers.check_name("张伟") == "张伟"
    assert answers.check_name("13812345678") is None
    assert answers.check_name("！！") is None


def test_facts_need_ten_characters():
    assert answers.check_facts("鞋是假的") is None
    assert answers.check_facts("在夜市买的鞋是假的，商家不退") == "在夜市买的鞋是假的，商家不退"


def test_no_evidence_is_a_valid_answer():
    assert answers.check_evidence("没有") == ""
    assert answers.check_evidence("暂时没有。") == ""
    assert answers.check_evidence("有发票和聊天记录") == "有发票和聊天记录"


@pytest.mark.parametrize("text, intent, consent", [
    ("同意", "inform", True),
    ("我同意", None, True),
    ("不同意", "inform", False),
    ("好", None, True),
    ("不好", None, False),
    ("随便", "affirm", True),
    ("嗯？", "inform", None),
])
def test_consent(text, intent, consent):
    assert answers.parse_consent(text, intent) is consent


@pytest.mark.parametrize("text, intent, anonymous", [
    ("匿名", "file_tipoff", True),
    ("不匿名，可以留电话", "inform", False),
    ("实名", None, False),
    ("是的", "affirm", True),
    ("不用", "deny", False),
    ("啥意思", "inform", None),
])
def test_anonymity(text, intent, anonymous):
    assert answers.parse_anonymous(text, intent) is anonymous


@pytest.mark.parametrize("text, score", [
    ("5", 5), ("打4分吧", 4), ("五星", 5), ("很满意", 5), ("满意", 4), ("一般", 3), ("不满意", 2),
    ("很不满意", 1), ("三", 3), ("10分", None), ("12", None), ("哈哈", None),
])
def test_scores(text, score):
    assert answers.parse_score(text) == score


def test_the_field_of_a_correction():
    allowed = ["name", "phone", "address", "region", "respondent", "request", "facts", "evidence"]
    assert answers.detect_field("电话写错了", None, allowed) == "phone"
    assert answers.detect_field("我要改一下", "address", allowed) == "address"
    assert answers.detect_field("被投诉的店名不对", None, allowed) == "respondent"
    assert answers.detect_field("名字写错了", None, ["phone", "facts"]) is None  # a tip-off asks no name
    assert answers.detect_field("我填错了", None, allowed) is None
