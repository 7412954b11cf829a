"""Funding rate (DESIGN 6): premium, weights, interest, clamps, caps, emergency, grid, downtime.

Prices use an index of 10,000 so that a bid of 10,000 + k gives a premium of exactly
k / 10,000. Every expected number is worked out in a comment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.funding import (
    FundingError,
    FundingRate,
    FundingTracker,
    funding_rate,
    interest_per_interval,
    premium_sample,
)
from engine.core.markets import MarketSpec
from engine.core.rules import funding_index_step, funding_owed
from engine.prices.feeds import RecordedFeed
from engine.prices.index import IndexSampler
from engine.prices.mark import CircuitBreaker, MarkTracker

WAD = 10**18
H = 3_600_000
NOW = 1_704_067_200_000  # 2024-01-01T00:00:00Z, a multiple of 8 h
IX = 10_000 * WAD
FEED = Path(__file__).resolve().parents[2] / "data" / "feeds" / "spot-4h-seed42.csv.gz"


def spec(**kw) -> MarketSpec:
    return MarketSpec(
        market_id=1, symbol="ETH-USD", tick_size=WAD // 100, step_size=WAD // 1000, **kw
    )


def close_with(tracker: FundingTracker, end: int, bid: int | None, ask: int | None) -> FundingRate:
    """One premium sample early in the interval ending at `end`, then close it."""
    tracker.sample(end - tracker.interval_ms + 1_000, bid, ask, IX)
    return tracker.close_interval(end)


# ------------------------------------------------------------------ premium


@pytest.mark.parametrize(
    ("bid", "ask", "expected"),
    [
        (10_002 * WAD, 10_003 * WAD, 2 * 10**14),  # bid above index: +2/10000
        (9_990 * WAD, 9_995 * WAD, -5 * 10**14),  # ask below index: -5/10000
        (9_999 * WAD, 10_001 * WAD, 0),  # index inside the spread
        (None, 9_990 * WAD, -10**15),  # bid side missing: only -(10000 - 9990)/10000
        (10_010 * WAD, None, 10**15),  # ask side missing: only +10/10000
        (None, None, 0),
    ],
)
def test_premium_sample__impact_prices__worked_premium(bid, ask, expected):
    assert premium_sample(bid, ask, IX) == expected


def test_premium_sample__inexact_division__rounded_toward_zero():
    assert premium_sample(4 * WAD, None, 3 * WAD) == 333_333_333_333_333_333  # +1/3
    assert premium_sample(None, 2 * WAD, 3 * WAD) == -333_333_333_333_333_333  # -1/3


def test_sample__closer_than_5s__ignored():
    tracker = FundingTracker(spec())
    tracker.sample(NOW, 10_001 * WAD, None, IX)  # P = 1e14, weight 1
    tracker.sample(NOW + 4_999, 10_500 * WAD, None, IX)  # 4.999 s later: ignored
    tracker.sample(NOW + 5_000, 10_002 * WAD, None, IX)  # P = 2e14, weight 2
    rate = tracker.close_interval(NOW + 8 * H)
    assert rate.samples == 2
    assert rate.premium == 166_666_666_666_666  # (1 x 1e14 + 2 x 2e14) / 3 = 1.666...e14


def test_close_interval__three_samples__linearly_weighted_average():
    tracker = FundingTracker(spec())
    for i, k in enumerate((1, 2, 4)):  # premiums 1e14, 2e14, 4e14
        tracker.sample(NOW + 5_000 * i, (10_000 + k) * WAD, None, IX)
    rate = tracker.close_interval(NOW + 8 * H)
    # (1 x 1 + 2 x 2 + 3 x 4) / (1 + 2 + 3) = 17/6 = 2.8333...e14, toward zero
    assert rate.premium == 283_333_333_333_333
    # I - P = 1e14 - 2.8333e14 = -1.8333e14, inside +-5e14 -> F = P + (I - P) = I
    assert rate == FundingRate(1, NOW + 8 * H, 10**14, 283_333_333_333_333, 10**14, False, False, 3)


def test_close_interval__negative_samples__average_rounded_toward_zero():
    tracker = FundingTracker(spec())
    tracker.sample(NOW, None, 9_999 * WAD, IX)  # -1e14
    tracker.sample(NOW + 5_000, None, 9_998 * WAD, IX)  # -2e14
    # (1 x -1 + 2 x -2) / 3 = -5/3 e14 -> -1.666...e14 toward zero
    assert tracker.close_interval(NOW + 8 * H).premium == -166_666_666_666_666


# ------------------------------------------------------------------ interest and F


@pytest.mark.parametrize(
    ("interval_s", "expected"),
    [
        (8 * 3600, 10**14),
        (3600, 12_500_000_000_000),
        (4 * 3600, 5 * 10**13),
        (12 * 3600, 15 * 10**13),
    ],
)
def test_interest_per_interval__default_rate__scaled_by_interval(interval_s, expected):
    # 0.01% per 8 h = 0.03% a day; per interval = 0.03% / (24 h / interval)
    assert interest_per_interval(10**14, interval_s) == expected


def test_funding_rate__i_minus_p_exactly_minus_0_05_percent__equals_interest():
    assert funding_rate(6 * 10**14, 10**14) == 10**14  # I - P = -5e14: clamp is not binding
    assert funding_rate(6 * 10**14 + 1, 10**14) == 10**14 + 1  # I - P = -5e14 - 1 -> -5e14


def test_funding_rate__i_minus_p_exactly_plus_0_05_percent__equals_interest():
    assert funding_rate(-4 * 10**14, 10**14) == 10**14  # I - P = +5e14
    assert funding_rate(-4 * 10**14 - 1, 10**14) == 10**14 - 1  # clamp to +5e14: -4e14-1+5e14


def test_close_interval__premium_at_clamp_boundary__rate_through_the_tracker():
    tracker = FundingTracker(spec())
    # bid 10006 -> P = 6e14 exactly -> F = 6e14 - 5e14 = 1e14
    assert close_with(tracker, NOW + 8 * H, 10_006 * WAD, None).rate == 10**14
    # bid 10006 + 1e-14 -> P = (6 WAD + 10_000) x WAD / IX = 6e14 + 1 -> F = 1e14 + 1
    assert close_with(tracker, NOW + 16 * H, 10_006 * WAD + 10_000, None).rate == 10**14 + 1


def test_close_interval__docs_worked_example__same_numbers():
    # docs/funding.md section 4: index 2000, three samples, new market
    tracker = FundingTracker(spec(), start_ms=NOW)
    index = 2_000 * WAD
    tracker.sample(NOW + 1_000, 2_001 * WAD, 2_001_600 * WAD // 1_000, index)  # +0.05%
    tracker.sample(NOW + 6_000, 1_999 * WAD, 1_999_400 * WAD // 1_000, index)  # -0.03%
    tracker.sample(NOW + 11_000, 2_004 * WAD, None, index)  # +0.2%
    rate = tracker.close_interval(NOW + 8 * H)
    # P = (5e14 - 6e14 + 6e15) / 6 = 983333333333333; I - P clamped to -5e14
    assert rate.premium == 983_333_333_333_333
    assert (rate.rate, rate.capped) == (483_333_333_333_333, False)
    step = funding_index_step(rate.rate, 2_001_500_000_000_000_000_000)
    assert step == 967_391_666_666_665_999  # 483333333333333 x 2001.5, toward zero
    assert funding_owed(2_500_000_000_000_000_000, step, 0) == 2_418_479_166_666_664_998
    assert funding_owed(-2_500_000_000_000_000_000, step, 0) == -2_418_479_166_666_664_997


# ------------------------------------------------------------------ caps


def test_close_interval__rate_exactly_at_cap__not_capped():
    tracker = FundingTracker(spec(funding_max_change=5 * 10**16))  # isolate the 2.25% cap
    # P = 230/10000 = 2.3% -> F = 2.3% - 0.05% = 2.25% = cap
    rate = close_with(tracker, NOW + 8 * H, 10_230 * WAD, None)
    assert (rate.rate, rate.capped) == (225 * 10**14, False)


def test_close_interval__rate_beyond_cap__clamped_both_ways():
    tracker = FundingTracker(spec(funding_max_change=5 * 10**16))
    rate = close_with(tracker, NOW + 8 * H, 10_231 * WAD, None)  # F = 2.31% - 0.05% = 2.26%
    assert (rate.rate, rate.capped) == (225 * 10**14, True)
    rate = close_with(tracker, NOW + 16 * H, None, 9_760 * WAD)  # F = -2.4% + 0.05% = -2.35%
    assert (rate.rate, rate.capped) == (-225 * 10**14, True)


def test_close_interval__jump_from_previous_rate__limited_to_max_change():
    tracker = FundingTracker(spec())  # max change 0.5% per interval, previous rate starts at 0
    # P = 1% -> F = 0.95%; previous 0 -> at most 0.5%
    first = close_with(tracker, NOW + 8 * H, 10_100 * WAD, None)
    assert (first.rate, first.capped) == (5 * 10**15, True)
    # again 0.95%: previous 0.5% allows up to 1.0% -> not limited
    second = close_with(tracker, NOW + 16 * H, 10_100 * WAD, None)
    assert (second.rate, second.capped) == (95 * 10**14, False)
    # P = -1% -> F = -0.95%; previous 0.95% allows down to 0.45%
    third = close_with(tracker, NOW + 24 * H, None, 9_900 * WAD)
    assert (third.rate, third.capped) == (45 * 10**14, True)


def test_close_interval__cap_lowered_below_previous_reach__cap_wins():
    tracker = FundingTracker(spec(funding_max_change=5 * 10**16))
    assert close_with(tracker, NOW + 8 * H, 10_231 * WAD, None).rate == 225 * 10**14
    tracker.spec = spec(funding_cap=10**15)  # governance: cap 0.1%, previous rate 2.25%
    # max change 0.5% allows [1.75%, 2.75%], disjoint from the cap [-0.1%, 0.1%]: cap wins
    rate = close_with(tracker, NOW + 16 * H, 10_231 * WAD, None)
    assert (rate.rate, rate.capped) == (10**15, True)


# ------------------------------------------------------------------ emergency cap


def test_close_interval__72h_of_negative_funding__emergency_cap_then_release():
    tracker = FundingTracker(spec())
    end = NOW
    rates = []
    for _ in range(11):  # P = -0.2% -> F = -0.2% + 0.05% = -0.15%
        end += 8 * H
        rates.append(close_with(tracker, end, None, 9_980 * WAD))
    # intervals 1..9 (exactly 72 h of negative funding) are normal, 10 and 11 are capped
    assert [r.rate for r in rates[:9]] == [-15 * 10**14] * 9
    assert not any(r.emergency for r in rates[:9])
    assert [(r.rate, r.emergency, r.capped) for r in rates[9:]] == [(-75 * 10**13, True, True)] * 2
    # P = +0.2% -> F = 0.15%; still under the cap in the interval that turns positive
    end += 8 * H
    turning = close_with(tracker, end, 10_020 * WAD, None)
    assert (turning.rate, turning.emergency, turning.capped) == (75 * 10**13, True, True)
    end += 8 * H
    after = close_with(tracker, end, 10_020 * WAD, None)
    assert (after.rate, after.emergency, after.capped) == (15 * 10**14, False, False)


def test_close_interval__negative_run_broken_before_72h__no_emergency():
    tracker = FundingTracker(spec())
    end = NOW
    for _ in range(8):  # 64 h negative
        end += 8 * H
        close_with(tracker, end, None, 9_980 * WAD)
    end += 8 * H
    close_with(tracker, end, 10_020 * WAD, None)  # positive: run reset
    for _ in range(2):
        end += 8 * H
        assert close_with(tracker, end, None, 9_980 * WAD).emergency is False


def test_close_interval__zero_rate_under_emergency__cap_stays():
    tracker = FundingTracker(spec())
    end = NOW
    for _ in range(9):
        end += 8 * H
        close_with(tracker, end, None, 9_980 * WAD)
    end += 8 * H
    # P = -5e14 (ask 9995): I - P = 6e14 -> +5e14 -> F = 0: not positive, cap stays
    assert close_with(tracker, end, None, 9_995 * WAD).rate == 0
    end += 8 * H
    assert close_with(tracker, end, None, 9_980 * WAD).emergency is True


def test_close_interval__1h_intervals__emergency_after_72_intervals():
    tracker = FundingTracker(spec(funding_interval_s=3600))
    end = NOW
    flags = []
    for _ in range(73):
        end += H
        flags.append(close_with(tracker, end, None, 9_980 * WAD).emergency)
    assert flags == [False] * 72 + [True]


# ------------------------------------------------------------------ UTC grid


def test_next_funding_ts__1h_interval__aligned_to_utc_hours():
    tracker = FundingTracker(spec(funding_interval_s=3600))
    assert tracker.next_funding_ts(NOW) == 1_704_070_800_000  # 00:00 -> 01:00
    assert tracker.next_funding_ts(NOW + 1) == 1_704_070_800_000
    assert tracker.next_funding_ts(NOW + 3_599_999) == 1_704_070_800_000
    assert tracker.next_funding_ts(1_704_069_000_000) == 1_704_070_800_000  # 00:30 -> 01:00


def test_next_funding_ts__8h_interval__aligned_to_00_08_16_utc():
    tracker = FundingTracker(spec())
    assert tracker.next_funding_ts(1_704_085_200_000) == 1_704_096_000_000  # 05:00 -> 08:00
    assert tracker.next_funding_ts(1_704_096_000_000) == 1_704_124_800_000  # 08:00 -> 16:00
    assert tracker.next_funding_ts(1_704_153_599_999) == 1_704_153_600_000  # 23:59:59.999 -> 00:00


def test_close_interval__off_grid_timestamp__raises():
    tracker = FundingTracker(spec())
    message = "funding: 1704067200001 is not a multiple of the 28800000 ms interval"
    with pytest.raises(FundingError, match=message):
        tracker.close_interval(NOW + 1)


def test_sample__exactly_at_funding_ts__counts_for_the_next_interval():
    tracker = FundingTracker(spec())
    tracker.sample(NOW + 8 * H, 10_001 * WAD, None, IX)
    assert tracker.close_interval(NOW + 8 * H).samples == 0
    assert tracker.close_interval(NOW + 16 * H).samples == 1


# ------------------------------------------------------------------ downtime


def test_close_due__two_missed_intervals__settled_separately_without_compounding():
    tracker = FundingTracker(spec(), start_ms=NOW)
    tracker.sample(NOW + 1_000, 10_100 * WAD, None, IX)  # P = 1%
    first = tracker.close_due(NOW + 8 * H)
    assert [(r.rate, r.samples) for r in first] == [(5 * 10**15, 1)]  # 0.95% limited to 0.5%
    # engine down from 08:00 to 00:00:10 the next day: intervals ending 16:00 and 24:00 missed
    missed = tracker.close_due(NOW + 24 * H + 10_000)
    # each uses the last valid premium (1%) and its predecessor's rate: 0.95% each
    assert [(r.funding_ts_ms, r.premium, r.rate, r.samples) for r in missed] == [
        (NOW + 16 * H, 10**16, 95 * 10**14, 0),
        (NOW + 24 * H, 10**16, 95 * 10**14, 0),
    ]
    # payment at the last valid mark 2000: steps 0.5% x 2000 = 10, 0.95% x 2000 = 19 each;
    # a 3-ETH long open throughout owes 3 x (10 + 19 + 19) = 144 -- a sum, not a product
    mark = 2_000 * WAD
    steps = [funding_index_step(r.rate, mark) for r in first + missed]
    assert steps == [10 * WAD, 19 * WAD, 19 * WAD]
    assert funding_owed(3 * WAD, sum(steps), 0) == 144 * WAD
    assert funding_owed(-3 * WAD, sum(steps), 0) == -144 * WAD


def test_close_due__before_start__nothing_due():
    tracker = FundingTracker(spec())
    assert tracker.close_due(NOW + 100 * H) == []  # never started: no sample, no start_ms
    tracker = FundingTracker(spec(), start_ms=NOW + 1_000)
    assert tracker.close_due(NOW + 8 * H - 1) == []
    assert [r.funding_ts_ms for r in tracker.close_due(NOW + 8 * H)] == [NOW + 8 * H]


def test_close_interval__skipping_a_missed_interval__raises():
    tracker = FundingTracker(spec())
    tracker.close_interval(NOW + 8 * H)
    with pytest.raises(FundingError, match=f"next interval to close ends at {NOW + 16 * H}"):
        tracker.close_interval(NOW + 24 * H)


def test_set_paused__samples_while_paused__ignored_and_last_valid_premium_used():
    tracker = FundingTracker(spec())
    close_with(tracker, NOW + 8 * H, 10_004 * WAD, None)  # P = 4e14 -> F = 4e14 - 3e14 = 1e14
    tracker.set_paused(True)
    rate = close_with(tracker, NOW + 16 * H, 10_100 * WAD, None)  # ignored: paused
    assert (rate.premium, rate.samples) == (4 * 10**14, 0)
    tracker.set_paused(False)
    rate = close_with(tracker, NOW + 24 * H, 10_002 * WAD, None)
    assert (rate.premium, rate.samples) == (2 * 10**14, 1)


def test_sample__for_an_already_closed_interval__ignored():
    tracker = FundingTracker(spec())
    tracker.close_interval(NOW + 8 * H)
    tracker.sample(NOW + 8 * H - 1, 10_100 * WAD, None, IX)
    assert tracker.close_interval(NOW + 16 * H).samples == 0


def test_state_digest__same_history__same_digest_and_differs_after_a_sample():
    a, b = FundingTracker(spec()), FundingTracker(spec())
    for t in (a, b):
        close_with(t, NOW + 8 * H, 10_003 * WAD, None)
    assert a.state_digest() == b.state_digest()
    b.sample(NOW + 8 * H + 1_000, 10_003 * WAD, None, IX)
    assert a.state_digest() != b.state_digest()


# ------------------------------------------------------------------ recorded feed


@pytest.fixture(scope="module")
def feed_run():
    """Index (2 s), breaker, mark and 1-h funding over the recorded ETH feed; the perp book
    stands in as the largest venue's top of book (impact bid/ask = its bid/ask)."""
    feed = RecordedFeed(FEED, "ETH-USD")
    sampler = IndexSampler(feed.volume_weights())
    tracker = FundingTracker(spec(funding_interval_s=3600), start_ms=feed.start_ms)
    marks, breaker = MarkTracker(), CircuitBreaker()
    quotes = feed.quotes_between(feed.start_ms, feed.end_ms)
    pending, book, index, rates, out_of_band, paused_s = next(quotes, None), None, None, [], 0, 0
    for ts in range(feed.start_ms, feed.end_ms + 1, 1_000):
        while pending is not None and pending.ts_ms <= ts:
            sampler.observe(pending)
            if pending.venue == "binance:ETH-USDT":
                book = pending
            pending = next(quotes, None)
        rates += tracker.close_due(ts)
        if ts % 2_000 == 0:
            ix = sampler.sample(ts)
            index = ix.price if ix else None  # no live source: no premium sample
        if ts % 2_000 == 0 and index is not None:
            tracker.set_paused(breaker.update(ts, index))
            mid = (book.bid + book.ask) // 2 if book else None
            mark = marks.update(ts, index, mid)
            out_of_band += abs(mark - index) * 200 > index
        paused_s += tracker.paused
        if index is not None and book is not None:
            tracker.sample(ts, book.bid, book.ask, index)
    return rates, out_of_band, paused_s


