import pytest

from bot.knowledge.categories import CATEGORY_CODES, category_for_intent, intent_for_category


def test_every_category_round_trips_through_its_intent():
    for code in CATEGORY_CODES:
        assert category_for_intent(intent_for_category(code)) == code


def test_conversational_and_unknown_intents_have_no_category():
    assert category_for_intent("greet") is None
    assert category_for_intent("problem_unknown") is None
    assert category_for_intent(None) is None


def test_unknown_code_is_rejected():
    with pytest.raises(ValueError):
        intent_for_category("trademark")
