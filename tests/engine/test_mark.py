"""Mark price (EMA of the basis on irregular samples, clamp), circuit breaker, thin book.

Expected values are written out: e^-x from tables (floor of 10**18 e^-x), and the EMA
steps worked by hand in the comments with the module's stated rounding (toward zero).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.prices.mark import (
    CircuitBreaker,
    MarkTracker,
    depth_notional,
    ema_alpha,
    exp_neg_wad,
    thin_book_tolerance,
)

WAD = 10**18
HOUR = 3_600_000


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        (0, 1, WAD),
        (1, 2, 606_530_659_712_633_423),  # e^-0.5 = 0.606530659712633423603...
        (1, 1, 367_879_441_171_442_321),  # e^-1   = 0.367879441171442321595...
        (2, 1, 135_335_283_236_612_691),  # e^-2   = 0.135335283236612691893...
        (1_000, HOUR, 999_722_260_798_897_138),  # e^-(1/3600) = 0.999722260798897138776...
        (41, 1, 1),  # e^-41 = 1.56e-18
        (42, 1, 0),  # e^-42 = 5.7e-19
    ],
)
def test_exp_neg_wad__table_values__floor_of_true_value(num, den, expected):
    assert exp_neg_wad(num, den) == expected


def test_exp_neg_wad__negative_argument__raises():
    with pytest.raises(ValueError, match="exp_neg_wad: need num >= 0"):
        exp_neg_wad(-1, HOUR)


def test_ema_alpha__half_an_hour__one_minus_e_to_minus_half():
    assert ema_alpha(HOUR // 2, HOUR) == WAD - 606_530_659_712_633_423  # 393469340287366577


def test_mark_tracker_update__irregular_samples__hand_computed_ema():
    mark = MarkTracker()  # tau 1 h, clamp 0.5%
    index = 2_000 * WAD  # band = 2000 x 0.005 = 10 WAD, never reached here
    # t = 0: first sample only starts the clock; EMA 0 -> mark == index
    assert mark.update(0, index, 2_001 * WAD) == index
    # t = 30 min, basis +2: alpha = 1 - e^-0.5 = 0.393469340287366577
    # EMA = 0 + 0.393469340287366577 x 2 = 0.786938680574733154
    assert mark.update(HOUR // 2, index, 2_002 * WAD) == index + 786_938_680_574_733_154
    # t = 1 h 30 min (dt = 1 h), basis -1: alpha = 1 - e^-1 = 0.632120558828557679;
    # gap = -1 - 0.786938680574733154 = -1.786938680574733154;
    # alpha x gap = -1.129560677357265847699... -> toward zero -1.129560677357265847
    # EMA = 0.786938680574733154 - 1.129560677357265847 = -0.342621996782532693
    assert mark.update(HOUR + HOUR // 2, index, 1_999 * WAD) == index - 342_621_996_782_532_693
    # t = +1 s, basis +3: alpha = 1 - e^-(1/3600) = 0.000277739201102862;
    # gap = 3.342621996782532693; alpha x gap = 0.000928377162975233984... -> 0.000928377162975233
    # EMA = -0.342621996782532693 + 0.000928377162975233 = -0.341693619619557460
    assert mark.update(HOUR + HOUR // 2 + 1_000, index, 2_003 * WAD) == (
        index - 341_693_619_619_557_460
    )
    assert mark.ema == -341_693_619_619_557_460


def test_mark_tracker_update__no_book_mid__ema_and_clock_unchanged():
    mark = MarkTracker()
    mark.update(0, 2_000 * WAD, 2_001 * WAD)
    mark.update(HOUR // 2, 2_000 * WAD, 2_002 * WAD)  # EMA 0.786938680574733154 (above)
    assert mark.update(HOUR, 2_100 * WAD, None) == 2_100 * WAD + 786_938_680_574_733_154
    assert mark.last_sample_ms == HOUR // 2
    # the next sample counts dt from the last sample with a mid (30 min -> 1 h 30 min = 1 h):
    # alpha = 1 - e^-1 = 0.632120558828557679 on the gap 1 - 0.786938680574733154 =
    # 0.213061319425266846 -> 0.134680440299849510300... toward zero 0.134680440299849510;
    # EMA = 0.786938680574733154 + 0.134680440299849510 = 0.921619120874582664
    value = mark.update(HOUR + HOUR // 2, 2_000 * WAD, 2_001 * WAD)
    assert value == 2_000 * WAD + 921_619_120_874_582_664
    assert mark.last_sample_ms == HOUR + HOUR // 2


def test_mark_tracker_update__basis_exactly_half_percent__not_clamped():
    mark = MarkTracker(tau_ms=1)  # dt >= 42 tau -> alpha = 1: EMA == last basis
    mark.update(0, 1_000 * WAD, 1_000 * WAD)
    # band = 1000 x 0.005 = 5 WAD
    assert mark.update(100, 1_000 * WAD, 1_005 * WAD) == 1_005 * WAD
    assert mark.update(200, 1_000 * WAD, 995 * WAD) == 995 * WAD


def test_mark_tracker_update__basis_beyond_half_percent__clamped_to_band():
    mark = MarkTracker(tau_ms=1)
    mark.update(0, 1_000 * WAD, 1_000 * WAD)
    assert mark.update(100, 1_000 * WAD, 1_005 * WAD + 1) == 1_005 * WAD
    assert mark.ema == 5 * WAD + 1  # the EMA itself is not clamped, only the mark
    assert mark.update(200, 1_000 * WAD, 990 * WAD) == 995 * WAD


def test_mark_tracker_update__band_of_odd_index__rounded_down():
    mark = MarkTracker(tau_ms=1)
    mark.update(0, 999, 999)
    # band = 999 x 0.005 = 4.995 -> 4 wei
    assert mark.update(100, 999, 2_000) == 1_003


def test_mark_tracker_update__time_backwards__raises():
    mark = MarkTracker()
    mark.update(1_000, WAD, WAD)
    with pytest.raises(ValueError, match="mark: time went backwards"):
        mark.update(999, WAD, WAD)


def test_mark_tracker_state_digest__same_history__same_digest():
    a, b = MarkTracker(), MarkTracker()
    for m in (a, b):
        m.update(0, 2_000 * WAD, 2_001 * WAD)
        m.update(5_000, 2_000 * WAD, 2_003 * WAD)
    assert a.state_digest() == b.state_digest()
    b.update(6_000, 2_000 * WAD, 2_003 * WAD)
    assert a.state_digest() != b.state_digest()


def test_circuit_breaker_update__up_exactly_5_percent__not_tripped():
    breaker = CircuitBreaker()
    assert breaker.update(0, 100 * WAD) is False
    assert breaker.update(30_000, 105 * WAD) is False


def test_circuit_breaker_update__up_5_percent_plus_one_wei__tripped():
    breaker = CircuitBreaker()
    breaker.update(0, 100 * WAD)
    assert breaker.update(30_000, 105 * WAD + 1) is True


def test_circuit_breaker_update__down_5_percent_boundary__trips_one_wei_past():
    breaker = CircuitBreaker()
    breaker.update(0, 100 * WAD)
    assert breaker.update(10_000, 95 * WAD) is False  # (100 - 95) / 100 = 5% exactly
    assert breaker.update(20_000, 95 * WAD - 1) is True


def test_circuit_breaker_update__move_spread_over_window_edge__counts_only_inside_60s():
    inside = CircuitBreaker()
    inside.update(0, 100 * WAD)
    assert inside.update(60_000, 94 * WAD) is True  # 60 s apart: still in the window
    outside = CircuitBreaker()
    outside.update(0, 100 * WAD)
    assert outside.update(60_001, 94 * WAD) is False  # 60.001 s apart: not


def test_circuit_breaker_update__after_crash__resets_after_a_full_window_without_breach():
    breaker = CircuitBreaker()
    states = {0: breaker.update(0, 100 * WAD)}
    for t in range(10_000, 130_001, 10_000):
        states[t] = breaker.update(t, 94 * WAD)
    # breaches at 10 s .. 60 s (the 100 at t=0 is in the window until 60 s inclusive);
    # last breach 60 s -> stable again at 120 s
    assert [t for t, tripped in states.items() if tripped] == list(range(10_000, 110_001, 10_000))
    assert states[120_000] is False and states[130_000] is False


def test_circuit_breaker_update__slow_drift__never_trips():
    breaker = CircuitBreaker()
    price = 100 * WAD
    for t in range(0, 600_001, 2_000):  # -0.1% every 2 s: -3% per 60 s
        assert breaker.update(t, price) is False
        price -= price // 1_000


def test_depth_notional__two_sides__thinner_side_over_top_levels():
    bids = [(100 * WAD, 2 * WAD), (99 * WAD, WAD)]  # 200 + 99 = 299
    asks = [(101 * WAD, WAD)]  # 101
    assert depth_notional(bids, asks) == 101 * WAD
    assert depth_notional(bids, [(101 * WAD, 10 * WAD)], levels=1) == 200 * WAD


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (1_000 * WAD, 0),  # at the threshold: no widening
        (5_000 * WAD, 0),
        (999 * WAD, 250_000_000_000_000),  # 25% x 1/1000 = 0.025%
        (500 * WAD, WAD // 8),  # 25% x 1/2
        (0, WAD // 4),  # empty book: 25%
    ],
)
def test_thin_book_tolerance__depth_vs_threshold__linear_widening(depth, expected):
    assert thin_book_tolerance(depth, 1_000 * WAD) == expected



@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2 * HOUR), st.integers(WAD, 10**24), st.integers(-10**22, 10**22)),
        min_size=1, max_size=30,
    )
)
def test_mark_tracker_update__any_samples__mark_within_band_of_index(steps):
    mark, ts = MarkTracker(), 0
    for dt, index, basis in steps:
        ts += dt
        mid = index + basis if index + basis > 0 else None
        value = mark.update(ts, index, mid)
        assert abs(value - index) * 200 <= index  # |mark - index| <= 0.5% of index
