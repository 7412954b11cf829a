"""Journal benchmark: the sequencer with the journal on, over the seeded workload.

Workload: tests/bench/workload.py (setup deposits and prices, then PERPX_BENCH_N
trading commands, 1,000,000 by default: 60% limit, 30% cancels, 10% marketable),
fed in chunks of 8,192 commands through `Sequencer.submit_async` (one transaction,
one fsync per chunk, `synchronous=FULL`) into the real core, one chunk in flight: the
writer thread commits chunk k + 1 while this thread applies chunk k (never before
chunk k has committed). Lines printed:

- journal_cmds_per_s: sequencer + journal + core (encode, commit, apply), the events
  not returned to the caller (`events=False`: the core bench drops them too), under
  the garbage-collector policy a serving process installs (engine/gcpolicy.py, as in
  the core bench), and journal_cpu_cmds_per_s, the same over the process's CPU time
  (both threads);
- core_cmds_per_s_same_run: the core alone on the same stream in the same process,
  and journal_overhead_us_per_cmd, the difference per command;
- journal_append_cmds_per_s: encode + commit alone (the core's apply left out);
- journal_group_commit_cmds_per_s: 32 threads submitting one command each, as API
  handlers do, with the average commands per transaction (fsyncs shared);
- replay_cmds_per_s: a full replay of the journal into a fresh engine;
- snapshot_pause_ms: how long the applying thread stops for a snapshot of the engine
  after the whole workload, taken in a forked child (`save_in_child`, what the
  sequencer does), beside `inline_ms`, taking the same snapshot on the thread (state
  hash + pickle), and `child_ms`, the child's whole run (pickle, write, fsync).

Numbers only, no assertion on time: the machine is shared.
Run: PATH=$PWD/.venv/bin:$PATH PYTHONPATH=$PWD .venv/bin/pytest -q -s -m bench \
     tests/bench/test_bench_journal.py
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine import gcpolicy
from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.journal.journal import Journal
from engine.journal.replay import replay
from engine.journal.snapshots import SnapshotStore, save_in_child
from engine.sequencer import Sequencer
from tests.bench.workload import bench_size, setup_commands, workload

CHUNK = 8192
SEED = 1
THREADS = 32


def emit(**line: Any) -> None:
    print(json.dumps(line), flush=True)


def commands(n: int) -> list[Any]:
    """The setup commands, then n workload commands (built before any clock starts)."""
    return [*setup_commands(), *workload(n, seed=SEED)]


def chunks(cmds: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(cmds), CHUNK):
        yield cmds[start : start + CHUNK]


class AppliesNothing:
    """Stands in for the core when measuring the journal's own cost; not a test double."""

    def apply(self, cmd: object) -> list[Any]:
        return []


class CountingJournal(Journal):
    """Counts transactions, to report commands per fsync."""

    transactions = 0

    def append_batch(self, records: Sequence[tuple[int, int, bytes]]) -> int:
        self.transactions += 1
        return super().append_batch(records)


def _timed(fn: Any) -> float:
    return _timed_cpu(fn)[0]


