"""Status push: an agency's word reaches a WeChat citizen once - by customer-service message while
the 48-hour window is open, else in the reply to their next message."""

from datetime import datetime, timezone

import pytest

from bot.intake.schemas import StatusCallbackIn, parse
from bot.intake.service import submit
from bot.intake.store import open_store
from bot.intake.timeutil import isoformat
from bot.intake.tracking import pending_notifications, record_agency_status
from bot.wechat.api import WeChatApi
from bot.wechat.push import Outlet, StatusPusher, take_news
from bot.wechat.stores import MemoryKeyValue
from bot.wechat.tokens import AccessTokenProvider
from bot.wechat.window import ServiceWindow

OPENID = "oCitizen-0001"
COMPLAINT = {
    "kind": "complaint", "category": "trademark_counterfeit", "region_code": "510704",
    "respondent": "夜市鞋摊", "facts": "在夜市买的鞋是高仿的冒牌货", "request": "退款",
    "name": "张伟", "phone": "13812345678", "source": "wechat", "sender_id": OPENID,
}


@pytest.fixture
def store(tmp_path):
    return open_store(f"sqlite:///{tmp_path / 'ipr.db'}")


@pytest.fixture
def kv():
    return MemoryKeyValue()


@pytest.fixture
def api(settings, kv):
    return WeChatApi(settings, AccessTokenProvider(settings, kv))


def _agency_says(store, complaint, status, note, event_id):
    at = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    update = parse(StatusCallbackIn, {"complaint_uuid": complaint.uuid, "status": status, "note": note,
                                      "updated_at": isoformat(at), "event_id": event_id})
    record_agency_status(store, complaint.agency_id, update, now=at)


def _pusher(store, kv, api):
    window = ServiceWindow(kv, namespace="wechat")
    return StatusPusher(store, kv, {"wechat": Outlet(window, api.send_text)}), window


def test_window_open_a_customer_service_message_goes_out_once(store, kv, api, fake):
    complaint = submit(store, COMPLAINT)
    _agency_says(store, complaint, "accepted", "已受理，将于5个工作日内联系您", "evt-1")
    pusher, window = _pusher(store, kv, api)
    window.touch(OPENID)
    assert pusher.push_once() >= 1
    [sent] = fake.sent()
    assert sent["touser"] == OPENID
    assert complaint.case_number in sent["content"] and "已受理" in sent["content"]
    assert "5个工作日" in sent["content"]
    assert pusher.push_once() == 0 and len(fake.sent()) == 1
    assert pending_notifications(store, sources=["wechat"]) == []


def test_window_closed_the_news_waits_for_the_next_message(store, kv, api, fake):
    complaint = submit(store, COMPLAINT)
    _agency_says(store, complaint, "in_progress", None, "evt-2")
    pusher, _ = _pusher(store, kv, api)
    pusher.push_once()
    assert fake.sent() == []
    [news] = take_news(kv, "wechat", OPENID)
    assert complaint.case_number in news and "正在处理" in news
    assert take_news(kv, "wechat", OPENID) == []


def test_wechat_refusing_the_window_keeps_the_news(store, kv, api, fake):
    complaint = submit(store, COMPLAINT)
    _agency_says(store, complaint, "closed", "已调解结案", "evt-3")
    pusher, window = _pusher(store, kv, api)
    window.touch(OPENID)
    fake.fail_next(1, errcode=45015)
    pusher.push_once()
    assert "已调解结案" in take_news(kv, "wechat", OPENID)[0]


def test_other_channels_complaints_are_left_alone(store, kv, api, fake):
    complaint = submit(store, dict(COMPLAINT, source="rest", sender_id="web-1"))
    _agency_says(store, complaint, "accepted", None, "evt-4")
    pusher, _ = _pusher(store, kv, api)
    assert pusher.push_once() == 0
    assert [c.status for c in pending_notifications(store, sources=["rest"])][-1] == "accepted"
