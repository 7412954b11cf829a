"""SizeMemo: (market, size) -> a value computed from them, remembered until cleared.

Ledger.size_margin's memo (a margin at the market's current mark, asked for the same
sizes over and over). Compiled, the table is memo.h's: a dict keyed by WAD sizes
probes several slots per lookup (the header says why), this one about one.
Interpreted, a dict of (market, size) tuples. Both hold at most MEMO_MAX entries and
start over when full, and neither is ever state: the owner clears it when what the
values depend on changes.
"""

from __future__ import annotations

import cython

MEMO_MAX = 2_048  # memo.h's PERPX_MEMO_MAX: then it starts over


@cython.final
@cython.cclass
class SizeMemo:
    """(market, size) -> value; `get` answers None for a key not remembered."""

    def __cinit__(self) -> None:
        if cython.compiled:
            self._table = perpx_memo_new()  # noqa: F821  # declared in memo.pxd (memo.h)

    def __init__(self) -> None:
        if not cython.compiled:
            self._entries = {}

    def __dealloc__(self) -> None:
        if cython.compiled:
            perpx_memo_free(self._table)  # noqa: F821

    def get(self, market: int, size: int) -> int | None:
        """The value remembered for (market, size), or None."""
        if cython.compiled:
            return perpx_memo_get(self._table, market, size)  # noqa: F821
        return self._entries.get((market, size))

    def put(self, market: int, size: int, value: int) -> None:
        """Remember value for (market, size); a full memo starts over first."""
        if cython.compiled:
            perpx_memo_put(self._table, market, size, value)  # noqa: F821
            return
        if len(self._entries) >= MEMO_MAX:
            self._entries.clear()
        self._entries[(market, size)] = value

    def clear(self) -> None:
        """Forget everything."""
        if cython.compiled:
            perpx_memo_clear(self._table)  # noqa: F821
            return
        self._entries.clear()

    def __len__(self) -> int:
        if cython.compiled:
            return perpx_memo_len(self._table)  # noqa: F821
        return len(self._entries)
