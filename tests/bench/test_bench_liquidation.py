"""Liquidation sweep benchmark: 100,000 accounts with positions, a 10% mark move.

Set-up (seeded, before any clock starts): 100,000 accounts in pairs, one long and
one short of the same size on ETH-USD at 2000, each funded for a leverage between
2x and 19x (spread by a fixed hash of the pair). Every tenth pair also holds
0.01 BTC-USD at 30,000 (the long ETH side long BTC too), so 10% of the accounts
are cross accounts with two positions. A first sweep at the opening marks builds
the liquidation index (reported separately, `liquidation_index_build_ms`).

Timed (`liquidation_sweep_ms`): `Ledger.set_mark` of ETH-USD 10% lower, then
`find_liquidation_records(ledger, [ETH])`: finding the units below maintenance and
emitting one liquidation record per account (account, market, side and size of the
closing order, bankruptcy price), as the engine's LiquidationStarted events carry
(the same as `liquidation_records(ledger, find_liquidatable_units(ledger, [ETH]))`,
which a test checks). The result
is checked against an exact check of every account after the clock stops, and a
sample of the bankruptcy prices against `bankruptcy_price`. Median of 5 runs (each on a
fresh copy of the set-up state, its index built before the clock starts), with the
garbage collector frozen and disabled.
Also reported: the find step alone (`liquidation_find_only_ms`), and the same sweep
after BTC-USD's mark moved 1% first (`liquidation_sweep_after_other_mark_ms`): the
two-position accounts' ETH constants then change, so their ETH book is rebuilt
inside the timed sweep (checked exactly as well). `cpu_ms` is the process CPU time
of the timed sweeps. Numbers only, no assertion on time.

Run: PATH=$PWD/.venv/bin:$PATH PYTHONPATH=$PWD .venv/bin/pytest -q -s -m bench \
     tests/bench/test_bench_liquidation.py
"""

from __future__ import annotations

import copy
import gc
import json
import statistics
import time

import pytest

from engine.core import liquidation
from engine.core.accounts import INSURANCE, Ledger
from engine.core.markets import default_markets

W = 10**18
ACCOUNTS = 100_000
ETH, BTC = 1, 2


def build() -> Ledger:
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 2000 * W)
    ledger.set_mark(BTC, 30_000 * W)
    for pair in range(ACCOUNTS // 2):
        long, short = f"0x{2 * pair + 1:040x}", f"0x{2 * pair + 2:040x}"
        size = (1 + pair % 50) * W // 10
        leverage = 2 + (pair * 7919) % 18
        deposit = size * 2000 // leverage
        ledger.deposit(long, deposit)
        ledger.deposit(short, deposit)
        ledger.apply_fill(ETH, long, short, size, 2000 * W, 0, 0)
        if pair % 10 == 0:
            ledger.deposit(long, 300 * W)
            ledger.deposit(short, 300 * W)
            ledger.apply_fill(BTC, long, short, W // 100, 30_000 * W, 0, 0)
    return ledger


def sweep(ledger: Ledger, mark: int) -> list[tuple[str, int, bool, int, int]]:
    ledger.set_mark(ETH, mark)
    return liquidation.find_liquidation_records(ledger, [ETH])


@pytest.mark.bench
def test_bench_liquidation_sweep():
    ledger = build()
    start = time.perf_counter()
    assert liquidation.find_liquidatable(ledger) == []
    build_ms = (time.perf_counter() - start) * 1000
    print(json.dumps({"name": "liquidation_index_build_ms", "value": round(build_ms, 1),
                      "unit": "ms", "accounts": ACCOUNTS}))
    timings, cpu_timings, found, find_only, after_other = [], [], 0, [], []
    for _ in range(5):
        fresh = copy.deepcopy(ledger)  # a copy drops the index (a cache): build it again
        assert liquidation.find_liquidatable(fresh) == []
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            start, cpu = time.perf_counter(), time.process_time()
            records = sweep(fresh, 1800 * W)
            timings.append((time.perf_counter() - start) * 1000)
            cpu_timings.append((time.process_time() - cpu) * 1000)
            fresh.set_mark(ETH, 2000 * W)
            start = time.perf_counter()
            fresh.set_mark(ETH, 1800 * W)
            liquidation.find_liquidatable(fresh, [ETH])
            find_only.append((time.perf_counter() - start) * 1000)
            fresh.set_mark(ETH, 2000 * W)
            fresh.set_mark(BTC, 29_700 * W)
            start = time.perf_counter()
            moved = sweep(fresh, 1800 * W)
            after_other.append((time.perf_counter() - start) * 1000)
        finally:
            gc.enable()
            gc.unfreeze()
        exact = sorted(a for a in fresh.accounts if a != INSURANCE
                       and fresh.equity(a) < fresh.maintenance_margin(a))
        assert sorted({r[0] for r in moved}) == exact
        fresh.set_mark(BTC, 30_000 * W)
        exact = sorted(a for a in fresh.accounts if a != INSURANCE
                       and fresh.equity(a) < fresh.maintenance_margin(a))
        assert sorted({r[0] for r in records}) == exact
        sample = records[:: max(1, len(records) // 500)]  # the records are the exact formula
        assert all(r[4] == liquidation.bankruptcy_price(fresh, r[0], r[1]) for r in sample)
        found = len(exact)
    print(json.dumps({"name": "liquidation_sweep_ms", "value": round(statistics.median(timings), 1),
                      "unit": "ms", "accounts": ACCOUNTS, "liquidatable": found,
                      "multi_position_accounts": ACCOUNTS // 10, "runs": len(timings),
                      "cpu_ms": round(statistics.median(cpu_timings), 1)}))
    print(json.dumps({"name": "liquidation_find_only_ms",
                      "value": round(statistics.median(find_only), 1), "unit": "ms",
                      "accounts": ACCOUNTS}))
    print(json.dumps({"name": "liquidation_sweep_after_other_mark_ms",
                      "value": round(statistics.median(after_other), 1), "unit": "ms",
                      "accounts": ACCOUNTS}))
