"""Index price (DESIGN 7): staleness, IQR exclusion, volume weights, degraded, preference.

Every expected number is worked out in the comments, not computed by the code under test.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.prices.index import (
    IndexPrice,
    IndexSampler,
    Quote,
    compute_index,
    is_stablecoin_quoted,
    median,
    quartiles,
    quote_asset,
)

WAD = 10**18
NOW = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def at(venue: str, price: int, ts_ms: int = NOW) -> Quote:
    """A quote with bid == ask == price (WAD), so its mid is exactly price."""
    return Quote(venue, price, price, ts_ms)


EQUAL = {f"v{i}:ETH-USDT": WAD // 5 for i in range(5)}


def test_quote_asset__pair_names__quote_part_and_stablecoin_flag():
    assert quote_asset("binance:ETH-USDT") == "USDT"
    assert quote_asset("coinbase:ETH-USD") == "USD"
    assert quote_asset("binance") == ""
    assert is_stablecoin_quoted("bybit:BTC-USDC")
    assert not is_stablecoin_quoted("kraken:BTC-USD")
    assert not is_stablecoin_quoted("binance")


def test_median_and_quartiles__worked_values__linear_interpolation_floored():
    assert median([5, 1, 3]) == 3
    assert median([1, 2, 3, 10]) == 2  # (2 + 3) // 2
    # n = 4: Q1 at 3/4 -> 10 + (20 - 10) * 3 // 4 = 17; Q3 at 9/4 -> 30 + (40 - 30) * 1 // 4 = 32
    assert quartiles([40, 10, 30, 20]) == (17, 32)
    # n = 5: Q1 at position 1, Q3 at position 3, no interpolation
    assert quartiles([100, 101, 102, 103, 106]) == (101, 103)


def test_compute_index__quote_exactly_500ms_old__kept():
    quotes = [at("v0:ETH-USDT", 100 * WAD), at("v1:ETH-USDT", 101 * WAD),
              at("v2:ETH-USDT", 102 * WAD), at("v3:ETH-USDT", 103 * WAD, NOW - 500)]
    index = compute_index(quotes, NOW, EQUAL)
    assert index is not None
    assert index.sources == ("v0:ETH-USDT", "v1:ETH-USDT", "v2:ETH-USDT", "v3:ETH-USDT")
    assert index.stale == ()
    # equal weights 0.2 each over 100, 101, 102, 103 -> (100 + 101 + 102 + 103) / 4 = 101.5
    assert index.price == 101_500_000_000_000_000_000


def test_compute_index__quote_501ms_old__dropped_as_stale():
    quotes = [at("v0:ETH-USDT", 100 * WAD), at("v1:ETH-USDT", 101 * WAD),
              at("v2:ETH-USDT", 102 * WAD), at("v3:ETH-USDT", 103 * WAD, NOW - 501)]
    index = compute_index(quotes, NOW, EQUAL)
    assert index is not None
    assert index.sources == ("v0:ETH-USDT", "v1:ETH-USDT", "v2:ETH-USDT")
    assert index.stale == ("v3:ETH-USDT",)
    assert index.price == 101 * WAD  # (100 + 101 + 102) / 3
    assert not index.degraded


def test_compute_index__older_and_future_quotes_of_a_source__newest_not_after_now_counts():
    quotes = [at("v0:ETH-USDT", 90 * WAD, NOW - 100), at("v0:ETH-USDT", 100 * WAD, NOW - 10),
              at("v0:ETH-USDT", 500 * WAD, NOW + 1)]
    index = compute_index(quotes, NOW, EQUAL)
    assert index == IndexPrice(100 * WAD, NOW, ("v0:ETH-USDT",), (), True)


def test_compute_index__source_exactly_1_5_iqr_from_median__kept():
    # sorted mids 100, 101, 102, 103, 105: Q1 = 101, Q3 = 103, IQR = 2, median 102;
    # |105 - 102| = 3 = 1.5 x IQR -> kept; equal weights: (100+101+102+103+105)/5 = 102.2
    quotes = [at(f"v{i}:ETH-USDT", p * WAD) for i, p in enumerate((100, 101, 102, 103, 105))]
    index = compute_index(quotes, NOW, EQUAL)
    assert index is not None
    assert index.excluded == ()
    assert index.price == 102_200_000_000_000_000_000


def test_compute_index__source_one_wei_beyond_1_5_iqr__excluded():
    # same quartiles (the outlier is the maximum either way): 2 x (3 WAD + 1) > 3 x 2 WAD
    prices = (100 * WAD, 101 * WAD, 102 * WAD, 103 * WAD, 105 * WAD + 1)
    quotes = [at(f"v{i}:ETH-USDT", p) for i, p in enumerate(prices)]
    index = compute_index(quotes, NOW, EQUAL)
    assert index is not None
    assert index.excluded == ("v4:ETH-USDT",)
    assert index.sources == ("v0:ETH-USDT", "v1:ETH-USDT", "v2:ETH-USDT", "v3:ETH-USDT")
    assert index.price == 101_500_000_000_000_000_000  # (100 + 101 + 102 + 103) / 4
    assert not index.degraded


def test_compute_index__low_outlier__excluded_below_the_median():
    # sorted 90, 100, 101, 102, 103: Q1 = 100, Q3 = 102, IQR 2, median 101, band 3: 90 is out
    quotes = [at(f"v{i}:ETH-USDT", p * WAD) for i, p in enumerate((90, 100, 101, 102, 103))]
    index = compute_index(quotes, NOW, EQUAL)
    assert index is not None
    assert index.excluded == ("v0:ETH-USDT",)
    assert index.price == 101_500_000_000_000_000_000


def test_compute_index__volume_weights__weighted_by_share():
    # mids 100, 101, 103 with shares 50%, 30%, 20%. IQR check: Q1 = 100 + 1 * 2/4 = 100.5,
    # Q3 = 101 + 2 * 2/4 = 102, IQR 1.5, band 2.25 around 101: all kept.
    # 0.5 * 100 + 0.3 * 101 + 0.2 * 103 = 50 + 30.3 + 20.6 = 100.9
    weights = {"a:ETH-USDT": WAD // 2, "b:ETH-USDT": 3 * WAD // 10, "c:ETH-USDT": WAD // 5}
    quotes = [at("a:ETH-USDT", 100 * WAD), at("b:ETH-USDT", 101 * WAD), at("c:ETH-USDT", 103 * WAD)]
    index = compute_index(quotes, NOW, weights)
    assert index is not None
    assert index.price == 100_900_000_000_000_000_000
    assert not index.degraded


def test_compute_index__weights_of_kept_sources__renormalised_over_what_is_left():
    # the 106 source (weight 60%) is an outlier; the rest renormalise: shares 10% each of
    # 100, 101, 102, 103 -> (100 + 101 + 102 + 103) / 4 = 101.5
    weights = {"v0:ETH-USDT": WAD // 10, "v1:ETH-USDT": WAD // 10, "v2:ETH-USDT": WAD // 10,
               "v3:ETH-USDT": WAD // 10, "v4:ETH-USDT": 6 * WAD // 10}
    quotes = [at(f"v{i}:ETH-USDT", p * WAD) for i, p in enumerate((100, 101, 102, 103, 106))]
    index = compute_index(quotes, NOW, weights)
    assert index is not None
    assert index.price == 101_500_000_000_000_000_000


def test_compute_index__mid_of_bid_and_ask__floored():
    quotes = [Quote("a:ETH-USDT", 100 * WAD, 100 * WAD + 3, NOW)]
    index = compute_index(quotes, NOW, {})
    assert index is not None
    assert index.price == 100 * WAD + 1  # (2 * 100 WAD + 3) // 2


def test_compute_index__two_live_sources__median_and_degraded():
    # weights are ignored: the median of 100 and 103 is 101.5
    weights = {"a:ETH-USDT": 9 * WAD // 10, "b:ETH-USDT": WAD // 10}
    quotes = [at("a:ETH-USDT", 100 * WAD), at("b:ETH-USDT", 103 * WAD),
              at("c:ETH-USDT", 200 * WAD, NOW - 2_000)]
    index = compute_index(quotes, NOW, weights)
    assert index == IndexPrice(
        101_500_000_000_000_000_000, NOW, ("a:ETH-USDT", "b:ETH-USDT"), (), True, ("c:ETH-USDT",)
    )


def test_compute_index__no_live_source__none():
    assert compute_index([at("a:ETH-USDT", 100 * WAD, NOW - 501)], NOW, {}) is None
    assert compute_index([], NOW, {}) is None


def test_compute_index__crossed_quote__not_live():
    quotes = [Quote("a:ETH-USDT", 101 * WAD, 100 * WAD, NOW), at("b:ETH-USDT", 100 * WAD)]
    index = compute_index(quotes, NOW, {})
    assert index is not None
    assert index.sources == ("b:ETH-USDT",)
    assert index.stale == ("a:ETH-USDT",)


def test_compute_index__three_stablecoin_sources_live__fiat_pairs_left_out():
    weights = {"a:ETH-USDT": WAD // 10, "b:ETH-USDC": WAD // 10, "c:ETH-USDT": WAD // 10,
               "d:ETH-USD": 7 * WAD // 10}
    quotes = [at("a:ETH-USDT", 100 * WAD), at("b:ETH-USDC", 101 * WAD),
              at("c:ETH-USDT", 102 * WAD), at("d:ETH-USD", 110 * WAD)]
    index = compute_index(quotes, NOW, weights)
    assert index is not None
    assert index.sources == ("a:ETH-USDT", "b:ETH-USDC", "c:ETH-USDT")
    assert index.unpreferred == ("d:ETH-USD",)
    assert index.price == 101 * WAD  # equal 10% shares of 100, 101, 102


def test_compute_index__two_stablecoin_sources_live__fiat_pairs_fill_in():
    # only 2 stablecoin pairs live -> all 4 live sources count. Sorted 100, 101, 102, 103:
    # Q1 = 100 + 1*3//4 -> 100.75, Q3 = 102 + 1*1//4 -> 102.25, IQR 1.5, median 101.5; all kept.
    # weights 40/40/10/10 of 100, 101, 102, 103: 40 + 40.4 + 10.2 + 10.3 = 100.9
    weights = {"a:ETH-USDT": 4 * WAD // 10, "b:ETH-USD": 4 * WAD // 10,
               "c:ETH-USDC": WAD // 10, "d:ETH-USD": WAD // 10}
    quotes = [at("a:ETH-USDT", 100 * WAD), at("b:ETH-USD", 101 * WAD),
              at("c:ETH-USDC", 102 * WAD), at("d:ETH-USD", 103 * WAD)]
    index = compute_index(quotes, NOW, weights)
    assert index is not None
    assert index.unpreferred == ()
    assert len(index.sources) == 4
    assert index.price == 100_900_000_000_000_000_000


def test_compute_index__no_weights_known__equal_weights():
    quotes = [at("a:ETH-USDT", 100 * WAD), at("b:ETH-USDT", 101 * WAD), at("c:ETH-USDT", 102 * WAD)]
    index = compute_index(quotes, NOW, {})
    assert index is not None
    assert index.price == 101 * WAD


def test_index_sampler_run__quotes_over_time__samples_every_2s_on_the_epoch_grid():
    sampler = IndexSampler({"a:ETH-USDT": WAD})
    quotes = [at("a:ETH-USDT", 100 * WAD, NOW - 100), at("a:ETH-USDT", 101 * WAD, NOW + 1_900),
              at("a:ETH-USDT", 102 * WAD, NOW + 2_001), at("a:ETH-USDT", 103 * WAD, NOW + 5_800)]
    run = sampler.run(quotes, NOW - 1, NOW + 8_000)
    got = [(ts - NOW, ix.price if ix else None) for ts, ix in run]
    # 0: quote at -100 ms (live); 2000: the 1900 quote; 4000: newest is 2001, 1999 ms old -> none;
    # 6000: the 5800 quote
    assert got == [(0, 100 * WAD), (2_000, 101 * WAD), (4_000, None), (6_000, 103 * WAD)]
    assert sampler.last_valid is not None and sampler.last_valid.price == 103 * WAD



@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**24), st.integers(0, 10**18), st.integers(0, 1_000)),
        min_size=1, max_size=9,
    )
)
def test_compute_index__any_quotes__price_within_used_mids_and_degraded_iff_under_3(rows):
    quotes = [Quote(f"v{i}:ETH-USDT", p, p, NOW - age) for i, (p, _, age) in enumerate(rows)]
    weights = {f"v{i}:ETH-USDT": w for i, (_, w, _) in enumerate(rows)}
    index = compute_index(quotes, NOW, weights)
    live = [p for p, _, age in rows if age <= 500]
    if not live:
        assert index is None
        return
    assert index is not None
    assert min(live) <= index.price <= max(live)
    assert index.degraded == (len(live) < 3)
    assert len(index.sources) + len(index.excluded) == len(live)
    assert len(index.sources) >= 1
