"""Settings from the environment, read when asked for (never at import time).

    DATABASE_URL              sqlite:///<repo>/var/ipr.db unless set (postgresql://... in production)
    INTAKE_CONFIG             agency endpoints file (default <repo>/config/intake.yml)
    INTAKE_MAX_ATTEMPTS       attempts before a delivery goes to dead letters (default 25)
    INTAKE_MAX_AGE_HOURS      hours after queueing before it goes to dead letters (default 72)
    INTAKE_BACKOFF_BASE       first retry delay ceiling in seconds (default 2)
    INTAKE_BACKOFF_CAP        largest retry delay ceiling in seconds (default 3600)
    INTAKE_CONNECT_TIMEOUT    seconds to connect to an agency (default 3.05)
    INTAKE_READ_TIMEOUT       seconds to wait for each read of its answer (default 10)
    INTAKE_LEASE_SECONDS      how long a dispatcher owns a claimed delivery (default 60)
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from bot.intake.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_PATH = REPO_ROOT / "var" / "ipr.db"
DEFAULT_INTAKE_CONFIG = REPO_ROOT / "config" / "intake.yml"
# A dispatcher sends a claimed delivery only while its lease has at least one request's worth of
# time left (connect + read timeout + this margin); the lease itself must cover two of them.
LEASE_MARGIN_SECONDS = 1.0


def database_url(env: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if env is None else env
    url = (env.get("DATABASE_URL") or "").strip()
    if not url:
        return f"sqlite:///{DEFAULT_DB_PATH}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


def intake_config_path(env: Optional[Mapping[str, str]] = None) -> Path:
    """The endpoints file; the default may be absent (every agency is then local)."""
    env = os.environ if env is None else env
    value = (env.get("INTAKE_CONFIG") or "").strip()
    return Path(value) if value else DEFAULT_INTAKE_CONFIG


def intake_config_is_explicit(env: Optional[Mapping[str, str]] = None) -> bool:
    env = os.environ if env is None else env
    return bool((env.get("INTAKE_CONFIG") or "").strip())


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 25
    max_age_hours: float = 72.0
    backoff_base: float = 2.0
    backoff_cap: float = 3600.0
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    lease_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("INTAKE_MAX_ATTEMPTS must be at least 1")
        for name in ("max_age_hours", "backoff_base", "backoff_cap", "connect_timeout", "read_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"INTAKE_{name.upper()} must be greater than 0")
        if self.lease_seconds < 2 * self.request_budget:
            raise ConfigError(
                f"INTAKE_LEASE_SECONDS ({self.lease_seconds:g}) must be at least twice connect + read timeout + "
                f"{LEASE_MARGIN_SECONDS:g} s ({2 * self.request_budget:g}): a send must never outlive its lease"
            )

    @property
    def request_budget(self) -> float:
        """The longest one delivery attempt may hold its lease for."""
        return self.connect_timeout + self.read_timeout + LEASE_MARGIN_SECONDS

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "DeliverySettings":
        env = os.environ if env is None else env
        values = {
            "max_attempts": _number(env, "INTAKE_MAX_ATTEMPTS", int),
            "max_age_hours": _number(env, "INTAKE_MAX_AGE_HOURS", float),
            "backoff_base": _number(env, "INTAKE_BACKOFF_BASE", float),
            "backoff_cap": _number(env, "INTAKE_BACKOFF_CAP", float),
            "connect_timeout": _number(env, "INTAKE_CONNECT_TIMEOUT", float),
            "read_timeout": _number(env, "INTAKE_READ_TIMEOUT", float),
            "lease_seconds": _number(env, "INTAKE_LEASE_SECONDS", float),
        }
        return cls(**{key: value for key, value in values.items() if value is not None})


def _number(env: Mapping[str, str], name: str, kind: type):
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None
