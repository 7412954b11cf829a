"""engine/core/riskcell.py's RiskCell, compiled (riskcell.h's 128-bit integers) and
interpreted (Python ints) alike: after every reset, fast check, growth and carried
fill it holds exactly the R and E Python's int arithmetic gives, across the C range's
edges (operands at 2**120, R and E at 2**125), where it moves to Python ints for good.
The expected values are plain Python ints, never the cell's own arithmetic."""

from __future__ import annotations

import random

import pytest

from engine.core import NATIVE, nativeinfo
from engine.core.riskcell import RiskCell
from engine.core.wad import WAD


def test_riskcell__compiled_build__runs_compiled():
    if nativeinfo.pure_requested():
        pytest.skip("PERPX_PURE=1 asked for source")
    assert NATIVE["riskcell"] == "compiled"


def _amount(rng: random.Random, big: bool) -> int:
    """A WAD amount of the order path's size, or (big) one at the C range's edges."""
    if big:
        return rng.choice((1, -1)) * rng.choice((2**119, 2**120 - 1, 2**120, 2**124, 2**126))
    return rng.randint(-10**24, 10**24)


@pytest.mark.parametrize("seed, big_rate", [(1, 0), (2, 0), (3, 0.01), (4, 0.05)])
def test_riskcell__seeded_updates__exact_r_and_e(seed, big_rate):
    rng = random.Random(seed)
    r, e = 100 * WAD, 5_000 * WAD
    cell = RiskCell(r, e)
    for step in range(5_000):
        big = rng.random() < big_rate
        kind = rng.random()
        if kind < 0.35:
            extra = abs(_amount(rng, big))
            loss = abs(_amount(rng, big)) if rng.random() < 0.3 else 0
            ok = e - loss >= r + extra
            assert cell.covers(extra, loss) == ok, step
            if ok:
                r += extra
        elif kind < 0.55:
            extra = abs(_amount(rng, big))
            cell.grow(extra)
            r += extra
        elif kind < 0.97:
            cash, was = _amount(rng, big), _amount(rng, False)
            new, old = rng.randint(-10**20, 10**20), rng.randint(-10**20, 10**20)
            mark = rng.randint(1, 10**22) if not big else 2**121
            cell.move(cash, was, new, old, mark)
            e += (cash - was) + new * mark // WAD - old * mark // WAD
        else:
            r, e = _amount(rng, big), _amount(rng, big)
            cell.reset(r, e)
        assert cell.values() == (r, e) == (cell.bound, cell.equity), step


# R and E just inside and past the C range's 2**125, moved by amounts at 2**120
EDGES = [0, 1, -1, 2**119, 2**120 - 1, 2**120, 2**125 - 2**120, 2**125 - 1, 2**125, 2**130]


@pytest.mark.parametrize("start", EDGES + [-v for v in EDGES if v])
@pytest.mark.parametrize("step", [1, 2**120 - 1, 2**120])
def test_riskcell__edge_values__exact_through_grow_cover_move(start, step):
    cell, r, e = RiskCell(start, start), start, start
    for _ in range(3):
        cell.grow(step)
        r += step
        assert cell.covers(step, 0) == (e >= r + step)
        if e >= r + step:
            r += step
        cell.move(step, 0, 0, 0, WAD)
        e += step
        assert cell.values() == (r, e)


def test_riskcell__worked_fast_check__grows_only_when_covered():
    cell = RiskCell(100 * WAD, 470 * WAD)
    assert cell.covers(300 * WAD, 70 * WAD)  # 470 - 70 >= 100 + 300: R 400
    assert cell.values() == (400 * WAD, 470 * WAD)
    assert not cell.covers(1, 70 * WAD)  # 400 >= 401 fails: R unchanged
    assert cell.bound == 400 * WAD
    # a fill: cash 470 -> 460 and a long of 1 -> 2 ETH at mark 2,000.5: E + 1,990.5
    cell.move(460 * WAD, 470 * WAD, 2 * WAD, WAD, 2_000 * WAD + WAD // 2)
    assert cell.equity == 470 * WAD - 10 * WAD + 2_000 * WAD + WAD // 2
    # floors of each position's value: -1 x 1.5 / 1e18 rounds to -1 wei, -2 x 1.5 to -3
    cell.reset(0, 0)
    cell.move(0, 0, -2, -1, 3 * WAD // 2)
    assert cell.equity == (-3) - (-2)


def test_riskcell__compared_and_shown__by_values():
    assert RiskCell(1, 2) == RiskCell(1, 2) and RiskCell(1, 2) != RiskCell(2, 1)
    assert RiskCell(2**130, 2) == RiskCell(2**130, 2)
    assert RiskCell(1, 2) != [1, 2]
    assert repr(RiskCell(1, -2)) == "RiskCell(1, -2)"
    with pytest.raises(TypeError):
        hash(RiskCell(1, 2))
