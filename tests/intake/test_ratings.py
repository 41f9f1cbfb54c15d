"""Satisfaction ratings through bot.intake.ratings and `python -m bot ratings`, on both databases."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from intake.helpers import tip_off_data
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from bot.__main__ import main
from bot.intake.endpoints import Endpoints
from bot.intake.errors import ValidationFailed
from bot.intake.models import Rating, metadata
from bot.intake.ratings import list_ratings, rating_summary, record_rating
from bot.intake.service import find_complaint, submit
from bot.intake.store import alembic_config, current_revision, head_revision, open_store

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
SCORE_RULE = "score: must be a whole number from 1 to 5"


def _rating(**overrides) -> dict:
    data = {"channel": "wechat", "topic": "guidance", "score": 5, "sender_id": "openid-1"}
    data.update(overrides)
    return data


def test_stored_and_listed_newest_first(store):
    older = record_rating(store, _rating(score=4), now=T0)
    newer = record_rating(store, _rating(topic="filing", score="5", case_number=" ip-20260101-7k3qwx ",
                                         sender_id=None), now=T0 + timedelta(minutes=1))
    listed = list_ratings(store)
    assert [r.id for r in listed] == [newer.id, older.id]
    assert listed[0].as_dict() == {
        "id": newer.id, "sender_id": None, "channel": "wechat", "topic": "filing", "score": 5,
        "case_number": "IP-20260101-7K3QWX", "created_at": "2026-01-01T08:01:00Z",
    }
    assert [r.id for r in list_ratings(store, limit=1)] == [newer.id]


def test_newest_means_given_last_not_stored_last(store):
    late = record_rating(store, _rating(), now=T0 + timedelta(hours=1))
    early = record_rating(store, _rating(), now=T0)
    assert [r.id for r in list_ratings(store)] == [late.id, early.id]


@pytest.mark.parametrize("score", [1, 5, "3", " 4 ", "\uff15"])  # the last: a full-width 5
def test_scores_given_as_digits_are_accepted(store, score):
    assert 1 <= record_rating(store, _rating(score=score)).score <= 5


class _UntouchedStore:
    """Validation comes first: a store that fails the test if it is used."""

    def transaction(self):
        raise AssertionError("an invalid rating reached the database")


@pytest.mark.parametrize("overrides, problem", [
    ({"score": 0}, SCORE_RULE),
    ({"score": 6}, SCORE_RULE),
    ({"score": -1}, SCORE_RULE),
    ({"score": True}, SCORE_RULE),
    ({"score": 4.5}, SCORE_RULE),
    ({"score": 5.0}, SCORE_RULE),
    ({"score": "five"}, SCORE_RULE),
    ({"score": "10"}, SCORE_RULE),
    ({"score": ""}, SCORE_RULE),
    ({"score": None}, SCORE_RULE),
    ({"topic": "music"}, "topic: must be one of guidance, filing"),
    ({"topic": "Guidance"}, "topic: must be one of guidance, filing"),
    ({"case_number": "IP-2026-XYZ"}, "case_number: must be a case number such as IP-20260101-7K3QWX"),
    ({"case_number": "IP-20260101-7K3QW0"}, "case_number: must be a case number such as IP-20260101-7K3QWX"),
    ({"channel": "WeChat!"}, "channel: must be a short lowercase name"),
    ({"sender_id": "x" * 201}, "sender_id: must be at most 200 characters"),
    ({"mood": "happy"}, "mood: is not a known field"),
])
def test_bad_input_is_refused_naming_the_field(overrides, problem):
    with pytest.raises(ValidationFailed) as caught:
        record_rating(_UntouchedStore(), _rating(**overrides))
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(problem)


def test_missing_fields_are_named():
    with pytest.raises(ValidationFailed) as caught:
        record_rating(_UntouchedStore(), {})
    assert sorted(caught.value.problems) == ["channel: is required", "score: is required", "topic: is required"]


@pytest.mark.parametrize("column, value", [("score", 7), ("score", 0), ("topic", "music")])
def test_the_database_refuses_what_validation_would(store, column, value):
    row = dict(channel="rasa", topic="guidance", score=3, created_at=T0)
    row[column] = value
    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            session.add(Rating(**row))
    assert list_ratings(store) == []


def test_summary_per_topic(store):
    assert rating_summary(store) == {
        topic: {"count": 0, "average": None, "scores": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
        for topic in ("guidance", "filing")
    }
    for score in (5, 4, 4):
        record_rating(store, _rating(score=score))
    for score in (5, 5, 5, 5, 5, 4, 3, 1):  # 33 / 8 = 4.125: rounded half up, not half to even
        record_rating(store, _rating(topic="filing", score=score))
    assert rating_summary(store) == {
        "guidance": {"count": 3, "average": 4.33, "scores": {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}},
        "filing": {"count": 8, "average": 4.13, "scores": {"1": 1, "2": 0, "3": 1, "4": 1, "5": 5}},
    }


@pytest.fixture
def cli_env(monkeypatch, db_url):
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_and_summary(cli_env, capsys):
    with open_store(cli_env) as store:
        record_rating(store, _rating(score=2), now=T0)
        record_rating(store, _rating(topic="filing", score=5, case_number="IP-20260101-7K3QWX"),
                      now=T0 + timedelta(seconds=1))
        expected_summary = rating_summary(store)
    code, out, err = _run(capsys, "ratings", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [(r["topic"], r["score"], r["case_number"]) for r in listed] == [
        ("filing", 5, "IP-20260101-7K3QWX"), ("guidance", 2, None)]
    code, out, _ = _run(capsys, "ratings", "list", "--limit", "1", "--json")
    assert [r["topic"] for r in json.loads(out)] == ["filing"]
    code, out, _ = _run(capsys, "ratings", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:5] == ["id", "created_at", "channel", "topic", "score"] and len(lines) == 3
    code, out, _ = _run(capsys, "ratings", "summary")
    summary = json.loads(out)
    assert code == 0 and summary == expected_summary
    assert summary["filing"]["average"] == 5.0 and summary["guidance"]["scores"]["2"] == 1


def test_cli_on_an_empty_store(cli_env, capsys):
    code, out, _ = _run(capsys, "ratings", "list", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = _run(capsys, "ratings", "summary")
    assert code == 0 and json.loads(out)["guidance"] == {"count": 0, "average": None,
                                                          "scores": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}


def _migrate_to(store, revision: str) -> None:
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_a_database_at_0001_is_upgraded_on_open_and_keeps_its_complaints(empty_db_url):
    old = open_store(empty_db_url, migrate=False)
    _migrate_to(old, "0001")
    assert current_revision(old.engine) == "0001"
    assert "ratings" not in inspect(old.engine).get_table_names()
    complaint = submit(old, tip_off_data(), endpoints=Endpoints({}))
    old.close()

    with open_store(empty_db_url) as store:
        assert current_revision(store.engine) == head_revision()
        assert "ratings" in inspect(store.engine).get_table_names()
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        assert find_complaint(store, complaint.case_number).uuid == complaint.uuid
        record_rating(store, _rating(topic="filing", case_number=complaint.case_number))
        assert [r.case_number for r in list_ratings(store)] == [complaint.case_number]
