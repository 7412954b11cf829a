"""The core bench's stream through one checkout's engine, with nothing timed inside
the loop: for A/B runs between commits and for instruction counts under callgrind.

    python scripts/core_loop.py [--root DIR] [-n N] [--events]

Runs the set-up of tests/bench/workload.py and N (default 1,000,000) of its seeded
commands on the engine of DIR (default: this checkout; it must be built, `make
native`), under the bench's GC freeze and policy. Prints one JSON line with the
rate over wall and CPU time, whether the core ran compiled, and the state hash;
with --events, also a digest of every event's repr (slower: it is in the loop), so
two commits can be shown to emit the same events. Run one checkout after the other
with one interpreter, e.g. this checkout's:

    .venv/bin/python scripts/core_loop.py --root /tmp/wt/af0a3f3 -n 200000 --events

Instructions a command (host-independent), counted inside Engine.apply only:

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
      --toggle-collect='__pyx_pw_6engine_4core_6engine_10EngineCore_*apply' \\
      .venv/bin/python scripts/core_loop.py -n 30000
    callgrind_annotate cg.out | grep 'PROGRAM TOTALS'   # / (N + 1,002 set-up commands)
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout whose engine runs (default: this one)")
    parser.add_argument("-n", type=int, default=1_000_000, help="commands after the set-up")
    parser.add_argument("--events", action="store_true", help="digest every event too")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "engine" / "core" / "engine.py").is_file():
        parser.error(f"--root: {root} holds no engine/core/engine.py")
    if args.n < 0:
        parser.error(f"-n: {args.n} must be >= 0")
    sys.path.insert(0, str(root))  # this checkout's engine, not the installed one
    os.chdir(root)

    from engine.core import NATIVE
    from engine.core.engine import Engine
    from engine.core.markets import default_markets
    from engine.gcpolicy import PeriodicFreeze
    from tests.bench.workload import setup_commands, workload

    engine = Engine(default_markets())
    for cmd in setup_commands():
        engine.apply(cmd)
    commands = list(workload(args.n, seed=1))
    gc.collect()
    gc.freeze()
    policy, apply = PeriodicFreeze(), engine.apply
    digest = hashlib.blake2b(digest_size=8)
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.events:
        for i, cmd in enumerate(commands):
            out = apply(cmd)
            policy(i, cmd, out)
            for event in out:
                digest.update(repr(event).encode())
    else:
        for i, cmd in enumerate(commands):
            policy(i, cmd, apply(cmd))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    report = {"root": str(root), "commands": args.n,
              "compiled": sorted(set(NATIVE.values())) == ["compiled"],
              "cmds_per_s": round(args.n / wall) if wall else None,
              "cpu_cmds_per_s": round(args.n / cpu) if cpu else None,
              "state_hash": engine.state_hash()}
    if args.events:
        report["events_digest"] = digest.hexdigest()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
