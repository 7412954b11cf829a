"""Index price: a robust, volume-weighted average of spot venues (DESIGN section 7).

Pure and integer-only. Every price is WAD quote per base; every weight is a WAD
fraction; every time is integer milliseconds passed in by the caller.

A *source* is one pair on one venue, named ``"<venue>:<BASE>-<QUOTE>"``, e.g.
``"binance:ETH-USDT"`` or ``"coinbase:ETH-USD"``. The part after the last ``-``
is the pair's quote asset; pairs quoted in a stablecoin (``STABLECOINS``) are
*preferred*. A source named without a pair (``"binance"``) counts as not
stablecoin-quoted.

One index sample at ``now_ms`` (``compute_index``):

1. Live sources: the last quote of each source, dropped if it is older than
   ``stale_ms`` (500 ms) at the sample: ``now_ms - ts_ms > stale_ms``, so a quote
   exactly 500 ms old is live and one 501 ms old is not. Quotes from the future
   (``ts_ms > now_ms``) and malformed quotes (``bid <= 0`` or ``ask < bid``) are
   not live either. A source's price is its mid, ``(bid + ask) // 2``.
2. Stablecoin preference: if at least ``MIN_SOURCES`` (3) live sources are
   stablecoin-quoted, only those are used and the others are reported in
   ``unpreferred``; otherwise every live source is used.
3. Fewer than 3 sources in use: the index is their median (mean of the two
   middle values, floored, for an even count) and ``degraded`` is True.
4. Otherwise outliers are excluded: a source whose mid is farther than
   1.5 x IQR from the median, ``2 * |mid - median| > 3 * IQR``, is excluded (a
   source exactly at 1.5 x IQR stays). Quartiles use linear interpolation
   between order statistics at positions ``(n - 1) / 4`` and ``3 (n - 1) / 4``
   (numpy's default), floored to an integer.
5. The rest are averaged weighted by 30-day volume share:
   ``sum(w_i * mid_i) // sum(w_i)``. A source missing from ``volume_weights``
   has weight 0; if every remaining weight is 0, they count equally.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

STALE_MS = 500  # a quote older than this at the sample is dropped
SAMPLE_INTERVAL_MS = 2_000  # the index is sampled every 2 s
MIN_SOURCES = 3  # fewer live sources than this: median, degraded
STABLECOINS = frozenset({"USDT", "USDC", "DAI", "FDUSD", "PYUSD", "USDP", "TUSD"})


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book of one source: bid and ask in WAD quote per base, ts_ms when quoted."""

    venue: str
    bid: int
    ask: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class IndexPrice:
    """One index sample. price in WAD; sources = sources averaged (sorted);
    excluded = live sources dropped as IQR outliers; degraded = fewer than 3 sources
    in use (the price is their median). stale = sources with a quote that was not
    live at the sample; unpreferred = live fiat-quoted sources left out because
    enough stablecoin-quoted ones were live."""

    price: int
    ts_ms: int
    sources: tuple[str, ...]
    excluded: tuple[str, ...]
    degraded: bool
    stale: tuple[str, ...] = ()
    unpreferred: tuple[str, ...] = ()


def quote_asset(venue: str) -> str:
    """The quote asset of a source named ``"<venue>:<BASE>-<QUOTE>"``; "" without a pair."""
    _, sep, pair = venue.rpartition(":")
    if not sep or "-" not in pair:
        return ""
    return pair.rsplit("-", 1)[1].upper()


def base_asset(venue: str) -> str:
    """The base asset of a source named ``"<venue>:<BASE>-<QUOTE>"``; "" without a pair."""
    _, sep, pair = venue.rpartition(":")
    if not sep or "-" not in pair:
        return ""
    return pair.rsplit("-", 1)[0].upper()


def is_stablecoin_quoted(venue: str) -> bool:
    """True when the source's pair is quoted in a stablecoin (a preferred source)."""
    return quote_asset(venue) in STABLECOINS


def median(values: list[int]) -> int:
    """Median of a non-empty list of ints; the floored mean of the middle two for even sizes."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("median: empty list")
    if n % 2:
        return xs[n // 2]
    return (xs[n // 2 - 1] + xs[n // 2]) // 2


def quartiles(values: list[int]) -> tuple[int, int]:
    """(Q1, Q3) by linear interpolation at positions (n-1)/4 and 3(n-1)/4, floored."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("quartiles: empty list")

    def at(num: int) -> int:  # the order statistic at position num / 4
        k, r = divmod(num, 4)
        if r == 0:
            return xs[k]
        return xs[k] + (xs[k + 1] - xs[k]) * r // 4

    return at(n - 1), at(3 * (n - 1))


