"""The forms' questions and what a filing turns into."""

from bot.dialogue.filing import build_submission, editable_fields, required_slots, summary_lines

COMPLAINT_SLOTS = {
    "filing_uuid": "0b7c6a52-6a5e-4c1e-9a55-1a6f3f0e8f11",
    "category": "trademark_counterfeit",
    "region_code": "510704",
    "privacy_consent": True,
    "complainant_name": "张伟",
    "phone": "13812345678",
    "address": "",
    "respondent": "夜市东头卖鞋的摊位",
    "filing_request": "退款",
    "facts": "在夜市买的鞋是高仿的冒牌货",
    "evidence": "付款记录",
}


def test_a_complaint_asks_consent_first_then_every_field():
    assert required_slots("complaint", {}) == [
        "privacy_consent", "complainant_name", "phone", "address", "region_code", "respondent",
        "filing_request", "facts", "evidence",
    ]


def test_no_consent_ends_the_complaint_questions():
    assert required_slots("complaint", {"privacy_consent": False}) == ["privacy_consent"]


def test_an_anonymous_tip_off_asks_no_contact():
    questions = required_slots("tip_off", {"anonymous": True})
    assert questions == ["anonymous", "region_code", "respondent", "facts", "evidence"]
    assert "phone" not in editable_fields("tip_off", {"anonymous": True})


def test_a_named_tip_off_asks_consent_and_a_phone():
    assert required_slots("tip_off", {"anonymous": False})[:4] == ["anonymous", "privacy_consent", "phone",
                                                                   "region_code"]


def test_editing_asks_which_field_first():
    assert required_slots("complaint", {"editing": True})[0] == "edit_field"


def test_a_complete_complaint_becomes_a_submission_with_evidence_in_the_facts():
    submission = build_submission("complaint", COMPLAINT_SLOTS, "citizen-1", "rest")
    assert submission.missing == []
    data = submission.data
    assert data["uuid"] == COMPLAINT_SLOTS["filing_uuid"]
    assert data["source"] == "rest" and data["sender_id"] == "citizen-1"
    assert data["address"] is None  # skipped
    assert data["facts"].startswith("在夜市买的鞋") and "付款记录" in data["facts"]


def test_unanswered_fields_are_reported_missing():
    slots = dict(COMPLAINT_SLOTS, phone=None)
    assert build_submission("complaint", slots, None, None).missing == ["phone"]
    assert build_submission("complaint", slots, None, None).data["source"] == "rasa"


def test_the_read_back_lists_every_field_and_marks_skipped_ones():
    lines = summary_lines("complaint", COMPLAINT_SLOTS, "游仙区").splitlines()
    assert lines[0] == "姓名：张伟"
    assert "通讯地址：未提供" in lines
    assert "问题发生地：游仙区" in lines


def test_an_anonymous_tip_off_reads_back_as_anonymous():
    text = summary_lines("tip_off", {"anonymous": True, "respondent": "某仓库"}, "德阳市")
    assert "匿名" in text and "某仓库" in text
