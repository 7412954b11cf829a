"""Crash test with real processes: the engine + keeper worker is SIGKILLed and restarted.

anvil runs as its own process, so the chain outlives every kill. The worker
(tests/integration/crash_worker.py) drives the seeded e2e flow through an
`ExchangeNode`; the test starts it with a seeded plan of kills covering all
four crash points (before a command is journaled, after it, after a
settlement/price/funding transaction is sent, after its receipt), at a random
count of hook hits into each run, then lets a last run finish. The worker
kills itself with SIGKILL from inside the hook, so nothing after that point
runs. Afterwards, from chain data and the journal alone:

- batch ids on chain are 1..N, each `BatchSettled` exactly once;
- the fills in the settle transactions that landed are exactly the fills the
  engine made (same makers, takers, sizes, prices and fees, same multiplicity);
- every order acknowledged to the client is journaled and settled exactly once
  (its filled size on chain == its filled size in the engine);
- a node reopened on the files reconciles: chain state == engine state.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engine.chain.anvil import Anvil, anvil_path
from engine.chain.node import Chain
from engine.core.commands import PlaceOrder
from engine.core.engine import Engine
from engine.core.events import TradeExecuted
from engine.core.orders import Order
from engine.core.rules import FLAG_LIQUIDATION
from engine.core.sweeps import liquidation_order_id
from engine.eip712 import Domain, order_hash
from tests.integration.crash_worker import load_deployment, open_node
from tests.integration.test_e2e_parity import e2e_markets, fund_all, start

pytestmark = pytest.mark.skipif(anvil_path() is None,
                                reason="anvil is not installed: run `make anvil`")

ROOT = Path(__file__).resolve().parents[2]
POINTS = ("before_journal", "after_journal", "after_send", "after_receipt")
# hook hits per run: one per submit for the journal points, one per transaction otherwise
NTH_RANGE = {"before_journal": (5, 90), "after_journal": (5, 90), "after_send": (1, 10),
             "after_receipt": (1, 10)}
N_ORDERS = 400
SEED = 11


def kill_plan(seed: int, kills: int) -> list[tuple[str, int]]:
    """Every crash point at least once, in a seeded order, then random ones; random counts."""
    rng = random.Random(seed)
    points = list(POINTS)
    rng.shuffle(points)
    points += [rng.choice(POINTS) for _ in range(kills - len(POINTS))]
    return [(p, rng.randint(*NTH_RANGE[p])) for p in points]


def run_worker(config: Path, point: str, nth: int) -> int:
    env = dict(os.environ, PYTHONPATH=os.fspath(ROOT))
    proc = subprocess.run([sys.executable, "-m", "tests.integration.crash_worker",
                           os.fspath(config), point, str(nth)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.returncode


@pytest.fixture
def anvil():
    node = Anvil.start()
    yield node
    node.stop()


def _setup(anvil: Anvil, tmp_path: Path) -> tuple[Path, dict]:
    """Deploy, fund every flow trader (chain deposit + journaled Deposit), write the config."""
    chain, d, flow = start(seed=SEED, n_orders=N_ORDERS, chain=Chain.rpc(anvil.url))
    data = tmp_path / "node"
    node = open_node(chain, d, data)
    fund_all(node, chain, flow)
    node.close()
    cfg = {"url": anvil.url, "usdc": d.usdc.address, "markets": d.markets.address,
           "exchange": d.exchange.address, "seed": SEED, "n_orders": N_ORDERS,
           "start_ms": flow.start_ms, "data": os.fspath(data),
           "acks": os.fspath(tmp_path / "acks.txt"), "kills": os.fspath(tmp_path / "kills.txt"),
           "done": os.fspath(tmp_path / "done.json")}
    config = tmp_path / "config.json"
    config.write_text(json.dumps(cfg))
    return config, cfg


def _engine_fills(node) -> list[TradeExecuted]:
    engine = Engine(e2e_markets())
    return [e for r in node.journal.iter_from(1) for e in engine.apply(node.codec.decode(r.payload))
            if type(e) is TradeExecuted]


def _chain_fills(d, settled: list) -> list[tuple[Order, Order, dict]]:
    """(maker order, taker order, fill) of every fill in the settle transactions that landed."""
    out = []
    for log in settled:
        tx = d.chain.w3.eth.get_transaction(log["transactionHash"])
        _, args = d.exchange.decode_function_input(tx["input"])
        for fill in args["batch"]["fills"]:
            maker, taker = Order(*fill["maker"].values()), Order(*fill["taker"].values())
            out.append((maker, taker, fill))
    return out


def _hash(domain: Domain, order: Order) -> bytes:
    return liquidation_order_id(order) if order.flags & FLAG_LIQUIDATION else \
        order_hash(domain, order)


def test_node__sigkilled_at_random_crash_points__every_acked_order_settles_once(anvil,
                                                                                 tmp_path):
    config, cfg = _setup(anvil, tmp_path)
    plan = kill_plan(SEED, kills=10)
    for point, nth in plan:
        assert run_worker(config, point, nth) == -signal.SIGKILL, (point, nth)
    assert run_worker(config, "none", 0) == 0
    kills = Path(cfg["kills"]).read_text().split("\n")[:-1]
    assert kills == [f"{p} {n}" for p, n in plan]
    assert json.loads(Path(cfg["done"]).read_text())["resumed_at"] > 0

    chain = Chain.rpc(anvil.url)
    d = load_deployment(chain, cfg)
    node = open_node(chain, d, Path(cfg["data"]))  # one more restart: nothing left to send
    assert node.stats()["pending_fills"] == 0
    assert node.reconcile() == []
    settled = d.exchange.events.BatchSettled().get_logs(from_block=0)
    ids = [log["args"]["batch_id"] for log in settled]
    assert ids == list(range(1, len(ids) + 1)) and len(ids) >= 10
    assert d.exchange.functions.last_batch_id().call() == len(ids)

    engine = _engine_fills(node)
    on_chain = _chain_fills(d, settled)
    assert Counter((e.maker, e.taker, e.size, e.price, e.maker_fee, e.taker_fee)
                   for e in engine) == \
        Counter((m.trader, t.trader, f["size"], f["price"], f["maker_fee"], f["taker_fee"])
                for m, t, f in on_chain)

    domain = Domain(chain.chain_id, d.exchange.address)
    engine_filled, chain_filled = Counter(), Counter()
    for e in engine:
        engine_filled[e.maker_order] += e.size
        engine_filled[e.taker_order] += e.size
    for m, t, f in on_chain:
        chain_filled[_hash(domain, m)] += f["size"]
        chain_filled[_hash(domain, t)] += f["size"]
    acked = {bytes.fromhex(h) for h in Path(cfg["acks"]).read_text().split()}
    journaled = {c.order_hash for c in (node.codec.decode(r.payload)
                                        for r in node.journal.iter_from(1))
                 if isinstance(c, PlaceOrder)}
    assert acked <= journaled and len(acked) >= N_ORDERS // 2
    assert {h: chain_filled[h] for h in acked} == {h: engine_filled[h] for h in acked}
    assert sum(1 for h in acked if engine_filled[h]) > 100
    node.close()
