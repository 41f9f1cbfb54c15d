"""The service catalogue and the agency's check of incoming requests."""

from bot.intake.agency import catalogue
from bot.knowledge.categories import CATEGORY_CODES


def test_one_service_per_category_with_attributes():
    services = catalogue.services()
    assert [s["service_code"] for s in services] == list(CATEGORY_CODES)
    for service in services:
        codes = {a["code"]: a for a in service["attributes"]}
        assert codes["respondent"]["required"] and codes["request"]["required_for"] == ["complaint"]


def _request(**overrides):
    document = {"service_code": "patent", "request_kind": "complaint", "complaint_uuid": "k",
                "agency_id": "mianyang_amr", "region_code": "510700", "description": "facts of the matter",
                "attributes": {"respondent": "Shop", "request": "Stop it"},
                "requester": {"name": "Li", "phone": "13800138000"}}
    document.update(overrides)
    return document


def test_a_good_request_has_no_problems():
    assert catalogue.problems(_request(), "k") == []
    assert catalogue.problems(_request(request_kind="tip_off", requester=None, attributes={"respondent": "S"}),
                              "k") == []


def test_problems_name_the_fields():
    assert catalogue.problems([], "k") == ["body: expected a JSON object"]
    found = catalogue.problems(_request(service_code="x", complaint_uuid="other", description=" ",
                                        attributes={"respondent": ""}, requester={"name": "Li"}), "k")
    assert found == [
        "service_code: unknown service 'x'",
        "description: is required",
        "complaint_uuid: must equal the Idempotency-Key header",
        "attributes.respondent: is required for a complaint",
        "attributes.request: is required for a complaint",
        "requester.phone: is required for a complaint",
    ]
    assert catalogue.problems(_request(request_kind="x", attributes=None), "k") == [
        "request_kind: must be complaint or tip_off", "attributes: expected an object"]
