import pytest

from bot.wechat.stores import MemoryKeyValue
from bot.wechat.window import ServiceWindow

HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def kv(request):
    return MemoryKeyValue() if request.param == "memory" else request.getfixturevalue("redis_kv")


def test_a_user_who_never_wrote_has_no_window(kv):
    assert ServiceWindow(kv).is_open("oUser-1") is False


def test_the_window_is_open_for_48_hours_after_the_last_message(kv):
    clock = Clock()
    window = ServiceWindow(kv, clock=clock)
    window.touch("oUser-1")
    clock.now += 47 * HOUR + 59 * 60
    assert window.is_open("oUser-1") is True
    clock.now += 2 * 60
    assert window.is_open("oUser-1") is False


def test_a_new_message_reopens_the_window(kv):
    clock = Clock()
    window = ServiceWindow(kv, clock=clock)
    window.touch("oUser-1")
    clock.now += 47 * HOUR
    window.touch("oUser-1")
    clock.now += 47 * HOUR
    assert window.is_open("oUser-1") is True
    assert window.is_open("oUser-2") is False


def test_the_window_is_shared_through_the_store(kv):
    clock = Clock()
    ServiceWindow(kv, clock=clock).touch("oUser-1")
    assert ServiceWindow(kv, clock=clock).is_open("oUser-1") is True
