"""An account's recent fills, kept for queries (the journal keeps every fill).

Each fill is kept as the `TradeExecuted` event the engine emitted, one object shared
by the maker's and the taker's histories. Compiled, events are extension types the
cyclic garbage collector does not track (`@cython.no_gc`, engine/core/events.py), so
up to a million kept fills are not walked by its collections. Snapshots from before
this kept the events' fields as tuples; those load as events.

A history is a ring over a list (compiled: an extension type whose `add` is a C
call, ~80 instructions). It was a `deque` subclass, whose append from compiled code
was a generic call of the deque's method, ~220."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cython

from engine.core.events import TradeExecuted

FILL_HISTORY = 1000  # fills kept per account for queries (the journal keeps them all)
FILL_HISTORY_LIMIT = FILL_HISTORY  # the same, readable from Python (compiled, the other is C)


@cython.auto_pickle(False)  # pickled by __reduce__: as the list of its fills
@cython.cclass
class FillHistory:
    """An account's latest FILL_HISTORY fills as `TradeExecuted` events, oldest first."""

    def __init__(self, fills: Iterable[TradeExecuted | tuple] = ()) -> None:
        kept = [f if type(f) is TradeExecuted else TradeExecuted(*f) for f in fills]
        self._items = kept[len(kept) - FILL_HISTORY:] if len(kept) > FILL_HISTORY else kept
        self._start = 0  # where the oldest is once the ring is full (the next overwritten)

    def add(self, trade: TradeExecuted) -> None:
        """Keep `trade` as the newest fill, dropping the oldest once FILL_HISTORY are kept."""
        items = self._items
        if len(items) < FILL_HISTORY:
            items.append(trade)
            return
        start = self._start
        items[start] = trade
        start += 1
        self._start = 0 if start == FILL_HISTORY else start

    def _ordered(self) -> list[TradeExecuted]:
        items, start = self._items, self._start
        return items[start:] + items[:start] if start else list(items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TradeExecuted]:
        return iter(self._ordered())

    def __getitem__(self, index: int) -> TradeExecuted:
        """The fill at `index` counted from the oldest (negative: from the newest)."""
        return self._ordered()[index]

    def __eq__(self, other: object) -> bool:
        if type(other) is not FillHistory:
            return NotImplemented
        return self._ordered() == other._ordered()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"FillHistory({self._ordered()!r})"

    def __reduce__(self) -> tuple:
        return FillHistory, (self._ordered(),)

    def latest(self, limit: int) -> list[TradeExecuted]:
        """The newest `limit` fills, oldest first."""
        ordered = self._ordered()
        return ordered[max(0, len(ordered) - max(0, limit)):]

    @classmethod
    def of(cls, events: Iterable[TradeExecuted]) -> FillHistory:
        """A history holding `events` (e.g. from a snapshot that kept them in a deque)."""
        return cls(events)
