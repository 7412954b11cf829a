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
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from engine.chain.anvil import Anvil
from engine.chain.artifacts import compile_contracts
from engine.chain.deploy import Deployment, deploy_all
from engine.chain.node import Chain
from engine.chain.node_runner import ExchangeNode


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
           max_seconds: float | None = None, console: Console | None = None) -> dict:
    """Run until Ctrl-C/SIGTERM (or `max_seconds`); return the node's final stats."""
    out = console or Console()
    compile_contracts()
    chain, anvil = start_chain(chain_kind)
    stop = _Stop()
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    node = None
    try:
        d = deploy_all(chain)
        run_dir = Path(data_dir) / f"run-{int(time.time())}"
        node = ExchangeNode(chain, d, run_dir, batch_max_fills=batch_max_fills,
                            batch_max_age_s=batch_max_age_s)
        out.print(f"[bold]perpx up[/] chain {chain_kind} "
                  f"{'at ' + anvil.url if anvil else '(in process)'} id {chain.chain_id}")
        out.print(f"  Exchange {d.exchange.address}  Markets {d.markets.address}  "
                  f"USDC {d.usdc.address}")
        out.print(f"  journal and outbox in {run_dir}; Ctrl-C stops cleanly")
        if on_started is not None:
            on_started(node, d)
        started = time.monotonic()
        while not stop.requested:
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            node.on_time(int(time.time() * 1000))
            if on_tick is not None:
                on_tick(node)
            time.sleep(tick_s)
        out.print("stopping: settling what is pending ...")
        node.flush()
        stats = node.stats()
        out.print(f"  {stats['batches']} batches, {stats['fills']} fills settled; "
                  f"chain == engine: {node.reconcile() == []}")
        return stats
    finally:
        if node is not None:
            node.close()
        if anvil is not None:
            anvil.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
