"""The journal: the append-only command log that is the authority over engine state.

- `Journal` (journal.py): SQLite in WAL mode, synchronous=FULL, one CRC-checked row
  per group commit (format 2), one writer per file; `upgrade` (upgrade.py) rewrites a
  format-1 journal (one row per command) in place.
- `Codec` / `default_codec` (codec.py): the deterministic binary encoding of commands
  and events (no pickle).
- `SnapshotStore` (snapshots.py): atomic engine snapshots every N commands;
  `save_in_child` takes one in a forked child (copy-on-write) for the sequencer.
- `recover` / `replay` (replay.py): rebuild the engine bit for bit.
- The sequencer that journals then applies lives in engine/sequencer.py.
"""

from engine.journal.codec import Codec, default_codec
from engine.journal.errors import (
    JournalClosed,
    JournalCorrupt,
    JournalLocked,
    SequencerHalted,
    UnencodableValue,
)
from engine.journal.journal import Journal, JournalRecord
from engine.journal.replay import core_engine_factory, recover, replay
from engine.journal.snapshots import Snapshot, SnapshotStore

__all__ = [
    "Codec",
    "Journal",
    "JournalClosed",
    "JournalCorrupt",
    "JournalLocked",
    "JournalRecord",
    "SequencerHalted",
    "Snapshot",
    "SnapshotStore",
    "UnencodableValue",
    "core_engine_factory",
    "default_codec",
    "recover",
    "replay",
]
