"""The eager weight build restores every trained value, so predictions are the trained model's."""

import subprocess
import sys

from support import ROOT

SCRIPT = """
import logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
from bot.nlu.model import NluParser
parser = NluParser.latest("models")
print(parser.category("在淘宝买到高仿的名牌包"))
"""


def test_loading_leaves_no_checkpoint_value_unrestored():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "IPR_FAST_LOAD": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "trademark_counterfeit"
    assert "could not be found in the restored object" not in done.stderr
    assert "slow way" not in done.stderr


def test_install_is_idempotent_and_can_be_switched_off(monkeypatch):
    from rasa.utils.tensorflow.models import RasaModel

    from bot.nlu import fast_load

    monkeypatch.setattr(fast_load, "_INSTALLED", {"done": False})
    monkeypatch.setattr(RasaModel, "load", RasaModel.load)
    monkeypatch.setenv("IPR_FAST_LOAD", "0")
    before = RasaModel.load
    fast_load.install()
    assert RasaModel.load == before
    monkeypatch.setenv("IPR_FAST_LOAD", "1")
    fast_load.install()
    patched = RasaModel.load
    assert patched != before
    fast_load.install()
    assert RasaModel.load == patched
