"""Settings from the environment."""

import pytest

from bot.intake import settings
from bot.intake.errors import ConfigError
from bot.intake.settings import DeliverySettings


def test_defaults_without_environment():
    values = DeliverySettings.from_env({})
    assert values == DeliverySettings()
    assert values.max_attempts == 25 and values.max_age_hours == 72
    assert values.lease_seconds >= 2 * values.request_budget


def test_values_come_from_the_environment():
    values = DeliverySettings.from_env({"INTAKE_MAX_ATTEMPTS": "3", "INTAKE_MAX_AGE_HOURS": "0.5",
                                        "INTAKE_READ_TIMEOUT": "2", "INTAKE_LEASE_SECONDS": "13"})
    assert (values.max_attempts, values.max_age_hours, values.read_timeout, values.lease_seconds) == (3, 0.5, 2, 13)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"INTAKE_MAX_ATTEMPTS": "many"}, "INTAKE_MAX_ATTEMPTS must be an integer"),
        ({"INTAKE_READ_TIMEOUT": "1s"}, "INTAKE_READ_TIMEOUT must be a number"),
        ({"INTAKE_MAX_ATTEMPTS": "0"}, "at least 1"),
        ({"INTAKE_BACKOFF_BASE": "-1"}, "INTAKE_BACKOFF_BASE must be greater than 0"),
        ({"INTAKE_LEASE_SECONDS": "20"}, "INTAKE_LEASE_SECONDS .* must be at least twice"),
    ],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        DeliverySettings.from_env(env)


def test_database_url_defaults_to_the_sqlite_file_under_var():
    assert settings.database_url({}) == f"sqlite:///{settings.REPO_ROOT / 'var' / 'ipr.db'}"
    assert settings.database_url({"DATABASE_URL": "postgres://u@h/db"}) == "postgresql://u@h/db"
    assert settings.database_url({"DATABASE_URL": "sqlite:////tmp/x.db"}) == "sqlite:////tmp/x.db"


def test_intake_config_path():
    assert settings.intake_config_path({}) == settings.REPO_ROOT / "config" / "intake.yml"
    assert str(settings.intake_config_path({"INTAKE_CONFIG": "/etc/ipr/intake.yml"})) == "/etc/ipr/intake.yml"
