"""Alembic environment for the assistant's store (bot.intake.models).

Called two ways: by bot.intake.store.upgrade_to_head, which passes an open connection (already
inside a locked transaction) in config.attributes["connection"]; or by the alembic command line,
which connects to DATABASE_URL (default: the SQLite file var/ipr.db).
"""

from logging.config import fileConfig

from alembic import context

from bot.intake.models import metadata

config = context.config


def run_with(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    from bot.intake import settings
    from bot.intake.db import make_engine

    if config.config_file_name:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = config.get_main_option("sqlalchemy.url") or settings.database_url()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_with(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
if config.attributes.get("connection") is not None:
    run_with(config.attributes["connection"])
else:
    run_from_command_line()
