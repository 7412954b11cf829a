"""The WAD product/quotient helpers (engine/core/wad.py) give Python's int arithmetic.

Compiled (make native), `mul_wad_down/up`, `div_wad_down/up`, `compare_mul`,
`weighted_mean`, the fused sums `add_add` / `add_sub` / `sub_sub`,
`add_mul_wad_down`, `move_equity`, `closed_pnl` and `margin` / `add_margin` take wad.h's C
path for operands below 2**240 (weighted_mean: weights summing below 2**64; the fused
ones: operands below 2**120) and fall back to Python ints above; interpreted, they are
the Python expressions themselves. The expected values here are written with Python
ints (floor `//`, ceil as -((-n) // d)), never with the helpers, so both modes are
held to the same arithmetic, across the C path's limb and digit boundaries.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core import NATIVE, nativeinfo, wad
from engine.core.wad import (WAD, add_add, add_margin, add_mul_wad_down, add_sub,
                             closed_pnl, compare_mul, margin, move_equity,
                             div_wad_down, div_wad_up, mul_wad_down, mul_wad_up,
                             multiple_of, sub_sub, weighted_mean)


def _floor(n: int) -> int:
    return n // WAD


def _ceil(n: int) -> int:
    return -((-n) // WAD)


# magnitudes at every boundary the C path cares about: 30-bit digits, 64-bit limbs,
# the 8-digit (240-bit) limit of the fast path, and WAD itself
EDGES = sorted({0, 1, 2, WAD - 1, WAD, WAD + 1, 2 * WAD, 10**36, 10**36 + 1}
               | {2**k + d for k in (29, 30, 31, 59, 60, 63, 64, 65, 90, 120, 127, 128, 150,
                                     180, 191, 192, 210, 239, 240, 241, 255, 256, 300)
                  for d in (-1, 0, 1)})
SIGNED = [s * v for v in EDGES for s in (1, -1)]
ints = st.one_of(st.sampled_from(SIGNED), st.integers(-(2**250), 2**250),
                 st.integers(-(10**40), 10**40), st.integers(-(2**70), 2**70))


def test_wad_helpers__compiled_build__run_compiled():
    if nativeinfo.pure_requested():
        pytest.skip("PERPX_PURE=1 asked for source")
    assert NATIVE["wad"] == "compiled"


@pytest.mark.parametrize("x", SIGNED)
def test_mul_wad__edge_values__equal_python_ints(x):
    for y in SIGNED:
        assert mul_wad_down(x, y) == _floor(x * y), (x, y)
        assert mul_wad_up(x, y) == _ceil(x * y), (x, y)


@pytest.mark.parametrize("x", SIGNED)
def test_div_wad__edge_values__equal_python_ints(x):
    assert div_wad_down(x) == _floor(x)
    assert div_wad_up(x) == _ceil(x)


@given(ints, ints)
def test_mul_wad__random_values__equal_python_ints(x, y):
    assert mul_wad_down(x, y) == _floor(x * y)
    assert mul_wad_up(x, y) == _ceil(x * y)
    assert div_wad_down(x) == _floor(x)
    assert div_wad_up(x) == _ceil(x)


def test_mul_wad__worked_numbers():
    # 1.5 base at 2,000.000000000000000001 quote: 3,000.0000000000000000015 quote
    size, price = 3 * WAD // 2, 2_000 * WAD + 1
    assert mul_wad_down(size, price) == 3_000 * WAD + 1
    assert mul_wad_up(size, price) == 3_000 * WAD + 2
    assert mul_wad_down(-size, price) == -(3_000 * WAD + 2)
    assert mul_wad_up(-size, price) == -(3_000 * WAD + 1)
    assert div_wad_down(-1) == -1 and div_wad_up(-1) == 0
    assert div_wad_down(1) == 0 and div_wad_up(1) == 1


def test_mul_wad__results__are_plain_ints_and_small_ones_are_cached():
    # a result is an exact int (never a bool), and 0 is the interpreter's own 0
    for value in (mul_wad_down(WAD, 3), mul_wad_up(2**200, 2**30), div_wad_down(-(2**100))):
        assert type(value) is int
    assert mul_wad_down(1, 1) is 0  # noqa: F632  # the small-int cache, as Python's // gives


def test_mul_wad__bool_and_int_subclass_operands__fall_back_to_python_ints():
    class Big(int):
        pass

    assert mul_wad_down(True, WAD) == 1
    assert mul_wad_up(Big(3), Big(WAD // 2)) == 2
    assert div_wad_up(Big(WAD + 1)) == 2


def test_mul_wad__non_int_operand__raises_type_error():
    with pytest.raises(TypeError):
        mul_wad_down(None, WAD)  # type: ignore[arg-type]
    assert wad.WAD == 10**18


MODULI = [1, 2, 3, 10**15, 10**16, WAD, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 10**30]


@pytest.mark.parametrize("m", MODULI)
def test_multiple_of__edge_values__equal_python_remainder(m):
    for x in SIGNED + [m, -m, 3 * m, 3 * m + 1, m * 2**150, m * 2**150 - 1]:
        assert multiple_of(x, m) is (x % m == 0), (x, m)


@given(ints, st.one_of(st.sampled_from(MODULI), st.integers(1, 2**70)))
def test_multiple_of__random_values__equal_python_remainder(x, m):
    assert multiple_of(x, m) is (x % m == 0)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


@pytest.mark.parametrize("x", SIGNED)
def test_compare_mul__edge_values__equal_python_ints(x):
    for y in SIGNED:
        for a in (x * y - 1, x * y, x * y + 1, 0, EDGES[-1]):
            assert compare_mul(a, x, y) == _sign(a - x * y), (a, x, y)


@given(ints, ints, ints)
def test_compare_mul__random_values__equal_python_ints(a, b, c):
    assert compare_mul(a, b, c) == _sign(a - b * c)
    assert compare_mul(b * c, b, c) == 0


@given(st.integers(0, 2**120 - 1), st.integers(0, 2**120 - 1), st.integers(-2, 2),
       st.integers(2**120, 2**240 - 1))
def test_compare_mul__long_a_short_factors__equal_python_ints(b, c, d, far):
    # a of 5 to 8 digits (30-bit), b and c of at most 4: the resting-loss test's shape
    for a in (b * c + d, far):
        if a >= 0:
            assert compare_mul(a, b, c) == _sign(a - b * c), (a, b, c)


WEIGHTS = sorted({1, 2, 10**15, WAD, 2**63, 2**64 - 2, 2**64 - 1, 2**64, 2**64 + 1, 2**100})


def _mean(w1: int, v1: int, w2: int, v2: int) -> int:
    w1, w2 = abs(w1), abs(w2)
    return (w1 * v1 + w2 * v2) // (w1 + w2)


@pytest.mark.parametrize("w1", WEIGHTS + [-w for w in WEIGHTS])
def test_weighted_mean__edge_weights__equal_python_floor(w1):
    # the weights count by magnitude (a short position's sizes are negative)
    for w2 in WEIGHTS + [-w for w in WEIGHTS]:
        for v1, v2 in ((0, 0), (1, 0), (2_000 * WAD, 2_000 * WAD + 1), (2**119, 2**120 - 1),
                       (2**120, 2**120 + 1), (2**239, 2**240 - 1), (2**241, 1), (3, 2**250)):
            assert weighted_mean(w1, v1, w2, v2) == _mean(w1, v1, w2, v2), (w1, w2, v1, v2)


@given(st.integers(-(2**70), 2**70), st.integers(0, 2**245), st.integers(1, 2**70),
       st.integers(0, 2**245), st.booleans())
def test_weighted_mean__random_values__equal_python_floor(w1, v1, w2, v2, short):
    w2 = -w2 if short else w2
    assert weighted_mean(w1, v1, w2, v2) == _mean(w1, v1, w2, v2)


def test_weighted_mean__worked_entry_price():
    # 2 base long at 2,000, bought 1 more at 2,003: entry (4,000 + 2,003) / 3 = 2,001
    assert weighted_mean(2 * WAD, 2_000 * WAD, WAD, 2_003 * WAD) == 2_001 * WAD
    # the same for a short: -2 base at 2,000 sold 1 more at 2,003
    assert weighted_mean(-2 * WAD, 2_000 * WAD, -WAD, 2_003 * WAD) == 2_001 * WAD
    # a remainder rounds down: (1 x 1 + 2 x 2) / 3 = 1.666.. wei -> 1 wei
    assert weighted_mean(1, 1, 2, 2) == 1


# the fused sums' own boundaries: 4 digits (2**120) for each operand, 2**126 for the
# quotient add_mul_wad_down adds in C
SUM_EDGES = sorted({s * (2**k + d) for k in (0, 30, 60, 63, 64, 119, 120, 121, 126, 127, 128)
                    for d in (-1, 0, 1) for s in (1, -1)} | {0, WAD, -WAD})


@pytest.mark.parametrize("a", SUM_EDGES)
def test_fused_sums__edge_values__equal_python_ints(a):
    for b in SUM_EDGES:
        for c in (0, 1, -1, 2**119, -(2**120), 2**120 - 1, 3 * WAD):
            assert add_add(a, b, c) == a + b + c, (a, b, c)
            assert add_sub(a, b, c) == a + b - c, (a, b, c)
            assert sub_sub(a, b, c) == a - b - c, (a, b, c)
            assert add_mul_wad_down(a, b, c) == a + (b * c) // WAD, (a, b, c)


@given(ints, ints, ints)
def test_fused_sums__random_values__equal_python_ints(a, b, c):
    for got, want in ((add_add(a, b, c), a + b + c), (add_sub(a, b, c), a + b - c),
                      (sub_sub(a, b, c), a - b - c),
                      (add_mul_wad_down(a, b, c), a + _floor(b * c))):
        assert got == want and type(got) is int


def test_fused_sums__worked_numbers():
    # a fill of 1.5 base at 2,000: the buyer pays 3,000 + a 1.5 fee from 10,000 cash
    cash, pays, fee = 10_000 * WAD, 3_000 * WAD, 3 * WAD // 2
    assert sub_sub(cash, pays, fee) == 6_998_500_000_000_000_000_000
    assert add_sub(cash, pays, fee) == 12_998_500_000_000_000_000_000
    assert add_add(0, fee, fee) == 3 * WAD
    # equity 100 plus -0.5 base at 2,000.000000000000000001: floor(-1,000.0000000000000000005)
    assert add_mul_wad_down(100 * WAD, -WAD // 2, 2_000 * WAD + 1) == -900 * WAD - 1
    assert add_add(1, -1, 0) is 0  # noqa: F632  # the small-int cache, as Python gives


def _closed(old: int, delta: int, price: int, entry: int) -> int:
    closed = min(abs(delta), abs(old))
    return _floor(closed * (price - entry if old > 0 else entry - price))


@pytest.mark.parametrize("old", [v for v in SUM_EDGES if v])
def test_closed_pnl__edge_values__equal_python_floor(old):
    # every operand and the price gap at the 2**120 boundary of the C path, both sides
    for delta in (1, -1, 2**60, -(2**119), 2**120, -(2**121)):
        for price, entry in ((2_000 * WAD, 1_999 * WAD + 1), (1, 2**120 - 1), (2**120 - 1, 1),
                             (2**119, 2**119 + 2**118), (2**121, 3), (WAD, WAD)):
            assert closed_pnl(old, delta, price, entry) == _closed(old, delta, price, entry), \
                (old, delta, price, entry)


@given(ints, ints, st.integers(0, 2**125), st.integers(0, 2**125))
def test_closed_pnl__random_values__equal_python_floor(old, delta, price, entry):
    if old:
        got = closed_pnl(old, delta, price, entry)
        assert got == _closed(old, delta, price, entry) and type(got) is int


def test_closed_pnl__worked_numbers():
    # a 2 base long entered at 2,000 sells 0.5 at 2,010.000000000000000001: 5 + a
    # half wei, floored
    assert closed_pnl(2 * WAD, -WAD // 2, 2_010 * WAD + 1, 2_000 * WAD) == 5 * WAD
    # the same short buying back 3 (more than it holds: 2 close) at 1,990: 20 profit
    assert closed_pnl(-2 * WAD, 3 * WAD, 1_990 * WAD, 2_000 * WAD) == 20 * WAD
    # a loss floors away from zero: -0.5 base x 1 wei = -0.5 wei -> -1 wei
    assert closed_pnl(WAD, -WAD // 2, 2_000 * WAD, 2_000 * WAD + 1) == -1


def _margin(x: int, mark: int, fraction: int) -> int:
    return _ceil(_ceil(abs(x) * mark) * fraction)


# the C path's limits: each operand and the first quotient below 2**120 (its high word
# below 2**56), the result below 2**126
MARGIN_EDGES = sorted({0, 1, WAD - 1, WAD, WAD + 1, 10**15, 2**64 - 1, 2**64, 2**119,
                       2**120 - 1, 2**120, 2**121, 2**126, 2**200})


@pytest.mark.parametrize("x", MARGIN_EDGES + [-v for v in MARGIN_EDGES if v])
def test_margin__edge_values__equal_python_ceilings(x):
    for mark in MARGIN_EDGES:
        for fraction in (0, 1, 5 * WAD // 100, WAD, 2 * WAD, 2**119, 2**120):
            want = _margin(x, mark, fraction)
            assert margin(x, mark, fraction) == want, (x, mark, fraction)
            for t in (0, -(2**119), 2**120, -7):
                assert add_margin(t, x, mark, fraction) == t + want, (t, x, mark, fraction)


@given(ints, st.integers(0, 2**130), st.integers(0, 2**130), ints)
def test_margin__random_values__equal_python_ceilings(x, mark, fraction, t):
    got = margin(x, mark, fraction)
    assert got == _margin(x, mark, fraction) and type(got) is int
    assert add_margin(t, x, mark, fraction) == t + _margin(x, mark, fraction)


def test_margin__worked_numbers():
    # 1.5 base at a mark of 2,000.000000000000000001: notional 3,000.0000000000000000015
    # -> 3,000.000000000000000002 (up), x 5% = 150.0000000000000000001 -> ...0001 (up)
    assert margin(3 * WAD // 2, 2_000 * WAD + 1, 5 * WAD // 100) == 150 * WAD + 1
    assert margin(-3 * WAD // 2, 2_000 * WAD + 1, 5 * WAD // 100) == 150 * WAD + 1
    assert add_margin(-150 * WAD, 3 * WAD // 2, 2_000 * WAD + 1, 5 * WAD // 100) == 1
    assert margin(1, 1, 1) == 1  # 1e-36 rounded up twice: one wei
    assert margin(WAD, 0, WAD) == 0  # no mark yet: nothing


def _moved(t: int, cash: int, was: int, new: int, old: int, mark: int) -> int:
    return t + cash - was + _floor(new * mark) - _floor(old * mark)


# move_equity's C path: every operand below 2**120, each quotient below 2**120
MOVE_EDGES = sorted({s * (2**k + d) for k in (0, 30, 60, 64, 90, 119, 120, 121, 130)
                     for d in (-1, 0, 1) for s in (1, -1)} | {0, WAD, -WAD, WAD // 2})


@pytest.mark.parametrize("new", MOVE_EDGES)
def test_move_equity__edge_values__equal_python_floors(new):
    for old in (0, 1, -1, WAD, -(WAD // 2), 2**119, -(2**120)):
        for mark in (0, 1, WAD + 1, 2_000 * WAD, 2**64, 2**119, 2**120, 2**121):
            for t, cash, was in ((0, 0, 0), (2**119, -(2**119), 2**119 - 1),
                                 (-7, 3 * WAD, 2**121)):
                want = _moved(t, cash, was, new, old, mark)
                assert move_equity(t, cash, was, new, old, mark) == want, (
                    t, cash, was, new, old, mark)


@given(ints, ints, ints, ints, ints, st.one_of(st.integers(0, 2**130), ints))
def test_move_equity__random_values__equal_python_floors(t, cash, was, new, old, mark):
    got = move_equity(t, cash, was, new, old, mark)
    assert got == _moved(t, cash, was, new, old, mark) and type(got) is int


def test_move_equity__worked_numbers():
    # equity 470 in cash only; buying 0.5 base at 2,800 with a 0.7 fee, mark 2,000: the
    # cash falls by 1,400.7 and the new position is worth 1,000 at mark: 69.3 left
    cash = 470 * WAD - 1_400 * WAD - 7 * WAD // 10
    assert move_equity(470 * WAD, cash, 470 * WAD, WAD // 2, 0, 2_000 * WAD) == 693 * WAD // 10
    # a short of 0.5 closed at a mark of 2,000.000000000000000001: its value was
    # floor(-1,000.0000000000000000005) = -1,000.000000000000000001, now 0
    assert move_equity(0, 0, 0, 0, -WAD // 2, 2_000 * WAD + 1) == 1_000 * WAD + 1
