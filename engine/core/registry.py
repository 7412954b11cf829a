"""The order registry: order hash -> OrderRecord, split into 256 tables by the hash's
first byte (each an IdMap: an insertion-ordered dict of bytes keys, in C when compiled).

A dict (and an IdMap, built the same way) grows by rebuilding its whole table, and one
whose keys come and go (orders are registered and, an hour after they end, retired)
rebuilds it again each time its free entries run out, at a steady size too. With one
dict that rebuild is a pause of the whole engine proportional to the registry: 32 ms
at 699,051 records on the core benchmark's million commands, the longest command of
the run. Split by the first byte of the hash (EIP-712 digests and the engine's blake2b
ids: uniform), each table holds 1/256 of the records and each rebuild costs 1/256 of
the time.

A registry behaves as a mapping of bytes to records (`in`, `[]`, `get`, `del`, `len`,
iteration, `==` against any mapping). Iteration runs shard by shard, each in insertion
order: deterministic for a given history (snapshots list the records so), but not
registration order overall. `Engine._registered` keeps that order for retention, and
the state hash sorts the records into it (engine.py, `_registration_key`), so the
hash does not depend on this layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import cython

from engine.core.idmap import IdMap
from engine.core.views import OrderRecord

SHARDS = 256  # one per value of the hash's first byte


def _bad_key(h: object) -> TypeError:
    return TypeError(f"order hash: expected non-empty bytes, got {type(h).__name__} {h!r}")


@cython.cclass
class OrderRegistry:
    """Order hash (bytes) -> OrderRecord, in SHARDS insertion-ordered IdMaps (see the
    module docstring); its C layout is in registry.pxd."""

    def __init__(self, items: Iterable[tuple[bytes, OrderRecord]] = ()) -> None:
        self._shards = [IdMap() for _ in range(SHARDS)]
        for h, rec in items:
            self[h] = rec

    def _shard(self, h: object) -> IdMap | None:
        """The table that holds (or would hold) `h`; None if `h` is not non-empty bytes."""
        if type(h) is not bytes:
            return None
        key = cython.cast(bytes, h)
        if len(key) == 0:
            return None
        return self._shards[key[0]]

    def get(self, h: object, default: object = None) -> object:
        shard = self._shard(h)
        if shard is None:
            return default
        return shard.get(h, default)

    def record(self, h: object) -> OrderRecord:
        """`registry[h]` (KeyError if unknown); compiled, a vtable call (the engine's
        fills and cancels)."""
        shard = self._shard(h)
        rec = None if shard is None else shard.get(h)
        if rec is None:
            raise KeyError(h)
        return rec

    def __getitem__(self, h: object) -> OrderRecord:
        return self.record(h)

    def has(self, h: object) -> bool:
        """`h in registry`; compiled, a vtable call (the engine's duplicate check)."""
        shard = self._shard(h)
        return shard is not None and shard.has(h)

    def __contains__(self, h: object) -> bool:
        return self.has(h)

    def put(self, h: object, rec: OrderRecord) -> None:
        """`registry[h] = rec`; compiled, a vtable call (the engine's order path)."""
        shard = self._shard(h)
        if shard is None:
            raise _bad_key(h)
        shard.put(h, rec)

    def __setitem__(self, h: object, rec: OrderRecord) -> None:
        self.put(h, rec)

    def __delitem__(self, h: object) -> None:
        shard = self._shard(h)
        if shard is None or shard.pop(h) is None:
            raise KeyError(h)

    def __len__(self) -> int:
        return sum([len(shard) for shard in self._shards])

    def shard_sizes(self) -> list[int]:
        """Records per shard, shard 0 first (how evenly the hashes spread)."""
        return [len(shard) for shard in self._shards]

    def __bool__(self) -> bool:
        return any(self._shards)

    def __iter__(self) -> Iterator[bytes]:
        for shard in self._shards:
            yield from shard.keys()

    def keys(self) -> list[bytes]:
        return [h for shard in self._shards for h in shard.keys()]

    def values(self) -> list[OrderRecord]:
        return [rec for shard in self._shards for rec in shard.values()]

    def items(self) -> list[tuple[bytes, OrderRecord]]:
        return [item for shard in self._shards for item in shard.items()]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (OrderRegistry, Mapping)):
            return len(self) == len(other) and all(
                h in other and other[h] == rec for h, rec in self.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"OrderRegistry({len(self)} records)"

    def __reduce__(self) -> tuple:
        return OrderRegistry, (self.items(),)
