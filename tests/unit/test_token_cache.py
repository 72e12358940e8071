"""A verified token is remembered for `ttl` seconds only, and never by its plaintext."""

from api.token_cache import TokenCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_verified_token_is_remembered_until_its_ttl_passes() -> None:
    clock = FakeClock()
    cache = TokenCache(ttl=1.0, clock=clock)
    assert cache.get("secret") is None
    cache.put("secret", "tok-1")
    clock.now += 0.9
    assert cache.get("secret") == "tok-1"
    assert cache.get("other") is None
    clock.now += 0.2  # 1.1 s after it was verified: ask the database again
    assert cache.get("secret") is None


def test_the_plaintext_is_not_kept() -> None:
    cache = TokenCache()
    cache.put("plaintext-secret", "tok-1")
    assert "plaintext-secret" not in repr(vars(cache))


def test_a_full_cache_starts_over_instead_of_growing() -> None:
    cache = TokenCache(max_entries=2)
    cache.put("a", "1")
    cache.put("b", "2")
    cache.put("c", "3")
    assert cache.get("c") == "3"
    assert cache.get("a") is None
