"""Token buckets: a burst of ``capacity``, then one request per ``per_seconds / capacity``; an empty
bucket is a 429 problem with Retry-After."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.api.errors import RateLimitedError
from lendcore.api.ratelimit import InMemoryRateLimitStore, RateLimiter, RateRule, TokenBucket
from lendcore.api.settings import ApiSettings
from lendcore.core.errors import ConfigurationError
from tests.api.conftest import LiveApi, MakeApi


@given(capacity=st.integers(1, 50), per=st.integers(1, 3600), requests=st.integers(0, 120))
def test_a_burst_of_capacity_is_allowed_at_once_and_no_more(capacity: int, per: int, requests: int) -> None:
    rule = RateRule(capacity, per)
    bucket = TokenBucket(float(capacity), 0.0)
    allowed = sum(bucket.take(rule, 0.0).allowed for _ in range(requests))
    assert allowed == min(requests, capacity)


@given(capacity=st.integers(1, 20), per=st.integers(1, 600), elapsed=st.floats(0, 10_000))
def test_tokens_come_back_at_the_refill_rate_up_to_capacity(capacity: int, per: int, elapsed: float) -> None:
    rule = RateRule(capacity, per)
    bucket = TokenBucket(0.0, 0.0)
    allowed = 0
    while bucket.take(rule, elapsed).allowed:
        allowed += 1
    assert allowed == min(capacity, math.floor(elapsed * capacity / per + 1e-9))


def test_retry_after_is_the_time_until_the_next_token() -> None:
    limiter = RateLimiter({"x": RateRule(2, 60)}, clock=lambda: 100.0)
    limiter.check("x", "k")
    limiter.check("x", "k")
    with pytest.raises(RateLimitedError) as caught:
        limiter.check("x", "k")
    assert caught.value.retry_after == 30 and caught.value.code == "RATE_LIMITED"


def test_buckets_are_per_key_and_a_rule_without_configuration_is_no_limit() -> None:
    limiter = RateLimiter({"x": RateRule(1, 60)}, clock=lambda: 0.0)
    limiter.check("x", "a")
    limiter.check("x", "b")
    for _ in range(100):
        limiter.check("unconfigured", "a")


def test_the_in_memory_store_forgets_the_least_recently_used_buckets() -> None:
    store = InMemoryRateLimitStore(max_keys=2)
    rule = RateRule(1, 3600)
    assert store.take("a", rule, 0).allowed and store.take("b", rule, 0).allowed
    assert not store.take("a", rule, 0).allowed  # a is now the most recently used
    store.take("c", rule, 0)  # b is forgotten
    assert store.take("b", rule, 0).allowed and not store.take("c", rule, 0).allowed


@pytest.mark.parametrize(("text", "rule"), [("5/60", RateRule(5, 60)), (" 10 / 0.5 ", RateRule(10, 0.5))])
def test_a_rule_is_written_requests_per_seconds(text: str, rule: RateRule) -> None:
    assert RateRule.parse(text) == rule


@pytest.mark.parametrize("text", ["5", "0/60", "5/0", "a/b", "-1/60"])
def test_a_malformed_rule_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError):
        RateRule.parse(text)


def test_rate_limits_come_from_the_environment() -> None:
    settings = ApiSettings.from_env(
        {"LENDCORE_JWT_SECRET": "s" * 32, "LENDCORE_API_RATE_LIMITS": "login:ip=3/10"}
    )
    assert settings.rate_limits["login:ip"] == RateRule(3, 10) and settings.rate_limits_enabled
    assert not ApiSettings.from_env(
        {"LENDCORE_JWT_SECRET": "s" * 32, "LENDCORE_API_RATE_LIMITS": "off"}
    ).rate_limits_enabled


def test_logins_are_limited_per_username_with_a_429_and_retry_after(api: LiveApi) -> None:
    client = api.client()
    answers = [
        client.post("/api/v1/auth/staff/login", json={"username": "nobody", "password": "x"})
        for _ in range(11)
    ]
    assert [a.status_code for a in answers] == [401] * 10 + [429]
    limited = answers[-1]
    assert limited.json()["code"] == "RATE_LIMITED" and limited.headers["retry-after"] == "30"
    assert limited.headers["content-type"] == "application/problem+json"
    other = client.post("/api/v1/auth/staff/login", json={"username": "somebody", "password": "x"})
    assert other.status_code == 401
    api.limiter_clock.value += 30
    assert (
        client.post("/api/v1/auth/staff/login", json={"username": "nobody", "password": "x"}).status_code
        == 401
    )


def test_logins_are_limited_per_client_address(make_api: MakeApi) -> None:
    rules = {**ApiSettings().rate_limits, "login:ip": RateRule(3, 60)}
    api = make_api(settings=ApiSettings(rate_limits=rules))
    client = api.client()
    codes = [
        client.post("/api/v1/auth/staff/login", json={"username": f"user{i}", "password": "x"}).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]
