"""Upgrade a format-1 journal (one row per command) to format 2 (one row per commit).

Format 1 kept each command in its own row of a `journal` table with a CRC-32 over
(seq, ts_ms, payload); format 2 (engine/journal/journal.py) keeps them framed in rows
of the `frames` table. `upgrade(path)` rewrites a format-1 file in place:

1. it takes the writer's lock (no sequencer may have the file open);
2. it verifies every format-1 row (contiguous seqs from 1, each CRC) and refuses the
   whole upgrade, changing nothing, if any fails;
3. in ONE transaction it writes the same commands, in order, as format-2 rows of
   `FRAME_RECORDS` commands, drops the old table and sets the format to "2";
4. it reopens the file as a `Journal` and verifies every row of the new format.

The commands, their seqs and timestamps are unchanged, and so are everything derived
from them: `record_crc` (the anchor of every snapshot), `range_digest` (the
journal_digest of settled batches) and the replayed state hash. The commit
boundaries of format 1 are not recorded, so the new rows split the log every
`FRAME_RECORDS` commands. A crash during step 3 leaves the file as it was.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from engine.journal.errors import JournalCorrupt
from engine.journal.journal import (
    _SCHEMA,
    FORMAT_1,
    FRAME_RECORDS,
    INSERT_FRAME,
    JOURNAL_FORMAT,
    Journal,
    _take_writer_lock,
    frame_row,
    record_crc,
)


def upgrade(path: str | os.PathLike[str]) -> int:
    """Rewrite the format-1 journal at `path` as format 2; return how many commands it
    holds. Raises JournalCorrupt if the file is not a format-1 journal or any of its
    rows fails verification (nothing is changed then), JournalLocked if a writer has it
    open."""
    path = os.fspath(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no journal at {path}")
    lock_fd = _take_writer_lock(path)
    try:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            count = _rewrite(db, path)
        finally:
            db.close()
    finally:
        os.close(lock_fd)
    with Journal(path, verify_tail=None) as journal:  # every new row, CRC and tiling
        if journal.last_seq() != count:
            raise JournalCorrupt(f"{path}: upgraded journal ends at seq {journal.last_seq()}, "
                                 f"expected {count}")
    return count


def _rewrite(db: sqlite3.Connection, path: str) -> int:
    try:
        row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None or row[0] != FORMAT_1:
        raise JournalCorrupt(f"{path}: not a format-{FORMAT_1} journal "
                             f"(format {row[0] if row else None!r}); nothing to upgrade")
    db.execute("BEGIN IMMEDIATE")
    try:
        count = _copy_verified(db, path)
        db.execute("DROP TABLE journal")
        db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (JOURNAL_FORMAT,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("VACUUM")  # give back the old table's pages
    return count


def _copy_verified(db: sqlite3.Connection, path: str) -> int:
    """Write the format-1 rows into `frames` (created here), verifying each first."""
    for statement in _SCHEMA:
        db.execute(statement)
    rows = db.execute("SELECT seq, ts_ms, payload, crc FROM journal ORDER BY seq")
    expected, part = 1, []
    while True:
        batch = rows.fetchmany(FRAME_RECORDS)
        for seq, ts_ms, payload, crc in batch:
            if seq != expected:
                raise JournalCorrupt(f"{path}: format-1 seq {expected} is missing (found {seq}); "
                                     "nothing was upgraded")
            if record_crc(seq, ts_ms, payload) != crc:
                raise JournalCorrupt(f"{path}: format-1 record seq {seq} fails its CRC; nothing "
                                     "was upgraded. Restore the journal from a verified copy.")
            part.append((seq, ts_ms, bytes(payload)))
            expected += 1
            if len(part) == FRAME_RECORDS:
                db.execute(INSERT_FRAME, frame_row(part))
                part = []
        if not batch:
            break
    if part:
        db.execute(INSERT_FRAME, frame_row(part))
    return expected - 1
