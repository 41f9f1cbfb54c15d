"""Helpers shared by tests: paths and training-data readers."""

import contextlib
import re
import socket
import time
from pathlib import Path
from typing import Iterator, Optional

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = ROOT / "data" / "nlu"
HOLDOUT = ROOT / "tests" / "data" / "nlu_holdout.jsonl"
# Conversational intents of the filing dialogue (skip, correct, rate): `python -m bot.eval intents`.
FILING_HOLDOUT = ROOT / "tests" / "data" / "nlu_holdout_filing.jsonl"

_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]+\)|\{[^}]+\})")
_ANNOTATION_TYPE = re.compile(r"\[[^\]]+\](?:\(([^)]+)\)|\{\"entity\": \"([^\"]+)\"[^}]*\})")


def plain_text(example: str) -> str:
    """An annotated example as the user typed it."""
    return _ANNOTATION.sub(r"\1", example)


def entity_template(example: str) -> str:
    """An example with every annotated value replaced by its entity type."""
    return _ANNOTATION_TYPE.sub(lambda m: "<" + (m.group(1) or m.group(2)) + ">", example)


def load_intent_examples():
    """{intent: [raw example lines]} across data/nlu/*.yml."""
    examples = {}
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
            examples.setdefault(block["intent"], []).extend(lines)
    return examples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, processes, seconds: float) -> None:
    """Poll ``url`` until it answers 2xx; fail at once if one of the server processes exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not come up in {seconds}s")


def redis_unreachable(url: str) -> Optional[str]:
    """None when Redis answers at ``url``, else why not (the reason Redis tests skip with)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at {url} is unreachable ({exc}); start redis-server to run this test"
    finally:
        client.close()
    return None


@contextlib.contextmanager
def flushed_redis(url: str) -> Iterator[str]:
    """The Redis database at ``url``, empty before and after."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
