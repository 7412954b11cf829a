"""Compiled contract artifacts (ABI and bytecode) from ape's build manifest.

`make compile` (ape compile) writes .build/__local__.json; plain web3.py code
loads ABIs and bytecode from it, so the same artifacts serve ape tests,
py-evm and any JSON-RPC node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.core.errors import PerpxError

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".build" / "__local__.json"


class ArtifactMissing(PerpxError, FileNotFoundError):
    """A contract was not compiled; run `make compile`."""


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    abi: list
    bytecode: str


def _stale() -> bool:
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    return any(p.stat().st_mtime > built for p in (ROOT / "contracts").rglob("*.vy*"))


def compile_contracts() -> None:
    """Run `ape compile` if the manifest is missing or older than a source."""
    if not _stale():
        return
    ape = shutil.which("ape")
    if ape is None:
        raise ArtifactMissing("contracts are not compiled and `ape` is not on PATH: run `make compile`")
    subprocess.run([ape, "compile"], cwd=ROOT, check=True, capture_output=True)
    _load.cache_clear()


@lru_cache(maxsize=1)
def _load() -> dict:
    if not MANIFEST.exists():
        raise ArtifactMissing(f"{MANIFEST} not found: run `make compile`")
    return json.loads(MANIFEST.read_text())["contractTypes"]


def artifact(name: str) -> Artifact:
    """ABI and deployment bytecode of contract `name` (e.g. "Exchange")."""
    types = _load()
    if name not in types:
        raise ArtifactMissing(f"contract {name!r} not in {MANIFEST}: run `make compile`")
    ct = types[name]
    return Artifact(name, ct["abi"], ct["deploymentBytecode"]["bytecode"])
