"""The append-only command journal: SQLite in WAL mode, one row per commit.

The journal is the authority; the engine's state is a projection of it.

Durability. The database runs `journal_mode=WAL` with `synchronous=FULL`: every
COMMIT appends the transaction's frames to the WAL and fsyncs it before it
returns, so a committed command survives a process kill *and* a power loss.
(NORMAL would skip that fsync and survive only a process kill; an exchange
acknowledges orders to users, so acknowledged must mean on disk.) The cost of
the fsync is paid once per transaction, not per command: callers batch
commands (`append_batch`), and `engine.sequencer.Sequencer` groups whatever
arrived while the previous commit was in flight into the next transaction.

Layout (format 2). A group commit is stored as one row of the `frames` table, or a
few when it holds more than `FRAME_RECORDS` commands: the row's key is its first seq,
it names its last, and its body is the commands in order, each framed as
`ts_ms i64 | length u32 | payload` (little-endian). The CRC-32 of a row covers
(first_seq u64, last_seq u64, body). One row per commit instead of one per command
takes the per-command SQLite parameter binding and CRC off the interpreter: the
writer thread holds the GIL for a `join` and one bind, and SQLite and zlib release
it while they write, fsync and checksum (journal_cmds_per_s, tests/bench).

Torn writes. A process or machine dying mid-commit leaves a partial WAL
transaction; SQLite's WAL frames carry checksums and a commit marker, and on
open SQLite discards any transaction whose frames are incomplete. Such a
transaction was never acknowledged (acknowledgement follows COMMIT), so losing
it is correct. Every row that SQLite does show us is therefore part of a
committed, possibly acknowledged transaction. A row that fails its CRC or whose
body does not parse, or a gap or an overlap in the sequence, is corruption of
acknowledged data: the journal refuses loudly (`JournalCorrupt`) and never
truncates. On open it checks the rows tile 1..N and verifies the rows holding the
last `verify_tail` commands (all with `verify_tail=None`); `iter_from` verifies
every row before it yields a command of it, so a replay never applies an
unverified command.
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
from typing import NamedTuple

from engine.journal.errors import JournalClosed, JournalCorrupt, JournalLocked

JOURNAL_FORMAT = "2"
FORMAT_1 = "1"  # one row per command: engine/journal/upgrade.py rewrites it as format 2
FRAME_RECORDS = 8192  # commands per row at most: a read of one seq parses one row
_CRC_HEADER = struct.Struct("<Qq")  # seq u64, ts_ms i64 (record_crc: snapshot anchors)
_FRAME_HEADER = struct.Struct("<QQ")  # first_seq u64, last_seq u64
_RECORD = struct.Struct("<qI")  # ts_ms i64, payload length u32
_PAGE = 16  # rows per read query
# 16 KiB pages and a 64 MiB WAL between checkpoints: measured ~2x fewer microseconds per
# appended command than the defaults (4 KiB, 1,000 pages), since checkpoints copy less.
_PAGE_SIZE = 16384
_CHECKPOINT_PAGES = 4096

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS frames ("
    " first_seq INTEGER PRIMARY KEY,"  # the rows tile 1, 2, 3, ... with no gaps
    " last_seq INTEGER NOT NULL,"
    " body BLOB NOT NULL,"  # per command: ts_ms i64 | length u32 | codec record
    " crc INTEGER NOT NULL)",  # CRC-32 of (first_seq, last_seq, body)
)
INSERT_FRAME = "INSERT INTO frames (first_seq, last_seq, body, crc) VALUES (?,?,?,?)"
# the rows whose first seq does not follow the previous row's last (or that end
# before they start): none in a sound journal
_BROKEN_TILES = (
    "SELECT count(*) FROM (SELECT first_seq, last_seq,"
    " lag(last_seq, 1, 0) OVER (ORDER BY first_seq) AS prev FROM frames)"
    " WHERE first_seq != prev + 1 OR last_seq < first_seq"
)


def frame_body(records: Sequence[tuple[int, int, bytes]]) -> bytes:
    """The body of one row: every (seq, ts_ms, payload) as ts_ms | length | payload."""
    pack = _RECORD.pack
    return b"".join([pack(ts, len(payload)) + payload for _, ts, payload in records])


def frame_row(records: Sequence[tuple[int, int, bytes]]) -> tuple[int, int, bytes, int]:
    """The (first_seq, last_seq, body, crc) row of consecutive (seq, ts_ms, payload)
    commands, for INSERT_FRAME."""
    first, last = records[0][0], records[-1][0]
    body = frame_body(records)
    return first, last, body, frame_crc(first, last, body)


def frame_crc(first_seq: int, last_seq: int, body: bytes) -> int:
    """CRC-32 of one row: binds its body to the seqs it holds."""
    return zlib.crc32(body, zlib.crc32(_FRAME_HEADER.pack(first_seq, last_seq)))


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
    """CRC-32 of one command: binds the payload to its sequence number and timestamp
    (a snapshot's anchor: the command it was taken after)."""
    return zlib.crc32(payload, zlib.crc32(_CRC_HEADER.pack(seq, ts_ms)))


class JournalRecord(NamedTuple):
    """One verified journal command. ts_ms in milliseconds; payload a codec record.
    (A named tuple: a replay builds one per command, at a quarter of the cost of a
    frozen dataclass.)"""

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
                self._check_format()
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
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            self._check_format()  # before anything is changed in a file of another format
        elif tables:
            raise JournalCorrupt(f"{self.path}: not a perpx journal (tables {sorted(tables)})")
        db.execute(f"PRAGMA page_size={_PAGE_SIZE}")  # only takes effect on a new file
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise JournalCorrupt(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        for statement in _SCHEMA:
            db.execute(statement)
        if "meta" not in tables:
            db.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (JOURNAL_FORMAT,))

    def _check_format(self) -> None:
        try:
            row = self._conn().execute("SELECT value FROM meta WHERE key='format'").fetchone()
        except sqlite3.OperationalError as exc:  # no meta table: not a journal
            raise JournalCorrupt(f"{self.path}: not a perpx journal ({exc})") from None
        if row is not None and row[0] == FORMAT_1:
            raise JournalCorrupt(
                f"{self.path}: journal format {FORMAT_1!r}, this build reads {JOURNAL_FORMAT!r}; "
                f"upgrade it in place first: perpx journal-upgrade {self.path}"
            )
        if row is None or row[0] != JOURNAL_FORMAT:
            raise JournalCorrupt(
                f"{self.path}: journal format {row[0] if row else None!r}, this build reads "
                f"{JOURNAL_FORMAT!r}"
            )

    def _check_sequence(self) -> int:
        db = self._conn()
        lo, hi, rows, count = db.execute(
            "SELECT min(first_seq), max(last_seq), count(*), total(last_seq - first_seq + 1)"
            " FROM frames"
        ).fetchone()
        if rows == 0:
            return 0
        if lo != 1 or hi != count or db.execute(_BROKEN_TILES).fetchone()[0]:
            raise JournalCorrupt(
                f"{self.path}: journal holds {int(count)} commands in {rows} rows over seq "
                f"{lo}..{hi}; expected 1..N with no gaps or overlaps. Restore the journal "
                "from a verified copy."
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
                row = self._conn().execute(
                    "SELECT last_seq FROM frames ORDER BY first_seq DESC LIMIT 1").fetchone()
                self._last_seq = row[0] if row else 0
        return self._last_seq

    def pragma(self, name: str) -> str | int:
        """Read one SQLite pragma (for tests and diagnostics), e.g. 'journal_mode'."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._lock:
            return self._conn().execute(f"PRAGMA {name}").fetchone()[0]

    # -- writing ----------------------------------------------------------------

    def append_batch(self, records: Sequence[tuple[int, int, bytes]]) -> int:
        """Durably append (seq, ts_ms, payload) commands in ONE transaction; return the
        last seq.

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
        rows = [frame_row(records[start : start + FRAME_RECORDS])
                for start in range(0, len(records), FRAME_RECORDS)]
        with self._lock:
            db = self._conn()
            if self._last_seq + 1 != first:
                raise JournalCorrupt(f"append of seq {first} raced another writer")
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(INSERT_FRAME, rows)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            self._last_seq = first + len(records) - 1
        return self._last_seq

    def append(self, seq: int, ts_ms: int, payload: bytes) -> int:
        """Durably append one command in its own transaction (one fsync). Prefer
        append_batch."""
        return self.append_batch([(seq, ts_ms, payload)])

    # -- reading ----------------------------------------------------------------

    def iter_from(self, seq: int = 1, *, until: int | None = None) -> Iterator[JournalRecord]:
        """Yield verified records with seq >= `seq` (and <= `until`), in order.

        Raises JournalCorrupt at the first row that fails its CRC, does not parse or
        breaks the sequence; the commands of the rows before it have been yielded.
        """
        expected = max(seq, 1)
        last_seq = self.last_seq()
        last = last_seq if until is None else min(until, last_seq)
        if expected > last:
            return
        with self._lock:
            row = self._conn().execute(
                "SELECT max(first_seq) FROM frames WHERE first_seq <= ?", (expected,)
            ).fetchone()
        start = row[0] or expected  # the first seq of the row holding `expected`
        while start <= last:
            with self._lock:
                rows = self._conn().execute(
                    "SELECT first_seq, last_seq, body, crc FROM frames"
                    " WHERE first_seq >= ? AND first_seq <= ? ORDER BY first_seq LIMIT ?",
                    (start, last, _PAGE),
                ).fetchall()
            for first, row_last, body, crc in rows:
                if first != start or row_last < max(first, expected):
                    raise JournalCorrupt(
                        f"{self.path}: seq {max(start, expected)} is missing (the next row "
                        f"holds {first}..{row_last}, last is {last})"
                    )
                records = self._records(first, row_last, body, crc)
                if expected > first or last < row_last:  # the ends of the range
                    records = records[expected - first : last - first + 1]
                yield from records
                expected = start = row_last + 1
                if start > last:
                    return
            if not rows:
                raise JournalCorrupt(f"{self.path}: seq {start} is missing (last is {last})")

    def _records(self, first: int, last: int, body: bytes, crc: int) -> list[JournalRecord]:
        """The commands of one row, after its CRC; JournalCorrupt if it fails or the body
        does not hold exactly last - first + 1 framed commands."""
        if frame_crc(first, last, body) != crc:
            raise JournalCorrupt(
                f"{self.path}: the row of seqs {first}..{last} fails its CRC; the journal is "
                "corrupt. Restore it from a verified copy; do not truncate acknowledged "
                "commands."
            )
        out: list[JournalRecord] = []
        append, new = out.append, tuple.__new__  # new: JournalRecord(...) minus a frame
        pos, end, unpack, size = 0, len(body), _RECORD.unpack_from, _RECORD.size
        try:
            for seq in range(first, last + 1):
                ts_ms, length = unpack(body, pos)
                pos += size
                if pos + length > end:
                    raise struct.error("payload runs past the end")
                append(new(JournalRecord, (seq, ts_ms, body[pos : pos + length])))
                pos += length
        except struct.error as exc:
            raise JournalCorrupt(
                f"{self.path}: the row of seqs {first}..{last} is malformed at seq {seq}: {exc}"
            ) from None
        if pos != len(body):
            raise JournalCorrupt(
                f"{self.path}: the row of seqs {first}..{last} has {len(body) - pos} bytes "
                "after its last command"
            )
        return out

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
