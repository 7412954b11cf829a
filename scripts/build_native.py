"""Compile the engine core with Cython, in place: `make native` runs this.

Every module of engine/core (but its __init__) is plain Python that also compiles:
`.pxd` files beside the hot modules declare their classes' C layouts and the C
signatures of their hot methods (Cython's "pure Python mode"), so the same source
runs interpreted (PERPX_PURE=1) or compiled, and a test holds the two to the same
events and state hash (tests/engine/test_native.py).

The build writes engine/core/native.json: the sha256 of each module's .py and .pxd
as compiled. engine/core/__init__.py loads a compiled module only while its sources
still hash to that; an edited module runs from its source (with a warning) until the
next `make native`, so a stale build never runs code other than what is on disk.

Usage: python scripts/build_native.py [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.core.nativeinfo import CORE, MANIFEST, module_names, source_hash  # noqa: E402

# Cython semantics kept as close to Python's as possible: annotations are for mypy
# only (Cython would otherwise coerce `x: int` arguments, e.g. 1.5 -> 1), and the
# types that matter are declared in the .pxd files.
DIRECTIVES = {
    "language_level": 3,
    "annotation_typing": False,
    "embedsignature": True,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel compiler jobs")
    args = parser.parse_args()

    from Cython.Build import cythonize
    from setuptools import Extension, setup

    names = module_names()
    start = time.perf_counter()
    extensions = [Extension(f"engine.core.{name}", [str(CORE / f"{name}.py")])
                  for name in names]
    modules = cythonize(extensions, compiler_directives=DIRECTIVES, nthreads=args.jobs,
                        quiet=True)
    setup(name="perpx-native", ext_modules=modules, script_args=[
        "--quiet", "build_ext", "--inplace", "--parallel", str(args.jobs)])
    MANIFEST.write_text(json.dumps({name: source_hash(name) for name in names}, indent=1,
                                   sort_keys=True) + "\n")
    print(f"native: compiled {len(names)} modules of engine/core in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
