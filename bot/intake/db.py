"""Engines and transactions for SQLite (embedded, a file) and PostgreSQL (by URL).

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: writers queue for the lock up front instead of failing when a read
turns into a write. Read-only sessions start with a plain ``BEGIN``.
"""

import random
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.intake.errors import StoreError

SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_POOL_SIZE = 8
_LOCK_PAUSE_MIN, _LOCK_PAUSE_MAX = 0.0002, 0.005
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
_READ_ONLY = "ipr_read_only"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return create_engine(
            parsed,
            future=True,
            pool_pre_ping=True,
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
        )
    raise StoreError(f"unsupported database {backend!r}: use sqlite:///FILE or postgresql://...")


def _sqlite_engine(parsed) -> Engine:
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
        raise StoreError("an in-memory SQLite database cannot be shared: give a file, sqlite:///path/ipr.db")
    try:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the directory for {database}: {exc}") from exc
    # Keep connections open: closing the last connection to a WAL database checkpoints it (slow).
    engine = create_engine(
        parsed,
        future=True,
        poolclass=QueuePool,
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=SQLITE_POOL_SIZE,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    # Switching a new file to WAL needs an exclusive lock, and SQLite reports a clash at once
    # (no busy handler) when that could deadlock: try again.
    _until_unlocked(cursor, "PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_on_begin(connection) -> None:
    if connection.get_execution_options().get(_READ_ONLY, False):
        connection.exec_driver_sql("BEGIN")
    else:
        _begin_immediate(connection.connection)


def _begin_immediate(dbapi_connection) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in short steps: SQLite's own busy handler sleeps
    1, 2, 5, 10 ... 100 ms between tries, which turns brief lock contention into long stalls."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        _until_unlocked(cursor, "BEGIN IMMEDIATE")
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()


def _until_unlocked(cursor, statement: str) -> None:
    """Execute ``statement``, trying again after short random pauses while the database is locked."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    pause = _LOCK_PAUSE_MIN
    while True:
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise OperationalError(statement, (), exc) from exc
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, _LOCK_PAUSE_MAX)


class Database:
    """Sessions over one engine: ``transaction()`` for writes, ``reader()`` for reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = sessionmaker(engine, future=True, expire_on_commit=False)
        self._reader = sessionmaker(engine.execution_options(**{_READ_ONLY: True}), future=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError(f"cannot connect to {where}: {getattr(exc, 'orig', None) or exc}") from exc
