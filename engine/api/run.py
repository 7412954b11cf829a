"""Run the API over an engine recovered from a journal: what `perpx up` starts when no
chain side is available, and what the load benchmark runs in its own process.

    python -m engine.api.run --data out/engine --port 8765 --dev

The journal lives in `<data>/journal.db` and snapshots in `<data>/snapshots`; on
start the engine is recovered from them (so a restart continues where it
stopped), and on SIGINT / SIGTERM uvicorn drains, then the sequencer commits
what is queued and closes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import gcpolicy
from engine.api.ratelimit import RateLimit
from engine.api.server import ApiServer
from engine.api.service import ExchangeService
from engine.eip712 import Domain
from engine.journal import Journal, SnapshotStore
from engine.sequencer import Sequencer

LOCAL_CHAIN_ID = 31337
# No chain: orders are signed for this placeholder Exchange address (documented in docs/api.md).
NO_CHAIN_EXCHANGE = "0x000000000000000000000000000000000000dEaD"
DEFAULT_PORT = 8765


@dataclass
class LocalStack:
    """A journal, its sequencer, the service and the (not yet started) server."""

    journal: Journal
    sequencer: Sequencer
    service: ExchangeService
    server: ApiServer

    def close(self) -> None:
        self.sequencer.close()
        self.journal.close()


def open_stack(data: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
               domain: Domain | None = None, dev: bool = True,
               rate_limit: RateLimit = RateLimit(), chain: Any = None) -> LocalStack:
    """Recover the engine from `data` and build the API around it on host:port."""
    data.mkdir(parents=True, exist_ok=True)
    journal = Journal(data / "journal.db")
    # a server never waits for a snapshot: taken in a forked child, skipped while busy
    sequencer = Sequencer.open(journal, SnapshotStore(data / "snapshots"),
                               skip_busy_snapshots=True)
    service = ExchangeService(sequencer, domain or Domain(LOCAL_CHAIN_ID, NO_CHAIN_EXCHANGE),
                              rate_limit=rate_limit, dev=dev, chain=chain)
    return LocalStack(journal, sequencer, service, ApiServer(service, host, port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.api.run")
    parser.add_argument("--data", type=Path, default=Path("out/engine"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dev", action="store_true", help="enable dev_* methods")
    parser.add_argument("--rate", type=int, default=RateLimit().rate_per_s)
    parser.add_argument("--burst", type=int, default=RateLimit().burst)
    args = parser.parse_args(argv)
    stack = open_stack(args.data, host=args.host, port=args.port, dev=args.dev,
                       rate_limit=RateLimit(args.rate, args.burst))
    gcpolicy.install(stack.sequencer)  # a long-running process: see engine/gcpolicy.py
    ready = {"listening": stack.server.url, "last_seq": stack.sequencer.last_seq}
    try:
        stack.server.serve_forever(lambda: print(json.dumps(ready), flush=True))
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
