"""The process garbage-collector policy (engine/gcpolicy.py) and what it relies on:
the core leaves no cyclic garbage, so freezing the live state leaks nothing."""

from __future__ import annotations

import gc
from collections import Counter

import pytest

from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.gcpolicy import PeriodicFreeze
from engine.journal import Journal
from engine.sequencer import Sequencer
from tests.bench.workload import setup_commands, workload


def cyclic_garbage(run) -> Counter:
    """Types of the objects only the cycle collector could free after `run()`."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return Counter(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_engine__orders_fills_and_cancels__leave_no_cyclic_garbage() -> None:
    engine = Engine(default_markets())
    for cmd in setup_commands():
        engine.apply(cmd)
    commands = list(workload(20_000, seed=3))
    kinds: Counter = Counter()

    def run() -> None:
        for cmd in commands:
            kinds.update(type(ev).__name__ for ev in engine.apply(cmd))

    assert cyclic_garbage(run) == Counter()
    # resting orders were taken (several per level) and cancelled: the book cut links
    assert kinds["TradeExecuted"] > 5_000 and kinds["OrderCancelled"] > 3_000


def test_periodic_freeze__every_three__collects_young_then_freezes_each_third_command() -> None:
    calls: list[str] = []
    listener = PeriodicFreeze(3, collect=lambda gen: calls.append(f"collect {gen}") or 0,
                              freeze=lambda: calls.append("freeze"))
    for seq in range(1, 8):
        listener(seq, None, [])
    assert calls == ["collect 1", "freeze", "collect 1", "freeze"]
    assert listener.freezes == 2


def test_periodic_freeze__zero__raises_naming_every() -> None:
    with pytest.raises(ValueError, match="every: 0 must be a positive number of commands"):
        PeriodicFreeze(0)


def test_periodic_freeze__subscribed_to_a_sequencer__runs_once_per_applied_command(tmp_path) \
        -> None:
    freezes: list[int] = []
    listener = PeriodicFreeze(4, collect=lambda gen: 0, freeze=lambda: freezes.append(1))
    engine = Engine(default_markets())
    with Journal(tmp_path / "j.db") as journal:
        sequencer = Sequencer(engine, journal)
        sequencer.subscribe(listener)
        sequencer.submit_many(setup_commands()[:10])
        sequencer.close()
    assert listener.freezes == len(freezes) == 2
