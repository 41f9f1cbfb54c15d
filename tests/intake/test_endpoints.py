"""The agency endpoints file: agencies with an intake API, the "*" gateway, local agencies."""

import pytest

from bot.intake import endpoints as endpoints_module
from bot.intake.endpoints import Endpoints, is_local, load_endpoints
from bot.intake.errors import ConfigError

KNOWN = {"youxian_amr", "youxian_culture", "mianyang_amr"}


def _write(tmp_path, text):
    path = tmp_path / "intake.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_specific_entries_and_local_agencies(tmp_path):
    path = _write(tmp_path, "youxian_amr:\n  url: https://amr.example/v2/\n  secret: s3cret-s3cret-s3cret\n")
    loaded = load_endpoints(path, known_agencies=KNOWN, env={})
    endpoint = loaded.for_agency("youxian_amr")
    assert endpoint.url == "https://amr.example/v2" and endpoint.requests_url == "https://amr.example/v2/requests"
    assert endpoint.secret == "s3cret-s3cret-s3cret"
    assert "s3cret" not in repr(endpoint)
    assert loaded.is_local("mianyang_amr") and not loaded.is_local("youxian_amr")
    assert is_local("mianyang_amr", loaded)


def test_gateway_takes_every_agency_except_explicitly_local_ones(tmp_path):
    path = _write(tmp_path, '"*":\n  url: http://gw.example\n  secret_env: GW_SECRET\n'
                            "youxian_culture:\n  local: true\n")
    loaded = load_endpoints(path, known_agencies=KNOWN, env={"GW_SECRET": "gateway-secret-123456"})
    assert loaded.for_agency("mianyang_amr").url == "http://gw.example"
    assert loaded.for_agency("mianyang_amr").agency_id == "mianyang_amr"
    assert loaded.secret_for("youxian_amr") == "gateway-secret-123456"
    assert loaded.is_local("youxian_culture") and loaded.secret_for("youxian_culture") is None


def test_missing_default_file_means_every_agency_is_local(tmp_path, monkeypatch):
    monkeypatch.setattr(endpoints_module.settings, "DEFAULT_INTAKE_CONFIG", tmp_path / "absent.yml")
    loaded = load_endpoints(env={})
    assert loaded.is_local("youxian_amr") and loaded.configured() == {}


def test_empty_file_means_every_agency_is_local(tmp_path):
    assert load_endpoints(_write(tmp_path, ""), env={}).is_local("youxian_amr")


@pytest.mark.parametrize(
    "text, env, message",
    [
        ("nobody_amr:\n  url: http://x.example\n  secret: 0123456789abcdef\n", {}, "'nobody_amr': not an agency id"),
        ("youxian_amr:\n  url: ftp://x.example\n  secret: 0123456789abcdef\n", {}, "url must be http"),
        ("youxian_amr:\n  secret: 0123456789abcdef\n", {}, "url is required"),
        ("youxian_amr:\n  url: http://x.example\n  secret: short\n", {}, "at least 16 characters"),
        ("youxian_amr:\n  url: http://x.example\n", {}, "secret .* is required"),
        ("youxian_amr:\n  url: http://x.example\n  secret_env: NOPE\n", {}, "NOPE .* is not set"),
        ("youxian_amr:\n  url: http://x.example\n  secret: 0123456789abcdef\n  secret_env: A\n", {}, "not both"),
        ("youxian_amr:\n  url: http://x.example\n  secret: 0123456789abcdef\n  timeout: 3\n", {}, "unknown key"),
        ("youxian_amr: http://x.example\n", {}, "expected a mapping"),
        ('"*":\n  local: true\n', {}, "gateway entry cannot be local"),
        ("- a\n- b\n", {}, "expected a mapping of agency id"),
        ("youxian_amr: [\n", {}, "not valid YAML"),
    ],
)
def test_bad_files_are_explained(tmp_path, text, env, message):
    with pytest.raises(ConfigError, match=message):
        load_endpoints(_write(tmp_path, text), known_agencies=KNOWN, env=env)


def test_an_explicitly_named_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_endpoints(env={"INTAKE_CONFIG": str(tmp_path / "missing.yml")})


def test_default_endpoints_check_ids_against_the_directory(tmp_path, monkeypatch):
    path = _write(tmp_path, "not_an_agency:\n  url: http://x.example\n  secret: 0123456789abcdef\n")
    monkeypatch.setenv("INTAKE_CONFIG", str(path))
    with pytest.raises(ConfigError, match="not an agency id in the directory"):
        endpoints_module.default_endpoints()


def test_endpoints_object_without_entries():
    assert Endpoints({}).for_agency("youxian_amr") is None


def test_the_shipped_example_file_loads(monkeypatch):
    from bot.intake.settings import REPO_ROOT
    from bot.knowledge.routing import get_router

    env = {"INTAKE_SECRET_YOUXIAN_AMR": "s" * 32, "INTAKE_SECRET_MIANYANG_AMR": "t" * 32}
    loaded = load_endpoints(REPO_ROOT / "config" / "intake.example.yml",
                            known_agencies=get_router().directory.agencies.keys(), env=env)
    assert not loaded.is_local("youxian_amr") and loaded.is_local("youxian_culture")
