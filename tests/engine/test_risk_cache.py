"""The pre-trade fast path (risk.checked_with_cache) answers exactly as the full check.

Two engines get the same seeded stream -- tight deposits so margin rejections are
common, isolated and reduce-only orders, IOCs that fill, cancels, mark moves, and
deposits and withdrawals between them (which change the cross equity the cache
keeps) -- one with the cached bound, one with the exact check on every order: its
cache is emptied before every command (and, interpreted, the fast path is replaced
by the exact check outright; compiled, the engine calls it through a C import).
Every event and the final state hash must be equal, and the stream must hit both
outcomes.
"""

from __future__ import annotations

import pickle
import random

import pytest

from engine.core import risk
from engine.core.commands import CancelOrder, Deposit, PlaceOrder, UpdateIndex, Withdraw
from engine.core.engine import Engine
from engine.core.events import OrderRejected
from engine.core.exposure import ExposureRow
from engine.core.riskcell import RiskCell
from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC, FLAG_ISOLATED, FLAG_REDUCE_ONLY, margin_requirement
from engine.core.wad import WAD

TRADERS = [f"0x{i:040x}" for i in range(1, 9)]
T0 = 1_700_000_000_000
HOUR_MS = 3_600_000
ETH, BTC = 1, 2


def stream(seed: int, n: int, jump_every: int = 0) -> list:
    """`n` seeded commands one ms apart; with `jump_every`, the clock also jumps 8 h
    every that many commands (so funding intervals close between fills)."""
    rng = random.Random(seed)
    mids = {ETH: 2_000 * WAD, BTC: 30_000 * WAD}
    ticks = {m.market_id: m.tick_size for m in default_markets()}
    steps = {m.market_id: m.step_size for m in default_markets()}
    cmds: list = [Deposit(t, rng.randint(100, 300) * WAD, T0) for t in TRADERS]
    cmds += [UpdateIndex(m, p, T0) for m, p in mids.items()]
    placed: list[tuple[str, bytes]] = []
    for k in range(n):
        ts = T0 + 1 + k + (k // jump_every * 8 * HOUR_MS if jump_every else 0)
        roll = rng.random()
        if roll < 0.03:
            m = rng.choice((ETH, BTC))
            mids[m] = mids[m] * rng.randint(97, 103) // 100 // ticks[m] * ticks[m]
            cmds.append(UpdateIndex(m, mids[m], ts))
            continue
        if roll < 0.05:  # cash in or out between orders: the cached equity must follow
            trader = rng.choice(TRADERS)
            amount = rng.randint(1, 40) * WAD
            cmds.append(Deposit(trader, amount, ts) if rng.random() < 0.5
                        else Withdraw(trader, amount, ts))
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
    exact_events = []
    for c in cmds:
        exact.ledger.risk_cache.clear()  # every order of the command misses the cache
        exact_events.append(exact.apply(c))
    assert fast_events == exact_events
    assert fast.state_hash() == exact.state_hash()
    codes = {e.code for evs in exact_events for e in evs if isinstance(e, OrderRejected)}
    assert 2001 in codes  # margin rejections happen, so the bound is really tested
    trades = sum(type(e).__name__ == "TradeExecuted" for evs in exact_events for e in evs)
    assert trades > 100
    kinds = {type(e).__name__ for evs in exact_events for e in evs}
    assert {"Withdrawn", "WithdrawalRejected"} <= kinds  # both ways, so cash really moved


def worst_case_margin(engine: Engine, account: str) -> int:
    """The initial margin the account's worst case needs, exactly as the full check
    counts it: per market max(|pos + buys|, |pos - sells|) at mark (for an isolated
    position only the growth beyond it)."""
    ledger = engine.ledger
    positions = ledger.accounts[account].positions
    rows = engine._exposure.get(account, {})
    total = 0
    for m in set(positions) | set(rows):
        pos = positions.get(m)
        held = pos.size if pos is not None else 0
        bs, _, ss, _ = rows[m].values() if m in rows else (0, 0, 0, 0)
        worst = max(abs(held + bs), abs(held - ss))
        if held and pos.isolated:
            worst = max(0, worst - abs(held))
        total += margin_requirement(worst, ledger.marks.get(m, 0), ledger.markets[m].imf)
    return total


@pytest.mark.parametrize("seed", [5, 6])
def test_cached_entries__after_every_command__exact_equity_and_a_bound_that_holds(seed):
    # E is carried across fills (cash and the position's value at mark), never
    # recomputed: after every command each cached E must equal cross_equity, also
    # across funding intervals (the clock jumps 8 h every 400 commands), whose payment
    # a later fill settles into cash. R must stay at or above the worst case's exact
    # initial margin: a fill raises it only for a side it does not already cover (a
    # reduce-only taker, never a maker or a checked taker)
    engine = Engine(default_markets())
    ledger = engine.ledger
    checked = settled = 0
    for cmd in stream(seed, 3_000, jump_every=400):
        before = {a: [p.last_index for p in ledger.accounts[a].positions.values()]
                  for a in ledger.risk_cache}
        engine.apply(cmd)
        for account, cell in ledger.risk_cache.items():
            bound, equity = cell.values()
            assert equity == ledger.cross_equity(account), (cmd, account)
            assert bound >= worst_case_margin(engine, account), (cmd, account)
            checked += 1
            if account in before and before[account] != [
                    p.last_index for p in ledger.accounts[account].positions.values()]:
                settled += 1  # a fill settled its funding with the entry kept
    assert checked > 3_000
    assert settled > 0
    assert all(ledger.funding_index[m] != 0 for m in (ETH, BTC))  # funding ran


def test_cached_bound__reduce_only_taker_with_resting_orders__grows_with_the_fill():
    # A is long 1 ETH with 1.5 ETH of resting sells and 0.01 ETH of resting buys: worst
    # case max(1.01, |1 - 1.5|) = 1.01 ETH, R exactly 101 (1.01 x 2,000 x 5%). Its
    # reduce-only IOC sells 1 ETH (no margin check): flat, the resting sells now open
    # a 1.5 ETH short at worst (150). R must have grown with the fill (it does not
    # cover an unchecked taker), or A's next order would be judged against a bound
    # below what A needs.
    a, b, c = TRADERS[0], TRADERS[1], TRADERS[2]
    engine = Engine(default_markets())
    ledger = engine.ledger
    for cmd in (Deposit(a, 400 * WAD, T0), Deposit(b, 10**6 * WAD, T0),
                Deposit(c, 10**6 * WAD, T0), UpdateIndex(ETH, 2_000 * WAD, T0)):
        engine.apply(cmd)

    def place(n: int, trader: str, is_buy: bool, size: int, price: int, flags: int = 0):
        order = Order(trader, ETH, is_buy, size, price, 0, flags, 10**15, n, 0)
        return engine.apply(PlaceOrder(order, n.to_bytes(32, "big"), b"", T0 + n))

    place(1, b, False, WAD, 2_000 * WAD)
    place(2, a, True, WAD, 2_000 * WAD, FLAG_IOC)  # A buys 1 ETH from B
    place(3, a, False, 3 * WAD // 2, 2_100 * WAD)  # rests 1.5 ETH of sells
    ledger.risk_cache.clear()  # A's next order takes the exact check: R exactly 101
    place(4, a, True, WAD // 100, 1_900 * WAD)
    assert worst_case_margin(engine, a) == 101 * WAD == ledger.risk_cache[a].bound
    place(5, c, True, WAD, 2_000 * WAD)
    trades = place(6, a, False, WAD, 2_000 * WAD, FLAG_IOC | FLAG_REDUCE_ONLY)
    assert "TradeExecuted" in [type(e).__name__ for e in trades]
    assert ledger.position(a, ETH) is None  # flat
    assert worst_case_margin(engine, a) == 150 * WAD
    assert ledger.risk_cache[a].bound == 201 * WAD  # 101 + the fill's 1 ETH: 100


def test_cached_equity__a_fill_far_above_the_mark__next_order_sees_the_loss():
    # A's first order caches [R, E]; its IOC then buys 0.5 ETH at 2,800 against a mark
    # of 2,000: its cross equity falls from 470 to 69.3. With E kept from before the
    # fill, the next resting buy would pass (470 >= R 110 + 50); carried across the
    # fill, E is 69.3 and the check needs 1.1 ETH x 2,000 x 5% = 110: rejected.
    a, maker = TRADERS[0], TRADERS[1]
    engine = Engine(default_markets())
    for cmd in (Deposit(a, 470 * WAD, T0), Deposit(maker, 10**6 * WAD, T0),
                UpdateIndex(ETH, 2_000 * WAD, T0)):
        engine.apply(cmd)

    def place(n: int, trader: str, is_buy: bool, size: int, price: int, flags: int = 0):
        order = Order(trader, ETH, is_buy, size, price, 0, flags, 10**15, n, 0)
        return engine.apply(PlaceOrder(order, n.to_bytes(32, "big"), b"", T0 + n))

    place(1, maker, False, WAD // 2, 2_800 * WAD)
    assert [type(e).__name__ for e in place(2, a, True, WAD // 10, 1_900 * WAD)] == [
        "OrderAccepted"]
    assert engine.ledger.risk_cache[a].equity == 470 * WAD  # E, kept from the exact check
    fill = place(3, a, True, WAD // 2, 2_800 * WAD, FLAG_IOC)
    assert "TradeExecuted" in [type(e).__name__ for e in fill]
    # the fill carried E: 470 - 0.5 x 2,800 - fee + 0.5 x 2,000 (its position at mark)
    fee = WAD // 2 * 2_800 * 5 // 10_000  # the taker's 0.05% of the 1,400 notional
    assert engine.ledger.risk_cache[a].equity == 470 * WAD - 1_400 * WAD - fee + 1_000 * WAD
    assert engine.ledger.risk_cache[a].equity == engine.ledger.cross_equity(a)
    rejected, = place(4, a, True, WAD // 2, 1_900 * WAD)
    assert isinstance(rejected, OrderRejected) and rejected.code == 2001
    assert engine.ledger.cross_equity(a) < 110 * WAD


def test_cash_changed__deposit_withdraw_fees_funding__drop_the_cached_entries():
    a, b = TRADERS[0], TRADERS[1]
    engine = Engine(default_markets())
    ledger = engine.ledger
    for cmd in (Deposit(a, 1_000 * WAD, T0), Deposit(b, 1_000 * WAD, T0),
                UpdateIndex(ETH, 2_000 * WAD, T0)):
        engine.apply(cmd)
    ledger.apply_fill(ETH, a, b, WAD, 2_000 * WAD, 0, 0)
    changes = [
        lambda: ledger.deposit(a, WAD),
        lambda: ledger.withdraw(a, WAD),
        lambda: ledger.withdraw(a, WAD, enforce_margin=False),
        lambda: ledger.charge_liquidation_fee(a, WAD),
    ]
    for change in changes:
        ledger.risk_cache[a] = RiskCell(WAD, 900 * WAD)
        change()
        assert a not in ledger.risk_cache
    ledger.risk_cache.update({a: RiskCell(WAD, 900 * WAD), b: RiskCell(WAD, 900 * WAD)})
    ledger.apply_funding(ETH, 10**14)  # both hold ETH: both cross equities move
    assert ledger.risk_cache == {}


def _restored_mid_stream(seed: int, restore) -> tuple[Engine, Engine]:
    """Run `stream(seed, 2_000)` whole on one engine, and on another that stops after
    1,000 commands and goes on as `restore(it)`; both must emit the same events.
    Returns (the whole run's engine, the restored one)."""
    cmds = stream(seed, 2_000)
    live = Engine(default_markets())
    live_events = [live.apply(c) for c in cmds]
    first = Engine(default_markets())
    events = [first.apply(c) for c in cmds[:1_000]]
    restored = restore(first)
    events += [restored.apply(c) for c in cmds[1_000:]]
    assert events == live_events
    assert restored._exposure == live._exposure
    return live, restored


def _from_snapshot(first: Engine) -> Engine:
    restored = Engine.from_snapshot(first.snapshot())
    assert all(rec.exposure_row is None for rec in restored.orders.values())
    return restored


def test_exposure_rows__restored_mid_stream__same_events_and_rows_as_uninterrupted():
    # a rested order's record links its exposure row (not snapshotted): after a restore
    # the records look their rows up again; fills and cancels must keep the same rows
    live, restored = _restored_mid_stream(4, _from_snapshot)
    assert restored.state_hash() == live.state_hash()
    # and every row a record links is the live row of its trader and market
    for rec in restored.orders.values():
        if rec.exposure_row is not None:
            order = rec.order
            assert rec.exposure_row is restored._exposure[order.trader][order.market]


def _from_list_rows(first: Engine) -> Engine:
    # snapshots before ExposureRow held each row as a list [bs, bn, ss, sn]
    state = first.__getstate__()
    state["_exposure"] = {t: {m: list(row.values()) for m, row in rows.items()}
                          for t, rows in first._exposure.items()}
    assert any(any(r[0] or r[2] for r in rows.values()) for rows in state["_exposure"].values())
    restored = Engine.__new__(Engine)
    restored.__setstate__(pickle.loads(pickle.dumps(state)))
    assert all(type(row) is ExposureRow
               for rows in restored._exposure.values() for row in rows.values())
    assert restored._exposure == first._exposure
    return restored


def test_exposure_rows__older_snapshot_of_list_rows__restored_as_rows_same_events():
    live, restored = _restored_mid_stream(5, _from_list_rows)
    assert restored.state_hash() == live.state_hash()
