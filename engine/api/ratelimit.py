"""Per-account rate limits: one token bucket per account, refilled continuously.

An order or a cancel costs one token (a cancel-all one); a bucket holds at
most `burst` tokens and gains `rate_per_s` per second. Buckets are charged only
after the signature proved the account, so nobody can spend someone else's
budget. Thread-safe; the clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.api.errors import ApiCode, ApiError


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`rate_per_s` orders and cancels per second per account, bursts up to `burst`."""

    rate_per_s: int = 200
    burst: int = 1000


class RateLimiter:
    """Token buckets by account (see module docstring)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        if limit.rate_per_s <= 0 or limit.burst <= 0:
            raise ValueError("rate_per_s and burst must be positive")
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, at)

    def charge(self, account: str, cost: int = 1) -> None:
        """Take `cost` tokens from `account`'s bucket, or raise 4029 saying when to retry."""
        now = self._clock()
        rate, burst = self.limit.rate_per_s, self.limit.burst
        with self._lock:
            tokens, at = self._buckets.get(account, (float(burst), now))
            tokens = min(float(burst), tokens + (now - at) * rate)
            if tokens < cost:
                self._buckets[account] = (tokens, now)
                wait_ms = int((cost - tokens) / rate * 1000) + 1
                raise ApiError(
                    ApiCode.RATE_LIMITED,
                    f"trader: {account} exceeded its rate limit of {rate} orders and cancels "
                    f"per second (burst {burst}); retry in {wait_ms} ms",
                    {"retry_after_ms": wait_ms})
            self._buckets[account] = (tokens - cost, now)
