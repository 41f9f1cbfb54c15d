"""Status push through a served channel: an agency's status change reaches the citizen who filed
on WeChat, by customer-service message while the 48-hour window is open."""

from datetime import datetime, timezone

from channels.helpers import TEXT, Pusher, wait_for, xml

from bot.intake.schemas import StatusCallbackIn, parse
from bot.intake.service import submit
from bot.intake.store import open_store, shared_store
from bot.intake.timeutil import isoformat
from bot.intake.tracking import record_agency_status

OPENID = "oPushCitizen01"


def test_an_agency_status_reaches_a_wechat_citizen(serve, fake, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ipr.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("WECHAT_PUSH_INTERVAL", "0.2")
    shared_store.cache_clear()
    store = open_store(url)
    complaint = submit(store, {
        "kind": "complaint", "category": "trademark_counterfeit", "region_code": "510704",
        "respondent": "夜市鞋摊", "facts": "在夜市买的鞋是高仿的冒牌货", "request": "退款",
        "name": "张伟", "phone": "13812345678", "source": "wechat", "sender_id": OPENID,
    })
    try:
        channel = serve("oa")
        assert Pusher(channel.url()).post(xml(TEXT, OPENID, content="你好")).status_code == 200
        at = datetime.now(timezone.utc)
        update = parse(StatusCallbackIn, {"complaint_uuid": complaint.uuid, "status": "accepted",
                                          "note": "已受理", "updated_at": isoformat(at), "event_id": "push-1"})
        record_agency_status(store, complaint.agency_id, update, now=at)
        pushed = wait_for(lambda: [s for s in fake.sent() if complaint.case_number in s["content"]])
        assert pushed[0]["touser"] == OPENID and "已受理" in pushed[0]["content"]
    finally:
        shared_store.cache_clear()
