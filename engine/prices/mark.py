"""Mark price, circuit breaker and thin-book tolerance (DESIGN section 7).

Pure and integer-only: prices in WAD quote per base, fractions in WAD (100% ==
10**18), time in integer milliseconds passed in by the caller.

Mark: ``mark = index + clamp(EMA(basis), -band, +band)`` with ``basis = book_mid -
index`` and ``band = floor(index * clamp / WAD)`` (0.5% of the index by default).
The EMA runs on irregular samples: a sample ``dt_ms`` after the previous one moves
the average by ``alpha = 1 - exp(-dt_ms / tau_ms)`` of the gap::

    ema += trunc(alpha * (basis - ema) / WAD)

where ``exp(-dt/tau)`` is ``exp_neg_wad(dt, tau)`` below: floor(WAD * e^(-dt/tau)),
computed exactly enough (40-digit fixed point) to be the true floor, so a test can
check it against any table of e^-x.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from functools import lru_cache

from engine.core.wad import WAD, Rounding, mul_div

TAU_MS = 3_600_000  # EMA time constant: 1 h
MARK_CLAMP = 5 * 10**15  # mark within +-0.5% of the index
BREAKER_THRESHOLD = 5 * 10**16  # 5% ...
BREAKER_WINDOW_MS = 60_000  # ... within 60 s
THIN_BOOK_MAX_TOLERANCE = WAD // 4  # an empty book liquidates at 75% of maintenance
DEPTH_LEVELS = 50  # levels per side counted as book depth

_S = 10**40  # internal fixed-point scale of exp_neg_wad
_EXP_ZERO_AT = 42  # e^-42 * 1e18 < 1: the WAD result is 0 from here on


def _exp_series(r: int, den: int) -> int:
    """e^(r/den) * _S for 0 <= r/den <= 1, Taylor series, each term floored."""
    term, total, i = _S, _S, 1
    while term:
        term = term * r // (den * i)
        total += term
        i += 1
    return total


_E = _exp_series(1, 1)  # e * _S


@lru_cache(maxsize=4096)
def exp_neg_wad(num: int, den: int) -> int:
    """floor(WAD * e^(-num/den)) for num >= 0, den > 0: the EMA decay over dt = num, tau = den."""
    if num < 0 or den <= 0:
        raise ValueError(f"exp_neg_wad: need num >= 0 and den > 0, got {num}/{den}")
    if num >= _EXP_ZERO_AT * den:
        return 0
    k, r = divmod(num, den)
    grow = _exp_series(r, den)  # e^(r/den) * _S
    for _ in range(k):
        grow = grow * _E // _S
    return WAD * _S // grow


def ema_alpha(dt_ms: int, tau_ms: int) -> int:
    """Weight of a new sample dt_ms after the previous one: WAD - floor(WAD e^(-dt/tau))."""
    return WAD - exp_neg_wad(dt_ms, tau_ms)


def mark_band(index: int, clamp: int) -> int:
    """Largest allowed |mark - index| in WAD: index x clamp, rounded down."""
    return mul_div(index, clamp, WAD, Rounding.DOWN)


class MarkTracker:
    """mark = index + EMA(book mid - index), clamped to +-clamp of the index.

    The EMA starts at 0 (mark == index) and the first sample only starts its clock:
    a fresh tracker cannot be moved by one quote. An update without a book mid
    leaves the EMA and its clock untouched and returns the index plus the clamped
    EMA at the new index. Time must not go backwards.
    """

    def __init__(self, tau_ms: int = TAU_MS, clamp: int = MARK_CLAMP) -> None:
        if tau_ms <= 0 or not 0 <= clamp < WAD:
            raise ValueError(f"mark: need tau_ms > 0 and 0 <= clamp < WAD, got {tau_ms}, {clamp}")
        self.tau_ms = tau_ms
        self.clamp = clamp
        self.ema = 0  # EMA of the basis, signed WAD price
        self.last_sample_ms: int | None = None
        self.last_ts_ms: int | None = None
        self.mark: int | None = None

    def update(self, ts_ms: int, index: int, book_mid: int | None) -> int:
        """Fold in one sample at ts_ms (index and book mid in WAD); return the clamped mark."""
        if index <= 0:
            raise ValueError(f"mark: index must be > 0, got {index}")
        if self.last_ts_ms is not None and ts_ms < self.last_ts_ms:
            raise ValueError(f"mark: time went backwards ({ts_ms} < {self.last_ts_ms})")
        self.last_ts_ms = ts_ms
        if book_mid is not None and book_mid > 0:
            if self.last_sample_ms is not None:
                alpha = ema_alpha(ts_ms - self.last_sample_ms, self.tau_ms)
                self.ema += mul_div(alpha, book_mid - index - self.ema, WAD, Rounding.DOWN)
            self.last_sample_ms = ts_ms
        band = mark_band(index, self.clamp)
        self.mark = index + max(-band, min(band, self.ema))
        return self.mark

    def state_digest(self) -> bytes:
        """sha256 of (ema, last sample ts, last ts, mark); -1 stands for None."""
        fields = (self.ema, self.last_sample_ms, self.last_ts_ms, self.mark)
        text = ",".join(str(-1 if f is None else f) for f in fields)
        return hashlib.sha256(b"perpx-mark-v1:" + text.encode()).digest()


class CircuitBreaker:
    """Trips when the index moves more than ``threshold`` within ``window_ms``.

    A move is measured from an earlier sample p in the window (``ts - t_p <=
    window_ms``) to the new one: up moves ``(index - p) * WAD > threshold * p``,
    down moves ``(p - index) * WAD > threshold * p``; exactly 5% does not trip. It
    stays tripped (funding accrual paused) until it is *stable*: a full window
    with no breach, i.e. ``ts - last_breach_ts >= window_ms``.
    """

    def __init__(
        self, threshold: int = BREAKER_THRESHOLD, window_ms: int = BREAKER_WINDOW_MS
    ) -> None:
        if threshold <= 0 or window_ms <= 0:
            raise ValueError("circuit breaker: threshold and window_ms must be > 0")
        self.threshold = threshold
        self.window_ms = window_ms
        self._lows: deque[tuple[int, int]] = deque()  # (ts, index), index increasing
        self._highs: deque[tuple[int, int]] = deque()  # (ts, index), index decreasing
        self.last_breach_ms: int | None = None
        self.tripped = False

    def update(self, ts_ms: int, index: int) -> bool:
        """Record the index (WAD) at ts_ms; True while tripped."""
        if index <= 0:
            raise ValueError(f"circuit breaker: index must be > 0, got {index}")
        for dq in (self._lows, self._highs):
            while dq and ts_ms - dq[0][0] > self.window_ms:
                dq.popleft()
        low = self._lows[0][1] if self._lows else index
        high = self._highs[0][1] if self._highs else index
        up = (index - low) * WAD > self.threshold * low
        down = (high - index) * WAD > self.threshold * high
        if up or down:
            self.tripped = True
            self.last_breach_ms = ts_ms
        elif self.tripped and self.last_breach_ms is not None:
            if ts_ms - self.last_breach_ms >= self.window_ms:
                self.tripped = False
        while self._lows and self._lows[-1][1] >= index:
            self._lows.pop()
        self._lows.append((ts_ms, index))
        while self._highs and self._highs[-1][1] <= index:
            self._highs.pop()
        self._highs.append((ts_ms, index))
        return self.tripped

    def state_digest(self) -> bytes:
        """sha256 of the window's extremes, the last breach and the tripped flag."""
        parts = [f"{t}:{p}" for t, p in self._lows] + ["|"] + [f"{t}:{p}" for t, p in self._highs]
        parts += [str(self.last_breach_ms), str(self.tripped)]
        return hashlib.sha256(b"perpx-breaker-v1:" + ",".join(parts).encode()).digest()


