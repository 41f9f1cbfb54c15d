"""Validating complaints, callback requests and status callbacks: every error names its field."""

import uuid

import pytest
from intake.helpers import complaint_data, tip_off_data

from bot.intake.errors import ValidationFailed
from bot.intake.schemas import CallbackRequestIn, ComplaintIn, StatusCallbackIn, normalise_phone, parse


def _problems(model, data):
    with pytest.raises(ValidationFailed) as caught:
        parse(model, data)
    return caught.value.problems


@pytest.mark.parametrize("phone, expected", [
    ("13800138000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("0816-2345678", "0816-2345678"),
    ("028-87654321", "028-87654321"),
    ("02887654321", "02887654321"),
])
def test_phone_numbers_accepted(phone, expected):
    assert normalise_phone(phone) == expected


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "138001380001", "816-2345678", "0816-234567",
                                   "phone", "12315"])
def test_phone_numbers_refused(phone):
    with pytest.raises(ValueError, match="mainland mobile"):
        normalise_phone(phone)


def test_a_valid_complaint_and_tip_off():
    complaint = parse(ComplaintIn, complaint_data())
    assert complaint.kind == "complaint" and complaint.evidence[0].kind == "photo"
    tip_off = parse(ComplaintIn, tip_off_data())
    assert tip_off.name is None and tip_off.phone is None and tip_off.source == "rasa"


def test_complaints_need_name_phone_and_request():
    problems = _problems(ComplaintIn, complaint_data(name="", phone=None, request="  "))
    assert problems == ["name: is required for a complaint", "phone: is required for a complaint",
                        "request: is required for a complaint"]


def test_every_bad_field_is_reported_at_once():
    data = complaint_data(category="piracy", region_code="5107", facts="too short", phone="123", kind="complaint",
                          evidence=[{"kind": "selfie", "url_or_media_id": ""}], colour="red")
    problems = _problems(ComplaintIn, data)
    assert any(p.startswith("category: must be one of trademark_counterfeit") for p in problems)
    assert any(p.startswith("region_code: must be a 6-digit") for p in problems)
    assert any(p.startswith("facts: must be at least 10 characters") for p in problems)
    assert any(p.startswith("phone: must be a mainland mobile") for p in problems)
    assert any(p.startswith("evidence[0].kind: must be one of") for p in problems)
    assert "evidence[0].url_or_media_id: must not be empty" in problems
    assert "colour: is not a known field" in problems
    # phone failed its own check: not also reported as missing
    assert "phone: is required for a complaint" not in problems


def test_missing_fields_and_types():
    problems = _problems(ComplaintIn, {"kind": "tip_off"})
    assert {"category: is required", "region_code: is required", "respondent: is required",
            "facts: is required"} <= set(problems)
    assert _problems(ComplaintIn, tip_off_data(kind="report")) == ["kind: must be complaint or tip_off"]
    assert _problems(ComplaintIn, tip_off_data(evidence="photo")) == ["evidence: must be a list"]
    assert _problems(ComplaintIn, tip_off_data(uuid="nope")) == ["uuid: must be a UUID"]
    assert _problems(ComplaintIn, ["not", "an", "object"]) == ["expected a JSON object"]


def test_limits():
    assert _problems(ComplaintIn, tip_off_data(respondent="x" * 201)) == ["respondent: must be at most 200 characters"]
    evidence = [{"kind": "photo", "url_or_media_id": f"m{i}"} for i in range(21)]
    assert _problems(ComplaintIn, tip_off_data(evidence=evidence)) == ["evidence: at most 20 items"]
    assert _problems(ComplaintIn, tip_off_data(source="WeChat App")) == [
        "source: must be a short lowercase name such as cli, rasa or wechat"]


def test_facts_length_counts_characters_not_bytes():
    assert parse(ComplaintIn, tip_off_data(facts="在夜市买到假冒耐克鞋子了")).facts == "在夜市买到假冒耐克鞋子了"
    assert _problems(ComplaintIn, tip_off_data(facts="买到假鞋"))[0].startswith("facts: must be at least 10")


def test_callback_request():
    request = parse(CallbackRequestIn, {"channel": "wechat", "phone": "13900000000", "message": "Please call me"})
    assert request.sender_id is None
    assert _problems(CallbackRequestIn, {"channel": "wechat", "phone": "1", "message": " "}) == [
        "phone: must be a mainland mobile (11 digits, 1[3-9]...) or a landline with area code (e.g. 0816-2345678)",
        "message: must not be empty",
    ]


def test_status_callback():
    update = parse(StatusCallbackIn, {"complaint_uuid": str(uuid.uuid4()), "status": "accepted",
                                      "updated_at": "2026-01-01T08:00:00+08:00", "extra": "ignored"})
    assert update.updated_at.isoformat() == "2026-01-01T00:00:00+00:00"
    problems = _problems(StatusCallbackIn, {"status": "done", "updated_at": "yesterday"})
    assert any(p.startswith("status: must be one of accepted") for p in problems)
    assert any(p.startswith("updated_at:") for p in problems)
    assert _problems(StatusCallbackIn, {"status": "closed", "updated_at": "2026-01-01T00:00:00Z"}) == [
        "service_request_id or complaint_uuid: one is required"]
    naive = _problems(StatusCallbackIn, {"service_request_id": "R1", "status": "closed",
                                         "updated_at": "2026-01-01T00:00:00"})
    assert naive == ["updated_at: needs a UTC offset, e.g. 2025-01-01T10:00:00+08:00"]
