"""The cache contract's header values and the TTL clamp to the next scheduled change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cache.policy import CachePolicy


def test_contract_headers() -> None:
    assert CachePolicy().headers() == {
        "Cache-Control": "public, max-age=0, s-maxage=60, stale-while-revalidate=30, stale-if-error=86400",
        "Surrogate-Control": "max-age=60, stale-while-revalidate=30, stale-if-error=86400",
    }


def test_ttl_never_outlives_the_next_scheduled_change() -> None:
    policy, now = CachePolicy(), datetime(2026, 1, 1, tzinfo=UTC)
    assert policy.ttl_until(now, None) == 60
    assert policy.ttl_until(now, now + timedelta(seconds=20)) == 20
    assert policy.ttl_until(now, now + timedelta(hours=3)) == 60
    assert policy.ttl_until(now, now - timedelta(seconds=5)) == 1  # overdue: keep it minimal, never 0 or negative


def test_a_degraded_page_gets_the_short_ttl() -> None:
    policy, now = CachePolicy(degraded_ttl=5), datetime(2026, 1, 1, tzinfo=UTC)
    assert policy.ttl_until(now, None, degraded=True) == 5
    assert policy.ttl_until(now, now + timedelta(seconds=3), degraded=True) == 3
    assert policy.ttl_until(now, None) == 60
