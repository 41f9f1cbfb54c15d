"""Fixtures for the intake tests: a fresh database per test on SQLite (a file) and on PostgreSQL
(a database created for the test and dropped afterwards), and loopback agency servers."""

import os
import uuid
from typing import List, Optional

import psycopg2
import pytest
from intake.helpers import running_agency

from bot.intake.store import open_store

PG_ADMIN_DSN = os.environ.get("INTAKE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PG_BASE_URL = PG_ADMIN_DSN.rsplit("/", 1)[0]


class PostgresAdmin:
    """Creates throwaway databases and drops them (and any left behind) at the end of the session."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.created: List[str] = []
        self._template: Optional[str] = None

    def create(self, template: Optional[str] = None) -> str:
        name = f"ipr_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return f"{PG_BASE_URL}/{name}"

    def migrated_template(self) -> str:
        """A database migrated to head once per session; copying it is much faster than migrating."""
        if self._template is None:
            url = self.create()
            open_store(url).close()
            self._template = url.rsplit("/", 1)[1]
        return self._template

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)


@pytest.fixture(scope="session")
def postgres() -> Optional[PostgresAdmin]:
    try:
        connection = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        yield f"PostgreSQL at {PG_ADMIN_DSN} is unreachable: {str(exc).strip()}"
        return
    connection.autocommit = True
    admin = PostgresAdmin(connection)
    yield admin
    for name in list(admin.created):
        admin.drop(f"{PG_BASE_URL}/{name}")
    connection.close()


def _admin(postgres) -> PostgresAdmin:
    if isinstance(postgres, str):
        pytest.skip(postgres)
    return postgres


@pytest.fixture
def postgres_url(postgres):
    """A fresh, empty PostgreSQL database for one test."""
    admin = _admin(postgres)
    url = admin.create()
    yield url
    admin.drop(url)


@pytest.fixture
def migrated_postgres_url(postgres):
    """A fresh PostgreSQL database already at the newest migration (a copy of a template)."""
    admin = _admin(postgres)
    url = admin.create(template=admin.migrated_template())
    yield url
    admin.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ipr.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The store's URL: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ipr.db'}"
    return request.getfixturevalue("migrated_postgres_url")


@pytest.fixture
def store(db_url):
    store = open_store(db_url)
    yield store
    store.close()


@pytest.fixture
def agency(tmp_path):
    with running_agency(tmp_path / "agency.db") as server:
        yield server


@pytest.fixture(autouse=True)
def _no_stray_listeners():
    from bot.intake import statuses

    yield
    statuses.status_listeners.clear()
