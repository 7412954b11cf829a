"""Tables keyed by WAD amounts: SizeMemo, (market, size) -> a value computed from them
(Ledger.size_margin's memo), and PriceIndex, price -> a book level (Book's lookups).

A dict keyed by WAD amounts probes several slots per lookup (memo.h says why);
compiled, both are memo.h's C table, which probes about one. Interpreted, both are
dicts. A key the C table cannot hold (an amount of 2**120 or more, a non-int) is not
stored: PriceIndex answers `miss` for it, so its owner looks in its own dict, and
SizeMemo answers None (not remembered). Neither is ever state.
"""

from __future__ import annotations

import cython

MEMO_MAX = 2_048  # SizeMemo entries: then it starts over


@cython.cclass
class _Table:
    """What both tables share: memo.h's table compiled, a dict interpreted."""

    def __cinit__(self) -> None:
        if cython.compiled:
            self._table = perpx_table_new()  # noqa: F821  # declared in memo.pxd (memo.h)

    def __init__(self) -> None:
        if not cython.compiled:
            self._entries = {}

    def __dealloc__(self) -> None:
        if cython.compiled:
            perpx_table_free(self._table)  # noqa: F821

    def __len__(self) -> int:
        if cython.compiled:
            return perpx_table_len(self._table)  # noqa: F821
        return len(self._entries)


@cython.final
@cython.cclass
class SizeMemo(_Table):
    """(market, size) -> value; `get` answers None for a key not remembered. Holds at
    most MEMO_MAX entries: a put into a full memo forgets everything first."""

    def get(self, market: int, size: int) -> int | None:
        """The value remembered for (market, size), or None."""
        if cython.compiled:
            return perpx_table_get(self._table, market, size, None)  # noqa: F821
        return self._entries.get((market, size))

    def put(self, market: int, size: int, value: int) -> None:
        """Remember value for (market, size); a full memo starts over first."""
        if cython.compiled:
            if perpx_table_len(self._table) >= MEMO_MAX:  # noqa: F821
                perpx_table_clear(self._table)  # noqa: F821
            perpx_table_put(self._table, market, size, value)  # noqa: F821
            return
        if len(self._entries) >= MEMO_MAX:
            self._entries.clear()
        self._entries[(market, size)] = value

    def clear(self) -> None:
        """Forget everything."""
        if cython.compiled:
            perpx_table_clear(self._table)  # noqa: F821
            return
        self._entries.clear()



@cython.final
@cython.cclass
class PriceIndex(_Table):
    """price -> value (a book side's levels); `get` answers `miss` for a price it cannot
    hold, which its owner keeps elsewhere."""

    def get(self, price: int, miss: object) -> object:
        """The value stored for price, None if there is none, `miss` if price is not
        one this index holds."""
        if cython.compiled:
            return perpx_table_get(self._table, 0, price, miss)  # noqa: F821
        return self._entries.get(price)

    def put(self, price: int, value: object) -> bool:
        """Store value for price; False (nothing stored) if price is not one this index
        holds."""
        if cython.compiled:
            return perpx_table_put(self._table, 0, price, value) == 1  # noqa: F821
        self._entries[price] = value
        return True

    def remove(self, price: int) -> bool:
        """Remove price's entry; False if it has none (or cannot hold price)."""
        if cython.compiled:
            return perpx_table_remove(self._table, 0, price) == 1  # noqa: F821
        return self._entries.pop(price, None) is not None

