"""The assistant's store: open a database by URL and bring its schema to the newest migration.

    store = open_store()            # DATABASE_URL, or the SQLite file var/ipr.db under the repo
    with store.transaction() as session: ...
    store = shared_store()          # the same, opened once per process (the action server)

Migrations (alembic/ at the repository root) run on open, under a lock: BEGIN IMMEDIATE on
SQLite, an advisory lock on PostgreSQL, so processes starting together migrate once.
"""

import functools
import threading
from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.intake import settings
from bot.intake.db import Database, check_connection, make_engine
from bot.intake.errors import StoreError

MIGRATIONS_DIR = settings.REPO_ROOT / "alembic"
_MIGRATION_LOCK_KEY = 0x1B7_5702  # any constant; PostgreSQL advisory lock for migrations
_MIGRATION_THREAD_LOCK = threading.Lock()


class Store(Database):
    """The assistant's database (complaints, outbox, status history, callback requests)."""


def open_store(url: Optional[str] = None, migrate: bool = True) -> Store:
    engine = make_engine(url or settings.database_url())
    check_connection(engine)
    if migrate:
        try:
            upgrade_to_head(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot migrate the database: {getattr(exc, 'orig', None) or exc}") from exc
    return Store(engine)


@functools.lru_cache(maxsize=None)
def shared_store(url: Optional[str] = None) -> Store:
    """One store per process and URL, opened on first use (for long-lived callers such as the action
    server); ``shared_store.cache_clear()`` forgets it."""
    return open_store(url)


def alembic_config(url: Optional[str] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(MIGRATIONS_DIR)))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> Optional[str]:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> str:
    """Migrate to head unless already there; returns the head revision."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    config = alembic_config()
    # Alembic keeps its migration context in module globals: one migration per process at a time.
    with _MIGRATION_THREAD_LOCK, engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head
