"""Subprocess entry of the crash-recovery test: a real engine behind the sequencer.

    python -m tests.engine.crash_worker DIR --seed 7 --total 4000

Recovers the engine from DIR (newest valid snapshot + journal), prints
`ready <last_seq>`, then journals and applies the seeded command stream from
command last_seq + 1 on, in transactions of seeded sizes, printing one ack
line `<seq>` per command only after the transaction holding it committed.
At the end it prints `done <last_seq> <state_hash>`. The parent kills it with
SIGKILL at random moments and starts it again on the same DIR.

The stream is the benchmark workload (deposits, limit / post-only / IOC orders,
cancels) on few accounts, so orders trade and rest, with index updates that
random-walk the price, and the odd withdrawal, cancel-all and tick mixed in;
each tick moves the clock 20 minutes on, so funding is settled mid-stream.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys

from engine.core.commands import CancelAll, Tick, UpdateIndex, Withdraw
from engine.core.wad import WAD
from engine.journal.journal import Journal
from engine.journal.replay import core_engine_factory
from engine.journal.snapshots import SnapshotStore
from engine.sequencer import Sequencer
from tests.bench.workload import MIDS, account, setup_commands, workload

ACCOUNTS = 40


def command_stream(seed: int, total: int) -> list[object]:
    """`total` commands: funding of ACCOUNTS accounts and first prices, then trading
    (tests/bench/workload.py) with index updates, ticks, withdrawals and cancel-alls."""
    rng = random.Random(seed * 7919 + 1)
    cmds: list[object] = list(setup_commands(accounts=ACCOUNTS))
    index = dict(MIDS)
    skipped_ms = 0  # each tick skips 20 minutes, so funding intervals pass mid-stream
    for cmd in workload(total, seed=seed, accounts=ACCOUNTS):
        if len(cmds) >= total:
            break
        cmd = dataclasses.replace(cmd, ts_ms=cmd.ts_ms + skipped_ms)  # type: ignore[type-var]
        ts = cmd.ts_ms
        roll = rng.random()
        if roll < 0.04:
            market = rng.choice(sorted(index))
            index[market] = index[market] * (10_000 + rng.randint(-20, 20)) // 10_000
            cmds.append(UpdateIndex(market, index[market], ts, rng.random() < 0.1))
        elif roll < 0.05:
            skipped_ms += 20 * 60 * 1000
            cmds.append(Tick(ts))
        elif roll < 0.055:
            cmds.append(Withdraw(account(rng.randrange(ACCOUNTS)), rng.randint(1, 500) * WAD, ts))
        elif roll < 0.058:
            cmds.append(CancelAll(account(rng.randrange(ACCOUNTS)), rng.choice((None, 1, 2)), ts))
        cmds.append(cmd)
    return cmds[:total]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--total", type=int, default=4000)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--snapshot-every", type=int, default=500)
    args = parser.parse_args(argv)

    journal = Journal(os.path.join(args.directory, "journal.db"))
    store = SnapshotStore(os.path.join(args.directory, "snapshots"))
    sequencer = Sequencer.open(
        journal,
        store,
        core_engine_factory(),
        snapshot_every=args.snapshot_every,
        max_batch=args.max_batch,
    )
    out = sys.stdout
    out.write(f"ready {sequencer.last_seq}\n")
    out.flush()
    stream = command_stream(args.seed, args.total)
    position = sequencer.last_seq  # commands 1..last_seq are durable: never send them again
    sizes = random.Random(args.seed * 31 + position)
    while position < len(stream):
        chunk = stream[position : position + sizes.randint(1, args.max_batch)]
        results = sequencer.submit_many(chunk)  # returns after the commit
        out.write("".join(f"{seq}\n" for seq, _ in results))
        out.flush()
        position += len(chunk)
    out.write(f"done {sequencer.last_seq} {sequencer.engine.state_hash()}\n")
    out.flush()
    sequencer.close()
    journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
