"""End-to-end settlement throughput and latency: engine -> batches -> Exchange.

For each chain (py-evm in process; anvil when installed) and each batch
size (50, 200 fills), the seeded e2e flow (tests/integration/test_e2e_parity)
runs through an ExchangeNode. Prints JSON lines:
`e2e_fills_per_s` (fills settled / wall time from the first order to the
last receipt), `settle_latency_p50_ms` / `settle_latency_p99_ms` (from the
command that made a fill being applied to the receipt of its batch), with
`chain`, `batch` (max fills per batch), `avg_fills_per_batch`, `gas_per_fill`.
Batches are also cut at every funding timestamp and at the mark changes
that could make them revert (engine/chain/batcher.py), so the average batch
is smaller than the maximum. Size: env PERPX_BENCH_E2E_N
(orders, default 1500). Numbers only, no timed assertions.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from engine.chain.anvil import Anvil, anvil_path
from engine.chain.node import Chain
from engine.chain.node_runner import ExchangeNode
from tests.integration.test_e2e_parity import e2e_markets, fund_all, start


def _run(chain: Chain, chain_name: str, batch: int, tmp_path, n_orders: int) -> None:
    chain, d, flow = start(seed=3, n_orders=n_orders, chain=chain)
    node = ExchangeNode(chain, d, tmp_path / f"{chain_name}-{batch}", markets=e2e_markets(),
                        batch_max_fills=batch, batch_max_age_s=3600)
    fund_all(node, chain, flow)
    t0 = time.perf_counter()
    for cmd in flow.commands:
        node.submit(cmd)
        node.on_time(cmd.ts_ms)
    node.flush()
    wall = time.perf_counter() - t0
    stats = node.stats()
    assert node.reconcile() == []
    common = {"chain": chain_name, "batch": batch, "fills": stats["fills"],
              "batches": stats["batches"],
              "avg_fills_per_batch": round(stats["fills"] / max(1, stats["batches"]), 1),
              "gas_per_fill": stats["gas_per_fill"], "orders": flow.orders}
    for name, value, unit in (("e2e_fills_per_s", round(stats["fills"] / wall, 1), "fills/s"),
                              ("settle_latency_p50_ms", stats["settle_latency_p50_ms"], "ms"),
                              ("settle_latency_p99_ms", stats["settle_latency_p99_ms"], "ms")):
        print(json.dumps({"name": name, "value": value, "unit": unit, **common}), flush=True)
    node.close()


@pytest.mark.bench
@pytest.mark.parametrize("batch", [50, 200])
@pytest.mark.parametrize("chain_name", ["py-evm", "anvil"])
def test_bench_e2e__settlement__fills_per_second_and_latency(tmp_path, chain_name, batch):
    n_orders = int(os.environ.get("PERPX_BENCH_E2E_N", "1500"))
    if chain_name == "py-evm":
        _run(Chain.pyevm(), chain_name, batch, tmp_path, n_orders)
        return
    if anvil_path() is None:
        pytest.skip("anvil is not installed: run `make anvil`")
    anvil = Anvil.start()
    try:
        _run(Chain.rpc(anvil.url), chain_name, batch, tmp_path, n_orders)
    finally:
        anvil.stop()
