"""Shared fixtures: the project's training data and the trained model."""

import pytest
from support import ROOT, load_intent_examples


@pytest.fixture(scope="session")
def intent_examples():
    return load_intent_examples()


@pytest.fixture(scope="session")
def nlu_parser():
    from bot.nlu.model import NluParser

    parser = NluParser.latest(ROOT / "models")
    yield parser
    parser.close()
