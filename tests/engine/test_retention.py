"""engine/core/retention.py: ended order records are retired after the retention window."""

from __future__ import annotations

import pytest

from engine.core import retention
from engine.core.codes import RejectCode
from engine.core.commands import CancelOrder, Deposit, PlaceOrder, Tick, UpdateIndex
from engine.core.engine import Engine
from engine.core.events import OrderRejected
from engine.core.markets import default_markets
from engine.core.rules import FLAG_IOC
from engine.core.wad import WAD
from tests.bench.workload import setup_commands, workload
from tests.engine.engine_helpers import ETH, MAKER, SIG, T0, TAKER, of, ohash, order

R = 10_000  # retention of these tests, ms


def engine_with(*accounts: str, retention_ms: int = R) -> Engine:
    engine = Engine(default_markets(), order_retention_ms=retention_ms)
    for acct in accounts:
        engine.apply(Deposit(acct, 10_000 * WAD, T0))
    engine.apply(UpdateIndex(ETH, 2_000 * WAD, T0))
    return engine


def at(engine: Engine, ts: int) -> None:
    engine.apply(Tick(ts))


def test_filled_orders__kept_one_retention_after_the_check__then_retired():
    engine = engine_with(MAKER, TAKER)
    maker = order(MAKER, False, WAD, 2_001 * WAD)
    taker = order(TAKER, True, WAD, 2_001 * WAD, flags=FLAG_IOC)
    engine.apply(PlaceOrder(maker, ohash(maker), SIG, T0))
    engine.apply(PlaceOrder(taker, ohash(taker), SIG, T0))
    both = [ohash(maker), ohash(taker)]
    assert [engine.order_status(h).status for h in both] == ["filled", "filled"]
    at(engine, T0 + R - 200)  # not old enough to be looked at (passes: every 100 ms at most)
    at(engine, T0 + R)  # looked at: ended, due one retention later
    assert list(engine._retiring) == [(T0 + 2 * R, h, True) for h in both]
    at(engine, T0 + 2 * R - 200)
    assert [engine.order_status(h).status for h in both] == ["filled", "filled"]
    at(engine, T0 + 2 * R)
    assert [engine.order_status(h) for h in both] == [None, None]
    assert engine.orders == {} and not engine._registered and not engine._retiring
    assert engine.fills_of(TAKER)[0].taker_order == ohash(taker)  # the fills stay


def test_resting_order__kept_while_open__retired_a_retention_after_its_cancel():
    engine = engine_with(MAKER)
    rest = order(MAKER, False, WAD, 2_100 * WAD)
    h = ohash(rest)
    engine.apply(PlaceOrder(rest, h, SIG, T0))
    at(engine, T0 + R)  # open: looked at again one retention later
    at(engine, T0 + 2 * R)
    assert list(engine._retiring) == [(T0 + 3 * R, h, False)]
    engine.apply(CancelOrder(MAKER, h, T0 + 2 * R + 5_000))
    at(engine, T0 + 3 * R)  # cancelled 5 s ago: kept for another whole retention
    assert list(engine._retiring) == [(T0 + 4 * R, h, True)]
    at(engine, T0 + 4 * R - 200)
    assert engine.order_status(h).status == "cancelled"
    at(engine, T0 + 4 * R)
    assert engine.order_status(h) is None


def test_retired_order__signed_again__still_refused_by_its_spent_nonce():
    engine = engine_with(MAKER, TAKER)
    ioc = order(TAKER, True, WAD, 2_001 * WAD, flags=FLAG_IOC)
    maker = order(MAKER, False, WAD, 2_001 * WAD)
    engine.apply(PlaceOrder(maker, ohash(maker), SIG, T0))
    engine.apply(PlaceOrder(ioc, ohash(ioc), SIG, T0))
    again = of(engine.apply(PlaceOrder(ioc, ohash(ioc), SIG, T0 + 1)), OrderRejected)
    assert [e.code for e in again] == [RejectCode.DUPLICATE_ORDER]
    at(engine, T0 + R)
    at(engine, T0 + 2 * R)
    assert engine.order_status(ohash(ioc)) is None
    again = of(engine.apply(PlaceOrder(ioc, ohash(ioc), SIG, T0 + 2 * R + 1)), OrderRejected)
    assert [e.code for e in again] == [RejectCode.NONCE_REUSED]


