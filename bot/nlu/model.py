"""Load the newest trained Rasa model and parse messages with it."""

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Union

from bot.knowledge.categories import category_for_intent

DEFAULT_MODELS_DIR = Path("models")


class ModelNotFound(RuntimeError):
    """No trained model where one was expected."""


def latest_model_path(models_dir: Union[str, Path] = DEFAULT_MODELS_DIR) -> Path:
    """The newest ``*.tar.gz`` in models_dir, the same choice ``rasa run`` makes."""
    models = sorted(Path(models_dir).glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise ModelNotFound(f"no trained model in {models_dir}/: run 'make train' first")
    return models[-1]


class NluParser:
    """A loaded model that parses text synchronously (for commands, not servers)."""

    def __init__(self, model_path: Union[str, Path]) -> None:
        from rasa.core.agent import Agent  # heavy: import only when a model is wanted

        _send_rasa_logs_to_stderr()
        self._loop = asyncio.new_event_loop()
        self.model_path = Path(model_path)
        self._agent = Agent.load(str(self.model_path))

    @classmethod
    def latest(cls, models_dir: Union[str, Path] = DEFAULT_MODELS_DIR) -> "NluParser":
        return cls(latest_model_path(models_dir))

    def parse(self, text: str) -> Dict[str, Any]:
        return self._loop.run_until_complete(self._agent.parse_message(text))

    def category(self, text: str) -> Optional[str]:
        """The problem category the model gives text, or None if its top intent is not a problem."""
        return category_for_intent(top_intent(self.parse(text)))

    def close(self) -> None:
        self._loop.close()


def _send_rasa_logs_to_stderr() -> None:
    # Rasa's structlog setup defaults to DEBUG on stdout; our commands print JSON there.
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    configure_structlog(logging.WARNING)


def top_intent(parse_data: Dict[str, Any]) -> Optional[str]:
    intent = parse_data.get("intent") or {}
    return intent.get("name")
