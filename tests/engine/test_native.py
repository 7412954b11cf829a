"""The compiled engine core is the interpreted one, only faster.

`make test` builds engine/core with Cython first (scripts/build_native.py), so:
- every core module must run compiled (a stale or missing build would make every
  benchmark and the demo quietly slower);
- the compiled core must give exactly the events and state hash of the same
  sources interpreted (PERPX_PURE=1), on a stream of every command kind that
  reaches fills, liquidations, takeovers, ADL, funding and step reductions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.core import NATIVE, nativeinfo
from tests.engine.native_stream import run

ROOT = Path(__file__).resolve().parents[2]
N = 20_000


def _interpreted(n: int, seed: int) -> dict:
    env = {**os.environ, nativeinfo.PURE_ENV: "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "tests.engine.native_stream", str(n), str(seed)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(nativeinfo.pure_requested(), reason="PERPX_PURE=1 asked for source")
def test_core__after_make_native__every_module_runs_compiled():
    assert NATIVE == {name: "compiled" for name in nativeinfo.module_names()}
    import engine.core.engine as engine_module

    assert Path(engine_module.__file__).suffix == ".so"


@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_core__mixed_stream__same_events_and_state_hash_as_interpreted(seed):
    interpreted = _interpreted(N, seed)
    assert set(interpreted["native"].values()) == {"pure"}
    compiled = run(N, seed)
    # the stream reaches the paths that matter, in both runs alike
    for kind in ("TradeExecuted", "LiquidationStarted", "FundingApplied", "OrderTriggered"):
        assert compiled["kinds"].get(kind, 0) > 0, kind
    assert compiled["kinds"] == interpreted["kinds"]
    assert compiled["count"] == interpreted["count"]
    assert compiled["events"] == interpreted["events"]
    assert compiled["state_hash"] == interpreted["state_hash"]


@pytest.mark.skipif(nativeinfo.pure_requested(), reason="PERPX_PURE=1 asked for source")
def test_snapshot__taken_compiled__restores_interpreted_with_the_same_state_hash(tmp_path):
    # values pickle as (class, fields), not through Cython's layout-checked pickling,
    # so a stale build (modules run from source) still recovers from its snapshots
    from engine.core.engine import Engine
    from engine.core.markets import default_markets
    from tests.engine.native_stream import stream

    engine = Engine(default_markets())
    for cmd in stream(3_000, 3):
        engine.apply(cmd)
    snapshot = engine.snapshot()
    assert b"__pyx_unpickle" not in snapshot
    path = tmp_path / "snapshot.bin"
    path.write_bytes(snapshot)
    script = ("import sys; from engine.core.engine import Engine; "
              "print(Engine.from_snapshot(open(sys.argv[1], 'rb').read()).state_hash())")
    env = {**os.environ, nativeinfo.PURE_ENV: "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == engine.state_hash()


def test_plan__edited_source__is_stale_and_runs_from_source(tmp_path, monkeypatch):
    core = tmp_path / "core"
    core.mkdir()
    (core / "alpha.py").write_text("X = 1\n")
    (core / "beta.py").write_text("Y = 1\n")
    (core / "gamma.py").write_text("Z = 1\n")
    for name in ("alpha", "beta"):
        (core / f"{name}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    monkeypatch.setattr(nativeinfo, "CORE", core)
    monkeypatch.setattr(nativeinfo, "MANIFEST", core / "native.json")
    monkeypatch.setattr(nativeinfo, "compiled_file", lambda name: (
        core / f"{name}.cpython-311-x86_64-linux-gnu.so"
        if (core / f"{name}.cpython-311-x86_64-linux-gnu.so").exists() else None))
    monkeypatch.delenv(nativeinfo.PURE_ENV, raising=False)
    (core / "native.json").write_text(json.dumps(
        {name: nativeinfo.source_hash(name) for name in ("alpha", "beta")}))
    (core / "beta.py").write_text("Y = 2\n")  # edited after the build
    assert nativeinfo.plan() == {"alpha": "compiled", "beta": "stale", "gamma": "not built"}
    monkeypatch.setenv(nativeinfo.PURE_ENV, "1")
    assert set(nativeinfo.plan().values()) == {"pure"}


def test_plan__a_module_cimports_a_stale_one__runs_from_source_too(tmp_path, monkeypatch):
    # a compiled module is built against the C layouts of the modules it cimports: with
    # one of them from source its import fails ("size changed"), so it runs from source
    # as well, and so does whatever cimports it in turn
    core = tmp_path / "core"
    core.mkdir()
    for name in ("base", "mid", "top", "free"):
        (core / f"{name}.py").write_text(f"N = '{name}'\n")
        (core / f"{name}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (core / "mid.pxd").write_text("from engine.core.base cimport Thing\n")
    (core / "top.pxd").write_text("from engine.core cimport (mid, free)\n")
    monkeypatch.setattr(nativeinfo, "CORE", core)
    monkeypatch.setattr(nativeinfo, "MANIFEST", core / "native.json")
    monkeypatch.setattr(nativeinfo, "compiled_file", lambda name: (
        core / f"{name}.cpython-311-x86_64-linux-gnu.so"))
    monkeypatch.delenv(nativeinfo.PURE_ENV, raising=False)
    (core / "native.json").write_text(json.dumps(
        {name: nativeinfo.source_hash(name) for name in ("base", "mid", "top", "free")}))
    assert nativeinfo.cimports("top") == {"mid", "free"}
    assert set(nativeinfo.plan().values()) == {"compiled"}
    (core / "base.py").write_text("N = 'edited'\n")
    assert nativeinfo.plan() == {"base": "stale", "mid": "held", "top": "held",
                                 "free": "compiled"}


def test_value_repr__from_another_thread__the_dataclass_text():
    # a compiled cclass dataclass's own repr failed outside the importing thread
    import threading

    from engine.core.commands import Deposit, PlaceOrder
    from engine.core.events import Deposited
    from engine.core.orders import Order

    order = Order(trader="0x" + "11" * 20, market=1, is_buy=True, size=10**18,
                  limit_price=2 * 10**18, trigger_price=0, flags=0, max_fee_rate=10**15,
                  nonce=7, expiry=0)
    values = [Deposit("0xab", 5, 9), Deposited(1, 9, "0xab", 5, 5),
              PlaceOrder(order, b"\x01", b"\x02", 9)]
    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.extend(repr(v) for v in values))
    thread.start()
    thread.join()
    assert seen == [repr(v) for v in values]
    assert seen[0] == "Deposit(account='0xab', amount=5, ts_ms=9)"
    assert seen[2].startswith("PlaceOrder(order=Order(trader='0x1111")


def _pxd_fields(module: str, cls: str) -> set[str]:
    """The names a .pxd declares as `cdef public <type> a, b, ...` in `cdef class cls`."""
    names: set[str] = set()
    inside = False
    for line in (nativeinfo.CORE / f"{module}.pxd").read_text().splitlines():
        if line.startswith("cdef class "):
            inside = line.startswith(f"cdef class {cls}:") or line.startswith(f"cdef class {cls}(")
        elif inside and line.strip().startswith("cdef public "):
            # "<type> a, b": the type may be several words (long long)
            first, *rest = line.strip().removeprefix("cdef public ").split(",")
            names.update([first.split()[-1], *(name.strip() for name in rest)])
    return names


def test_state_lists__name_exactly_the_pxd_fields():
    # __getstate__ pickles the names in STATE / LEDGER_STATE, and compiled the state
    # lives in the C fields the .pxd files declare: a name in one and not the other
    # would be lost from snapshots or fail to restore
    from engine.core.accounts import LEDGER_STATE
    from engine.core.snapshot import STATE

    assert _pxd_fields("engine", "EngineCore") == set(STATE)
    assert _pxd_fields("accounts", "Ledger") == set(LEDGER_STATE)
