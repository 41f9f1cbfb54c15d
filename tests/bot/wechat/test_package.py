import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_wechat_core_never_imports_rasa():
    modules = sorted(path.stem for path in (ROOT / "bot" / "wechat").glob("*.py") if path.stem != "__init__")
    code = "\n".join(
        [f"import bot.wechat.{module}" for module in modules]
        + ["import sys", "print(sorted({name.split('.')[0] for name in sys.modules} & {'rasa', 'rasa_sdk'}))"]
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert len(modules) >= 12


def test_the_gateway_never_imports_rasa():
    """It must stay light: its event loop only relays (bot/channels/gateway.py)."""
    code = ("import bot.channels.gateway, bot.channels.relay, bot.channels.security, sys\n"
            "print(sorted({name.split('.')[0] for name in sys.modules} & {'rasa', 'rasa_sdk', 'tensorflow'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
