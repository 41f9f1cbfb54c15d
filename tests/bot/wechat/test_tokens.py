import threading

import pytest

from bot.wechat.errors import WeChatApiError
from bot.wechat.stores import MemoryKeyValue, RedisKeyValue
from bot.wechat.tokens import AccessTokenProvider


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def provider(settings, kv=None, **options) -> AccessTokenProvider:
    """A provider with its own Redis connection, as in another process."""
    return AccessTokenProvider(settings, kv or RedisKeyValue.from_url(settings.redis_url), **options)


def test_two_providers_share_one_token(settings, fake):
    first, second = provider(settings), provider(settings)
    token = first.get()
    assert second.get() == token == fake.latest_token
    assert first.get() == token
    assert fake.tokens_issued == 1


def test_concurrent_first_use_fetches_once(settings, fake):
    tokens = []
    barrier = threading.Barrier(8)

    def use() -> None:
        own = provider(settings)
        barrier.wait()
        tokens.append(own.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert fake.tokens_issued == 1


def test_token_is_renewed_five_minutes_before_it_expires(settings, fake):
    clock = Clock()
    tokens = provider(settings, clock=clock)
    first = tokens.get()
    clock.now += 7200 - 301
    assert tokens.get() == first
    clock.now += 2  # now 299 s before expiry
    second = tokens.get()
    assert second != first and second == fake.latest_token
    assert fake.tokens_issued == 2


def test_cached_is_the_stored_token_until_it_is_due_and_never_fetches(settings, fake):
    clock = Clock()
    tokens = provider(settings, clock=clock)
    assert tokens.cached() is None and fake.tokens_issued == 0
    first = tokens.get()
    assert tokens.cached() == first
    clock.now += 7200 - 299  # due for renewal: get() renews, cached() does not
    assert tokens.cached() is None and fake.tokens_issued == 1


def test_a_token_due_for_renewal_is_still_used_while_another_process_renews_it(settings, fake):
    clock = Clock()
    kv = RedisKeyValue.from_url(settings.redis_url)
    tokens = provider(settings, kv, clock=clock)
    first = tokens.get()
    clock.now += 7200 - 100
    kv.set(tokens.lock_key, "another-process", 15)
    assert tokens.get() == first
    assert fake.tokens_issued == 1


def test_refresh_of_a_stale_token_fetches_once_for_everyone(settings, fake):
    first = provider(settings).get()
    refreshed = []
    barrier = threading.Barrier(6)

    def refused() -> None:
        own = provider(settings)
        barrier.wait()
        refreshed.append(own.refresh(stale=first))

    threads = [threading.Thread(target=refused) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(set(refreshed)) == 1 and refreshed[0] != first
    assert fake.tokens_issued == 2


def test_refresh_does_nothing_when_another_process_already_replaced_the_stale_token(settings, fake):
    tokens = provider(settings)
    first = tokens.get()
    second = provider(settings).refresh(stale=first)
    assert tokens.refresh(stale=first) == second
    assert fake.tokens_issued == 2


def test_refresh_without_a_stale_token_replaces_the_stored_one(settings, fake):
    tokens = provider(settings)
    first = tokens.get()
    assert tokens.refresh() != first
    assert fake.tokens_issued == 2


def test_waiters_give_up_if_the_lock_holder_never_finishes(settings, fake):
    kv = RedisKeyValue.from_url(settings.redis_url)
    tokens = provider(settings, kv, wait_timeout=0.3)
    kv.set(tokens.lock_key, "a-stuck-process", 15)
    with pytest.raises(WeChatApiError, match="waiting for another process to refresh") as caught:
        tokens.get()
    assert caught.value.errcode == -1
    assert fake.tokens_issued == 0


def test_a_refused_secret_is_reported_and_releases_the_lock(settings, fake):
    fake.appsecret = "rotated-secret"
    kv = RedisKeyValue.from_url(settings.redis_url)
    tokens = provider(settings, kv)
    with pytest.raises(WeChatApiError) as caught:
        tokens.get()
    assert caught.value.errcode == 40125
    assert kv.get(tokens.lock_key) is None


def test_in_process_store_works_the_same(settings, fake):
    kv = MemoryKeyValue()
    assert provider(settings, kv).get() == provider(settings, kv).get()
    assert fake.tokens_issued == 1


def test_short_lived_tokens_are_renewed_at_half_their_life(settings, fake):
    fake.expires_in = 60
    clock = Clock()
    tokens = provider(settings, clock=clock)
    first = tokens.get()
    clock.now += 29
    assert tokens.get() == first
    clock.now += 2
    assert tokens.get() != first
