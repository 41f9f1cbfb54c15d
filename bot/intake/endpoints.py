"""Agency intake endpoints: which agencies we deliver to over their API, and with which secret.

The file (INTAKE_CONFIG, default config/intake.yml; never committed) maps agency ids to endpoints:

    youxian_amr:
      url: https://intake.example.org/open311/v2     # we POST to {url}/requests
      secret: a-long-random-shared-secret            # or secret_env: VARIABLE_HOLDING_IT
    youxian_culture:
      local: true                                    # held for manual forwarding, even with "*"
    "*":                                             # optional: every other agency, through one gateway
      url: https://gateway.example.org/v2
      secret_env: INTAKE_GATEWAY_SECRET

An agency with no entry (and no "*") is local: its deliveries are held for staff to forward by
hand, and the dialogue tells the citizen the phone or visit route instead.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Dict, Mapping, Optional, Union
from urllib.parse import urlsplit

import yaml

from bot.intake import settings
from bot.intake.errors import ConfigError

GATEWAY = "*"
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Endpoint:
    agency_id: str
    url: str
    secret: str = field(repr=False)

    @property
    def requests_url(self) -> str:
        return self.url.rstrip("/") + "/requests"


class Endpoints:
    """Look-ups over a loaded endpoints file: a specific entry wins over the "*" gateway."""

    def __init__(self, entries: Mapping[str, Optional[Endpoint]], source: str = "") -> None:
        self._entries = dict(entries)
        self.source = source

    def for_agency(self, agency_id: str) -> Optional[Endpoint]:
        if agency_id in self._entries:
            return self._entries[agency_id]
        gateway = self._entries.get(GATEWAY)
        if gateway is None:
            return None
        return Endpoint(agency_id=agency_id, url=gateway.url, secret=gateway.secret)

    def is_local(self, agency_id: str) -> bool:
        return self.for_agency(agency_id) is None

    def secret_for(self, agency_id: str) -> Optional[str]:
        endpoint = self.for_agency(agency_id)
        return endpoint.secret if endpoint else None

    def configured(self) -> Dict[str, Optional[Endpoint]]:
        return dict(self._entries)


def load_endpoints(
    path: Union[str, Path, None] = None,
    known_agencies: Optional[Collection[str]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Endpoints:
    """Read the endpoints file. A missing default file means "every agency is local"."""
    env = os.environ if env is None else env
    explicit = path is not None or settings.intake_config_is_explicit(env)
    target = Path(path) if path is not None else settings.intake_config_path(env)
    if not target.exists():
        if explicit:
            raise ConfigError(f"{target}: intake config file not found")
        return Endpoints({}, source="")
    raw = _read(target)
    entries = {}
    for agency_id, spec in raw.items():
        where = f"{target.name}: {agency_id!r}"
        if known_agencies is not None and agency_id != GATEWAY and agency_id not in known_agencies:
            raise ConfigError(f"{where}: not an agency id in the directory")
        entries[agency_id] = _parse_entry(where, agency_id, spec, env)
    return Endpoints(entries, source=str(target))


def default_endpoints() -> Endpoints:
    """The configured endpoints, checked against the agency directory."""
    from bot.knowledge.routing import get_router

    return load_endpoints(known_agencies=get_router().directory.agencies.keys())


def is_local(agency_id: str, endpoints: Optional[Endpoints] = None) -> bool:
    """True when deliveries to this agency are held for manual forwarding (no intake API)."""
    return (endpoints or default_endpoints()).is_local(agency_id)


def _read(path: Path) -> Dict[str, object]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
        raise ConfigError(f"{path}: expected a mapping of agency id to {{url, secret}}")
    return raw


def _parse_entry(where: str, agency_id: str, spec: object, env: Mapping[str, str]) -> Optional[Endpoint]:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with url and secret (or local: true)")
    unknown = set(spec) - {"url", "secret", "secret_env", "local"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if spec.get("local") is True:
        if agency_id == GATEWAY:
            raise ConfigError(f"{where}: the gateway entry cannot be local")
        return None
    return Endpoint(agency_id=agency_id, url=_url(where, spec.get("url")), secret=_secret(where, spec, env))


def _url(where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: url is required")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: url must be http(s)://host/..., got {value!r}")
    return value.strip().rstrip("/")


def _secret(where: str, spec: Mapping[str, object], env: Mapping[str, str]) -> str:
    if "secret" in spec and "secret_env" in spec:
        raise ConfigError(f"{where}: give secret or secret_env, not both")
    if "secret_env" in spec:
        name = str(spec["secret_env"])
        value = env.get(name, "")
        if not value:
            raise ConfigError(f"{where}: environment variable {name} (secret_env) is not set")
    else:
        value = spec.get("secret")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: secret (or secret_env) is required")
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{where}: secret must be at least {MIN_SECRET_LENGTH} characters")
    return value
