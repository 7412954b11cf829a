"""The process garbage-collector policy (engine/gcpolicy.py) and what it relies on:
the core leaves no cyclic garbage, so freezing the live state leaks nothing."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

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


def engine_run_garbage() -> tuple[Counter, Counter]:
    """(cyclic garbage, event kinds) of 20,000 bench commands through a new engine."""
    engine = Engine(default_markets())
    for cmd in setup_commands():
        engine.apply(cmd)
    commands = list(workload(20_000, seed=3))
    kinds: Counter = Counter()

    def run() -> None:
        for cmd in commands:
            kinds.update(type(ev).__name__ for ev in engine.apply(cmd))

    return cyclic_garbage(run), kinds


def test_engine__orders_fills_and_cancels__leave_no_cyclic_garbage() -> None:
    # in a fresh interpreter: an earlier test's objects let go meanwhile (a hypothesis
    # machine's books, whose levels and orders link each other) are not the run's
    code = ("import json; from tests.engine.test_gcpolicy import engine_run_garbage; "
            "g, k = engine_run_garbage(); print(json.dumps([g, k]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    garbage, kinds = json.loads(out.stdout.strip().splitlines()[-1])
    assert garbage == {}
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
