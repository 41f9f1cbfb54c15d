"""The clarifying question after a message the NLU could not place: buttons for the likeliest intents."""

from typing import Iterable, List, Mapping, Tuple

from bot.dialogue.settings import get_settings

HUMAN_INTENT = "request_human"


def likeliest_choices(intent_ranking: Iterable[Mapping[str, object]]) -> List[Tuple[str, str]]:
    """(intent, button title) for the top intents that make sense as a button, and always a person."""
    settings = get_settings()
    choices: List[Tuple[str, str]] = []
    for entry in intent_ranking:
        name = str(entry.get("name") or "")
        if name in settings.intent_buttons and name != HUMAN_INTENT and len(choices) < settings.max_intent_buttons:
            choices.append((name, settings.intent_buttons[name]))
    choices.append((HUMAN_INTENT, settings.intent_buttons[HUMAN_INTENT]))
    return choices
