"""engine/core/exposure.py's ExposureRow, compiled (exposure.h's C integers) and
interpreted (Python ints) alike: after every add and take it holds exactly the sums
Python's int arithmetic gives, across the C range's edges (sizes and prices at 2**120,
notional sums at 2**256, a take below zero), where it moves to Python ints for good;
`loss_free` answers the rounded-average-price rule at any mark. The expected values
are plain Python ints, never the row's own arithmetic."""

from __future__ import annotations

import pickle
import random

import pytest

from engine.core import NATIVE, nativeinfo
from engine.core.exposure import ExposureRow, expose, no_resting_loss, rows_from_lists
from engine.core.wad import WAD


def test_exposure__compiled_build__runs_compiled():
    if nativeinfo.pure_requested():
        pytest.skip("PERPX_PURE=1 asked for source")
    assert NATIVE["exposure"] == "compiled"


def _free(model: list[int], mark: int) -> bool:
    """The resting-loss rule on Python ints: ceil(bn / bs) <= mark and floor(sn / ss)
    >= mark on each side that holds orders."""
    bs, bn, ss, sn = model
    return (bs == 0 or -(-bn // bs) <= mark) and (ss == 0 or sn // ss >= mark)


def _apply(row: ExposureRow, model: list[int], add: bool, is_buy: bool, size: int,
           price: int) -> None:
    (row.add if add else row.take)(is_buy, size, price)
    i = 0 if is_buy else 2
    sign = 1 if add else -1
    model[i] += sign * size
    model[i + 1] += sign * size * price


@pytest.mark.parametrize("seed, big_rate", [(1, 0), (2, 0), (3, 0.02)])
def test_exposure_row__seeded_rests_and_takes__exact_sums_and_loss_rule(seed, big_rate):
    # the engine's shape: orders rest and leave (whole or in part) at a few prices, with
    # marks around them; the last stream also rests orders past the C range (its row
    # moves to Python ints at the first one)
    rng = random.Random(seed)
    row, model, resting = ExposureRow(), [0, 0, 0, 0], []
    for step in range(4_000):
        big = rng.random() < big_rate
        if resting and rng.random() < 0.45:
            k = rng.randrange(len(resting))
            is_buy, size, price = resting[k]
            part = size if rng.random() < 0.6 else rng.randint(1, size)
            _apply(row, model, False, is_buy, part, price)
            if part == size:
                resting.pop(k)
            else:
                resting[k] = (is_buy, size - part, price)
        else:
            is_buy = rng.random() < 0.5
            size = rng.randint(1, 10**21) if not big else rng.randint(2**119, 2**121)
            price = rng.randint(900, 1100) * WAD // 1000 * 1000 if not big else 2**125 + 7
            _apply(row, model, True, is_buy, size, price)
            resting.append((is_buy, size, price))
        assert row.values() == tuple(model), step
        mark = rng.choice((rng.randint(890, 1110) * WAD, 0, 1, 2**120 - 1, 2**120, 2**200))
        assert row.loss_free(mark) == _free(model, mark), (step, mark)
    for is_buy, size, price in resting:
        _apply(row, model, False, is_buy, size, price)
    assert row.values() == (0, 0, 0, 0) == tuple(model)
    assert row.loss_free(1)


# sizes and prices at the C range's edges, and where a sum crosses 2**120 or 2**256
EDGES = [1, WAD, 2**64 - 1, 2**64, 2**119, 2**120 - 1, 2**120, 2**128, 2**136 - 1, 2**200]


@pytest.mark.parametrize("size", EDGES)
@pytest.mark.parametrize("price", EDGES)
def test_exposure_row__edge_operands__exact_through_add_add_take_take(size, price):
    row, model = ExposureRow(), [0, 0, 0, 0]
    for add, is_buy in ((True, True), (True, False), (True, True), (False, True),
                        (False, False), (False, True)):
        _apply(row, model, add, is_buy, size, price)
        assert row.values() == tuple(model)
        for mark in (price - 1, price, price + 1):
            assert row.loss_free(mark) == _free(model, mark)


def test_exposure_row__size_sum_crosses_2_120__exact_after_and_back():
    # each size fits the C range, their sum does not (so neither could the notional
    # sum: it stays below 2**120 x 2**120)
    row, model = ExposureRow(), [0, 0, 0, 0]
    size, price = 2**120 // 16 + 3, 2**120 - 1
    for _ in range(17):
        _apply(row, model, True, False, size, price)
        assert row.values() == tuple(model)
    assert model[2] > 2**120
    for _ in range(17):
        _apply(row, model, False, False, size, price)
    assert row.values() == (0, 0, 0, 0)


def test_exposure_row__take_beyond_what_rested__negative_as_python_gives():
    row = ExposureRow()
    row.add(True, 2 * WAD, 1_000 * WAD)
    row.take(True, 3 * WAD, 1_000 * WAD)
    assert row.values() == (-WAD, -1_000 * WAD * WAD, 0, 0)
    row.add(True, WAD, 1_000 * WAD)
    assert row.values() == (0, 0, 0, 0)


def test_exposure_row__worked_loss_rule__rounded_against_the_trader():
    row = ExposureRow()
    row.add(True, 2, 10)
    row.add(True, 1, 11)  # buys: 3 at 31 / 3 = 10.33, rounded up to 11
    assert [m for m in range(8, 14) if row.loss_free(m)] == [11, 12, 13]
    row.add(False, 2, 20)
    row.add(False, 1, 19)  # sells: 3 at 59 / 3 = 19.67, rounded down to 19
    assert [m for m in range(8, 23) if row.loss_free(m)] == list(range(11, 20))
    assert ExposureRow().loss_free(0)


@pytest.mark.parametrize("values", [(0, 0, 0, 0), (3, 31, 2, 40), (2**120, 2**250, 1, 2**300),
                                    (-1, -5, 0, 0)])
def test_exposure_row__built_pickled_compared__same_values(values):
    row = ExposureRow(*values)
    assert row.values() == values
    again = pickle.loads(pickle.dumps(row))
    assert type(again) is ExposureRow and again == row and again.values() == values
    assert row != ExposureRow(values[0] + 1, *values[1:])
    assert row != list(values)  # only another row compares equal
    assert repr(row) == f"ExposureRow{values}"
    with pytest.raises(TypeError):
        hash(row)


def test_expose__new_trader_new_market_then_same_row():
    exposure: dict = {}
    row = expose(exposure, None, "0xa", 1, True, WAD, 2 * WAD)
    assert exposure == {"0xa": {1: row}} and row.values() == (WAD, 2 * WAD * WAD, 0, 0)
    other = expose(exposure, exposure["0xa"], "0xa", 2, False, WAD, 3 * WAD)
    assert other is exposure["0xa"][2] and other is not row
    assert expose(exposure, exposure["0xa"], "0xa", 1, False, WAD, 3 * WAD) is row
    assert row.values() == (WAD, 2 * WAD * WAD, WAD, 3 * WAD * WAD)


def test_no_resting_loss__any_losing_row_with_a_mark__false():
    rows = {1: ExposureRow(WAD, 10 * WAD * WAD, 0, 0), 2: ExposureRow(0, 0, WAD, 5 * WAD * WAD)}
    # each set of marks is a new epoch, as each Ledger.set_mark makes one
    assert no_resting_loss(rows, {1: 10 * WAD, 2: 5 * WAD}, 1)
    assert not no_resting_loss(rows, {1: 10 * WAD - 1, 2: 5 * WAD}, 2)  # the buys lose
    assert not no_resting_loss(rows, {1: 10 * WAD, 2: 5 * WAD + 1}, 3)  # the sells lose
    assert no_resting_loss(rows, {1: 10 * WAD}, 4)  # market 2 has no mark: nothing counted
    assert no_resting_loss({}, {}, 5)


def test_no_resting_loss__verdict_kept__only_through_adds_no_worse_than_its_mark():
    marks = {1: 10 * WAD}
    row = ExposureRow()
    row.add(True, WAD, 9 * WAD)
    assert no_resting_loss({1: row}, marks, 7)  # loss-free at 10, remembered for epoch 7
    # adds at the mark or on its safe side keep the verdict, and it stays true
    row.add(True, WAD, 10 * WAD)
    row.add(False, WAD, 11 * WAD)
    assert no_resting_loss({1: row}, marks, 7) and row.loss_free(10 * WAD)
    # a buy above the mark ends it: the next call tests the row again and finds the loss
    row.add(True, 5 * WAD, 13 * WAD)  # buys: 7 at 84 / 7 = 12 > 10
    assert not no_resting_loss({1: row}, marks, 7)
    row.take(True, 5 * WAD, 13 * WAD)
    assert no_resting_loss({1: row}, marks, 7)
    # a take ends it too: the cheap buy leaves, the dear one would lose at a mark of 9.5
    row.take(True, WAD, 9 * WAD)
    assert not no_resting_loss({1: row}, {1: 9 * WAD + WAD // 2}, 8)
    # a sell below the mark ends it
    fresh = ExposureRow(0, 0, WAD, 11 * WAD * WAD)
    assert no_resting_loss({1: fresh}, marks, 9)
    fresh.add(False, 3 * WAD, 5 * WAD)  # sells: 4 at 26 / 4 = 6.5 < 10
    assert not no_resting_loss({1: fresh}, marks, 9)
    # a new epoch (a new mark) never reuses the old verdict
    safe = ExposureRow(WAD, 9 * WAD * WAD, 0, 0)
    assert no_resting_loss({1: safe}, marks, 10)
    assert not no_resting_loss({1: safe}, {1: 8 * WAD}, 11)


@pytest.mark.parametrize("seed", [1, 2])
def test_no_resting_loss__seeded_rows_and_mark_moves__same_answer_as_testing_every_row(seed):
    # rows rest and lose orders at prices around moving marks; the answer with kept
    # verdicts always equals each row tested afresh
    rng = random.Random(seed)
    rows = {m: ExposureRow() for m in (1, 2, 3)}
    resting: list[tuple[int, bool, int, int]] = []
    marks, epoch, answers = {1: 100, 2: 200, 3: 300}, 1, set()
    for step in range(6_000):
        r = rng.random()
        if r < 0.05:
            m = rng.choice((1, 2, 3))
            marks[m] += rng.randint(-5, 5)
            epoch += 1
        elif r < 0.45 and resting:
            m, is_buy, size, price = resting.pop(rng.randrange(len(resting)))
            rows[m].take(is_buy, size, price)
        else:
            m = rng.choice((1, 2, 3))
            is_buy = rng.random() < 0.5
            offset = rng.randint(-2, 12)  # mostly on the safe side of the mark
            price = marks[m] - offset if is_buy else marks[m] + offset
            size = rng.randint(1, 50)
            rows[m].add(is_buy, size, price)
            resting.append((m, is_buy, size, price))
        expected = all(row.loss_free(marks[m]) for m, row in rows.items())
        assert no_resting_loss(rows, marks, epoch) == expected, step
        answers.add(expected)
    assert answers == {True, False}


def test_rows_from_lists__older_snapshot_rows__rows_of_the_same_values():
    exposure = {"0xa": {1: [1, 2, 3, 4], 2: ExposureRow(5, 6, 7, 8)}}
    kept = exposure["0xa"][2]
    rows_from_lists(exposure)
    assert exposure == {"0xa": {1: ExposureRow(1, 2, 3, 4), 2: ExposureRow(5, 6, 7, 8)}}
    assert exposure["0xa"][2] is kept
