"""Funding-risk step reductions through the engine, and what the batcher makes of them.

A long pays a full funding interval at +0.5% (the book trades 2% above the
index), which is more than 3% of its initial margin, so it is flagged; once the
mark brings it between maintenance and 1.25 x maintenance (and below initial
margin) the next price update sells a quarter of it into the book with an engine
order (IOC | reduce-only | step, 133) that the Exchange accepts from the settler
against an account below initial margin (tests/contracts/test_backstop.py)."""

from engine.chain.batcher import Batcher, PostBatch
from engine.core.commands import Deposit, Tick, UpdateIndex
from engine.core.engine import Engine
from engine.core.events import AccountFlagged, FundingApplied, PositionStepReduced, TradeExecuted
from engine.core.markets import default_markets
from engine.core.rules import FLAG_IOC, FLAG_REDUCE_ONLY, FLAG_STEP
from engine.core.wad import WAD
from tests.engine.engine_helpers import BIDDER, ETH, MAKER, T0, TRADER, of, order, place

HOUR_MS = 3_600_000


def flagged_long():
    """(engine, funding time): TRADER long 1 ETH at 2000 with 110 USDC; MAKER quotes
    2040 / 2050 (3 ETH each side), so every premium sample is ~+2%."""
    engine = Engine(default_markets())
    for acct, amount in ((TRADER, 110 * WAD), (MAKER, 100_000 * WAD), (BIDDER, 100_000 * WAD)):
        engine.apply(Deposit(acct, amount, T0))
    engine.apply(UpdateIndex(ETH, 2_000 * WAD, T0))
    place(engine, order(MAKER, False, WAD, 2_000 * WAD), T0 + 1_000)
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC), T0 + 2_000)
    place(engine, order(MAKER, True, 3 * WAD, 2_040 * WAD), T0 + 3_000)
    place(engine, order(MAKER, False, 3 * WAD, 2_050 * WAD), T0 + 3_000)
    funding_ts = T0 - 60_000 + 8 * HOUR_MS
    for k in range(1, 8 * 60 - 1):  # a fresh index every minute, so premium samples are taken
        engine.apply(UpdateIndex(ETH, 2_000 * WAD, T0 + k * 60_000))
    events = engine.apply(Tick(funding_ts))
    return engine, events


def test_tick__funding_outflow_above_3pct_of_im__account_flagged():
    engine, events = flagged_long()
    paid = of(events, FundingApplied)
    assert paid and paid[0].rate == 5 * WAD // 1000  # +0.5%: the max change from 0
    assert TRADER in [e.account for e in of(events, AccountFlagged)]
    assert engine.monitor.is_flagged(TRADER)


def test_update_index__flagged_near_maintenance__quarter_sold_with_step_flags():
    engine, _ = flagged_long()
    ts = T0 - 60_000 + 8 * HOUR_MS + 1_000
    # mark ~1967.8 (+0.5% basis clamp): equity ~66.8, maintenance ~59, 1.25 x ~73.8
    events = engine.apply(UpdateIndex(ETH, 1_958 * WAD, ts))
    equity, mm = engine.ledger.equity(TRADER), engine.ledger.maintenance_margin(TRADER)
    steps = of(events, PositionStepReduced)
    assert [(s.account, s.is_buy, s.size) for s in steps] == [(TRADER, False, WAD // 4)]
    fills = [t for t in of(events, TradeExecuted) if t.taker == TRADER]
    assert sum(f.size for f in fills) == steps[0].filled == WAD // 4
    step_order = engine.orders[steps[0].order_hash].order
    assert step_order.flags == FLAG_IOC | FLAG_REDUCE_ONLY | FLAG_STEP
    assert engine.ledger.position(TRADER, ETH).size == 3 * WAD // 4
    assert equity >= mm  # never liquidated: reduced before it got there

    # the batcher takes the step fills like any fill (the settler signs the order)
    def source(h):
        rec = engine.orders[h]
        return rec.order, b"\x00" * 65

    batcher = Batcher(source)
    batcher.on_command(1, None, events)
    batcher.cut()
    batches = [a for a in batcher.take() if isinstance(a, PostBatch)]
    assert [f.taker.order.flags for f in batches[0].fills] == [133] * len(fills)
