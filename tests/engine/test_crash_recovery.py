"""Crash recovery: SIGKILL the engine at random moments, restart it, compare with a clean run.

A subprocess (tests/engine/crash_worker.py) runs the real core behind the
sequencer and acknowledges each command only after its commit. The test kills
it with SIGKILL at seeded random moments (after a random number of acks, plus
a random delay, so kills land mid-transaction, mid-apply and mid-snapshot),
restarts it on the same directory, and lets it continue the same command
stream. At the end:
- the journal holds seqs 1..N with no gap, and the command at each seq is the
  stream's command of that index: nothing acknowledged was lost, nothing was
  applied twice;
- every acknowledged seq was acknowledged once, in order, and is in the journal;
- the state hash equals an uninterrupted in-process run of the same stream, and
  so do a full replay and a recovery from the newest snapshot.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.journal.codec import default_codec
from engine.journal.journal import Journal
from engine.journal.replay import core_engine_factory, recover, replay
from engine.journal.snapshots import SnapshotStore
from tests.engine.crash_worker import command_stream

ROOT = Path(__file__).resolve().parents[2]
SEED = 20_240_601
TOTAL = 6_000
KILLS = 6
SNAPSHOT_EVERY = 700


def _start(directory: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.crash_worker", str(directory), "--seed", str(SEED),
         "--total", str(TOTAL), "--snapshot-every", str(SNAPSHOT_EVERY)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )


def _ready(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready "), f"worker did not start: {line!r} (exit {proc.poll()})"
    return int(line.split()[1])


def _read_acks(proc: subprocess.Popen[str], acks: list[int], limit: int | None) -> tuple[int, str] | None:
    """Read ack lines into `acks` until `limit` more arrived (None: no limit); return
    (last_seq, state_hash) if the worker said `done` first."""
    assert proc.stdout is not None
    seen = 0
    while limit is None or seen < limit:
        line = proc.stdout.readline()
        if line.startswith("done "):
            _, last, state_hash = line.split()
            assert proc.wait(timeout=30) == 0
            return int(last), state_hash
        assert line, f"worker died without 'done' (exit {proc.wait(timeout=30)})"
        acks.append(int(line))
        seen += 1
    return None


def _kill(proc: subprocess.Popen[str], delay_s: float) -> None:
    time.sleep(delay_s)  # the worker keeps committing meanwhile: the kill lands anywhere
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def _crash_loop(directory: Path) -> tuple[list[int], list[tuple[int, int]], int, tuple[int, str]]:
    """Start, kill (KILLS times) and restart the worker until it finishes the stream.
    Returns (every ack in order, (durable seq, last ack) per start, kills, done line)."""
    rng = random.Random(SEED)
    acks: list[int] = []  # every ack line of every run, in order
    readies: list[tuple[int, int]] = []  # (durable seq at restart, last ack before the kill)
    kills = 0
    while True:
        proc = _start(directory)
        durable = _ready(proc)
        last_ack = acks[-1] if acks else 0
        readies.append((durable, last_ack))
        assert durable >= last_ack, f"restart at seq {durable} lost acknowledged seq {last_ack}"
        first_ack = len(acks)
        limit, delay_s = rng.randint(1, 400), rng.uniform(0, 0.01)
        finished = _read_acks(proc, acks, limit if kills < KILLS else None)
        if finished is None:
            _kill(proc, delay_s)
            kills += 1
        run_acks = acks[first_ack:]
        assert run_acks == list(range(durable + 1, durable + 1 + len(run_acks))), "acks out of order"
        if finished is not None:
            return acks, readies, kills, finished


def test_crash_recovery__sigkill_at_random_moments__acked_once_and_same_state_hash(
    tmp_path: Path,
) -> None:
    acks, readies, kills, (last_seq, worker_hash) = _crash_loop(tmp_path)
    # (durable at restart, last acked before the kill): durable > acked means the kill
    # landed between a commit and its ack, the case that must not re-apply commands.
    print(f"restarts (durable seq, last acked seq): {readies[1:]}")
    stream = command_stream(SEED, TOTAL)
    assert kills == KILLS
    assert last_seq == TOTAL == len(stream)
    assert len(acks) == len(set(acks)) and set(acks) <= set(range(1, TOTAL + 1))

    codec = default_codec()
    journal = Journal(tmp_path / "journal.db", verify_tail=None)  # verifies every CRC and seq
    assert [codec.decode(r.payload) for r in journal.iter_from(1)] == stream

    clean = Engine(default_markets())
    for cmd in stream:
        clean.apply(cmd)
    assert worker_hash == clean.state_hash()
    assert replay(journal).state_hash() == clean.state_hash()
    store = SnapshotStore(tmp_path / "snapshots")
    assert store.seqs()[0] == TOTAL // SNAPSHOT_EVERY * SNAPSHOT_EVERY
    engine, recovered_to = recover(journal, store, core_engine_factory())
    assert (recovered_to, engine.state_hash()) == (TOTAL, clean.state_hash())
    journal.close()
