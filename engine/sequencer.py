"""The sequencer: the only way commands reach the core.

Each command gets the next sequence number, is journaled durably, and only
then applied to the engine; its caller is answered (acknowledged) only after
the transaction holding it has committed. Journal order, apply order and
sequence order are the same.

Group commit with a pipeline. Callers encode their commands and queue them as
groups (at most `max_batch` commands each). One writer thread takes every
group that arrived while its previous commit was in flight, up to `max_batch`
rows, and commits them in one transaction (one fsync). Committed groups are
applied to the engine, in sequence order, by one waiting caller that the
writer wakes for it (the others sleep until their own group is done), while
the writer is already committing the next transaction: SQLite releases the
GIL while it writes and fsyncs. A caller applies up to its own last group and
then hands over, so a bulk feed using `submit_async` with one batch in flight
(submit k + 1, then wait for k) keeps the writer busy while it applies.

Crash-only: if a commit or an apply fails, the sequencer halts
(`SequencerHalted` for every later call), because the engine may no longer be
a projection of the journal. The process restarts and recovers from the
journal. Commands already committed before the failure are still applied
and answered.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from engine.journal.codec import Codec, default_codec
from engine.journal.errors import SequencerHalted
from engine.journal.journal import Journal, record_crc
from engine.journal.replay import EngineFactory, Replayable, recover
from engine.journal.snapshots import Snapshot, SnapshotStore, can_fork, save_in_child

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Group:
    """Consecutive commands of one caller: queued, committed together, applied in order."""

    __slots__ = ("first_seq", "cmds", "ts", "payloads", "waiter", "events", "error", "done")

    def __init__(
        self, cmds: tuple[Any, ...], ts: list[int], payloads: list[bytes], waiter: threading.Event,
        keep_events: bool = True,
    ) -> None:
        self.first_seq = 0
        self.waiter = waiter  # its caller's wake-up: set when done, or when it should apply
        self.cmds = cmds
        self.ts = ts
        self.payloads = payloads
        # per command, the events it caused; None: the caller does not want them back
        self.events: list[list[Any]] | None = [] if keep_events else None
        self.error: BaseException | None = None
        self.done = False

    def rows(self) -> list[tuple[int, int, bytes]]:
        seqs = range(self.first_seq, self.first_seq + len(self.cmds))
        return list(zip(seqs, self.ts, self.payloads))


class Ticket:
    """Commands handed to `Sequencer.submit_async`; `result()` waits for them."""

    __slots__ = ("_sequencer", "_groups", "_results")

    def __init__(self, sequencer: Sequencer, groups: list[_Group]) -> None:
        self._sequencer = sequencer
        self._groups = groups
        self._results: list[tuple[int, list[Any]]] | None = None

    @property
    def last_seq(self) -> int:
        """The seq of the ticket's last command (0 for an empty ticket)."""
        if not self._groups:
            return 0
        last = self._groups[-1]
        return last.first_seq + len(last.cmds) - 1

    def result(self) -> list[tuple[int, list[Any]]]:
        """(seq, events) per command, once every one is committed and applied ([] when
        submitted with events=False); raises SequencerHalted if the sequencer halted
        before applying them."""
        if self._results is None:
            groups = self._groups
            if groups:
                self._sequencer._apply_until(groups[-1])  # noqa: SLF001 - same module
            results: list[tuple[int, list[Any]]] = []
            for group in groups:
                if group.error is not None:
                    raise SequencerHalted(
                        f"seqs {group.first_seq}.. were not applied: {group.error!r}"
                    ) from group.error
                if group.events is not None:
                    results.extend(zip(range(group.first_seq,
                                             group.first_seq + len(group.cmds)), group.events))
            self._results = results
        return self._results


