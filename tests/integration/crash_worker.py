"""The crash test's worker process: engine + keepers over anvil, killed and restarted.

Run by tests/integration/test_crash_e2e.py as

    python -m tests.integration.crash_worker CONFIG POINT NTH

CONFIG is a JSON file the test wrote (anvil URL, contract addresses, the
seeded flow's parameters, the data directory and the side files). The worker
opens an `ExchangeNode` on the data directory (replaying its journal and
resending whatever the chain has not applied), regenerates the same seeded
`Flow`, resumes after the last flow command its journal holds, and drives the
rest: `submit` then `on_time` per command, `flush` at the end.

When its crash hook reaches POINT ("before_journal", "after_journal",
"after_send", "after_receipt") for the NTH time in this run, it appends
"POINT NTH" to the kills file and sends itself SIGKILL: no `finally`, no
atexit, only what is durable survives. POINT "none" runs to the end and
writes the done file. After each `submit` returns, the hash of a placed order
is appended to the acks file: those are the orders a client was told were
accepted.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from engine.chain.deploy import ROLE_LABELS, Deployment
from engine.chain.artifacts import artifact
from engine.chain.node import Chain, derive_key
from engine.chain.node_runner import ExchangeNode
from engine.core.commands import PlaceOrder
from tests.integration.test_e2e_parity import Flow, e2e_markets

BATCH_MAX_FILLS = 20


def load_deployment(chain: Chain, cfg: dict) -> Deployment:
    """The deployment the test made, from its addresses (roles are derived local keys)."""
    def contract(name: str, address: str):
        return chain.w3.eth.contract(address=address, abi=artifact(name).abi)

    return Deployment(chain=chain, usdc=contract("MockUSDC", cfg["usdc"]),
                      markets=contract("Markets", cfg["markets"]),
                      exchange=contract("Exchange", cfg["exchange"]),
                      roles={label: derive_key(label) for label in ROLE_LABELS},
                      market_ids={s.symbol: s.market_id for s in e2e_markets()})


def open_node(chain: Chain, d: Deployment, data_dir: Path, crash_hook=None) -> ExchangeNode:
    return ExchangeNode(chain, d, data_dir, markets=e2e_markets(),
                        batch_max_fills=BATCH_MAX_FILLS, batch_max_age_s=60,
                        crash_hook=crash_hook)


def resume_index(node: ExchangeNode, commands: list) -> int:
    """Index of the first flow command the journal does not hold.

    Walks the journal in order, matching each command against the flow from the
    current position on (the journal also holds the node's own Ticks and the
    deposits), so a command that was never journaled is sent again exactly once."""
    at = 0
    positions = {}
    for i, cmd in enumerate(commands):
        positions.setdefault(cmd, []).append(i)
    for record in node.journal.iter_from(1):
        cmd = node.codec.decode(record.payload)
        later = [i for i in positions.get(cmd, ()) if i >= at]
        if later:
            at = later[0] + 1
    return at


def _killer(point: str, nth: int, kills_file: Path):
    seen = {"n": 0}

    def hook(at: str) -> None:
        if at != point:
            return
        seen["n"] += 1
        if seen["n"] == nth:
            with open(kills_file, "a") as f:
                f.write(f"{point} {nth}\n")
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main(argv: list[str]) -> int:
    cfg = json.loads(Path(argv[1]).read_text())
    point, nth = argv[2], int(argv[3])
    chain = Chain.rpc(cfg["url"])
    d = load_deployment(chain, cfg)
    flow = Flow(chain.chain_id, cfg["exchange"], seed=cfg["seed"], n_orders=cfg["n_orders"],
                start_ms=cfg["start_ms"])
    hook = None if point == "none" else _killer(point, nth, Path(cfg["kills"]))
    node = open_node(chain, d, Path(cfg["data"]), hook)
    start = resume_index(node, flow.commands)
    with open(cfg["acks"], "a") as acks:
        for cmd in flow.commands[start:]:
            node.submit(cmd)
            if isinstance(cmd, PlaceOrder):
                acks.write(cmd.order_hash.hex() + "\n")
                acks.flush()
            node.on_time(cmd.ts_ms)
    node.flush()
    node.close()
    Path(cfg["done"]).write_text(json.dumps({"resumed_at": start}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
