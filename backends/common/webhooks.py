"""Signed webhooks: `X-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`, replays refused."""

from __future__ import annotations

import hashlib
import hmac
import time

from cachetools import TTLCache

TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, now: float | None = None) -> str:
    timestamp = int(now if now is not None else time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class ReplayGuard:
    """Checks signatures and remembers the ones seen within the tolerance window."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=100_000, ttl=TOLERANCE_SECONDS * 2)

    def verify(self, header: str, body: bytes, now: float | None = None) -> str | None:
        """None when the request is genuine and new; otherwise why it is refused."""
        parts = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError):
            return "missing or malformed signature"
        current = now if now is not None else time.time()
        if abs(current - timestamp) > TOLERANCE_SECONDS:
            return "signature timestamp outside the tolerance window"
        expected = hmac.new(self._secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            return "bad signature"
        # Keyed on what was verified, not on the raw header: extra fields or another order are the same request.
        seen = f"{timestamp}.{expected}"
        if seen in self._seen:
            return "replayed"
        self._seen[seen] = True
        return None