class Sequencer:
    """Journal-then-apply front of an engine. Thread-safe; `close()` when done.

    `engine` must already reflect every command in `journal` (a fresh engine on an
    empty journal, or the result of `recover`); `Sequencer.open` gives both.
    With a `snapshots` store, a snapshot is taken after every command whose seq is a
    multiple of `snapshot_every`:

    - fork_snapshots (default where os.fork exists): a child process takes and writes
      it from its copy-on-write view, and the applying thread pauses only for fork()
      (tens of ms for a large state, against seconds to pickle it: `make bench`);
      otherwise the bytes are taken on the applying thread and written by a thread;
    - skip_busy_snapshots: a snapshot due while the previous one is still being
      written is skipped (counted in `snapshots_skipped`) instead of waited for, so
      the applying thread never waits for the disk. Snapshots are a cache of the
      journal: any one that was written is as good as another. Servers set it; the
      default (wait) gives every multiple its snapshot.
    """

    def __init__(
        self,
        engine: Replayable,
        journal: Journal,
        *,
        codec: Codec | None = None,
        snapshots: SnapshotStore | None = None,
        snapshot_every: int = 10_000,
        max_batch: int = 8192,
        fork_snapshots: bool | None = None,
        skip_busy_snapshots: bool = False,
    ) -> None:
        if snapshot_every < 1 or max_batch < 1:
            raise ValueError("snapshot_every and max_batch must be positive")
        self.engine = engine
        self.journal = journal
        self.codec = codec or default_codec()
        self.snapshots = snapshots
        self.snapshot_every = snapshot_every
        self.max_batch = max_batch
        self.fork_snapshots = can_fork() if fork_snapshots is None else fork_snapshots
        if self.fork_snapshots and not can_fork():
            raise ValueError("fork_snapshots: this platform has no os.fork")
        self.skip_busy_snapshots = skip_busy_snapshots
        self.snapshots_skipped = 0
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)  # the writer waits here
        self._idle = threading.Condition(self._lock)  # query() and close() wait for the applier
        self._pending: deque[_Group] = deque()  # queued, not yet taken by the writer
        self._committed: deque[_Group] = deque()  # durable, not yet applied
        self._applying = False
        self._closed = False
        self._next_seq = journal.last_seq() + 1
        self._applied_seq = journal.last_seq()
        self._halted: BaseException | None = None
        self._listeners: list[Callable[[int, Any, list[Any]], None]] = []
        self._saver: threading.Thread | None = None
        self._writer = threading.Thread(target=self._write_loop, name="journal-writer", daemon=True)
        self._writer.start()

    @classmethod
    def open(
        cls,
        journal: Journal,
        snapshots: SnapshotStore | None,
        engine_factory: EngineFactory | None = None,
        **kwargs: Any,
    ) -> Sequencer:
        """Recover the engine (newest valid snapshot + journal) and sequence after it."""
        codec = kwargs.pop("codec", None) or default_codec()
        engine, _ = recover(journal, snapshots, engine_factory, codec=codec)
        return cls(engine, journal, codec=codec, snapshots=snapshots, **kwargs)

    @property
    def last_seq(self) -> int:
        """Seq of the last command committed and applied."""
        return self._applied_seq

    @property
    def halted(self) -> BaseException | None:
        """The failure that halted the sequencer, or None while it runs."""
        return self._halted

    def subscribe(self, listener: Callable[[int, Any, list[Any]], None]) -> None:
        """Call `listener(seq, cmd, events)` after each command is applied, in seq order,
        on the applying thread (the batcher and the API feed use this). A listener that
        raises halts the sequencer like a failed apply: keep listeners small."""
        self._listeners.append(listener)

    def query(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(engine)` while no command is being applied: a consistent read of the
        engine's state as of `last_seq` (the API's queries go through here)."""
        with self._lock:
            while self._applying:
                self._idle.wait()
            self._applying = True
        try:
            return fn(self.engine)
        finally:
            with self._lock:
                self._applying = False
                self._idle.notify_all()
                if self._committed:  # the writer did not wake an applier while we read
                    self._committed[0].waiter.set()

    # -- submitting -------------------------------------------------------------

    def submit(self, cmd: Any) -> tuple[int, list[Any]]:
        """Journal `cmd` durably, apply it, return (seq, events). Blocks until committed."""
        return self.submit_many((cmd,))[0]

    def submit_many(self, cmds: Iterable[Any]) -> list[tuple[int, list[Any]]]:
        """Journal and apply `cmds` under consecutive seqs, in transactions of at most
        `max_batch` commands; return (seq, events) per command once all are committed
        and applied. Every command is encoded first: one that cannot be encoded
        rejects the whole call before any of it is sequenced."""
        return self.submit_async(cmds).result()

    def submit_async(self, cmds: Iterable[Any], *, events: bool = True) -> Ticket:
        """Sequence `cmds` (as `submit_many`) and return at once, before they are
        committed; `Ticket.result()` waits for them (applying committed commands on
        the calling thread) and returns (seq, events) per command.

        A caller with a stream of batches keeps one ticket in flight: submit batch
        k + 1, then take the result of batch k, so the writer thread commits k + 1
        (SQLite releases the GIL while it writes and fsyncs) while this thread
        applies k. Nothing is applied before its transaction has committed.

        events=False: a bulk feed that reads events through `subscribe` listeners (or
        not at all) does not get them back, so a batch's events are not all held
        until it finishes (they would outlive the young GC generations)."""
        cmds = tuple(cmds)
        encode = self.codec.encode
        payloads = [encode(cmd) for cmd in cmds]
        ts = [cmd.ts_ms for cmd in cmds]
        waiter = threading.Event()
        step = self.max_batch
        groups = [
            _Group(cmds[i : i + step], ts[i : i + step], payloads[i : i + step], waiter, events)
            for i in range(0, len(cmds), step)
        ]
        if groups:
            self._enqueue(groups)
        return Ticket(self, groups)

    def _enqueue(self, groups: list[_Group]) -> None:
        with self._lock:
            self._raise_if_stopped()
            for group in groups:
                group.first_seq = self._next_seq
                self._next_seq += len(group.cmds)
            self._pending.extend(groups)
            self._has_work.notify()

    # -- the writer thread ---------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed and self._halted is None:
                    self._has_work.wait()
                if self._halted is not None or not self._pending:
                    return  # halted, or closed with nothing left to write
                batch = [self._pending.popleft()]
                rows = len(batch[0].cmds)
                while self._pending and rows + len(self._pending[0].cmds) <= self.max_batch:
                    rows += len(self._pending[0].cmds)
                    batch.append(self._pending.popleft())
            try:
                self.journal.append_batch([row for group in batch for row in group.rows()])
            except BaseException as exc:
                self._halt(exc, batch)
                return
            with self._lock:
                if self._halted is not None:  # an apply failed while this batch was in flight
                    self._halt_locked(self._halted, batch)
                    return
                self._committed.extend(batch)
                if not self._applying:  # wake one caller to apply; the others sleep on
                    self._committed[0].waiter.set()

    # -- applying ---------------------------------------------------------------

    def _apply_until(self, group: _Group) -> None:
        """Sleep until `group` is done, applying committed groups whenever woken to."""
        waiter = group.waiter
        while True:
            with self._lock:
                if group.done:
                    return
                if self._committed and not self._applying:
                    batch = self._take_committed(group)
                    self._applying = True
                else:
                    batch = None
                    waiter.clear()  # under the lock: a later set() is never lost
            if batch is None:
                waiter.wait()
            else:
                self._apply_batches(batch, group)

    def _take_committed(self, until: _Group | None) -> list[_Group]:
        """Pop committed groups, oldest first, up to and including `until` (all if None
        or if it is not committed yet). Called under the lock."""
        committed = self._committed
        if until is None:
            batch = list(committed)
            committed.clear()
            return batch
        batch = []
        while committed:
            batch.append(committed.popleft())
            if batch[-1] is until:
                break
        return batch

    def _apply_batches(self, batch: list[_Group], until: _Group | None = None) -> None:
        """Apply `batch`, then whatever committed meanwhile, in order, until `until` is
        done (None: until nothing is left); then stand down and wake the owner of the
        next committed group, if any. Stopping at `until` lets a pipelined caller
        (`submit_async`) queue its next batch while the writer commits the one after."""
        try:
            while True:
                for group in batch:
                    self._apply_group(group)
                    with self._lock:
                        group.done = True
                        group.waiter.set()
                with self._lock:
                    if not self._committed or (until is not None and until.done):
                        self._applying = False
                        self._idle.notify_all()
                        if self._committed:
                            self._committed[0].waiter.set()
                        return
                    batch = self._take_committed(until)
        except BaseException as exc:
            self._halt(exc, batch)
            raise SequencerHalted(f"apply failed, the sequencer halted: {exc!r}") from exc

    def _apply_group(self, group: _Group) -> None:
        apply = self.engine.apply
        events = group.events
        every = self.snapshot_every if self.snapshots is not None else 0
        seq = group.first_seq
        listeners = self._listeners
        for i, cmd in enumerate(group.cmds):
            out = apply(cmd)
            if events is not None:
                events.append(out)
            for listener in listeners:
                listener(seq, cmd, out)
            if every and seq % every == 0:
                self._snapshot(seq, group.ts[i], group.payloads[i])
            seq += 1
            self._applied_seq = seq - 1

    def _snapshot(self, seq: int, ts_ms: int, payload: bytes) -> None:
        """Snapshot the engine as of `seq`, between two applies: in a forked child, or
        its bytes taken here and written by a thread (see the class docstring). One is
        written at a time. A failed save is logged, not fatal: the journal alone can
        rebuild the state."""
        assert self.snapshots is not None
        if self._saver is not None and self._saver.is_alive() and self.skip_busy_snapshots:
            self.snapshots_skipped += 1
            log.info("snapshot at seq %d skipped: the previous one is still being written", seq)
            return
        self._join_snapshot_saver()
        anchor = record_crc(seq, ts_ms, payload)
        if self.fork_snapshots:
            pid = save_in_child(self.snapshots, self.engine, seq, anchor)
            self._saver = threading.Thread(target=self._reap_snapshot_child, args=(pid, seq),
                                           name="snapshot-child", daemon=True)
        else:
            snap = Snapshot(seq, self.engine.state_hash(), anchor, self.engine.snapshot())
            self._saver = threading.Thread(target=self._save_snapshot, args=(snap,),
                                           name="snapshot-saver", daemon=True)
        self._saver.start()

    def _reap_snapshot_child(self, pid: int, seq: int) -> None:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            log.error("snapshot at seq %d failed in child %d (exit %d), continuing on the "
                      "journal; its error is on stderr", seq, pid, code)

    def _save_snapshot(self, snap: Snapshot) -> None:
        assert self.snapshots is not None
        try:
            self.snapshots.save(snap)
        except OSError as exc:
            log.error("snapshot at seq %d failed, continuing on the journal: %s", snap.seq, exc)

    def _join_snapshot_saver(self) -> None:
        if self._saver is not None:
            self._saver.join()
            self._saver = None

    # -- stopping -------------------------------------------------------------------

    def _halt(self, exc: BaseException, groups: list[_Group]) -> None:
        """Stop for good: fail every group not yet done and wake every waiter."""
        with self._lock:
            self._halt_locked(exc, groups)

    def _halt_locked(self, exc: BaseException, groups: list[_Group]) -> None:
        """`_halt` with the lock held (the lock is not reentrant)."""
        if self._halted is None:
            self._halted = exc
            log.critical("sequencer halted: %r", exc)
        for group in (*groups, *self._pending, *self._committed):
            if not group.done:
                group.error = exc
                group.done = True
                group.waiter.set()
        self._pending.clear()
        self._committed.clear()
        self._applying = False
        self._idle.notify_all()
        self._has_work.notify()

    def _raise_if_stopped(self) -> None:
        if self._halted is not None:
            raise SequencerHalted(
                f"the sequencer halted on {self._halted!r}; restart the process to recover "
                "from the journal"
            ) from self._halted
        if self._closed:
            raise SequencerHalted("the sequencer is closed")

    def close(self) -> None:
        """Commit and apply what is queued, then stop the writer thread (idempotent)."""
        with self._lock:
            self._closed = True
            self._has_work.notify()
        self._writer.join()  # it commits everything pending before it stops
        while True:
            with self._lock:
                while self._applying:
                    self._idle.wait()
                if not self._committed:
                    break
                batch = list(self._committed)
                self._committed.clear()
                self._applying = True
            self._apply_batches(batch)
        self._join_snapshot_saver()

    def __enter__(self) -> Sequencer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
