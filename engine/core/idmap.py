"""IdMap: order hash (bytes) -> object, in insertion order: the order registry's shards
and a book's orders by id.

Behaves as a dict restricted to bytes keys: `get`, `has`, `put`, `setdefault`, `pop`,
`[]`, `in`, `del`, `len`, iteration and `keys` / `values` / `items` lists in insertion
order (a key stored again keeps its place). A key that is not bytes is never there:
lookups answer absent, stores raise TypeError. Compiled, it is idmap.h's C table,
which skips the siphash a dict computes for every new bytes key (idmap.h says why);
interpreted, a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cython


def _bad_key(key: object) -> TypeError:
    return TypeError(f"order id: expected bytes, got {type(key).__name__} {key!r}")


@cython.final
@cython.cclass
class IdMap:
    """bytes -> object in insertion order (see the module docstring)."""

    def __cinit__(self, items: Iterable[tuple[bytes, object]] = ()) -> None:
        if cython.compiled:
            self._map = perpx_idmap_new()  # noqa: F821  # declared in idmap.pxd (idmap.h)

    def __init__(self, items: Iterable[tuple[bytes, object]] = ()) -> None:
        if not cython.compiled:
            self._entries = {}
        for key, value in items:
            self.put(key, value)

    def __dealloc__(self) -> None:
        if cython.compiled:
            perpx_idmap_free(self._map)  # noqa: F821

    def get(self, key: object, default: object = None) -> object:
        """The value stored for key, else default."""
        if type(key) is not bytes:
            return default
        if cython.compiled:
            return perpx_idmap_get(self._map, key, default)  # noqa: F821
        return self._entries.get(key, default)

    def has(self, key: object) -> bool:
        """`key in self`; compiled, a C call."""
        if type(key) is not bytes:
            return False
        if cython.compiled:
            return perpx_idmap_has(self._map, key) != 0  # noqa: F821
        return key in self._entries

    def put(self, key: object, value: object) -> None:
        """`self[key] = value` (a key already there keeps its place)."""
        if type(key) is not bytes:
            raise _bad_key(key)
        if cython.compiled:
            perpx_idmap_put(self._map, key, value)  # noqa: F821
            return
        self._entries[key] = value

    def setdefault(self, key: object, value: object) -> object:
        """The value key holds, storing `value` first if it holds none."""
        if type(key) is not bytes:
            raise _bad_key(key)
        if cython.compiled:
            return perpx_idmap_setdefault(self._map, key, value)  # noqa: F821
        return self._entries.setdefault(key, value)

    def pop(self, key: object, default: object = None) -> object:
        """Remove key and return its value; default if it holds none."""
        if type(key) is not bytes:
            return default
        if cython.compiled:
            return perpx_idmap_pop(self._map, key, default)  # noqa: F821
        return self._entries.pop(key, default)

    def keys(self) -> list[bytes]:
        if cython.compiled:
            return perpx_idmap_list(self._map, 0)  # noqa: F821
        return list(self._entries)

    def values(self) -> list:
        if cython.compiled:
            return perpx_idmap_list(self._map, 1)  # noqa: F821
        return list(self._entries.values())

    def items(self) -> list[tuple[bytes, object]]:
        if cython.compiled:
            return perpx_idmap_list(self._map, 2)  # noqa: F821
        return list(self._entries.items())

    def __len__(self) -> int:
        if cython.compiled:
            return perpx_idmap_len(self._map)  # noqa: F821
        return len(self._entries)

    def __bool__(self) -> bool:
        return len(self) != 0

    def __contains__(self, key: object) -> bool:
        return self.has(key)

    def __getitem__(self, key: object) -> object:
        missing = _MISSING
        value = self.get(key, missing)
        if value is missing:
            raise KeyError(key)
        return value

    def __setitem__(self, key: object, value: object) -> None:
        self.put(key, value)

    def __delitem__(self, key: object) -> None:
        missing = _MISSING
        if self.pop(key, missing) is missing:
            raise KeyError(key)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.keys())

    def __reduce__(self) -> tuple:
        return IdMap, (self.items(),)

    def __repr__(self) -> str:
        return f"IdMap({len(self)} entries)"


_MISSING = object()  # a default no caller can pass
