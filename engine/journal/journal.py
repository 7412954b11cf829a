"""The append-only command journal: SQLite in WAL mode, one row per command.

The journal is the authority; the engine's state is a projection of it.

Durability. The database runs `journal_mode=WAL` with `synchronous=FULL`: every
COMMIT appends the transaction's frames to the WAL and fsyncs it before it
returns, so a committed command survives a process kill *and* a power loss.
(NORMAL would skip that fsync and survive only a process kill; an exchange
acknowledges orders to users, so acknowledged must mean on disk.) The cost of
the fsync is paid once per transaction, not per command: callers batch
commands (`append_batch`), and `engine.sequencer.Sequencer` groups whatever
arrived while the previous commit was in flight into the next transaction.

Torn writes. A process or machine dying mid-commit leaves a partial WAL
transaction; SQLite's WAL frames carry checksums and a commit marker, and on
open SQLite discards any transaction whose frames are incomplete. Such a
transaction was never acknowledged (acknowledgement follows COMMIT), so losing
it is correct. Every row that SQLite does show us is therefore part of a
committed, possibly acknowledged transaction, and each carries its own CRC-32
over (seq, ts_ms, payload). A row that fails its CRC, or a gap in the
sequence, is corruption of acknowledged data: the journal refuses loudly
(`JournalCorrupt`) and never truncates. On open it checks the sequence is
contiguous and verifies the CRC of the last `verify_tail` rows (all rows with
`verify_tail=None`); `iter_from` verifies every row it yields, so a replay
never applies an unverified command.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import struct
import threading
import urllib.parse
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

from engine.journal.errors import JournalClosed, JournalCorrupt, JournalLocked

JOURNAL_FORMAT = "1"
_CRC_HEADER = struct.Struct("<Qq")  # seq u64, ts_ms i64
_PAGE = 4096  # rows per read query
# 16 KiB pages and a 64 MiB WAL between checkpoints: measured ~2x fewer microseconds per
# appended row than the defaults (4 KiB, 1,000 pages), since checkpoints copy less often.
_PAGE_SIZE = 16384
_CHECKPOINT_PAGES = 4096

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS journal ("
    " seq INTEGER PRIMARY KEY,"  # 1, 2, 3, ... with no gaps
    " ts_ms INTEGER NOT NULL,"  # the command's own timestamp, ms
    " payload BLOB NOT NULL,"  # codec record
    " crc INTEGER NOT NULL)",  # CRC-32 of (seq, ts_ms, payload)
)


# Rows go in through multi-row INSERTs of a power-of-two size (at most _MULTI rows,
# statements cached by the connection): each is one sqlite3_step, during which SQLite
# runs without the GIL. `executemany` would take the GIL back after every row, and a
# thread applying commands meanwhile would make each of those waits last up to the
# interpreter's switch interval (5 ms).
_MULTI = 1024
_INSERT = {
    1 << k: "INSERT INTO journal (seq, ts_ms, payload, crc) VALUES "
    + ",".join(["(?,?,?,?)"] * (1 << k))
    for k in range(_MULTI.bit_length())
}


def _insert_rows(db: sqlite3.Connection, rows: list[tuple[int, int, bytes, int]]) -> None:
    """INSERT every (seq, ts_ms, payload, crc) row, in order, in a few statements."""
    done, total = 0, len(rows)
    while done < total:
        left = total - done
        n = _MULTI if left >= _MULTI else 1 << (left.bit_length() - 1)
        db.execute(_INSERT[n], list(chain.from_iterable(rows[done : done + n])))
        done += n


def _take_writer_lock(path: str) -> int:
    """Exclusive, non-blocking flock on `<path>.lock`; the fd holds it until closed."""
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise JournalLocked(
            f"{path} is already open for writing by process {holder}; stop it first "
            "(one sequencer per journal), or open with readonly=True"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def record_crc(seq: int, ts_ms: int, payload: bytes) -> int:
    """CRC-32 of one row: binds the payload to its sequence number and timestamp."""
    return zlib.crc32(payload, zlib.crc32(_CRC_HEADER.pack(seq, ts_ms)))


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One verified journal row. ts_ms in milliseconds; payload a codec record."""

    seq: int
    ts_ms: int
    payload: bytes


