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

Cython's and the C compiler's output (warnings included) goes to build/native.log;
a failed build prints the end of it.

Usage: python scripts/build_native.py [--jobs N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.core.nativeinfo import CORE, MANIFEST, module_names, source_hash  # noqa: E402

LOG = ROOT / "build" / "native.log"

# Cython semantics kept as close to Python's as possible: annotations are for mypy
# only (Cython would otherwise coerce `x: int` arguments, e.g. 1.5 -> 1), and the
# types that matter are declared in the .pxd files.
DIRECTIVES = {
    "language_level": 3,
    "annotation_typing": False,
    "embedsignature": True,
}


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr, and its children's (the C compiler), to
    `path` (file descriptors 1 and 2, not only sys.stdout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel compiler jobs")
    args = parser.parse_args()

    from Cython.Build import cythonize
    from setuptools import Extension, setup

    os.chdir(ROOT)  # build_ext --inplace writes under the working directory: this tree's
    names = module_names()
    start = time.perf_counter()
    print(f"native: compiling {len(names)} modules of engine/core with Cython "
          f"(1-2 minutes from clean; log: {LOG.relative_to(ROOT)})", flush=True)
    extensions = [Extension(f"engine.core.{name}", [str(CORE / f"{name}.py")],
                            include_dirs=[str(CORE)])  # the core's C headers (wad.h)
                  for name in names]
    try:
        with output_to(LOG):
            modules = cythonize(extensions, compiler_directives=DIRECTIVES,
                                nthreads=args.jobs, quiet=True)
            setup(name="perpx-native", ext_modules=modules, script_args=[
                "--quiet", "build_ext", "--inplace", "--parallel", str(args.jobs)])
    except (Exception, SystemExit) as exc:
        tail = LOG.read_text(errors="replace").splitlines()[-60:]
        print("\n".join(tail), file=sys.stderr)
        print(f"native: build failed ({exc!r}); full log in {LOG}", file=sys.stderr)
        return 1
    MANIFEST.write_text(json.dumps({name: source_hash(name) for name in names}, indent=1,
                                   sort_keys=True) + "\n")
    print(f"native: compiled {len(names)} modules of engine/core in "
          f"{time.perf_counter() - start:.1f} s")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
