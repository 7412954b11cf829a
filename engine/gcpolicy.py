"""The garbage-collector policy of a long-running engine process.

CPython's full collections walk every tracked object. The engine's state (the
order registry, the books, the positions and the fill history) grows to
millions of them, so an untuned process pauses for hundreds of milliseconds
now and then: on the core benchmark's million commands the longest
`Engine.apply` took 532 ms with the collector as it comes. With the state
frozen every 20,000 commands no full collection runs at all there, and the
longest command is about 2 ms (a young collection, or a book's id table growing;
the order registry's 32 ms growth past 700k records is gone since it is sharded,
engine/core/registry.py).

`gc.freeze()` moves every object alive at that moment into the permanent
generation, which collections never scan. What is frozen is still freed by
reference counting; only cyclic garbage in it would stay. The core makes no
cycles (the book clears the links of the orders it removes; a test checks it),
and `PeriodicFreeze` runs a young-generation collection before each freeze, so
what is frozen is what was alive.

The policy belongs to the process, not the core: `install` is called by the
entry points that serve a sequencer (`perpx up`, `python -m engine.api.run`),
never by the library or its tests.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

FREEZE_EVERY = 20_000  # commands between freezes


class PeriodicFreeze:
    """A sequencer listener: after every `every` applied commands, collect the young
    generations and freeze what survives. `freezes` counts the freezes so far."""

    def __init__(self, every: int = FREEZE_EVERY, *,
                 collect: Callable[[int], int] = gc.collect,
                 freeze: Callable[[], None] = gc.freeze) -> None:
        if every < 1:
            raise ValueError(f"every: {every} must be a positive number of commands")
        self.every = every
        self.freezes = 0
        self._left = every
        self._collect = collect
        self._freeze = freeze

    def __call__(self, seq: int, cmd: Any, events: list[Any]) -> None:  # noqa: ARG002
        self._left -= 1
        if self._left:
            return
        self._left = self.every
        self._collect(1)  # young garbage only: cheap, and none of it is frozen
        self._freeze()
        self.freezes += 1


def install(sequencer: Any, every: int = FREEZE_EVERY) -> PeriodicFreeze:
    """Freeze the recovered state now (after one full collection) and every `every`
    commands from here on; returns the listener."""
    gc.collect()
    gc.freeze()
    listener = PeriodicFreeze(every)
    sequencer.subscribe(listener)
    return listener
