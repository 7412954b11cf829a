"""The pure, deterministic engine core (see ARCHITECTURE.md).

Its modules are compiled with Cython by `make native` (scripts/build_native.py).
An import of `engine.core.<module>` takes the compiled extension only while the
module's sources are the ones it was built from (engine/core/nativeinfo.py);
otherwise, or under PERPX_PURE=1, the module runs from its .py source, which is
the same program, interpreted.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

from engine.core import nativeinfo

NATIVE = nativeinfo.plan()  # module -> "compiled" | "stale" | "not built" | "pure"


class _SourceFirst:
    """A meta-path finder that loads the listed engine.core modules from source."""

    def __init__(self, names: set[str]) -> None:
        self.names = {f"{__name__}.{n}" for n in names}

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        if fullname not in self.names:
            return None
        source = nativeinfo.CORE / f"{fullname.rsplit('.', 1)[1]}.py"
        return importlib.util.spec_from_file_location(fullname, source)


_from_source = {n for n, how in NATIVE.items() if how != "compiled"}
if _from_source:
    sys.meta_path.insert(0, _SourceFirst(_from_source))
_stale = sorted(n for n, how in NATIVE.items() if how == "stale")
_held = sorted(n for n, how in NATIVE.items() if how == "held")
if _stale:
    also = f" (and {', '.join(_held)}, which cimport them)" if _held else ""
    warnings.warn(f"engine.core: {', '.join(_stale)} changed since `make native`; running "
                  f"them{also} from source (slower) until it runs again", stacklevel=2)