class Journal:
    """An append-only, CRC-checked command log in one SQLite file.

    Thread-safe: one connection guarded by a lock. Sequence numbers start at 1
    and are assigned by the caller (the sequencer); `append_batch` refuses any
    that is not exactly the next one. One writer per file, across processes: the
    writer holds an exclusive flock on `<path>.lock` (released by the kernel even
    on SIGKILL), so a second engine on the same journal fails to open instead of
    forking history. `readonly=True` opens for readers (auditors, tools) without
    the lock; their `last_seq()` follows the writer's commits.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        verify_tail: int | None = 1024,
        readonly: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.readonly = readonly
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        try:
            if readonly:
                uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                self._lock_fd = _take_writer_lock(self.path)
                self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._configure()
            self._last_seq = self._check_sequence()
            self.verify(max(1, self._last_seq - verify_tail + 1) if verify_tail else 1)
        except BaseException:
            self.close()
            raise

    # -- opening ----------------------------------------------------------------

    def _configure(self) -> None:
        db = self._conn()
        db.execute(f"PRAGMA page_size={_PAGE_SIZE}")  # only takes effect on a new file
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise JournalCorrupt(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        for statement in _SCHEMA:
            db.execute(statement)
        row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (JOURNAL_FORMAT,))
        elif row[0] != JOURNAL_FORMAT:
            raise JournalCorrupt(
                f"{self.path}: journal format {row[0]!r}, this build reads {JOURNAL_FORMAT!r}"
            )

    def _check_sequence(self) -> int:
        lo, hi, count = self._conn().execute(
            "SELECT min(seq), max(seq), count(*) FROM journal"
        ).fetchone()
        if count == 0:
            return 0
        if lo != 1 or hi != count:
            raise JournalCorrupt(
                f"{self.path}: journal holds {count} rows over seq {lo}..{hi}; "
                "expected 1..N with no gaps. Restore the journal from a verified copy."
            )
        return hi

    # -- properties -------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalClosed(f"journal {self.path} is closed")
        return self._db

    def last_seq(self) -> int:
        """Sequence number of the last committed command (0 when empty)."""
        if self.readonly:
            with self._lock:
                self._last_seq = self._conn().execute("SELECT max(seq) FROM journal").fetchone()[0] or 0
        return self._last_seq

    def pragma(self, name: str) -> str | int:
        """Read one SQLite pragma (for tests and diagnostics), e.g. 'journal_mode'."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._lock:
            return self._conn().execute(f"PRAGMA {name}").fetchone()[0]

    # -- writing ----------------------------------------------------------------

    def append_batch(self, records: Sequence[tuple[int, int, bytes]]) -> int:
        """Durably append (seq, ts_ms, payload) rows in ONE transaction; return the last seq.

        Returns only after COMMIT (and its fsync). Seqs must continue the journal
        exactly: the first is last_seq() + 1 and each is one more than the previous.
        On any failure the transaction rolls back and nothing of the batch is kept.
        """
        if self.readonly:
            raise JournalClosed(f"journal {self.path} is open read-only")
        if not records:
            return self._last_seq
        first = self._last_seq + 1
        seqs = [record[0] for record in records]
        if seqs != list(range(first, first + len(seqs))):
            bad = next(i for i, seq in enumerate(seqs) if seq != first + i)
            raise JournalCorrupt(
                f"append of seq {seqs[bad]}, expected {first + bad}: seqs must be contiguous"
            )
        crc, pack = zlib.crc32, _CRC_HEADER.pack
        rows = [(seq, ts, p, crc(p, crc(pack(seq, ts)))) for seq, ts, p in records]
        expected = first + len(rows)
        with self._lock:
            db = self._conn()
            if self._last_seq + 1 != records[0][0]:
                raise JournalCorrupt(f"append of seq {records[0][0]} raced another writer")
            db.execute("BEGIN IMMEDIATE")
            try:
                _insert_rows(db, rows)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            self._last_seq = expected - 1
        return self._last_seq

    def append(self, seq: int, ts_ms: int, payload: bytes) -> int:
        """Durably append one row in its own transaction (one fsync). Prefer append_batch."""
        return self.append_batch([(seq, ts_ms, payload)])

    # -- reading ----------------------------------------------------------------

    def iter_from(self, seq: int = 1, *, until: int | None = None) -> Iterator[JournalRecord]:
        """Yield verified records with seq >= `seq` (and <= `until`), in order.

        Raises JournalCorrupt at the first row that fails its CRC or breaks the
        sequence; rows before it have already been yielded.
        """
        expected = max(seq, 1)
        last_seq = self.last_seq()
        last = last_seq if until is None else min(until, last_seq)
        while expected <= last:
            with self._lock:
                rows = self._conn().execute(
                    "SELECT seq, ts_ms, payload, crc FROM journal WHERE seq >= ? AND seq <= ?"
                    " ORDER BY seq LIMIT ?",
                    (expected, last, _PAGE),
                ).fetchall()
            if not rows:
                raise JournalCorrupt(f"{self.path}: seq {expected} is missing (last is {last})")
            for row_seq, ts_ms, payload, crc in rows:
                if row_seq != expected:
                    raise JournalCorrupt(f"{self.path}: seq {expected} is missing (found {row_seq})")
                if record_crc(row_seq, ts_ms, payload) != crc:
                    raise JournalCorrupt(
                        f"{self.path}: record seq {row_seq} fails its CRC; the journal is corrupt. "
                        "Restore it from a verified copy; do not truncate acknowledged commands."
                    )
                yield JournalRecord(row_seq, ts_ms, bytes(payload))
                expected += 1

    def read(self, seq: int) -> JournalRecord:
        """The verified record at `seq`; KeyError if it is past the end."""
        for record in self.iter_from(seq, until=seq):
            return record
        raise KeyError(f"journal has no seq {seq} (last is {self._last_seq})")

    def verify(self, first: int = 1) -> int:
        """Verify CRC and contiguity of every row from `first`; return how many were checked."""
        count = 0
        for _ in self.iter_from(first):
            count += 1
        return count

    # -- lifecycle ---------------------------------------------------------------

    def range_digest(self, first_seq: int, last_seq: int) -> bytes:
        """32-byte SHA-256 over the verified records first_seq..last_seq (each as
        seq u64 | ts_ms i64 | len u32 | payload): the `journal_digest` a settlement
        batch carries, recomputable by anyone holding the journal."""
        if not 1 <= first_seq <= last_seq <= self.last_seq():
            raise ValueError(f"seq range {first_seq}..{last_seq} is outside 1..{self.last_seq()}")
        digest = hashlib.sha256(b"perpx-journal-v1")
        for record in self.iter_from(first_seq, until=last_seq):
            digest.update(_CRC_HEADER.pack(record.seq, record.ts_ms))
            digest.update(len(record.payload).to_bytes(4, "little"))
            digest.update(record.payload)
        return digest.digest()

    def close(self) -> None:
        """Close the database and release the writer lock (idempotent). Committed rows
        are already durable."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
