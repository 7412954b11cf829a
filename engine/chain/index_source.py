"""Index prices for a running exchange (`perpx up`) from a feed adapter.

There is no network here, so the source is the shipped recorded multi-venue
feed, replayed at wall-clock pace from its start: every 2 s of wall time the
next 2-second index sample (staleness, IQR exclusion, volume weights, as in
engine/prices/index.py) becomes an `UpdateIndex` command for the engine.
A live venue connector would plug in as another FeedAdapter.
"""

from __future__ import annotations

from pathlib import Path

from engine.core.commands import UpdateIndex
from engine.core.markets import MarketSpec
from engine.prices.feeds import RecordedFeed
from engine.prices.index import SAMPLE_INTERVAL_MS, IndexSampler

FEED = Path(__file__).resolve().parents[2] / "data" / "feeds" / "spot-4h-seed42.csv.gz"


class RecordedIndexSource:
    """Replays the recorded feed's index samples against the wall clock, once."""

    def __init__(self, markets: tuple[MarketSpec, ...], start_wall_ms: int,
                 path: Path = FEED) -> None:
        self.start_wall_ms = start_wall_ms
        self.samples: dict[int, list] = {}
        for spec in markets:
            feed = RecordedFeed(path, spec.symbol)
            runs = IndexSampler(feed.volume_weights()).run(
                feed.quotes_between(feed.start_ms - 1_000, feed.end_ms),
                feed.start_ms, feed.end_ms)
            self.samples[spec.market_id] = [ix for _, ix in runs]
        self.next_step = 0

    def due(self, now_ms: int) -> list[UpdateIndex]:
        """UpdateIndex commands for every 2-second step that has come due by `now_ms`
        (only the latest when several are due), stamped with `now_ms`."""
        step = (now_ms - self.start_wall_ms) // SAMPLE_INTERVAL_MS
        if step < self.next_step:
            return []
        self.next_step = step + 1
        out = []
        for market, series in self.samples.items():
            ix = series[min(step, len(series) - 1)] if series else None
            if ix is not None:
                out.append(UpdateIndex(market, ix.price, now_ms, ix.degraded))
        return out
