"""Signed webhooks: genuine ones pass once; forged, stale or replayed ones are refused."""

from __future__ import annotations

from backends.common.webhooks import ReplayGuard, sign


def test_genuine_once_then_replay_refused() -> None:
    guard, body = ReplayGuard("s3cret"), b'{"entry_id": 1}'
    header = sign("s3cret", body, now=1_000_000)
    assert guard.verify(header, body, now=1_000_010) is None
    assert guard.verify(header, body, now=1_000_011) == "replayed"


def test_forged_stale_and_malformed_are_refused() -> None:
    guard, body = ReplayGuard("s3cret"), b"{}"
    assert guard.verify(sign("wrong", body, now=1_000_000), body, now=1_000_000) == "bad signature"
    assert guard.verify(sign("s3cret", b"{other}", now=1_000_000), body, now=1_000_000) == "bad signature"
    assert "tolerance" in (guard.verify(sign("s3cret", body, now=1_000_000), body, now=1_000_400) or "")
    assert guard.verify("", body) == "missing or malformed signature"
    assert guard.verify("t=abc,v1=00", body) == "missing or malformed signature"


def test_a_replay_with_extra_fields_or_another_order_is_still_a_replay() -> None:
    guard, body = ReplayGuard("s3cret"), b'{"entry_id": 2}'
    header = sign("s3cret", body, now=1_000_000)
    timestamp, signature = header.split(",")
    assert guard.verify(header, body, now=1_000_001) is None
    for variant in (f"{header},v0=x", f"{signature},{timestamp}", f" {timestamp}, {signature}"):
        assert guard.verify(variant, body, now=1_000_002) == "replayed", variant
