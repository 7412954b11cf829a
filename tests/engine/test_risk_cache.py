"""The pre-trade fast path (risk.checked_with_cache) answers exactly as the full check.

Two engines get the same seeded stream -- tight deposits so margin rejections are
common, isolated and reduce-only orders, IOCs that fill, cancels and mark moves --
one with the cached bound, one with the exact check on every order. Every event
and the final state hash must be equal, and the stream must hit both outcomes.
"""

from __future__ import annotations

import random

import pytest

from engine.core import risk
from engine.core.commands import CancelOrder, Deposit, PlaceOrder, UpdateIndex
from engine.core.engine import Engine
from engine.core.events import OrderRejected
from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC, FLAG_ISOLATED, FLAG_REDUCE_ONLY
from engine.core.wad import WAD

TRADERS = [f"0x{i:040x}" for i in range(1, 9)]
T0 = 1_700_000_000_000
ETH, BTC = 1, 2


def stream(seed: int, n: int) -> list:
    rng = random.Random(seed)
    mids = {ETH: 2_000 * WAD, BTC: 30_000 * WAD}
    ticks = {m.market_id: m.tick_size for m in default_markets()}
    steps = {m.market_id: m.step_size for m in default_markets()}
    cmds: list = [Deposit(t, rng.randint(100, 300) * WAD, T0) for t in TRADERS]
    cmds += [UpdateIndex(m, p, T0) for m, p in mids.items()]
    placed: list[tuple[str, bytes]] = []
    for k in range(n):
        ts = T0 + 1 + k
        roll = rng.random()
        if roll < 0.03:
            m = rng.choice((ETH, BTC))
            mids[m] = mids[m] * rng.randint(97, 103) // 100 // ticks[m] * ticks[m]
            cmds.append(UpdateIndex(m, mids[m], ts))
            continue
        if roll < 0.25 and placed:
            trader, h = placed.pop(rng.randrange(len(placed)))
            cmds.append(CancelOrder(trader, h, ts))
            continue
        m = rng.choice((ETH, ETH, BTC))
        trader = rng.choice(TRADERS)
        is_buy = rng.random() < 0.5
        flags = rng.choice((0, 0, 0, FLAG_IOC, FLAG_ISOLATED, FLAG_REDUCE_ONLY))
        offset = rng.randint(-20, 30) * ticks[m] * 10
        price = mids[m] - offset if is_buy else mids[m] + offset
        size = rng.randint(1, 100) * steps[m] * (20 if m == ETH else 2)
        order = Order(trader, m, is_buy, size, price, 0, flags, 10**15, k, 0)
        h = k.to_bytes(32, "big")
        cmds.append(PlaceOrder(order, h, b"", ts))
        if not flags & FLAG_IOC:
            placed.append((trader, h))
    return cmds


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_checked_with_cache__seeded_streams__same_events_as_exact_check(seed, monkeypatch):
    cmds = stream(seed, 3_000)
    fast = Engine(default_markets())
    fast_events = [fast.apply(c) for c in cmds]
    monkeypatch.setattr(risk, "checked_with_cache",
                        lambda ledger, a, m, b, s, p, e: risk.pre_trade_check_exposure(
                            ledger, a, m, b, s, p, e))
    exact = Engine(default_markets())
    exact_events = [exact.apply(c) for c in cmds]
    assert fast_events == exact_events
    assert fast.state_hash() == exact.state_hash()
    codes = {e.code for evs in exact_events for e in evs if isinstance(e, OrderRejected)}
    assert 2001 in codes  # margin rejections happen, so the bound is really tested
    trades = sum(type(e).__name__ == "TradeExecuted" for evs in exact_events for e in evs)
    assert trades > 100
