"""The funding rate of one market (DESIGN section 6). Pure, integer-only, no clock.

Units: prices in WAD quote per base, rates and premiums as signed WAD fractions
per funding interval (0.01% == 10**14), time in integer milliseconds.

- Intervals are aligned to the UTC epoch: interval k covers
  ``[k * L, (k + 1) * L)`` with ``L = spec.funding_interval_s * 1000``, and its
  funding timestamp is ``(k + 1) * L``, due once ``ts_ms >= (k + 1) * L``.
- Premium samples, at least ``SAMPLE_SPACING_MS`` (5 s) apart:
  ``P = (max(0, impact_bid - index) - max(0, index - impact_ask)) * WAD / index``,
  rounded toward zero; a missing impact side contributes 0. Samples are ignored
  while accrual is paused (``set_paused``, the circuit breaker).
- The interval's premium is ``sum(i * P_i) / sum(i)`` over its samples i = 1..n,
  rounded toward zero.
- Interest per interval: ``interest_per_8h * L / 8 h`` (the DESIGN's
  ``(quote_rate - base_rate) / (24 h / interval)`` with the daily rate
  3 x interest_per_8h), rounded toward zero.
- ``F = P + clamp(I - P, -0.05%, +0.05%)``, then clamped to ``+-spec.funding_cap``
  and to ``previous rate +- spec.funding_max_change`` (the previous rate of a new
  market is 0): to the intersection of the two ranges, or to the cap alone if a
  governance change made them disjoint; then, while the emergency cap is in
  force, to ``+-0.075%``. The emergency cap comes last so it always holds.
- Emergency: once the rates of consecutive intervals have been negative for a
  total of 72 h, every following interval is under the emergency cap until an
  interval's (final) rate is positive; that interval is itself capped, the next
  one is not. A zero rate ends the negative run but does not lift the cap.
- Downtime: an interval with no samples (no prices, or accrual paused the whole
  time) uses the premium of the last interval that had samples (0 if none);
  ``close_due`` closes every missed interval separately, in order, each against
  its predecessor's rate, without compounding or interest on the delay.

Payments (size x mark x F) are not made here: engine/core/rules.py
``funding_index_step`` and ``funding_owed`` do that; docs/funding.md works one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.core.errors import PerpxError
from engine.core.markets import MarketSpec
from engine.core.wad import WAD, Rounding, mul_div

SAMPLE_SPACING_MS = 5_000  # premium samples closer than this to the last are ignored
INTEREST_PER_8H = 10**14  # 0.01% per 8 h
INTEREST_CLAMP = 5 * 10**14  # |I - P| clamp: 0.05%
EMERGENCY_CAP = 75 * 10**13  # 0.075% per interval
EMERGENCY_AFTER_MS = 72 * 3_600_000  # 72 h of consecutive negative funding
EIGHT_HOURS_MS = 8 * 3_600_000


class FundingError(PerpxError, ValueError):
    """A funding interval closed out of order or at a timestamp off the UTC grid."""


@dataclass(frozen=True, slots=True)
class FundingRate:
    """The rate of one funding interval. rate, premium, interest: signed WAD fractions
    per interval; capped: a cap, the max change or the emergency cap changed F;
    emergency: the emergency cap was in force; samples: premium samples averaged
    (0 means the premium is the last valid one); funding_ts_ms: end of the interval."""

    market: int
    funding_ts_ms: int
    rate: int
    premium: int
    interest: int
    capped: bool
    emergency: bool
    samples: int


def _div_trunc(n: int, d: int) -> int:
    """n / d rounded toward zero (d > 0), like Vyper's `//`."""
    return mul_div(n, 1, d, Rounding.DOWN)


def _clamp(x: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, x))


def premium_sample(impact_bid: int | None, impact_ask: int | None, index: int) -> int:
    """One premium sample as a signed WAD fraction of the index (see module doc)."""
    if index <= 0:
        raise ValueError(f"funding: index must be > 0, got {index}")
    up = max(0, impact_bid - index) if impact_bid is not None else 0
    down = max(0, index - impact_ask) if impact_ask is not None else 0
    return mul_div(up - down, WAD, index, Rounding.DOWN)


def interest_per_interval(interest_per_8h: int, interval_s: int) -> int:
    """Interest for one interval of interval_s seconds, from the rate per 8 h (WAD)."""
    return _div_trunc(interest_per_8h * interval_s * 1000, EIGHT_HOURS_MS)


def funding_rate(premium: int, interest: int) -> int:
    """F = P + clamp(I - P, -0.05%, +0.05%), before any cap (signed WAD)."""
    return premium + _clamp(interest - premium, -INTEREST_CLAMP, INTEREST_CLAMP)


