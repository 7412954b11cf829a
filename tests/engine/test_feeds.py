"""Feed adapters and the recorded feed shipped in data/feeds/ (made by scripts/gen_feed.py)."""

from __future__ import annotations

import ast
import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from engine.prices.feeds import FeedAdapter, FeedError, LiveFeed, RecordedFeed
from engine.prices.index import Quote, compute_index

WAD = 10**18
ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "data" / "feeds" / "spot-4h-seed42.csv.gz"
START = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000
# sha256 of the uncompressed text of the shipped file (seed 42, 4 h), as printed by gen_feed.py
FEED_TEXT_SHA256 = "49f3afab0d375786c2f0f5b275787c37d51ad10150b12544c40398b7211ad976"


@pytest.fixture(scope="module")
def eth() -> RecordedFeed:
    return RecordedFeed(FEED, "ETH-USD")


def gen(tmp_path: Path, seed: int, hours: int) -> Path:
    out = tmp_path / f"feed-{seed}-{hours}.csv.gz"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_feed.py"), "--seed", str(seed),
         "--hours", str(hours), "--out", str(out)],
        check=True, capture_output=True, cwd=ROOT,
    )
    return out


def test_gen_feed__same_seed__byte_identical_to_shipped_file(tmp_path):
    out = gen(tmp_path, 42, 4)
    assert out.read_bytes() == FEED.read_bytes()
    assert hashlib.sha256(gzip.decompress(out.read_bytes())).hexdigest() == FEED_TEXT_SHA256


def test_gen_feed__other_seed__different_recording(tmp_path):
    one, two = gen(tmp_path, 1, 1), gen(tmp_path, 2, 1)
    assert gzip.decompress(one.read_bytes()) != gzip.decompress(two.read_bytes())


def test_shipped_feed__size__under_5_mb():
    assert FEED.stat().st_size < 5_000_000


def test_recorded_feed__eth__seven_sources_with_volume_shares(eth):
    assert eth.venues() == (
        "binance:ETH-USDT", "bybit:ETH-USDC", "coinbase:ETH-USD", "gateio:ETH-USDT",
        "kraken:ETH-USD", "kucoin:ETH-USDT", "okx:ETH-USDT",
    )
    weights = eth.volume_weights()
    assert weights["binance:ETH-USDT"] == 3 * WAD // 10
    assert weights["gateio:ETH-USDT"] == WAD // 20
    assert sum(weights.values()) == WAD
    assert (eth.start_ms, eth.end_ms) == (START, START + 4 * 60 * MIN)
    assert isinstance(eth, FeedAdapter)


def test_recorded_feed__no_symbol__both_assets():
    both = RecordedFeed(FEED)
    assert len(both.venues()) == 14
    assert sum(both.volume_weights().values()) == 2 * WAD


def test_recorded_feed_quotes_between__first_quotes__wad_prices_and_bounds(eth):
    first = next(eth.quotes_between(START, START + 1_000))
    # row "1704067200012,1,230002,230004": cents -> WAD
    assert first == Quote("coinbase:ETH-USD", 2_300_020_000_000_000_000_000,
                          2_300_040_000_000_000_000_000, 1_704_067_200_012)
    assert next(eth.quotes_between(START, START + 12), None) is None  # end is exclusive
    assert next(eth.quotes_between(START + 12, START + 13)).ts_ms == START + 12  # start inclusive
    ts = [q.ts_ms for q in eth.quotes_between(START, START + 10 * MIN)]
    assert ts == sorted(ts)


