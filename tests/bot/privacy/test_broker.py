import asyncio
import json
import sqlite3

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.privacy.broker import MaskingEventBroker

USER_EVENT = {
    "sender_id": "demo-1",
    "event": "user",
    "timestamp": 1763780000.5,
    "text": "假冒耐克鞋，我的电话13812345678",
    "parse_data": {
        "text": "假冒耐克鞋，我的电话13812345678",
        "intent": {"name": "problem_trademark_counterfeit", "confidence": 0.97},
        "entities": [
            {"entity": "phone", "value": "13812345678", "start": 10, "end": 21, "extractor": "IdentifierExtractor"},
            {"entity": "brand", "value": "耐克", "start": 2, "end": 4, "extractor": "DIETClassifier"},
        ],
    },
    "input_channel": "rest",
    "metadata": {},
}
SLOT_EVENT = {"sender_id": "demo-1", "event": "slot", "timestamp": 1763780001.0, "name": "phone",
              "value": "+86 139-1234-5678"}
BOT_EVENT = {"sender_id": "demo-1", "event": "bot", "timestamp": 1763780002.0,
             "text": "已记录您的电话13812345678", "data": {"custom": {"phone": "13812345678"}}}


def create_broker(db_path):
    endpoint = EndpointConfig.from_dict({
        "type": "bot.privacy.broker.MaskingEventBroker",
        "inner": {"type": "sql", "dialect": "sqlite", "db": str(db_path)},
    })
    return asyncio.run(EventBroker.create(endpoint))


def stored_events(db_path):
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT sender_id, data FROM events ORDER BY id").fetchall()
    return [(sender_id, json.loads(data)) for sender_id, data in rows]


def test_rasa_loads_the_broker_by_module_path_with_an_sql_broker_inside(tmp_path):
    broker = create_broker(tmp_path / "events.db")
    assert isinstance(broker, MaskingEventBroker)
    assert isinstance(broker.inner, SQLEventBroker)
    assert broker.is_ready()


def test_published_events_are_stored_masked_and_otherwise_intact(tmp_path):
    db_path = tmp_path / "var" / "events.db"  # the broker creates the directory, as for var/ in a fresh clone
    broker = create_broker(db_path)
    for event in (USER_EVENT, SLOT_EVENT, BOT_EVENT):
        broker.publish(event)
    asyncio.run(broker.close())

    raw = db_path.read_bytes().decode("utf-8", errors="replace")
    assert "13812345678" not in raw and "1234-5678" not in raw
    (user_sender, user), (_, slot), (_, bot) = stored_events(db_path)

    assert user_sender == "demo-1"
    assert user["text"] == user["parse_data"]["text"] == "假冒耐克鞋，我的电话138****5678"
    phone, brand = user["parse_data"]["entities"]
    assert phone == {**USER_EVENT["parse_data"]["entities"][0], "value": "138****5678"}
    assert brand == USER_EVENT["parse_data"]["entities"][1]
    assert user["text"][phone["start"]:phone["end"]] == "138****5678"
    assert {key: value for key, value in user.items() if key not in ("text", "parse_data")} == {
        key: value for key, value in USER_EVENT.items() if key not in ("text", "parse_data")
    }
    assert user["parse_data"]["intent"] == USER_EVENT["parse_data"]["intent"]

    assert slot == {**SLOT_EVENT, "value": "+86 139-****-5678"}
    assert bot == {**BOT_EVENT, "text": "已记录您的电话138****5678", "data": {"custom": {"phone": "138****5678"}}}


def test_the_published_event_itself_is_not_changed(tmp_path):
    broker = create_broker(tmp_path / "events.db")
    event = json.loads(json.dumps(USER_EVENT))
    broker.publish(event)
    assert event == USER_EVENT


def test_a_missing_inner_broker_stops_start_up():
    endpoint = EndpointConfig.from_dict({"type": "bot.privacy.broker.MaskingEventBroker"})
    with pytest.raises(ValueError, match="inner"):
        asyncio.run(EventBroker.create(endpoint))
