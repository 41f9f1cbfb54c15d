"""`python -m bot ...`: the commands staff and tests use, through the same code as the dialogue."""

import json
import subprocess

import pytest
from intake.helpers import (
    PYTHON,
    ROOT,
    SECRET,
    complaint_data,
    process_env,
    running_agency,
    tip_off_data,
    write_gateway_config,
)

from bot.__main__ import main
from bot.intake.callback_server import create_app
from bot.intake.endpoints import load_endpoints
from bot.intake.serving import ServerThread
from bot.intake.store import open_store


@pytest.fixture
def env(monkeypatch, tmp_path, db_url):
    """DATABASE_URL for the store; no agency endpoints unless a test writes some."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTAKE_CONFIG", str(tmp_path / "intake.yml"))
    monkeypatch.setenv("TEST_AGENCY_SECRET", SECRET)
    (tmp_path / "intake.yml").write_text("", encoding="utf-8")
    return tmp_path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_no_arguments_prints_usage():
    result = subprocess.run([PYTHON, "-m", "bot"], cwd=ROOT, env=process_env(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stdout.startswith("usage: python -m bot") and "complaints" in result.stdout
    assert "Traceback" not in result.stderr


def test_submit_list_show(env, capsys):
    path = _write(env, "c.json", [complaint_data(), tip_off_data()])
    code, out, err = _run(capsys, "complaints", "submit", "--json", path)
    assert code == 0, err
    cases = out.split()
    assert len(cases) == 2 and all(c.startswith("IP-") for c in cases)
    code, out, _ = _run(capsys, "complaints", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and isinstance(listed, list) and {c["case_number"] for c in listed} == set(cases)
    assert {c["status"] for c in listed} == {"held"}  # no endpoints: local mode
    code, out, _ = _run(capsys, "complaints", "show", cases[0].lower(), "--json")
    shown = json.loads(out)
    assert shown["case_number"] == cases[0] and [h["status"] for h in shown["history"]] == ["received", "held"]
    code, out, _ = _run(capsys, "complaints", "show", cases[0])
    assert f"case_number: {cases[0]}" in out and "history:" in out
    code, out, _ = _run(capsys, "complaints", "list")
    assert out.splitlines()[0].split()[:2] == ["case_number", "kind"]


def test_a_single_object_file(env, capsys):
    code, out, _ = _run(capsys, "complaints", "submit", "--json", _write(env, "one.json", tip_off_data()))
    assert code == 0 and len(out.split()) == 1


def test_a_bad_item_writes_nothing_and_names_index_and_field(env, capsys):
    path = _write(env, "c.json", [complaint_data(), complaint_data(phone="555"), "oops"])
    code, out, err = _run(capsys, "complaints", "submit", "--json", path)
    assert code == 2 and out == ""
    assert "error: item 2: expected a JSON object" in err
    path = _write(env, "c.json", [complaint_data(), complaint_data(phone="555", request=None)])
    code, out, err = _run(capsys, "complaints", "submit", "--json", path)
    assert code == 2
    assert "error: item 1: phone: must be a mainland mobile" in err
    assert "error: item 1: request: is required for a complaint" in err
    assert "Traceback" not in err
    code, out, _ = _run(capsys, "complaints", "list", "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize("content, message", [
    ("{", "not valid JSON"),
    ("[]", "no complaints in the file"),
])
def test_unreadable_files(env, capsys, content, message):
    path = env / "bad.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = _run(capsys, "complaints", "submit", "--json", str(path))
    assert code == 2 and message in err
    code, _, err = _run(capsys, "complaints", "submit", "--json", str(env / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_unknown_case_and_bad_database(env, capsys, monkeypatch):
    code, _, err = _run(capsys, "complaints", "show", "IP-20200101-AAAAAA")
    assert code == 1 and err.strip() == "error: no complaint with case number or uuid 'IP-20200101-AAAAAA'"
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    code, _, err = _run(capsys, "complaints", "list")
    assert code == 1 and err.startswith("error: cannot connect to postgresql://postgres@127.0.0.1:1/none")


def test_deliveries_dispatch_and_retry(env, capsys, tmp_path):
    with running_agency(tmp_path / "agency.db") as agency:
        write_gateway_config(env / "intake.yml", agency.url)
        _run(capsys, "complaints", "submit", "--json", _write(env, "c.json", [tip_off_data(), tip_off_data()]))
        code, out, _ = _run(capsys, "deliveries", "list", "--json")
        assert code == 0 and [d["state"] for d in json.loads(out)] == ["pending", "pending"]
        code, out, _ = _run(capsys, "dispatch", "--once", "--log-level", "WARNING")
        assert code == 0 and json.loads(out)["delivered"] == 2
        assert len(agency.records()) == 2
        code, out, _ = _run(capsys, "deliveries", "list", "--dead", "--json")
        assert json.loads(out) == []
        code, out, err = _run(capsys, "deliveries", "retry", "1")
        assert code == 2 and "is delivered: only dead or held deliveries can be retried" in err
        code, out, _ = _run(capsys, "deliveries", "show", "1", "--json")
        shown = json.loads(out)
        assert shown["state"] == "delivered" and shown["attempts"][0]["outcome"] == "delivered"


def test_held_then_retried_when_an_endpoint_appears(env, capsys, tmp_path):
    _run(capsys, "complaints", "submit", "--json", _write(env, "c.json", [tip_off_data()]))
    code, out, _ = _run(capsys, "deliveries", "list", "--held", "--json")
    [held] = json.loads(out)
    code, out, err = _run(capsys, "deliveries", "retry", str(held["id"]))
    assert code == 0 and "queued again" in out and "will hold it again" in err
    with running_agency(tmp_path / "agency.db") as agency:
        write_gateway_config(env / "intake.yml", agency.url)
        code, out, _ = _run(capsys, "dispatch", "--once", "--log-level", "ERROR")
        assert json.loads(out)["delivered"] == 1
    code, out, _ = _run(capsys, "deliveries", "retry", "999")
    assert code == 1


def test_callback_requests(env, capsys):
    code, out, _ = _run(capsys, "callback-requests", "add", "--phone", "13900000000", "--message", "Please call")
    assert code == 0 and out.strip() == "1"
    code, _, err = _run(capsys, "callback-requests", "add", "--phone", "1", "--message", "x")
    assert code == 2 and "phone: must be a mainland mobile" in err
    code, out, _ = _run(capsys, "callback-requests", "list", "--pending", "--json")
    assert [r["phone"] for r in json.loads(out)] == ["13900000000"]
    assert _run(capsys, "callback-requests", "done", "1")[0] == 0
    code, out, _ = _run(capsys, "callback-requests", "list", "--pending", "--json")
    assert json.loads(out) == []


def test_db_upgrade(env, capsys):
    code, out, _ = _run(capsys, "db", "upgrade")
    assert code == 0 and "(head)" in out


def test_agency_list_and_set_status_post_a_signed_callback(env, capsys, tmp_path, db_url):
    write_gateway_config(env / "intake.yml", "http://127.0.0.1:9")
    store = open_store(db_url)
    callbacks = ServerThread(create_app(store, load_endpoints(env / "intake.yml"))).start()
    agency_db = f"sqlite:///{tmp_path / 'agency.db'}"
    try:
        with running_agency(tmp_path / "agency.db") as agency:
            write_gateway_config(env / "intake.yml", agency.url)
            _, out, _ = _run(capsys, "complaints", "submit", "--json", _write(env, "c.json", [complaint_data()]))
            case = out.strip()
            _run(capsys, "dispatch", "--once", "--log-level", "ERROR")
        code, out, _ = _run(capsys, "agency", "list", "--db", agency_db, "--json")
        [record] = json.loads(out)
        assert record["case_number"] == case and record["receipts"] == 1
        callback_url = f"{callbacks.url}/agency/callback"
        code, _, err = _run(capsys, "agency", "set-status", record["service_request_id"], "accepted", "opened",
                            "--db", agency_db)
        assert code == 2 and "no callback URL" in err
        code, out, err = _run(capsys, "agency", "set-status", record["service_request_id"], "accepted", "opened",
                              "--db", agency_db, "--callback-url", callback_url, "--secret-env", "TEST_AGENCY_SECRET")
        assert code == 0, err
        assert json.loads(out)["result"] == "recorded"
        code, out, _ = _run(capsys, "complaints", "show", case, "--json")
        assert json.loads(out)["status"] == "accepted"
        code, _, err = _run(capsys, "agency", "set-status", "REQ-NOPE", "closed", "x", "--db", agency_db,
                            "--callback-url", callback_url, "--secret", SECRET)
        assert code == 1 and "no request REQ-NOPE" in err
    finally:
        callbacks.stop()
        store.close()


def test_set_status_reports_an_unreachable_assistant(env, capsys, tmp_path):
    agency_db = f"sqlite:///{tmp_path / 'agency.db'}"
    with running_agency(tmp_path / "agency.db") as agency:
        write_gateway_config(env / "intake.yml", agency.url)
        _run(capsys, "complaints", "submit", "--json", _write(env, "c.json", [tip_off_data()]))
        _run(capsys, "dispatch", "--once", "--log-level", "ERROR")
    _, out, _ = _run(capsys, "agency", "list", "--db", agency_db, "--json")
    [record] = json.loads(out)
    code, _, err = _run(capsys, "agency", "set-status", record["service_request_id"], "closed", "done",
                        "--db", agency_db, "--callback-url", "http://127.0.0.1:9/agency/callback",
                        "--secret", SECRET)
    assert code == 1 and "status saved, but the callback failed (run again to resend)" in err


@pytest.mark.parametrize("command", [["callbacks", "serve"], ["agency", "serve", "--db", "sqlite:///{tmp}/a.db",
                                                              "--secret", SECRET]])
def test_a_busy_port_is_one_clear_error(env, capsys, command):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = [part.replace("{tmp}", str(env)) for part in command] + ["--port", str(port)]
        code, _, err = _run(capsys, *argv)
    assert code == 1 and f"error: cannot listen on 127.0.0.1:{port}" in err