def test_pass__out_of_budget__continues_at_the_next_command(monkeypatch):
    monkeypatch.setattr(retention, "RETIRE_BATCH", 2)
    engine = engine_with(MAKER)
    hashes = []
    for i in range(5):
        o = order(MAKER, False, WAD, (2_100 + i) * WAD)
        hashes.append(ohash(o))
        engine.apply(PlaceOrder(o, hashes[-1], SIG, T0))
        engine.apply(CancelOrder(MAKER, hashes[-1], T0))
    at(engine, T0 + R)  # two looked at, the pass is due again at once
    assert (len(engine._retiring), engine._retire_due) == (2, T0 + R)
    at(engine, T0 + R)
    at(engine, T0 + R)
    assert (len(engine._retiring), engine._retire_due) == (5, T0 + R + retention.RETIRE_EVERY_MS)
    at(engine, T0 + 2 * R)
    at(engine, T0 + 2 * R)
    assert [h in engine.orders for h in hashes] == [False] * 4 + [True]
    at(engine, T0 + 2 * R)
    assert engine.orders == {}


def test_pass__hash_queued_twice__second_entry_skipped_not_an_error():
    engine = engine_with(MAKER)
    o = order(MAKER, False, WAD, 2_100 * WAD)
    engine.apply(PlaceOrder(o, ohash(o), SIG, T0))
    engine.apply(CancelOrder(MAKER, ohash(o), T0))
    engine._registered.append(ohash(o))  # a broken invariant must not halt the sequencer
    at(engine, T0 + R)
    at(engine, T0 + 2 * R)
    assert engine.orders == {} and not engine._registered and not engine._retiring


def test_long_workload__registry_bounded_by_live_orders_and_two_windows():
    window = 1_000  # ms; the workload's commands are 1 ms apart
    engine = Engine(default_markets(), order_retention_ms=window)
    for cmd in setup_commands():
        engine.apply(cmd)
    most = 0
    for i, cmd in enumerate(workload(30_000, seed=5)):
        engine.apply(cmd)
        if i % 500 == 0:
            live = sum(rec.status in ("open", "pending") for rec in engine.orders.values())
            ended = len(engine.orders) - live
            # at most one registration a ms; an ended record goes within 2 windows + a pass
            assert ended <= 2 * window + retention.RETIRE_EVERY_MS
            most = max(most, ended)
    assert most > window  # the bound was reached for real, not trivially
    assert len(engine.orders) < 30_000 * 0.7 / 5  # without retention: every accepted order


def test_snapshot_and_replay__retire_the_same_orders_at_the_same_times():
    def run(cmds, engine):
        return [engine.apply(c) for c in cmds]

    cmds = [*setup_commands(accounts=50), *workload(6_000, seed=9, accounts=50)]
    live = Engine(default_markets(), order_retention_ms=700)
    events = run(cmds[:3_000], live)
    restored = Engine.from_snapshot(live.snapshot())
    assert restored.state_hash() == live.state_hash()
    assert run(cmds[3_000:], restored) == run(cmds[3_000:], live)
    assert restored.state_hash() == live.state_hash()
    fresh = Engine(default_markets(), order_retention_ms=700)
    assert run(cmds[:3_000], fresh) == events
    assert len(live.orders) < len({c.order_hash for c in cmds if type(c) is PlaceOrder})


def test_setstate__snapshot_without_retention__every_record_registered_in_order():
    engine = engine_with(MAKER)
    rest = order(MAKER, False, WAD, 2_100 * WAD)
    engine.apply(PlaceOrder(rest, ohash(rest), SIG, T0))
    state = engine.__getstate__()
    for name in ("order_retention_ms", "_registered", "_retiring", "_retire_due"):
        del state[name]
    restored = Engine.__new__(Engine)
    restored.__setstate__(state)
    assert restored.order_retention_ms == retention.ORDER_RETENTION_MS
    assert list(restored._registered) == [ohash(rest)]
    restored.apply(CancelOrder(MAKER, ohash(rest), T0 + 1))
    at(restored, T0 + retention.ORDER_RETENTION_MS)  # passes are scheduled again
    assert [h for _, h, _ in restored._retiring] == [ohash(rest)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3600000"])
def test_engine__bad_retention__refused_by_name(bad):
    with pytest.raises(ValueError, match="order_retention_ms must be a positive integer"):
        Engine(default_markets(), order_retention_ms=bad)
