"""Endpoints for several Rasa workers: conversations and locks in Redis, read back by Rasa itself."""

import pytest
from rasa.core.lock_store import RedisLockStore
from rasa.core.utils import AvailableEndpoints

from bot.workers import endpoints, main


def test_rasa_reads_redis_tracker_and_lock_stores(tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text(endpoints("redis://127.0.0.1:6379/13", 5155), encoding="utf-8")
    available = AvailableEndpoints.read_endpoints(str(path))
    assert available.action.url == "http://127.0.0.1:5155/webhook"
    assert available.tracker_store.type == "redis" and available.tracker_store.kwargs["db"] == 13
    assert isinstance(RedisLockStore(**{k: v for k, v in available.lock_store.kwargs.items()},
                                     host=available.lock_store.url), RedisLockStore)


def test_a_bad_url_is_refused(capsys):
    assert main(["http://example.org", "5055"]) == 2
    assert "redis://" in capsys.readouterr().err
    with pytest.raises(ValueError):
        endpoints("redis://", 5055)
