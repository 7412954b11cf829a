"""An account's recent fills, kept for queries (the journal keeps every fill).

Each fill is stored as the plain tuple of the `TradeExecuted` event's fields: a
tuple holding only ints, strs, bytes and bools is untracked by the cyclic garbage
collector after its first young collection, so up to a million kept fills are not
walked by every full collection, as a million event objects would be."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import fields as dataclass_fields
from itertools import islice

from engine.core.events import TradeExecuted

FILL_HISTORY = 1000  # fills kept per account for queries (the journal keeps them all)


class FillHistory(deque):
    """An account's latest FILL_HISTORY fills as event-field tuples, oldest first;
    iterating yields `TradeExecuted` events."""

    __slots__ = ()

    def __init__(self, rows: Iterable[tuple] = ()) -> None:
        super().__init__(rows, maxlen=FILL_HISTORY)

    def __iter__(self) -> Iterator[TradeExecuted]:
        for row in deque.__iter__(self):
            yield TradeExecuted(*row)

    def __reduce__(self) -> tuple:
        return FillHistory, (list(deque.__iter__(self)),)

    def latest(self, limit: int) -> list[TradeExecuted]:
        """The newest `limit` fills as events, oldest first (builds only those)."""
        skip = max(0, len(self) - max(0, limit))
        return [TradeExecuted(*row) for row in islice(deque.__iter__(self), skip, None)]

    @classmethod
    def of(cls, events: Iterable[TradeExecuted]) -> FillHistory:
        """A history holding `events` (e.g. from a snapshot that kept the events)."""
        return cls(tuple(getattr(e, f) for f in TRADE_FIELDS) for e in events)


TRADE_FIELDS = tuple(f.name for f in dataclass_fields(TradeExecuted))
