"""Which engine/core modules run compiled, and why the others do not.

scripts/build_native.py compiles every module of engine/core but this one and
`__init__` with Cython and records each module's source hash (its .py and .pxd)
in native.json. `engine/core/__init__.py` asks `plan()` which compiled modules
may be loaded: one whose sources no longer hash to the recorded value is stale
and runs from its source instead, as every module does under PERPX_PURE=1.
This module is never compiled: it decides what is.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
from pathlib import Path

CORE = Path(__file__).resolve().parent
MANIFEST = CORE / "native.json"
NOT_COMPILED = frozenset({"__init__", "nativeinfo"})
PURE_ENV = "PERPX_PURE"  # "1": run every module from its source


def module_names() -> list[str]:
    """The modules the build compiles, sorted."""
    return sorted(p.stem for p in CORE.glob("*.py") if p.stem not in NOT_COMPILED)


def source_hash(name: str) -> str:
    """sha256 over the module's .py, its .pxd if there is one, and the core's C headers
    (any compiled module may include one through a cimport)."""
    h = hashlib.sha256()
    for suffix in (".py", ".pxd"):
        path = CORE / f"{name}{suffix}"
        h.update(suffix.encode() + b"\0")
        if path.exists():
            h.update(path.read_bytes())
    for header in sorted(CORE.glob("*.h")):
        h.update(header.name.encode() + b"\0" + header.read_bytes())
    return h.hexdigest()


def compiled_file(name: str) -> Path | None:
    """The module's compiled extension file, None if there is none."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = CORE / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def pure_requested() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def plan() -> dict[str, str]:
    """Per module: "compiled" (its extension is current), "stale" (its sources changed
    since the build), "not built" (no extension or no manifest entry) or "pure"
    (PERPX_PURE=1 asked for source)."""
    try:
        recorded = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        recorded = {}
    pure = pure_requested()
    out = {}
    for name in module_names():
        if pure:
            out[name] = "pure"
        elif compiled_file(name) is None or name not in recorded:
            out[name] = "not built"
        elif recorded[name] != source_hash(name):
            out[name] = "stale"
        else:
            out[name] = "compiled"
    return out