def _is_live(q: Quote, now_ms: int, stale_ms: int) -> bool:
    return q.ts_ms <= now_ms and now_ms - q.ts_ms <= stale_ms and 0 < q.bid <= q.ask


def _weighted_mean(mids: dict[str, int], volume_weights: Mapping[str, int]) -> int:
    weights = {v: max(0, volume_weights.get(v, 0)) for v in mids}
    total = sum(weights.values())
    if total == 0:
        return sum(mids.values()) // len(mids)
    return sum(weights[v] * mids[v] for v in mids) // total


def compute_index(
    quotes: Iterable[Quote],
    now_ms: int,
    volume_weights: Mapping[str, int],
    stale_ms: int = STALE_MS,
) -> IndexPrice | None:
    """Index price at ``now_ms`` from the last quote of each source (WAD; see module doc).

    ``quotes`` may hold several quotes per source; the newest one not after
    ``now_ms`` counts. None when no source is live.
    """
    last: dict[str, Quote] = {}
    for q in quotes:
        if q.ts_ms > now_ms:
            continue
        seen = last.get(q.venue)
        if seen is None or q.ts_ms >= seen.ts_ms:
            last[q.venue] = q
    live = {v: (q.bid + q.ask) // 2 for v, q in last.items() if _is_live(q, now_ms, stale_ms)}
    stale = tuple(sorted(v for v in last if v not in live))
    preferred = {v: m for v, m in live.items() if is_stablecoin_quoted(v)}
    if len(preferred) >= MIN_SOURCES:
        unpreferred = tuple(sorted(v for v in live if v not in preferred))
        used = preferred
    else:
        unpreferred, used = (), live
    if not used:
        return None
    if len(used) < MIN_SOURCES:
        return IndexPrice(
            median(list(used.values())), now_ms, tuple(sorted(used)), (), True, stale, unpreferred
        )
    mid = median(list(used.values()))
    q1, q3 = quartiles(list(used.values()))
    iqr = q3 - q1
    kept = {v: m for v, m in used.items() if 2 * abs(m - mid) <= 3 * iqr}
    excluded = tuple(sorted(v for v in used if v not in kept))
    price = _weighted_mean(kept, volume_weights)
    return IndexPrice(price, now_ms, tuple(sorted(kept)), excluded, False, stale, unpreferred)


class IndexSampler:
    """Samples the index every ``interval_ms`` (2 s) from a stream of quotes.

    Keeps the last quote of each source; ``observe`` feeds quotes in time order,
    ``sample(now_ms)`` computes the index from what has been observed. Sample times
    are multiples of ``interval_ms`` since the UTC epoch. ``last_valid`` is the
    newest sample that produced a price (the downtime fallback of DESIGN 6).
    """

    def __init__(
        self,
        volume_weights: Mapping[str, int],
        interval_ms: int = SAMPLE_INTERVAL_MS,
        stale_ms: int = STALE_MS,
    ) -> None:
        if interval_ms <= 0:
            raise ValueError(f"index sampler: interval_ms must be > 0, got {interval_ms}")
        self.volume_weights = dict(volume_weights)
        self.interval_ms = interval_ms
        self.stale_ms = stale_ms
        self._last: dict[str, Quote] = {}
        self.last_valid: IndexPrice | None = None

    def observe(self, quote: Quote) -> None:
        """Keep ``quote`` as its source's latest unless an even newer one is held."""
        seen = self._last.get(quote.venue)
        if seen is None or quote.ts_ms >= seen.ts_ms:
            self._last[quote.venue] = quote

    def sample(self, now_ms: int) -> IndexPrice | None:
        """Index at ``now_ms`` from the latest observed quotes; None if no source is live."""
        index = compute_index(self._last.values(), now_ms, self.volume_weights, self.stale_ms)
        if index is not None:
            self.last_valid = index
        return index

    def run(
        self, quotes: Iterable[Quote], start_ms: int, end_ms: int
    ) -> Iterator[tuple[int, IndexPrice | None]]:
        """Replay time-ordered ``quotes``: yield (sample_ts_ms, index or None) at every
        multiple of ``interval_ms`` in [start_ms, end_ms), having observed every quote
        with ts_ms <= sample_ts_ms first."""
        step = self.interval_ms
        t = -(-start_ms // step) * step
        it = iter(quotes)
        pending = next(it, None)
        while t < end_ms:
            while pending is not None and pending.ts_ms <= t:
                self.observe(pending)
                pending = next(it, None)
            yield t, self.sample(t)
            t += step
