import pytest

from bot.wechat.choices import Choices
from bot.wechat.stores import MemoryKeyValue


@pytest.fixture(params=["memory", "redis"])
def choices(request):
    kv = MemoryKeyValue() if request.param == "memory" else request.getfixturevalue("redis_kv")
    return Choices(kv)


def test_a_number_resolves_to_its_payload(choices):
    choices.remember("oUser-1", {"1": "/file_complaint", "2": "/file_tipoff"})
    assert choices.resolve("oUser-1", "2") == "/file_tipoff"


@pytest.mark.parametrize("typed", [" 1 ", "１", "1.", "１．"])
def test_spaces_full_width_digits_and_a_trailing_dot_are_accepted(choices, typed):
    choices.remember("oUser-1", {"1": "/affirm"})
    assert choices.resolve("oUser-1", typed) == "/affirm"


@pytest.mark.parametrize("typed", ["3", "我要投诉", "12315", ""])
def test_anything_else_is_returned_unchanged(choices, typed):
    choices.remember("oUser-1", {"1": "/affirm", "2": "/deny"})
    assert choices.resolve("oUser-1", typed) == typed


def test_choices_belong_to_one_user(choices):
    choices.remember("oUser-1", {"1": "/affirm"})
    assert choices.resolve("oUser-2", "1") == "1"


def test_a_turn_without_buttons_clears_the_old_numbers(choices):
    choices.remember("oUser-1", {"1": "/affirm"})
    choices.remember("oUser-1", {})
    assert choices.resolve("oUser-1", "1") == "1"


def test_payloads_keep_chinese_text(choices):
    choices.remember("oUser-1", {"1": "成都市"})
    assert choices.resolve("oUser-1", "1") == "成都市"


def test_choices_live_48_hours_in_redis(redis_kv):
    Choices(redis_kv).remember("oUser-1", {"1": "/affirm"})
    assert 48 * 3600 - 5 < redis_kv.ttl("wechat:choices:oUser-1") <= 48 * 3600
