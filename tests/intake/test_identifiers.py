"""Case numbers."""

from datetime import datetime, timezone

from bot.intake.identifiers import CASE_ALPHABET, looks_like_case_number, new_case_number


def test_shape_and_china_date():
    late_evening_utc = datetime(2026, 1, 1, 17, 30, tzinfo=timezone.utc)  # 01:30 on 2 January in China
    number = new_case_number(late_evening_utc)
    assert number.startswith("IP-20260102-") and len(number) == 18
    assert looks_like_case_number(number) and looks_like_case_number(number.lower())


def test_alphabet_has_no_lookalikes():
    assert not set("01OIL") & set(CASE_ALPHABET)
    assert len(set(CASE_ALPHABET)) == len(CASE_ALPHABET) == 31


def test_numbers_are_unpredictable():
    now = datetime.now(timezone.utc)
    numbers = {new_case_number(now) for _ in range(5000)}
    assert len(numbers) == 5000
    assert set("".join(n[-6:] for n in numbers)) == set(CASE_ALPHABET)


def test_malformed_case_numbers():
    assert not looks_like_case_number("IP-2026010-ABCDEF")
    assert not looks_like_case_number("IP-20260101-ABCDE0")
