"""An account's recent fills, kept for queries (the journal keeps every fill).

Each fill is kept as the `TradeExecuted` event the engine emitted, one object shared
by the maker's and the taker's histories. Compiled, events are extension types the
cyclic garbage collector does not track (`@cython.no_gc`, engine/core/events.py), so
up to a million kept fills are not walked by its collections. Snapshots from before
this kept the events' fields as tuples; those load as events."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

from engine.core.events import TradeExecuted

FILL_HISTORY = 1000  # fills kept per account for queries (the journal keeps them all)


class FillHistory(deque):
    """An account's latest FILL_HISTORY fills as `TradeExecuted` events, oldest first."""

    __slots__ = ()

    def __init__(self, fills: Iterable[TradeExecuted | tuple] = ()) -> None:
        super().__init__((f if type(f) is TradeExecuted else TradeExecuted(*f) for f in fills),
                         maxlen=FILL_HISTORY)

    def __reduce__(self) -> tuple:
        return FillHistory, (list(self),)

    def latest(self, limit: int) -> list[TradeExecuted]:
        """The newest `limit` fills, oldest first."""
        skip = max(0, len(self) - max(0, limit))
        return list(islice(self, skip, None))

    @classmethod
    def of(cls, events: Iterable[TradeExecuted]) -> FillHistory:
        """A history holding `events` (e.g. from a snapshot that kept them in a deque)."""
        return cls(events)

