"""Order lifecycle of the engine, with every number worked out by hand in the test.

ETH market: tick 0.01, step 0.001, maker 0.02%, taker 0.05%, IMF 5%, MMF 3%.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections import deque

import pytest

from engine.core.commands import CancelAll, CancelOrder, SetStake, Tick
from engine.core.engine import Engine
from engine.core.fills import FillHistory
from engine.core.events import (
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderTriggered,
    StakeUpdated,
    TradeExecuted,
)
from engine.core.rules import FLAG_FOK, FLAG_IOC, FLAG_POST_ONLY, FLAG_REDUCE_ONLY
from engine.core.wad import WAD
from tests.engine.engine_helpers import (
    BIDDER,
    ETH,
    MAKER,
    T0,
    TAKER,
    TRADER,
    funded,
    kinds,
    of,
    ohash,
    order,
    place,
)

MILLI = WAD // 1000


def test_apply__ioc_buy_meets_resting_ask__trade_at_maker_price_with_both_fees():
    engine = funded(MAKER, TAKER)
    ask = order(MAKER, False, WAD, 2_001 * WAD)
    place(engine, ask)
    bid = order(TAKER, True, WAD // 2, 2_001 * WAD, flags=FLAG_IOC)
    events = place(engine, bid)
    assert kinds(events) == ["OrderAccepted", "TradeExecuted"]
    trade = events[1]
    # notional 0.5 x 2001 = 1000.5; maker 0.02% = 0.2001; taker 0.05% = 0.50025
    assert (trade.size, trade.price) == (WAD // 2, 2_001 * WAD)
    assert (trade.maker_fee, trade.taker_fee) == (200_100_000_000_000_000, 500_250_000_000_000_000)
    assert (trade.maker_order, trade.taker_order) == (ohash(ask), ohash(bid))
    assert (trade.maker, trade.taker, trade.taker_is_buy) == (MAKER, TAKER, True)
    ledger = engine.ledger
    assert ledger.accounts[TAKER].cash == 10_000 * WAD - 1_000_500 * MILLI - 500_250_000_000_000_000
    assert ledger.accounts[MAKER].cash == 10_000 * WAD + 1_000_500 * MILLI - 200_100_000_000_000_000
    assert ledger.position(TAKER, ETH).size == WAD // 2
    assert ledger.position(MAKER, ETH).size == -WAD // 2
    assert ledger.fee_pool == 700_350_000_000_000_000
    view = engine.order_status(ohash(ask))
    assert (view.status, view.filled, view.remaining) == ("open", WAD // 2, WAD // 2)
    assert engine.order_status(ohash(bid)).status == "filled"


def test_apply__limit_crossing_two_levels__fills_best_first_and_rests_rest():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_002 * WAD, nonce=1))
    place(engine, order(MAKER, False, WAD, 2_001 * WAD, nonce=2))
    bid = order(TAKER, True, 3 * WAD, 2_002 * WAD)
    events = place(engine, bid)
    assert [(t.size, t.price) for t in of(events, TradeExecuted)] == [
        (WAD, 2_001 * WAD), (WAD, 2_002 * WAD)]
    assert engine.depth(ETH, 5) == ([(2_002 * WAD, WAD)], [])
    assert engine.order_status(ohash(bid)).remaining == WAD


def test_apply__market_order_partially_filled__remainder_cancelled_unfilled():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    events = place(engine, order(TAKER, True, 3 * WAD, 2_020 * WAD, flags=FLAG_IOC))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "OrderCancelled"]
    assert (events[2].remaining, events[2].reason) == (2 * WAD, "unfilled")


def test_apply__fok_fully_fillable__fills_whole_size():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD, nonce=1))
    place(engine, order(MAKER, False, WAD, 2_003 * WAD, nonce=2))
    events = place(engine, order(TAKER, True, 2 * WAD, 2_003 * WAD, flags=FLAG_FOK))
    assert sum(t.size for t in of(events, TradeExecuted)) == 2 * WAD
    assert engine.ledger.position(TAKER, ETH).size == 2 * WAD


def test_apply__own_resting_ask_in_the_way__cancelled_by_stp_and_next_maker_fills():
    engine = funded(MAKER, TRADER)
    own = order(TRADER, False, WAD, 2_000 * WAD)
    place(engine, own)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    events = place(engine, order(TRADER, True, WAD, 2_001 * WAD, flags=FLAG_IOC))
    assert kinds(events) == ["OrderAccepted", "OrderCancelled", "TradeExecuted"]
    assert (events[1].order_hash, events[1].reason, events[1].remaining) == (
        ohash(own), "self-trade", WAD)
    assert (events[2].maker, events[2].price) == (MAKER, 2_001 * WAD)
    assert engine.ledger.position(TRADER, ETH).size == WAD


def test_apply__reduce_only_resting_and_position_shrinks__order_shrinks_then_cancels():
    engine = funded(MAKER, TRADER, BIDDER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD, nonce=1))
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC))  # long 1
    ro = order(TRADER, False, WAD, 2_100 * WAD, flags=FLAG_REDUCE_ONLY)
    assert kinds(place(engine, ro)) == ["OrderAccepted"]
    place(engine, order(BIDDER, True, WAD, 1_990 * WAD))
    events = place(engine, order(TRADER, False, 400 * MILLI, 1_990 * WAD, flags=FLAG_IOC))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "OrderReduced"]
    assert (events[2].order_hash, events[2].remaining) == (ohash(ro), 600 * MILLI)
    events = place(engine, order(TRADER, False, 600 * MILLI, 1_990 * WAD, flags=FLAG_IOC, nonce=2))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "OrderCancelled"]
    assert (events[2].order_hash, events[2].reason) == (ohash(ro), "reduce-only")
    assert engine.ledger.position(TRADER, ETH) is None


def test_apply__reduce_only_larger_than_position__clamped_to_position():
    engine = funded(MAKER, TRADER, BIDDER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC))
    place(engine, order(BIDDER, True, 5 * WAD, 1_990 * WAD))
    events = place(engine, order(TRADER, False, 3 * WAD, 1_990 * WAD,
                                 flags=FLAG_IOC | FLAG_REDUCE_ONLY))
    assert [t.size for t in of(events, TradeExecuted)] == [WAD]
    assert engine.ledger.position(TRADER, ETH) is None


def test_apply__stop_sell_below_mark__held_then_triggered_when_index_falls():
    engine = funded(MAKER, TRADER, BIDDER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC))
    stop = order(TRADER, False, WAD, 1_890 * WAD, trigger=1_900 * WAD, flags=FLAG_REDUCE_ONLY)
    events = place(engine, stop)
    assert kinds(events) == ["OrderAccepted"] and events[0].pending_trigger
    assert engine.order_status(ohash(stop)).status == "pending"
    place(engine, order(BIDDER, True, WAD, 1_895 * WAD))
    from engine.core.commands import UpdateIndex

    assert kinds(engine.apply(UpdateIndex(ETH, 1_901 * WAD, T0 + 2_000))) == ["MarkUpdated"]
    events = engine.apply(UpdateIndex(ETH, 1_900 * WAD, T0 + 4_000))
    assert kinds(events) == ["MarkUpdated", "OrderTriggered", "TradeExecuted"]
    trig, trade = events[1], events[2]
    assert (trig.order_hash, trig.mark) == (ohash(stop), 1_900 * WAD)
    assert (trade.maker, trade.price, trade.size) == (BIDDER, 1_895 * WAD, WAD)
    assert engine.ledger.position(TRADER, ETH) is None


def test_apply__take_profit_above_mark__fires_on_rise_not_on_fall():
    engine = funded(MAKER, TRADER)
    tp = order(TRADER, True, WAD, 2_100 * WAD, trigger=2_050 * WAD)
    place(engine, tp)
    from engine.core.commands import UpdateIndex

    assert kinds(engine.apply(UpdateIndex(ETH, 1_990 * WAD, T0 + 2_000))) == ["MarkUpdated"]
    place(engine, order(MAKER, False, WAD, 2_060 * WAD), ts=T0 + 3_000)
    events = engine.apply(UpdateIndex(ETH, 2_050 * WAD, T0 + 4_000))
    assert kinds(events) == ["MarkUpdated", "OrderTriggered", "TradeExecuted"]
    assert events[2].price == 2_060 * WAD


def test_apply__resting_order_reaches_expiry__cancelled_expired_by_tick():
    engine = funded(MAKER)
    expiry_s = (T0 + 10_000) // 1000
    gtc = order(MAKER, False, WAD, 2_001 * WAD, expiry=expiry_s)
    place(engine, gtc)
    assert engine.apply(Tick(T0 + 9_999)) == []
    events = engine.apply(Tick(T0 + 10_000))
    assert kinds(events) == ["OrderCancelled"]
    assert (events[0].order_hash, events[0].reason, events[0].remaining) == (
        ohash(gtc), "expired", WAD)
    assert engine.depth(ETH, 1) == ([], [])


def test_apply__cancel_order_by_owner__removed_and_cancelled_event():
    engine = funded(MAKER)
    gtc = order(MAKER, False, WAD, 2_001 * WAD)
    place(engine, gtc)
    events = engine.apply(CancelOrder(MAKER, ohash(gtc), T0 + 2_000))
    assert kinds(events) == ["OrderCancelled"] and events[0].reason == "user"
    assert engine.order_status(ohash(gtc)).status == "cancelled"
    assert engine.open_orders(MAKER) == []


def test_apply__cancel_all_in_one_market__other_market_kept():
    engine = funded(MAKER)
    from engine.core.commands import UpdateIndex

    engine.apply(UpdateIndex(2, 30_000 * WAD, T0))
    place(engine, order(MAKER, False, WAD, 2_001 * WAD, nonce=1))
    place(engine, order(MAKER, False, WAD, 2_002 * WAD, nonce=2))
    btc = order(MAKER, False, WAD // 10, 30_001 * WAD, market=2)
    place(engine, btc)
    events = engine.apply(CancelAll(MAKER, ETH, T0 + 2_000))
    assert kinds(events) == ["OrderCancelled", "OrderCancelled"]
    assert [v.order_hash for v in engine.open_orders(MAKER)] == [ohash(btc)]


def test_apply__stake_5000_jex__taker_fee_discounted_10_percent():
    engine = funded(MAKER, TAKER)
    events = engine.apply(SetStake(TAKER, 5_000 * WAD, T0 + 500))
    assert of(events, StakeUpdated)[0].discount == WAD // 10
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    trade = of(place(engine, order(TAKER, True, WAD, 2_000 * WAD, flags=FLAG_IOC)),
               TradeExecuted)[0]
    # 2000 x 0.05% x 0.9 = 0.9; maker 2000 x 0.02% = 0.4
    assert (trade.taker_fee, trade.maker_fee) == (9 * WAD // 10, 4 * WAD // 10)


def test_apply__maker_stake_drops_after_resting__fee_capped_at_signed_max_fee_rate():
    engine = funded(MAKER, TAKER)
    engine.apply(SetStake(MAKER, 500_000 * WAD, T0 + 500))  # 40% off: maker 0.012%
    place(engine, order(MAKER, False, WAD, 2_000 * WAD, max_fee_rate=12 * 10**13))
    engine.apply(SetStake(MAKER, 0, T0 + 1_500))  # back to 0.02%
    trade = of(place(engine, order(TAKER, True, WAD, 2_000 * WAD, flags=FLAG_IOC), T0 + 2_000),
               TradeExecuted)[0]
    assert trade.maker_fee == 24 * WAD // 100  # 2000 x 0.012%, not 0.4


def test_apply__post_only_not_crossing__rests_as_maker():
    engine = funded(MAKER)
    events = place(engine, order(MAKER, False, WAD, 2_001 * WAD, flags=FLAG_POST_ONLY,
                                 max_fee_rate=2 * 10**14))
    assert kinds(events) == ["OrderAccepted"]
    assert engine.depth(ETH, 1) == ([], [(2_001 * WAD, WAD)])


def test_apply__accepted_event__carries_the_order_fields():
    engine = funded(MAKER)
    o = order(MAKER, True, 2 * WAD, 1_999 * WAD)
    (ev,) = place(engine, o)
    assert isinstance(ev, OrderAccepted)
    assert (ev.trader, ev.market, ev.is_buy, ev.size, ev.limit_price, ev.flags) == (
        MAKER, ETH, True, 2 * WAD, 1_999 * WAD, 0)
    assert ev.seq == 3 and ev.ts_ms == T0 + 1_000  # after a deposit and a mark update


def test_apply__events_of_one_command__seq_strictly_increasing_by_one():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD, nonce=1))
    place(engine, order(MAKER, False, WAD, 2_002 * WAD, nonce=2))
    events = place(engine, order(TAKER, True, 3 * WAD, 2_002 * WAD, flags=FLAG_IOC))
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


@pytest.mark.parametrize("unused", [None])
def test_apply__trigger_order_cancelled__never_fires(unused):
    engine = funded(MAKER, TRADER)
    stop = order(TRADER, True, WAD, 2_100 * WAD, trigger=2_050 * WAD)
    place(engine, stop)
    assert kinds(engine.apply(CancelOrder(TRADER, ohash(stop), T0 + 1_500))) == ["OrderCancelled"]
    from engine.core.commands import UpdateIndex

    events = engine.apply(UpdateIndex(ETH, 2_060 * WAD, T0 + 2_000))
    assert not of(events, OrderTriggered)
    assert not of(events, OrderCancelled) and not of(events, OrderReduced)


def test_fills_of__trades_then_snapshot_restore__same_trade_events_as_emitted():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    place(engine, order(MAKER, False, WAD, 2_002 * WAD))
    events = place(engine, order(TAKER, True, 3 * WAD // 2, 2_002 * WAD, flags=FLAG_IOC))
    trades = of(events, TradeExecuted)
    assert [(t.price, t.size) for t in trades] == [(2_001 * WAD, WAD), (2_002 * WAD, WAD // 2)]
    assert engine.fills_of(TAKER) == trades
    assert engine.fills_of(MAKER, limit=1) == trades[1:]
    assert engine.fills[TAKER].latest(1) == trades[1:]
    restored = Engine.from_snapshot(engine.snapshot())
    assert restored.fills_of(TAKER) == trades
    assert restored.state_hash() == engine.state_hash()


def test_fill_history__keeps_the_emitted_events__shared_by_maker_and_taker():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    trade, = of(place(engine, order(TAKER, True, WAD, 2_001 * WAD, flags=FLAG_IOC)),
                TradeExecuted)
    assert engine.fills[TAKER][0] is trade and engine.fills[MAKER][0] is trade


def test_fill_history__rows_of_event_fields__read_as_the_events():
    # snapshots taken while FillHistory kept each fill as the tuple of its event's fields
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    place(engine, order(MAKER, False, WAD, 2_002 * WAD))
    trades = of(place(engine, order(TAKER, True, 2 * WAD, 2_002 * WAD, flags=FLAG_IOC)),
                TradeExecuted)
    rows = [tuple(getattr(t, f.name) for f in dataclasses.fields(TradeExecuted)) for t in trades]
    history = FillHistory(rows)
    assert list(history) == trades and history.latest(1) == trades[1:]
    assert all(type(t) is TradeExecuted for t in history)
    engine.fills = {a: FillHistory(rows) for a in (MAKER, TAKER)}
    restored = Engine.from_snapshot(engine.snapshot())
    assert restored.fills_of(TAKER) == trades == restored.fills_of(MAKER, limit=5)


def test_from_snapshot__fill_history_of_events__converted_and_read_the_same():
    # snapshots taken before FillHistory kept each account's fills as a deque of events
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    trades = of(place(engine, order(TAKER, True, WAD, 2_001 * WAD, flags=FLAG_IOC)),
                TradeExecuted)
    engine.fills = {a: deque(h, maxlen=1000) for a, h in engine.fills.items()}
    restored = Engine.from_snapshot(engine.snapshot())
    assert type(restored.fills[TAKER]) is FillHistory
    assert restored.fills_of(TAKER) == trades == restored.fills_of(MAKER)


def test_setstate__books_as_older_rows__same_book_and_state_hash():
    # snapshots before books pickled themselves stored (next seq, rows seq first)
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    place(engine, order(MAKER, False, 2 * WAD, 2_001 * WAD))
    place(engine, order(TAKER, True, WAD, 1_999 * WAD))
    state = engine.__getstate__()
    state["books"] = {m: (b.next_seq, [(r[5], *r[:5]) for r in b.rows()])
                      for m, b in engine.books.items()}
    restored = Engine.__new__(Engine)
    restored.__setstate__(state)
    assert restored.state_hash() == engine.state_hash()
    assert restored.books[ETH].rows() == engine.books[ETH].rows()


def test_snapshot__order_registry__flat_rows_restored_to_equal_records():
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    place(engine, order(MAKER, False, 2 * WAD, 2_003 * WAD, flags=FLAG_POST_ONLY))
    place(engine, order(TAKER, True, 3 * WAD // 2, 2_002 * WAD, flags=FLAG_IOC))
    in_registration_order = [engine.orders[h] for h in engine._registered]
    assert [(r.status, r.reason) for r in in_registration_order] == [
        ("filled", None), ("open", None), ("filled", "unfilled")]
    state = engine.__getstate__()
    assert [row[12:] for row in state["orders"]] == [  # status, filled, seq, ts, reason
        (r.status, r.filled, r.seq, r.ts_ms, r.reason) for r in engine.orders.values()]
    restored = Engine.from_snapshot(engine.snapshot())
    assert restored.ledger.liq_index is not None  # rebuilt while recovering, not by a sweep
    assert list(restored.orders) == list(engine.orders)  # the registry's order kept
    assert list(restored._registered) == list(engine._registered)
    for h, rec in engine.orders.items():
        again = restored.orders[h]
        assert (again.order, again.signature, again.status, again.filled, again.seq,
                again.ts_ms, again.reason) == (rec.order, rec.signature, rec.status,
                                               rec.filled, rec.seq, rec.ts_ms, rec.reason)
    assert restored.state_hash() == engine.state_hash()


def test_setstate__registry_as_older_record_dict__same_state_hash():
    # snapshots before the flat registry pickled the OrderRecord objects themselves
    engine = funded(MAKER, TAKER)
    place(engine, order(MAKER, False, WAD, 2_001 * WAD))
    place(engine, order(TAKER, True, WAD // 2, 2_001 * WAD, flags=FLAG_IOC))
    state = engine.__getstate__()
    state["orders"] = pickle.loads(pickle.dumps(dict(engine.orders)))
    restored = Engine.__new__(Engine)
    restored.__setstate__(state)
    assert restored.state_hash() == engine.state_hash()
    assert restored.order_status(next(iter(engine.orders))) == engine.order_status(
        next(iter(engine.orders)))
