"""Core benchmark of issue 3: risk + matching + fees + events, one core, no journal.

Workload (tests/bench/workload.py): 1,000,000 seeded commands on 2 markets and
1,000 funded accounts: 60% limit orders near the mid, 30% cancels, 10%
marketable orders. PERPX_BENCH_N overrides the size (e.g. 100000 for a quick
run). Prints JSON lines {"name", "value", "unit", ...}; asserts no times.
The stream runs twice, each time on a fresh engine. The first pass measures
throughput: commands over the wall time of a loop that only applies them (and, as
core_cpu_cmds_per_s, over the process's CPU time, which a shared machine disturbs
less). The second measures latency: perf_counter_ns around each `Engine.apply`
call, stored in a preallocated list; that bookkeeping costs about 0.5 us a command
(two clock reads, an int object per sample), so this pass's own rate is reported
apart, as core_timed_cmds_per_s. In both, the set-up state is frozen out of the
garbage collector (gc.freeze() after warm-up) and the collector stays enabled
during the loop, under the policy a serving process installs (engine/gcpolicy.py:
a young collection and a freeze every 20,000 commands, timed with the command that
triggers it); core_gc_s reports the time it took in the timed pass. core_max_us is
the longest command, the collector's pauses included.
core_latency_by_kind splits the latencies by command kind: marketable orders
fill several makers each and set the p99.
"""

from __future__ import annotations

import gc
import json
import time
from collections import Counter

import pytest

from engine.core.commands import PlaceOrder
from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.core.rules import FLAGS_NON_RESTING
from engine.gcpolicy import PeriodicFreeze
from tests.bench.workload import bench_size, setup_commands, workload


def emit(name: str, value: float, unit: str, **extra) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, **extra}))


def kind(cmd: object) -> str:
    if type(cmd) is PlaceOrder:
        return "marketable" if cmd.order.flags & FLAGS_NON_RESTING else "limit"
    return type(cmd).__name__


class GcClock:
    """Wall time spent in the garbage collector, per generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._start
            self.count[info["generation"]] += 1


def percentile_us(sorted_ns: list[int], q: float) -> float:
    return round(sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * q))] / 1000, 2)


def set_up_engine() -> Engine:
    engine = Engine(default_markets())
    for cmd in setup_commands():
        engine.apply(cmd)
    return engine


def untimed_pass(commands: list) -> tuple[float, float, str]:
    """(wall s, CPU s, state hash) of applying `commands` to a fresh engine, with
    nothing measured inside the loop."""
    engine = set_up_engine()
    gc.collect()
    gc.freeze()
    apply = engine.apply
    policy = PeriodicFreeze()
    start, cpu_start = time.perf_counter(), time.process_time()
    for i, cmd in enumerate(commands):
        policy(i, cmd, apply(cmd))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    gc.unfreeze()
    return wall, cpu, engine.state_hash()


@pytest.mark.bench
def test_bench_core__seeded_workload__prints_throughput_and_latency():
    n = bench_size()
    commands = list(workload(n, seed=1))
    wall, cpu, untimed_hash = untimed_pass(commands)
    gc.collect()  # the first pass's engine is garbage now
    engine = set_up_engine()
    # allocated before the freeze: a list of a million slots made after it was walked
    # by the first young collections of the loop, the run's longest "commands" (4-5 ms)
    latencies = [0] * n
    gc.collect()
    gc.freeze()  # the long-lived setup is not rescanned by every young collection
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    clock = time.perf_counter_ns
    apply = engine.apply
    policy = PeriodicFreeze()
    events = 0
    start, cpu_start = clock(), time.process_time()
    for i, cmd in enumerate(commands):
        t = clock()
        out = apply(cmd)
        policy(i, cmd, out)
        latencies[i] = clock() - t
        events += len(out)
    timed_wall = (clock() - start) / 1e9
    timed_cpu = time.process_time() - cpu_start
    gc.callbacks.remove(gc_clock)
    gc.unfreeze()
    by_kind: dict[str, list[int]] = {}
    for cmd, ns in zip(commands, latencies):
        by_kind.setdefault(kind(cmd), []).append(ns)
    latencies.sort()
    kinds = Counter(type(c).__name__ for c in commands)
    emit("core_cmds_per_s", round(n / wall), "commands/s", commands=n, events=events,
         mix=dict(kinds), loop="untimed")
    # CPU time of this process: on a shared machine wall time includes time spent
    # descheduled, which lands on random commands and inflates the mean and the p99
    emit("core_cpu_cmds_per_s", round(n / cpu), "commands/s", cpu_s=round(cpu, 2),
         wall_s=round(wall, 2))
    emit("core_timed_cmds_per_s", round(n / timed_wall), "commands/s",
         cpu_cmds_per_s=round(n / timed_cpu), loop="per-command clock")
    emit("core_p50_us", percentile_us(latencies, 0.5), "us")
    emit("core_p99_us", percentile_us(latencies, 0.99), "us")
    emit("core_max_us", round(latencies[-1] / 1000, 1), "us", gc_freezes=policy.freezes)
    emit("core_gc_s", round(sum(gc_clock.seconds), 2), "s",
         full_collections=gc_clock.count[2], full_s=round(gc_clock.seconds[2], 2))
    split = {}
    for name, values in sorted(by_kind.items()):
        values.sort()
        split[name] = {"count": len(values), "mean_us": round(sum(values) / len(values) / 1000, 2),
                       "p50_us": percentile_us(values, 0.5), "p99_us": percentile_us(values, 0.99)}
    emit("core_latency_by_kind", len(split), "kinds", **split)
    emit("core_resting_orders", sum(len(b) for b in engine.books.values()), "orders")
    assert engine.ledger.total_balance() == sum(c.amount for c in setup_commands()
                                                if type(c).__name__ == "Deposit")
    assert engine.state_hash() == untimed_hash  # both passes ran the same commands alike