def _timed_cpu(fn: Any) -> tuple[float, float]:
    """(wall s, CPU s of the whole process, every thread) of fn()."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


@pytest.mark.bench
def test_bench_journal__workload__prints_throughput(tmp_path: Path) -> None:
    cmds = commands(bench_size())
    total = len(cmds)
    gc.collect()
    gc.freeze()  # the prebuilt commands are not rescanned by the collector (as in the core bench)

    core = Engine(default_markets())

    def run_core() -> None:  # under the same GC policy as the sequencer below
        policy = gcpolicy.PeriodicFreeze()
        for i, cmd in enumerate(cmds):
            policy(i, cmd, core.apply(cmd))

    core_s = _timed(run_core)
    core_hash = core.state_hash()
    del core  # each run keeps only its own engine state alive for the collector to walk

    journal = Journal(tmp_path / "journal.db")
    sequencer = Sequencer(Engine(default_markets()), journal, max_batch=CHUNK)
    gc_policy = gcpolicy.install(sequencer)  # what `perpx up` does before it serves

    def run_sequencer() -> None:  # one ticket in flight: commit k + 1 while applying k
        pending = None
        for chunk in chunks(cmds):
            ticket = sequencer.submit_async(chunk, events=False)
            if pending is not None:
                pending.result()
            pending = ticket
        if pending is not None:
            pending.result()

    seq_s, seq_cpu = _timed_cpu(run_sequencer)
    sequencer.close()
    _snapshot_pause(tmp_path, sequencer.engine, sequencer.last_seq)
    assert sequencer.engine.state_hash() == core_hash
    db_bytes = os.path.getsize(tmp_path / "journal.db") + os.path.getsize(tmp_path / "journal.db-wal")
    emit(name="journal_cmds_per_s", value=round(total / seq_s), unit="cmd/s", commands=total,
         chunk=CHUNK, synchronous="FULL", journal_bytes_per_cmd=round(db_bytes / total))
    emit(name="journal_cpu_cmds_per_s", value=round(total / seq_cpu), unit="cmd/s",
         cpu_s=round(seq_cpu, 2), wall_s=round(seq_s, 2), gc_freezes=gc_policy.freezes)
    emit(name="core_cmds_per_s_same_run", value=round(total / core_s), unit="cmd/s", commands=total)
    emit(name="journal_overhead_us_per_cmd", value=round((seq_s - core_s) / total * 1e6, 2),
         unit="us")

    replay_s = _timed(lambda: replay(journal))
    emit(name="replay_cmds_per_s", value=round(total / replay_s), unit="cmd/s", commands=total)
    journal.close()
    _journal_alone(tmp_path, cmds)
    _group_commit(tmp_path, cmds[:100_000])
    gc.unfreeze()


def _snapshot_pause(tmp_path: Path, engine: Engine, seq: int) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    body: list[bytes] = []
    inline_s = _timed(lambda: body.append(engine.snapshot()) or engine.state_hash())
    pids: list[int] = []
    start = time.perf_counter()
    pause_s = _timed(lambda: pids.append(save_in_child(store, engine, seq, 0)))
    _, status = os.waitpid(pids[0], 0)
    child_s = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0 and store.seqs() == [seq]
    assert store.load(seq).state_hash == engine.state_hash()
    emit(name="snapshot_pause_ms", value=round(pause_s * 1000, 1), unit="ms", mode="fork",
         inline_ms=round(inline_s * 1000), child_ms=round(child_s * 1000),
         orders=len(engine.orders), snapshot_bytes=len(body[0]))


def _journal_alone(tmp_path: Path, cmds: list[Any]) -> None:
    total = len(cmds)
    bare = Journal(tmp_path / "bare.db")
    bare_seq = Sequencer(AppliesNothing(), bare, max_batch=CHUNK)  # type: ignore[arg-type]
    bare_s = _timed(lambda: [bare_seq.submit_many(chunk) for chunk in chunks(cmds)])
    bare_seq.close()
    bare.close()
    emit(name="journal_append_cmds_per_s", value=round(total / bare_s), unit="cmd/s",
         commands=total, engine="none: encode + commit only")


def _group_commit(tmp_path: Path, cmds: list[Any]) -> None:
    count = len(cmds)
    journal = CountingJournal(tmp_path / "group.db")
    sequencer = Sequencer(Engine(default_markets()), journal)
    lanes = [cmds[i::THREADS] for i in range(THREADS)]

    def client(lane: list[Any]) -> None:  # one API handler: one command at a time
        for cmd in lane:
            sequencer.submit(cmd)

    threads = [threading.Thread(target=client, args=(lane,)) for lane in lanes]

    def run() -> None:
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    seconds = _timed(run)
    sequencer.close()
    emit(name="journal_group_commit_cmds_per_s", value=round(count / seconds), unit="cmd/s",
         commands=count, threads=THREADS,
         cmds_per_transaction=round(count / max(journal.transactions, 1), 1))
    journal.close()
