"""Action server answers are still checked against Rasa's schema, with Rasa's error message."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.nlu import action_validation


@pytest.fixture
def action():
    action_validation.install()
    return RemoteAction("action_note_problem", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_good_answer_passes(action):
    answer = {"events": [{"event": "slot", "name": "category", "value": "patent"}],
              "responses": [{"response": "utter_guidance"}]}
    assert action._validate_action_result(answer) is True


def test_a_bad_answer_fails_with_rasas_message(action):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"no_event_key": 1}], "responses": "not a list"})


def test_the_schema_is_checked_once(action, monkeypatch):
    from jsonschema import validators

    action._validate_action_result({"events": [], "responses": []})
    calls = []
    monkeypatch.setattr(validators.Draft4Validator, "check_schema", classmethod(lambda cls, s: calls.append(s)))
    for _ in range(3):
        action._validate_action_result({"events": [], "responses": []})
    assert calls == []
