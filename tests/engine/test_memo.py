"""engine/core/memo.py, compiled (memo.h's table) and interpreted (dicts) alike:
SizeMemo remembers (market, size) -> value until cleared; PriceIndex is a book side's
price -> level, with removals, and refuses the prices its C table cannot hold."""

from __future__ import annotations

import random
import sys

import pytest

from engine.core import NATIVE, nativeinfo
from engine.core.memo import MEMO_MAX, PriceIndex, SizeMemo

W = 10**18


def test_size_memo__compiled_build__runs_compiled():
    if nativeinfo.pure_requested():
        pytest.skip("PERPX_PURE=1 asked for source")
    assert NATIVE["memo"] == "compiled"


def test_size_memo__whole_step_sizes__each_answered_with_its_own_value():
    # whole steps of 10**15: the keys a dict probes worst (equal low bits); two markets
    memo = SizeMemo()
    keys = [(m, k * 10**15) for m in (1, 2) for k in range(1, 501)]
    for i, (m, size) in enumerate(keys):
        assert memo.get(m, size) is None
        memo.put(m, size, i * W + m)
    assert len(memo) == len(keys)
    for i, (m, size) in enumerate(keys):
        assert memo.get(m, size) == i * W + m
    assert memo.get(3, 10**15) is None and memo.get(1, 10**15 + 1) is None


def test_size_memo__put_again__replaces_the_value_without_growing():
    memo = SizeMemo()
    memo.put(1, W, 5)
    memo.put(1, W, 7)
    assert memo.get(1, W) == 7 and len(memo) == 1


def test_size_memo__full__starts_over_then_keeps_the_new_entry():
    memo = SizeMemo()
    for k in range(MEMO_MAX):
        memo.put(1, (k + 1) * W, k)
    assert len(memo) == MEMO_MAX and memo.get(1, W) == 0
    memo.put(2, W, -1)  # the one past MEMO_MAX: everything before is forgotten
    assert len(memo) == 1 and memo.get(2, W) == -1 and memo.get(1, W) is None


def test_size_memo__clear__forgets_everything_and_releases_the_values():
    memo = SizeMemo()
    value = 10**30 + 1  # a fresh int: its reference count shows whether the memo holds it
    before = sys.getrefcount(value)
    memo.put(1, W, value)
    memo.clear()
    assert len(memo) == 0 and memo.get(1, W) is None
    assert sys.getrefcount(value) == before
    memo.put(1, W, 3)  # usable after a clear
    assert memo.get(1, W) == 3


def test_size_memo__random_keys__agree_with_a_dict():
    rng = random.Random(11)
    memo, ref = SizeMemo(), {}
    for _ in range(20_000):
        key = (rng.choice((0, 1, 2, 2**40)), rng.choice((rng.randint(0, 2**64),
                                                         rng.randint(0, 2**119),
                                                         rng.randint(1, 300) * 10**15)))
        if rng.random() < 0.5:
            value = rng.randint(-(2**70), 2**70)
            memo.put(*key, value)
            if len(ref) >= MEMO_MAX:  # a put into a full memo starts over first
                ref = {}
            ref[key] = value
        got = memo.get(*key)
        assert got == ref.get(key), key
    assert len(memo) == len(ref)


# ---- PriceIndex: a book side's levels by price --------------------------------------

COMPILED = NATIVE.get("memo") == "compiled"


def test_price_index__random_puts_and_removes__agree_with_a_dict():
    # whole ticks near one mid: the keys share their low bits and their probe runs
    # overlap, so removals shift entries back all the time; the table grows past 16
    rng = random.Random(3)
    index, ref = PriceIndex(), {}
    miss = object()
    for step in range(30_000):
        price = (200_000 + rng.randint(-300, 300)) * 10**16
        r = rng.random()
        if r < 0.45:
            value = [step]
            assert index.put(price, value) is True
            ref[price] = value
        elif r < 0.9:
            assert index.remove(price) is (ref.pop(price, None) is not None)
        got = index.get(price, miss)
        assert got is ref.get(price), price
        if step % 5_000 == 0:  # every entry, not only the one touched
            assert all(index.get(p, miss) is v for p, v in ref.items())
            assert len(index) == len(ref)
    assert len(index) == len(ref) > 100


def test_price_index__price_it_cannot_hold__answers_miss_and_stores_nothing():
    index, miss = PriceIndex(), object()
    for price in (2**120, 2**200, 2**256 - 1):
        stored = index.put(price, [price])
        if COMPILED:  # the C table holds amounts below 2**120 only: the owner keeps these
            assert stored is False and index.get(price, miss) is miss
            assert index.remove(price) is False and len(index) == 0
        else:  # interpreted, the index is a dict of every price
            assert stored is True and index.get(price, miss) == [price]
    assert index.put(2**120 - 1, "top") is True and index.get(2**120 - 1, miss) == "top"
    assert index.get(5, miss) is None  # a price it can hold, with no entry


def test_price_index__remove__releases_the_value():
    index = PriceIndex()
    value = [1, 2, 3]
    before = sys.getrefcount(value)
    index.put(10**18, value)
    assert sys.getrefcount(value) == before + 1
    assert index.remove(10**18) is True and index.remove(10**18) is False
    assert sys.getrefcount(value) == before and len(index) == 0
