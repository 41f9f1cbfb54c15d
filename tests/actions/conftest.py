"""A fresh SQLite store per test, as the action server would open it from DATABASE_URL."""

import pytest

from bot.intake.store import open_store, shared_store


@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ipr.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    shared_store.cache_clear()
    yield open_store(url)
    shared_store.cache_clear()
