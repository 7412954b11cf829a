"""Generate the recorded multi-venue spot feed shipped in data/feeds/.

    python scripts/gen_feed.py --seed 42 --hours 4 --out data/feeds/spot-4h-seed42.csv.gz

Reproducible: one seeded `random.Random`, integer draws only (randrange), rows
written in a fixed order, gzip with mtime 0 and no file name, so the same seed
and hours give a byte-identical file. Format: engine/prices/feeds.py.

What the recording holds, for ETH-USD and BTC-USD, starting 2024-01-01 00:00 UTC:
- a random-walk "true" price per asset (100 ms steps, ~0.5%/h volatility);
- 7 sources per asset with different 30-day volume shares, quoting at
  sub-second cadence with their own noise and spread, each with a few short
  random gaps;
- a stale source: gateio is slow (~0.75 s between quotes, so often older than
  500 ms at a sample) and frozen for 20 minutes from 0:40;
- an outlier source: kucoin quotes 2.5% too high from 1:00 to 1:20;
- a feed-wide outage: no source of either asset quotes for 3 minutes at 3:05;
- a fast crash of ETH: -8% in 40 s from 2:15 (the 5%-in-60-s circuit breaker
  trips), then a recovery to -1.5% over the next 15 minutes.
Times scale with --hours (the events sit at the same fractions of the run).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import sys
from dataclasses import dataclass
from pathlib import Path

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
STEP_MS = 100  # resolution of the true-price walk
PRICE_DECIMALS = 2  # quotes in cents
MICRO = 10**6  # the true price is kept in micro-dollars
PPM = 10**6
WAD = 10**18
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Venue:
    """One source template: venue, quote asset, volume share (bps), mean quote gap (ms),
    spread (cents), noise (+-ppm of price)."""

    venue: str
    quote: str
    share_bps: int
    gap_ms: int
    spread: int
    noise_ppm: int


VENUES = (
    Venue("binance", "USDT", 3000, 300, 1, 40),
    Venue("coinbase", "USD", 2000, 350, 2, 50),
    Venue("okx", "USDT", 1500, 450, 1, 60),
    Venue("bybit", "USDC", 1200, 450, 2, 60),
    Venue("kraken", "USD", 1000, 600, 3, 80),
    Venue("kucoin", "USDT", 800, 550, 2, 120),  # the outlier
    Venue("gateio", "USDT", 500, 750, 3, 100),  # the stale one
)
ASSETS = (("ETH", 2_300 * MICRO, True), ("BTC", 42_000 * MICRO, False))  # base, price, crash?


@dataclass(frozen=True)
class Plan:
    """Event times (ms from start) scaled to the run length."""

    total_ms: int

    def at(self, h: int, m: int) -> int:
        """Time h:m of a 4-hour run, scaled to this run."""
        return (h * 60 + m) * 60_000 * self.total_ms // (4 * HOUR_MS)

    def frozen(self, t: int) -> bool:
        return self.at(0, 40) <= t < self.at(1, 0)

    def outlier(self, t: int) -> bool:
        return self.at(1, 0) <= t < self.at(1, 20)

    def outage(self, t: int) -> bool:
        return self.at(3, 5) <= t < self.at(3, 5) + 180_000

    def crash_ppm(self, t: int) -> int:
        """Multiplier (ppm) of the crashing asset at t: 1e6 -> 920,000 in 40 s -> 985,000."""
        t0 = self.at(2, 15)
        if t < t0:
            return PPM
        if t < t0 + 40_000:
            return PPM - 80_000 * (t - t0) // 40_000
        if t < t0 + 40_000 + 900_000:
            return 920_000 + 65_000 * (t - t0 - 40_000) // 900_000
        return 985_000


def true_path(rng: random.Random, start_price: int, steps: int) -> list[int]:
    """Random walk in micro-dollars, one value per 100 ms step."""
    path, price = [], start_price
    for _ in range(steps):
        width = price // 22_000  # uniform step of +-width: ~0.5% per hour
        price += rng.randrange(-width, width + 1)
        path.append(price)
    return path


def venue_rows(
    rng: random.Random, v: Venue, src: int, path: list[int], plan: Plan, crash: bool
) -> list[tuple[int, int, int, int]]:
    """(ts offset ms, source, bid cents, ask cents) rows of one source."""
    rows = []
    t = rng.randrange(0, v.gap_ms)
    is_stale, is_outlier = v.venue == "gateio", v.venue == "kucoin"
    while t < plan.total_ms:
        skip = (is_stale and plan.frozen(t)) or plan.outage(t)
        if not skip:
            price = path[t // STEP_MS]
            if crash:
                price = price * plan.crash_ppm(t) // PPM
            bias = 25_000 if is_outlier and plan.outlier(t) else 0
            noise = rng.randrange(-v.noise_ppm, v.noise_ppm + 1)
            mid = price * (PPM + bias + noise) // PPM
            bid = (mid - v.spread * MICRO // 200) // (MICRO // 100)
            rows.append((t, src, bid, bid + v.spread))
        t += rng.randrange(v.gap_ms // 2, v.gap_ms * 3 // 2 + 1)
        if rng.randrange(2_500) == 0:
            t += rng.randrange(2_000, 20_000)  # a short gap of this source
    return rows


def generate(seed: int, hours: int) -> bytes:
    """The feed file's uncompressed text for (seed, hours), as bytes."""
    rng = random.Random(seed)
    plan = Plan(hours * HOUR_MS)
    steps = plan.total_ms // STEP_MS
    header = [
        "# perpx-feed v1",
        f"# seed {seed}",
        f"# start_ms {START_MS}",
        f"# end_ms {START_MS + plan.total_ms}",
        f"# price_decimals {PRICE_DECIMALS}",
    ]
    rows: list[tuple[int, int, int, int]] = []
    src = 0
    for base, start_price, crash in ASSETS:
        path = true_path(rng, start_price, steps)
        for v in VENUES:
            share = v.share_bps * WAD // 10_000
            header.append(f"# source {src} {v.venue}:{base}-{v.quote} {share}")
            rows.extend(venue_rows(rng, v, src, path, plan, crash))
            src += 1
    rows.sort()
    lines = header + ["ts_ms,source,bid,ask"]
    lines += [f"{START_MS + t},{s},{b},{a}" for t, s, b, a in rows]
    return ("\n".join(lines) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="PRNG seed")
    parser.add_argument("--hours", type=int, default=4, help="length of the recording (h)")
    parser.add_argument("--out", type=Path, required=True, help="output .csv.gz path")
    args = parser.parse_args(argv)
    if args.hours <= 0:
        parser.error("--hours must be positive")
    text = generate(args.seed, args.hours)
    packed = gzip.compress(text, compresslevel=9, mtime=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(packed)
    rows = sum(1 for line in text.splitlines() if line[:1].isdigit())
    digest = hashlib.sha256(text).hexdigest()
    print(f"wrote {args.out}: {len(packed)} bytes, {rows} rows, text sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
