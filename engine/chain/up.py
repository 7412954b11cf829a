"""`perpx up`: start a chain, deploy, run the engine and its keepers until Ctrl-C.

The chain is the embedded py-evm (in this process) or anvil (a separate
process on 127.0.0.1, so wallets and dApps can connect). The node runs on a
wall clock: every `tick_s` it calls `on_time(now)` (funding due, batch age),
and whatever else drives it (the API server, a feed) goes through
`node.submit` from the same thread via `on_started`. Ctrl-C (SIGINT) or
SIGTERM stops cleanly: the pending fills are settled, the journal and outbox
closed, anvil stopped. Nothing acknowledged is lost: a second Ctrl-C during
that flush is ignored until it is done.

A chain started here lives only as long as this process, so each run uses a
fresh directory under `data_dir` (`run-<unix s>`): a journal belongs to the
deployment it settled on.

With `serve_api` (engine.api.launch.serve_api, which `perpx up` passes) the
JSON-RPC/WebSocket API is started in front of the node's sequencer on
`api_host:api_port`, and `out_dir/deployment.json` says where the chain, the
contracts and the API are (the CLI's chain commands read it).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from engine import gcpolicy
from engine.chain.anvil import Anvil
from engine.chain.artifacts import compile_contracts
from engine.chain.deploy import Deployment, deploy_all
from engine.chain.index_source import RecordedIndexSource
from engine.chain.node import Chain
from engine.chain.node_runner import ExchangeNode
from engine.core.markets import default_markets
from engine.eip712 import Domain


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.requested = True


def start_chain(chain_kind: str) -> tuple[Chain, Anvil | None]:
    """("pyevm" | "anvil") -> the connected chain, and the anvil process if one was started."""
    if chain_kind == "pyevm":
        return Chain.pyevm(), None
    if chain_kind == "anvil":
        anvil = Anvil.start()
        try:
            return Chain.rpc(anvil.url), anvil
        except Exception:
            anvil.stop()
            raise
    raise ValueError(f"chain: expected 'pyevm' or 'anvil', got {chain_kind!r}")


def run_up(chain_kind: str = "pyevm", data_dir: Path = Path(".perpx"), *, tick_s: float = 1.0,
           batch_max_fills: int = 50, batch_max_age_s: float = 5,
           on_started: Callable[[ExchangeNode, Deployment], None] | None = None,
           on_tick: Callable[[ExchangeNode], None] | None = None,
           max_seconds: float | None = None, console: Console | None = None,
           serve_api: Callable[..., Any] | None = None, api_host: str = "127.0.0.1",
           api_port: int = 8765, rate_limit: Any = None, out_dir: Path = Path("out"),
           stats_out: dict | None = None) -> int:
    """Run until Ctrl-C/SIGTERM (or `max_seconds`); return the exit code (0: stopped with
    everything settled and chain == engine, 1: settlement halted or they differ). The
    node's final stats go into `stats_out` when given."""
    out = console or Console()
    compile_contracts()
    chain, anvil = start_chain(chain_kind)
    stop = _Stop()
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    node = None
    server = None
    try:
        d = deploy_all(chain)
        run_dir = Path(data_dir) / f"run-{int(time.time())}"
        node = ExchangeNode(chain, d, run_dir, batch_max_fills=batch_max_fills,
                            batch_max_age_s=batch_max_age_s)
        gcpolicy.install(node.sequencer)  # a long-running process: see engine/gcpolicy.py
        out.print(f"[bold]perpx up[/] chain {chain_kind} "
                  f"{'at ' + anvil.url if anvil else '(in process)'} id {chain.chain_id}")
        out.print(f"  Exchange {d.exchange.address}  Markets {d.markets.address}  "
                  f"USDC {d.usdc.address}")
        if serve_api is not None:
            extra = {} if rate_limit is None else {"rate_limit": rate_limit}
            server = serve_api(node.sequencer, Domain(chain.chain_id, d.exchange.address),
                               exchange=d.exchange, host=api_host, port=api_port, **extra)
            out.print(f"  API  {server.url}  (JSON-RPC 2.0)   WS {server.ws_url}")
        _write_deployment(Path(out_dir), chain_kind, chain, d, anvil, server, run_dir)
        out.print(f"  journal and outbox in {run_dir}; wrote {Path(out_dir) / 'deployment.json'}"
                  "; Ctrl-C stops cleanly")
        if on_started is not None:
            on_started(node, d)
        started = time.monotonic()
        prices = RecordedIndexSource(default_markets(), int(time.time() * 1000))
        out.print("  index prices: the recorded multi-venue feed, replayed at wall-clock pace")
        while not stop.requested:
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            now_ms = int(time.time() * 1000)
            updates = prices.due(now_ms)
            if updates:
                node.submit_many(updates)
            node.on_time(now_ms)
            if on_tick is not None:
                on_tick(node)
            time.sleep(tick_s)
        out.print("stopping: settling what is pending ...")
        if server is not None:
            server.stop()  # no new commands while the rest settles
            server = None
        node.flush()
        equal = node.reconcile() == []
        stats = node.stats()
        if stats_out is not None:
            stats_out.update(stats)
        out.print(f"  {stats['batches']} batches, {stats['fills']} fills settled; "
                  f"chain == engine: {equal}")
        return 0 if equal and stats["halted"] is None else 1
    finally:
        if server is not None:
            server.stop()
        if node is not None:
            node.close()
        if anvil is not None:
            anvil.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _write_deployment(out_dir: Path, chain_kind: str, chain: Chain, d: Deployment,
                      anvil: Anvil | None, server: Any, run_dir: Path) -> None:
    """out_dir/deployment.json: chain, contract addresses, API and journal locations."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {"chain": chain_kind, "rpc_url": anvil.url if anvil else None,
            "chain_id": chain.chain_id, "exchange": d.exchange.address,
            "markets": d.markets.address, "usdc": d.usdc.address,
            "api_url": server.url if server else None,
            "ws_url": server.ws_url if server else None,
            "journal": str(run_dir / "journal.sqlite"), "dev": False}
    (out_dir / "deployment.json").write_text(json.dumps(info, indent=1) + "\n")
