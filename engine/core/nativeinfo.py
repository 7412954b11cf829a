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
import re
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


def cimports(name: str) -> set[str]:
    """The engine/core modules the module's .pxd cimports (its compiled code is built
    against their C layouts)."""
    path = CORE / f"{name}.pxd"
    if not path.exists():
        return set()
    out: set[str] = set()
    for line in path.read_text().splitlines():
        m = re.match(r"\s*from engine\.core\.(\w+) cimport", line)
        if m:
            out.add(m.group(1))
            continue
        m = re.match(r"\s*from engine\.core cimport \(?([\w, ]+)\)?", line)
        if m:
            out.update(n.strip() for n in m.group(1).split(",") if n.strip())
    return out


def plan() -> dict[str, str]:
    """Per module: "compiled" (its extension is current), "stale" (its sources changed
    since the build), "not built" (no extension or no manifest entry), "held" (current,
    but it cimports, directly or through others, a module that runs from source: its
    compiled code expects that module's compiled types, so it runs from source too) or
    "pure" (PERPX_PURE=1 asked for source)."""
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
    held = True
    while held:  # until no compiled module cimports one that is not
        held = False
        for name, how in out.items():
            if how == "compiled" and any(out.get(dep, "compiled") != "compiled"
                                         for dep in cimports(name)):
                out[name] = "held"
                held = True
    return out
