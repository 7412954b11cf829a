"""Rebuild engine state from the journal: from scratch (`replay`) or from the newest
valid snapshot plus the journal after it (`recover`). Both reproduce the live
engine's `state_hash()` bit for bit, because the core is deterministic and the
journal holds every command it ever applied, in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from engine.journal.codec import Codec, default_codec
from engine.journal.errors import JournalCorrupt
from engine.journal.journal import Journal, record_crc
from engine.journal.snapshots import Snapshot, SnapshotStore

log = logging.getLogger(__name__)


class Replayable(Protocol):
    """What the journal needs from an engine (engine.core.engine.Engine has it)."""

    def apply(self, cmd: Any) -> list[Any]: ...

    def state_hash(self) -> str: ...

    def snapshot(self) -> bytes: ...


# Called with None for a fresh engine, or with snapshot() bytes to restore one.
EngineFactory = Callable[[bytes | None], Replayable]


def core_engine_factory(markets: tuple[Any, ...] | None = None) -> EngineFactory:
    """The factory of the real core: Engine(markets) fresh (default_markets() when
    None), Engine.from_snapshot(body) from a snapshot."""
    from engine.core.engine import Engine
    from engine.core.markets import default_markets

    specs = default_markets() if markets is None else markets

    def factory(body: bytes | None) -> Replayable:
        return Engine(specs) if body is None else Engine.from_snapshot(body)

    return factory


def apply_from(
    engine: Replayable, journal: Journal, first_seq: int, codec: Codec, until: int | None = None
) -> int:
    """Apply every journal command from `first_seq` (to `until`) to `engine`; return the
    last applied seq (first_seq - 1 if none)."""
    last = first_seq - 1
    decode = codec.decode
    apply = engine.apply
    for record in journal.iter_from(first_seq, until=until):
        apply(decode(record.payload))
        last = record.seq
    return last


def replay(
    journal: Journal,
    engine_factory: EngineFactory | None = None,
    *,
    codec: Codec | None = None,
    until: int | None = None,
) -> Replayable:
    """A fresh engine with every journaled command (to `until`) applied, in order."""
    factory = engine_factory or core_engine_factory()
    engine = factory(None)
    apply_from(engine, journal, 1, codec or default_codec(), until)
    return engine


def recover(
    journal: Journal,
    snapshot_store: SnapshotStore | None,
    engine_factory: EngineFactory | None = None,
    *,
    codec: Codec | None = None,
) -> tuple[Replayable, int]:
    """(engine, last_seq): the newest snapshot that verifies, plus the journal after it.

    A snapshot must pass its CRC, restore to its recorded state hash and match
    the journal row it was taken at (its anchor CRC); one that does not is
    skipped and an older one (or a full replay) is used instead. A snapshot
    beyond the end of the journal means acknowledged commands are missing from
    the journal: that raises JournalCorrupt.
    """
    factory = engine_factory or core_engine_factory()
    codec = codec or default_codec()
    engine: Replayable | None = None
    start = 1
    if snapshot_store is not None:
        for snap in snapshot_store.iter_valid():
            if snap.seq > journal.last_seq():
                raise JournalCorrupt(
                    f"snapshot at seq {snap.seq} is past the journal's last seq "
                    f"{journal.last_seq()}: the journal lost committed commands"
                )
            engine = _restore(snap, journal, factory)
            if engine is not None:
                start = snap.seq + 1
                break
    if engine is None:
        engine = factory(None)
    last = apply_from(engine, journal, start, codec)
    return engine, last


def _restore(snap: Snapshot, journal: Journal, factory: EngineFactory) -> Replayable | None:
    row = journal.read(snap.seq)
    if record_crc(row.seq, row.ts_ms, row.payload) != snap.anchor_crc:
        log.warning("skipping snapshot %d: it was taken on a different journal", snap.seq)
        return None
    try:
        engine = factory(snap.body)
    except Exception as exc:  # a snapshot the engine cannot load is skipped, not fatal
        log.warning("skipping snapshot %d: engine refused it: %s", snap.seq, exc)
        return None
    if engine.state_hash() != snap.state_hash:
        log.warning("skipping snapshot %d: restored state hash differs", snap.seq)
        return None
    return engine