class FundingTracker:
    """Premium sampling and rate computation for one market (see module doc)."""

    def __init__(
        self, spec: MarketSpec, interest_per_8h: int = INTEREST_PER_8H, start_ms: int | None = None
    ) -> None:
        """start_ms: when the market opened; if None, the first ``sample`` call sets it."""
        self.spec = spec
        self.started_ms = start_ms
        self.interval_ms = spec.funding_interval_s * 1000
        self.interest = interest_per_interval(interest_per_8h, spec.funding_interval_s)
        self.paused = False
        self.last_sample_ms: int | None = None
        self._acc: dict[int, tuple[int, int]] = {}  # funding ts -> (sum i * P_i, n)
        self.last_closed_ms: int | None = None
        self.last_rate = 0
        self.last_valid_premium = 0
        self.negative_run_ms = 0
        self.emergency = False

    # ---------------------------------------------------------------- time grid

    def next_funding_ts(self, ts_ms: int) -> int:
        """End of the interval holding ts_ms: the smallest multiple of L above ts_ms."""
        return (ts_ms // self.interval_ms + 1) * self.interval_ms

    def due(self, now_ms: int) -> list[int]:
        """Funding timestamps due at now_ms and not yet closed, oldest first.

        The first is the end of the interval the market started in (``started_ms``);
        nothing is due before the market has started."""
        if self.last_closed_ms is not None:
            first = self.last_closed_ms + self.interval_ms
        elif self.started_ms is not None:
            first = self.next_funding_ts(self.started_ms)
        else:
            return []
        latest = now_ms // self.interval_ms * self.interval_ms
        return list(range(first, latest + 1, self.interval_ms))

    # ---------------------------------------------------------------- sampling

    def set_paused(self, paused: bool) -> None:
        """Pause (circuit breaker tripped) or resume premium sampling."""
        self.paused = paused

    def sample(
        self, ts_ms: int, impact_bid: int | None, impact_ask: int | None, index: int
    ) -> None:
        """Record a premium sample at ts_ms (prices in WAD). Ignored while paused,
        when closer than 5 s to the last accepted sample, when the index is not
        positive, or when its interval is already closed."""
        if self.started_ms is None:
            self.started_ms = ts_ms
        if self.paused or index <= 0:
            return
        if self.last_sample_ms is not None and ts_ms - self.last_sample_ms < SAMPLE_SPACING_MS:
            return
        key = self.next_funding_ts(ts_ms)
        if self.last_closed_ms is not None and key <= self.last_closed_ms:
            return
        p = premium_sample(impact_bid, impact_ask, index)
        num, n = self._acc.get(key, (0, 0))
        self._acc[key] = (num + (n + 1) * p, n + 1)
        self.last_sample_ms = ts_ms

    # ---------------------------------------------------------------- closing

    def close_interval(self, funding_ts_ms: int) -> FundingRate:
        """Compute and record the rate of the interval ending at funding_ts_ms.

        Intervals close in order: after the first, each must be the previous plus L."""
        self._check_next(funding_ts_ms)
        num, n = self._acc.pop(funding_ts_ms, (0, 0))
        if n:
            premium = _div_trunc(num, n * (n + 1) // 2)
            self.last_valid_premium = premium
        else:
            premium = self.last_valid_premium
        raw = funding_rate(premium, self.interest)
        spec = self.spec
        step = spec.funding_max_change
        rate = _clamp(raw, self.last_rate - step, self.last_rate + step)
        rate = _clamp(rate, -spec.funding_cap, spec.funding_cap)  # the cap wins if disjoint
        emergency = self.emergency
        if emergency:
            rate = _clamp(rate, -EMERGENCY_CAP, EMERGENCY_CAP)
        self._advance_emergency(rate)
        self.last_rate = rate
        self.last_closed_ms = funding_ts_ms
        for key in [k for k in self._acc if k <= funding_ts_ms]:
            del self._acc[key]
        return FundingRate(
            spec.market_id, funding_ts_ms, rate, premium, self.interest,
            rate != raw, emergency, n,
        )

    def close_due(self, now_ms: int) -> list[FundingRate]:
        """Close every due interval (see ``due``), oldest first, each separately."""
        return [self.close_interval(ts) for ts in self.due(now_ms)]

    def _check_next(self, funding_ts_ms: int) -> None:
        if funding_ts_ms % self.interval_ms:
            raise FundingError(
                f"funding: {funding_ts_ms} is not a multiple of the {self.interval_ms} ms interval"
            )
        if self.last_closed_ms is None:
            return
        expected = self.last_closed_ms + self.interval_ms
        if funding_ts_ms != expected:
            raise FundingError(
                f"funding: next interval to close ends at {expected}, "
                f"got {funding_ts_ms}; close missed intervals one by one, in order"
            )

    def _advance_emergency(self, rate: int) -> None:
        if rate < 0:
            self.negative_run_ms += self.interval_ms
        else:
            self.negative_run_ms = 0
        if rate > 0:
            self.emergency = False
        elif self.negative_run_ms >= EMERGENCY_AFTER_MS:
            self.emergency = True

    # ---------------------------------------------------------------- state

    def state_digest(self) -> bytes:
        """sha256 of every field that decides a future rate, in a fixed order."""
        parts = [
            self.spec.market_id, self.interval_ms, self.interest, int(self.paused), self.started_ms,
            self.last_sample_ms, self.last_closed_ms, self.last_rate,
            self.last_valid_premium, self.negative_run_ms, int(self.emergency),
        ]
        text = ",".join("-" if p is None else str(p) for p in parts)
        text += ";" + ";".join(f"{k}:{num}:{n}" for k, (num, n) in sorted(self._acc.items()))
        return hashlib.sha256(b"perpx-funding-v1:" + text.encode()).digest()