def depth_notional(
    bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]], levels: int = DEPTH_LEVELS
) -> int:
    """Depth of a book in WAD quote: the thinner side's sum of price x size over its
    best ``levels`` levels, each (price, size) in WAD, rounded down (Book.depth format)."""

    def side(rows: Iterable[tuple[int, int]]) -> int:
        total = 0
        for i, (price, size) in enumerate(rows):
            if i >= levels:
                break
            total += price * size
        return total // WAD

    return min(side(bids), side(asks))


def thin_book_tolerance(
    depth_notional: int, threshold: int, max_tolerance: int = THIN_BOOK_MAX_TOLERANCE
) -> int:
    """Liquidation tolerance (WAD fraction of maintenance margin) for a thin book.

    0 when the depth (WAD quote, see ``depth_notional``) is at least the market's
    ``threshold``; otherwise it grows linearly to ``max_tolerance`` (25%) for an
    empty book: ``max_tolerance * (threshold - depth) / threshold``, rounded down.
    The liquidation check then triggers only when
    ``equity < maintenance * (WAD - tolerance) / WAD``, so a momentary gap in a
    thin book does not liquidate an account that a deep book would not.
    """
    if threshold <= 0 or depth_notional >= threshold:
        return 0
    depth = max(0, depth_notional)
    return mul_div(max_tolerance, threshold - depth, threshold, Rounding.DOWN)
