"""Start and stop a local anvil node (npm package @foundry-rs/anvil, `make anvil`).

Bound to 127.0.0.1 only, so a wallet or dApp frontend on this machine can
connect while the exchange runs, and nothing outside can.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import PerpxError

ROOT = Path(__file__).resolve().parents[2]
NPM_BIN = ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "anvil"


class AnvilMissing(PerpxError, FileNotFoundError):
    """anvil is not installed: run `make anvil`."""


def anvil_path() -> Path | None:
    """The anvil binary: the npm install of `make anvil`, else one on PATH; None if neither."""
    if NPM_BIN.exists():
        return NPM_BIN
    found = shutil.which("anvil")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Anvil:
    """A running anvil process; `url` is its JSON-RPC endpoint."""

    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int | None = None, block_gas_limit: int = 60_000_000,
              timeout_s: float = 30.0, chain_id: int = 31337) -> Anvil:
        """Start anvil on 127.0.0.1 (automine) and wait until it answers."""
        path = anvil_path()
        if path is None:
            raise AnvilMissing("anvil is not installed: run `make anvil` "
                               "(npm install --prefix .cache/npm @foundry-rs/anvil@1.7.1)")
        port = port or free_port()
        cmd = [os.fspath(path), "--host", "127.0.0.1", "--port", str(port), "--silent",
               "--gas-limit", str(block_gas_limit), "--chain-id", str(chain_id),
               "--accounts", "2", "--balance", "1000000"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise AnvilMissing(f"anvil exited with {proc.returncode}: {err[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return cls(proc, port)
            except OSError:
                time.sleep(0.1)
        proc.kill()
        raise AnvilMissing(f"anvil did not answer on 127.0.0.1:{port} within {timeout_s} s")

    def stop(self) -> None:
        """Terminate this anvil (and only it), waiting for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