def test_recorded_feed_run__4h_eth__stable_plausible_hourly_funding(feed_run):
    rates, out_of_band, paused_s = feed_run
    assert [r.funding_ts_ms for r in rates] == [NOW + H, NOW + 2 * H, NOW + 3 * H, NOW + 4 * H]
    # the stand-in book sits within a spread of the index: |P| << 0.05%, so F = I = 0.00125%
    assert [r.rate for r in rates] == [12_500_000_000_000] * 4
    assert all(abs(r.premium) < 10**13 for r in rates)  # |P| < 0.001%
    assert not any(r.capped or r.emergency for r in rates)
    # 720 five-second samples per hour; fewer in hour 3 (breaker) and hour 4 (3-min outage)
    assert all(600 <= r.samples <= 720 for r in rates)
    assert rates[2].samples < rates[0].samples and rates[3].samples < rates[0].samples
    assert out_of_band == 0  # the mark never leaves +-0.5% of the index
    assert 60 <= paused_s <= 300  # the crash paused accrual for one to five minutes



@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-500, 500), min_size=1, max_size=40))
def test_close_interval__any_premiums__rate_within_cap_change_and_emergency_caps(moves):
    tracker = FundingTracker(spec())
    end, previous = NOW, 0
    for k in moves:  # bid or ask k/10000 away from the index: premium k x 0.01%
        end += 8 * H
        bid, ask = ((10_000 + k) * WAD, None) if k >= 0 else (None, (10_000 + k) * WAD)
        rate = close_with(tracker, end, bid, ask)
        assert abs(rate.rate) <= 225 * 10**14
        if rate.emergency:
            assert abs(rate.rate) <= 75 * 10**13
        else:
            assert abs(rate.rate - previous) <= 5 * 10**15
        previous = rate.rate
