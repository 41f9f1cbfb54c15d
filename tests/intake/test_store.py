"""The store: migrations to head on open, on SQLite and PostgreSQL, over real connections."""

import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.intake.errors import StoreError
from bot.intake.models import metadata
from bot.intake.store import alembic_config, current_revision, head_revision, open_store

TABLES = {"complaints", "evidence_refs", "deliveries", "delivery_attempts", "status_events", "callback_requests"}


def test_open_migrates_to_head_and_models_match_the_migrations(empty_db_url):
    store = open_store(empty_db_url)
    assert current_revision(store.engine) == head_revision()
    assert TABLES <= set(inspect(store.engine).get_table_names())
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    store.close()


def test_opening_again_is_a_no_op(empty_db_url):
    open_store(empty_db_url).close()
    store = open_store(empty_db_url)
    assert current_revision(store.engine) == head_revision()
    store.close()


def test_processes_starting_together_migrate_once(empty_db_url):
    errors = []

    def open_one():
        try:
            open_store(empty_db_url).close()
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_downgrade_and_upgrade_again(store):
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not TABLES & set(inspect(store.engine).get_table_names())
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert TABLES <= set(inspect(store.engine).get_table_names())


def test_default_url_is_the_sqlite_file_under_var(monkeypatch, tmp_path):
    from bot.intake import settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(settings, "DEFAULT_DB_PATH", tmp_path / "var" / "ipr.db")
    store = open_store()
    assert (tmp_path / "var" / "ipr.db").exists()
    store.close()


@pytest.mark.parametrize("url, message", [
    ("sqlite://", "in-memory SQLite"),
    ("sqlite:///:memory:", "in-memory SQLite"),
    ("mysql://u@h/db", "unsupported database"),
    ("not a url", "not a database URL"),
    ("postgresql://postgres@127.0.0.1:1/none", "cannot connect"),
])
def test_bad_urls_are_explained(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_processes_opening_a_new_database_together_migrate_it_once(empty_db_url):
    import subprocess

    from intake.helpers import ROOT, bot_command, process_env

    processes = [subprocess.Popen(bot_command("db", "upgrade"), cwd=ROOT, env=process_env(DATABASE_URL=empty_db_url),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], results
    assert all("(head)" in out for out, _ in results)


def test_shared_store_is_opened_once_per_url(db_url):
    from bot.intake.store import shared_store

    try:
        assert shared_store(db_url) is shared_store(db_url)
    finally:
        shared_store(db_url).close()
        shared_store.cache_clear()
