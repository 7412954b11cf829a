"""Engine snapshots: one file per snapshot, written atomically, verified on load.

A snapshot is a cache of the journal, never an authority: it holds the engine's
`snapshot()` bytes after command `seq`, the `state_hash()` at that point and
the CRC of journal row `seq` (its anchor, which ties the snapshot to this
journal). Recovery loads the newest snapshot that verifies and replays the
journal after it; a snapshot that does not verify is skipped (and logged),
because the journal can always rebuild the state without it.

File layout (`snapshot-<seq:012d>.snap`)::

    MAGIC(8) | header: seq u64, anchor_crc u32, body_len u64, body_crc u32,
             hash_len u16 | state_hash (ASCII, hash_len bytes) | body

Atomicity: the file is written under a temporary name, fsynced, renamed into
place and the directory fsynced, so a crash leaves either the whole snapshot
or none of it (stray temporary files are removed when the store opens).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import struct
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from engine.journal.errors import JournalCorrupt

log = logging.getLogger(__name__)

MAGIC = b"PXSNAP1\n"
_HEADER = struct.Struct("<QIQIH")
_PREFIX = "snapshot-"
_SUFFIX = ".snap"
_TMP_PREFIX = ".tmp-snapshot-"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Engine state after command `seq`: `body` is Engine.snapshot() bytes,
    `state_hash` its Engine.state_hash(), `anchor_crc` the CRC of journal row seq."""

    seq: int
    state_hash: str
    anchor_crc: int
    body: bytes


class SnapshotStore:
    """A directory of snapshots; keeps the newest `keep` of them."""

    def __init__(self, directory: str | os.PathLike[str], *, keep: int = 3) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1 snapshot")
        self.directory = os.fspath(directory)
        self.keep = keep
        os.makedirs(self.directory, exist_ok=True)
        for name in os.listdir(self.directory):
            if name.startswith(_TMP_PREFIX):
                os.unlink(os.path.join(self.directory, name))  # a crash mid-write

    def _path(self, seq: int) -> str:
        return os.path.join(self.directory, f"{_PREFIX}{seq:012d}{_SUFFIX}")

    def seqs(self) -> list[int]:
        """Sequence numbers of the stored snapshots, newest first."""
        found = []
        for name in os.listdir(self.directory):
            if name.startswith(_PREFIX) and name.endswith(_SUFFIX):
                digits = name[len(_PREFIX) : -len(_SUFFIX)]
                if digits.isdigit():
                    found.append(int(digits))
        return sorted(found, reverse=True)

    def save(self, snapshot: Snapshot) -> str:
        """Write one snapshot atomically (temp + fsync + rename + dir fsync); prune old ones."""
        hash_raw = snapshot.state_hash.encode("ascii")
        header = _HEADER.pack(
            snapshot.seq,
            snapshot.anchor_crc,
            len(snapshot.body),
            zlib.crc32(snapshot.body, zlib.crc32(hash_raw)),
            len(hash_raw),
        )
        final = self._path(snapshot.seq)
        tmp = os.path.join(self.directory, f"{_TMP_PREFIX}{snapshot.seq:012d}-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + header + hash_raw)
                fh.write(snapshot.body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._fsync_dir()
        self._prune()
        return final

    def load(self, seq: int) -> Snapshot:
        """Read and verify the snapshot of `seq`; JournalCorrupt if it does not verify."""
        path = self._path(seq)
        with open(path, "rb") as fh:
            raw = fh.read()
        head_end = len(MAGIC) + _HEADER.size
        if raw[: len(MAGIC)] != MAGIC or len(raw) < head_end:
            raise JournalCorrupt(f"{path}: not a perpx snapshot (bad magic or short header)")
        file_seq, anchor, body_len, crc, hash_len = _HEADER.unpack_from(raw, len(MAGIC))
        hash_raw = raw[head_end : head_end + hash_len]
        body = raw[head_end + hash_len :]
        if file_seq != seq or len(body) != body_len or len(hash_raw) != hash_len:
            raise JournalCorrupt(f"{path}: truncated or mislabelled snapshot")
        if zlib.crc32(body, zlib.crc32(hash_raw)) != crc:
            raise JournalCorrupt(f"{path}: snapshot fails its CRC")
        return Snapshot(seq, hash_raw.decode("ascii"), anchor, body)

    def iter_valid(self) -> Iterator[Snapshot]:
        """Snapshots that pass their own checks, newest first; corrupt ones are logged, skipped."""
        for seq in self.seqs():
            try:
                yield self.load(seq)
            except (JournalCorrupt, OSError) as exc:
                log.warning("skipping snapshot %d: %s", seq, exc)

    def _prune(self) -> None:
        for seq in self.seqs()[self.keep :]:
            try:
                os.unlink(self._path(seq))
            except FileNotFoundError:
                pass

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Snapshotable(Protocol):
    def state_hash(self) -> str: ...

    def snapshot(self) -> bytes: ...


def can_fork() -> bool:
    """Whether `save_in_child` can run here (POSIX fork)."""
    return hasattr(os, "fork")


def save_in_child(store: SnapshotStore, engine: Snapshotable, seq: int, anchor_crc: int) -> int:
    """Fork; the child takes the snapshot of `engine` as of now (its copy-on-write view of
    the parent's memory, so the parent may apply the next command at once), saves it in
    `store` and exits 0, or 1 after printing why to stderr. Returns the child's pid: the
    caller reaps it (os.waitpid). Like Redis's BGSAVE: the parent pauses only for fork().

    The child runs only this function: no lock another thread of the parent may have held
    at the fork (logging, SQLite, the event loop) is touched, and it leaves by os._exit,
    so no atexit hook, buffered file or finalizer of the parent runs twice."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _detach_signals()
        gc.disable()  # a collection would only dirty copy-on-write pages
        store.save(Snapshot(seq, engine.state_hash(), anchor_crc, engine.snapshot()))
        code = 0
    except BaseException:  # noqa: BLE001 - report anything, exit non-zero
        try:  # os.write, not sys.stderr: a parent thread may have held its lock at the fork
            os.write(2, (f"snapshot at seq {seq} failed in its child process:\n"
                         f"{traceback.format_exc()}").encode(errors="replace"))
        except BaseException:  # noqa: BLE001, S110 - nothing else to tell it with
            pass
    finally:
        os._exit(code)


def _detach_signals() -> None:
    """In the child: Ctrl-C or a TERM sent to the process group ends it at once, without
    running the parent's Python handlers, which would write to the parent's wake-up fd
    (the event loop's) as if the parent had been signalled twice."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread: nothing was installed from here
        pass
