"""scripts/core_loop.py runs the bench stream on a checkout and reports its state hash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.core.engine import Engine
from engine.core.markets import default_markets
from tests.bench.workload import setup_commands, workload

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "core_loop.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_core_loop__this_checkout__the_state_hash_and_events_of_the_stream():
    done = run("-n", "3000", "--events")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    engine = Engine(default_markets())
    for cmd in setup_commands():
        engine.apply(cmd)
    for cmd in workload(3000, seed=1):
        engine.apply(cmd)
    assert report["state_hash"] == engine.state_hash()
    assert report["commands"] == 3000 and report["cmds_per_s"] > 0
    assert len(report["events_digest"]) == 16


def test_core_loop__bad_arguments__named_in_the_error():
    done = run("--root", "/nonexistent-checkout")
    assert done.returncode == 2
    assert "--root: /nonexistent-checkout holds no engine/core/engine.py" in done.stderr
    done = run("-n", "-5")
    assert done.returncode == 2 and "-n: -5 must be >= 0" in done.stderr