def test_recorded_feed__cadence__sub_second_with_gaps(eth):
    quotes = eth.quotes_between(START, START + 30 * MIN)
    ts = [q.ts_ms for q in quotes if q.venue == "binance:ETH-USDT"]
    gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
    assert gaps[len(gaps) // 2] < 1_000  # median gap: sub-second
    every = [q.ts_ms for q in eth.quotes_between(START, eth.end_ms)]
    per_source: dict[str, list[int]] = {}
    for q in eth.quotes_between(START, eth.end_ms):
        per_source.setdefault(q.venue, []).append(q.ts_ms)
    longest = {v: max(b - a for a, b in zip(t, t[1:])) for v, t in per_source.items()}
    assert all(g >= 2_000 for g in longest.values())  # every source has gaps
    assert len(every) > 150_000


def test_recorded_feed__stale_venue__gateio_silent_from_0_40_to_1_00(eth):
    window = [q for q in eth.quotes_between(START + 40 * MIN, START + 60 * MIN)]
    assert window and not any(q.venue == "gateio:ETH-USDT" for q in window)
    index = compute_index(window[-50:], window[-1].ts_ms, eth.volume_weights())
    assert index is not None and "gateio:ETH-USDT" not in index.sources


def test_recorded_feed__outlier_venue__kucoin_excluded_at_1_10(eth):
    now = START + 70 * MIN
    quotes = list(eth.quotes_between(now - 2_000, now + 1))
    index = compute_index(quotes, now, eth.volume_weights())
    assert index is not None and "kucoin:ETH-USDT" in index.excluded
    kucoin = [q for q in quotes if q.venue == "kucoin:ETH-USDT"][-1]
    assert (kucoin.bid + kucoin.ask) // 2 * 100 > index.price * 102  # > 2% above the index


def test_recorded_feed__outage__no_quotes_for_3_minutes_at_3_05(eth):
    t0 = START + (3 * 60 + 5) * MIN
    assert next(eth.quotes_between(t0, t0 + 3 * MIN), None) is None
    assert next(eth.quotes_between(t0 - 2_000, t0), None) is not None
    assert next(eth.quotes_between(t0 + 3 * MIN, t0 + 3 * MIN + 2_000), None) is not None


def test_recorded_feed__crash__eth_index_falls_over_5_percent_within_60s(eth):
    def index_at(t: int) -> int:
        ix = compute_index(eth.quotes_between(t - 2_000, t + 1), t, eth.volume_weights())
        assert ix is not None
        return ix.price

    t0 = START + (2 * 60 + 15) * MIN
    before, after = index_at(t0), index_at(t0 + 50_000)
    assert (before - after) * 100 > 5 * before  # > 5% down in 50 s
    later = index_at(t0 + 40_000 + 15 * MIN + 60_000)
    assert later * 100 > before * 97  # recovered to within 3% of the pre-crash level


def test_recorded_feed__not_a_feed__raises(tmp_path):
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(b"hello\n"))
    with pytest.raises(FeedError, match="not a perpx feed"):
        RecordedFeed(bad)


def test_recorded_feed__malformed_row__raises_naming_the_line(tmp_path):
    bad = tmp_path / "bad.csv.gz"
    text = (
        "# perpx-feed v1\n# price_decimals 2\n# source 0 a:ETH-USDT 1\n"
        "ts_ms,source,bid,ask\n1,0,x,2\n"
    )
    bad.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(FeedError, match=r"bad.csv.gz:5: bad row"):
        RecordedFeed(bad)


def test_live_feed_push__in_order__readable_through_the_adapter():
    feed = LiveFeed({"a:ETH-USDT": WAD}, capacity=2)
    for ts in (1, 2, 3):
        feed.push(Quote("a:ETH-USDT", 100 * WAD, 101 * WAD, ts))
    assert isinstance(feed, FeedAdapter)
    assert [q.ts_ms for q in feed.quotes_between(0, 10)] == [2, 3]  # capacity 2 keeps the newest
    assert [q.ts_ms for q in feed.quotes_between(3, 10)] == [3]
    assert feed.venues() == ("a:ETH-USDT",)


def test_live_feed_push__unknown_source__raises():
    feed = LiveFeed({"a:ETH-USDT": WAD})
    with pytest.raises(FeedError, match="live feed: unknown source 'b:ETH-USDT'"):
        feed.push(Quote("b:ETH-USDT", WAD, WAD, 1))


def test_live_feed_push__time_backwards__raises():
    feed = LiveFeed({"a:ETH-USDT": WAD})
    feed.push(Quote("a:ETH-USDT", WAD, WAD, 5))
    with pytest.raises(FeedError, match="live feed: ts_ms 4 before 5"):
        feed.push(Quote("a:ETH-USDT", WAD, WAD, 4))


PURE_MODULES = ("engine/prices/index.py", "engine/prices/mark.py", "engine/prices/feeds.py",
                "engine/core/funding.py")


@pytest.mark.parametrize("module", PURE_MODULES)
def test_price_modules__source__no_float_no_true_division_no_adapter_imports(module):
    tree = ast.parse((ROOT / module).read_text())
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), node.lineno
        assert not isinstance(node, ast.Div), f"{module}:{node.lineno}: true division"
        assert not (isinstance(node, ast.Name) and node.id in {"float", "Decimal"}), node.lineno
        if isinstance(node, ast.ImportFrom | ast.Import):
            is_from = isinstance(node, ast.ImportFrom)
            names = [node.module] if is_from else [a.name for a in node.names]
            for name in names:
                assert not str(name).startswith(("engine.chain", "engine.api", "engine.journal"))
                assert name not in {"time", "datetime", "random", "asyncio", "decimal"}, name
