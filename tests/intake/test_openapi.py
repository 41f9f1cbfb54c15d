"""openapi.yaml is the contract: the reference agency server and the callback server implement every
path and method in it, and what we send and receive matches its schemas."""

import copy
import json
import re
import time
import uuid

import pytest
import requests
import yaml
from intake.helpers import ROOT, SECRET, complaint_data, gateway, tip_off_data
from jsonschema import Draft7Validator, RefResolver

from bot.intake.agency import catalogue
from bot.intake.agency.records import callback_document, prepare_event
from bot.intake.callback_server import create_app
from bot.intake.client import AgencyClient
from bot.intake.dispatcher import Dispatcher
from bot.intake.service import find_complaint, submit
from bot.intake.settings import DeliverySettings
from bot.intake.signing import sign
from bot.intake.timeutil import utcnow

ASSISTANT_PATHS = {"/agency/callback"}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def _operations(spec, assistant):
    return {(path, method.upper())
            for path, item in spec["paths"].items() if (path in ASSISTANT_PATHS) == assistant
            for method in item if method in HTTP_METHODS}


def _routes(app):
    found = set()
    for route in app.router.routes:
        path = re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", "/" + route.path.strip("/"))
        found.update((path, method) for method in route.methods)
    return found


def _schema(spec, name):
    """A validator for components/schemas/NAME, with OpenAPI's nullable turned into JSON Schema."""
    document = _nullable_to_json_schema(copy.deepcopy(spec))
    return Draft7Validator({"$ref": f"#/components/schemas/{name}"}, resolver=RefResolver.from_schema(document))


def _nullable_to_json_schema(node):
    if isinstance(node, dict):
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_json_schema(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_json_schema(value)
    return node


def _valid(validator, document):
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def test_the_file_is_openapi_3_0(spec):
    assert spec["openapi"].startswith("3.0.")
    assert {"Idempotency-Key"} <= {p["name"] for p in spec["components"]["parameters"].values()}
    assert set(spec["components"]["securitySchemes"]) == {"timestamp", "signature"}
    assert spec["components"]["schemas"]["ServiceCode"]["enum"] == list(catalogue.SERVICE_NAMES)


def test_the_reference_agency_implements_every_agency_operation(spec, agency):
    expected = _operations(spec, assistant=False)
    assert expected == {("/services", "GET"), ("/services/{service_code}", "GET"), ("/requests", "POST"),
                        ("/requests/{service_request_id}", "GET"), ("/tokens/{token}", "GET")}
    assert expected <= _routes(agency.server.app)


def test_the_callback_server_implements_the_callback(spec, store):
    assert _operations(spec, assistant=True) <= _routes(create_app(store, gateway("http://x")))


def test_every_agency_operation_answers_as_documented(spec, tmp_path, store):
    from intake.helpers import running_agency

    with running_agency(tmp_path / "a.db", assign_later=True) as agency:
        endpoints = gateway(agency.url)
        complaint = submit(store, complaint_data(), endpoints=endpoints)
        settings = DeliverySettings()
        Dispatcher(store, endpoints, AgencyClient.from_settings(settings), settings).run_once()
        [record] = agency.records()
        filled = {"{service_code}": "patent", "{service_request_id}": record["service_request_id"],
                  "{token}": record["token"]}
        for path, method in sorted(_operations(spec, assistant=False)):
            url = agency.url + "".join(filled.get(part, part) for part in _split(path))
            body = json.loads(find_complaint(store, complaint.uuid).deliveries[0].payload)
            raw = json.dumps(body).encode() if method == "POST" else b""
            stamp = int(time.time())
            headers = {"X-Timestamp": str(stamp), "X-Signature": sign(SECRET, stamp, raw),
                       "Idempotency-Key": complaint.uuid if method == "POST" else ""}
            answer = requests.request(method, url, data=raw or None, headers=headers, timeout=5)
            declared = spec["paths"][path][method.lower()]["responses"]
            assert str(answer.status_code) in declared, (path, method, answer.status_code)
            schema = declared[str(answer.status_code)]["content"]["application/json"]["schema"]
            _valid(_response_validator(spec, schema), answer.json())


def _split(path):
    return re.split(r"(\{[^}]+\})", path)


def _response_validator(spec, schema):
    document = _nullable_to_json_schema(copy.deepcopy(spec))
    return Draft7Validator(_nullable_to_json_schema(copy.deepcopy(schema)), resolver=RefResolver.from_schema(document))


def test_what_we_send_matches_the_service_request_schema(spec, store):
    validator = _schema(spec, "ServiceRequest")
    for data in (complaint_data(), tip_off_data(), tip_off_data(name="Wang", contact="wang@example.org")):
        complaint = submit(store, data, endpoints=gateway("http://x"))
        _valid(validator, json.loads(find_complaint(store, complaint.uuid).deliveries[0].payload))


def test_the_catalogue_and_callbacks_match_their_schemas(spec, agency):
    services = _schema(spec, "Service")
    for service in catalogue.services():
        _valid(services, service)
    key = str(uuid.uuid4())
    body = {"service_code": "patent", "request_kind": "tip_off", "complaint_uuid": key,
            "case_number": "IP-20260101-7K3QWX", "agency_id": "mianyang_amr", "region_code": "510700",
            "description": "Copies of a patented design", "attributes": {"respondent": "Shop"}}
    from bot.intake.agency.records import accept

    accept(agency.db, key, json.dumps(body).encode(), body, False, utcnow())
    record, event = prepare_event(agency.db, key, "accepted", "opened", utcnow())
    _valid(_schema(spec, "StatusCallback"), callback_document(record, event))
    _valid(_schema(spec, "CallbackResult"), {"result": "recorded", "case_number": "IP-20260101-7K3QWX",
                                             "status": "accepted", "applied": True})
