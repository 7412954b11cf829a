"""The sequencer, snapshots and recovery over the journal, on a small deterministic ledger
(the journal's own storage: tests/engine/test_journal_store.py).

`LedgerEngine` (test-only) applies the real `Deposit`/`Withdraw`/`Tick` commands to
balances and hashes them, so these tests exercise the journal machinery alone;
tests/engine/test_crash_recovery.py and the last tests here run the real core.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine.core.commands import Deposit, Tick, Withdraw
from engine.journal.codec import default_codec
from engine.journal.errors import JournalCorrupt, SequencerHalted, UnencodableValue
from engine.journal.journal import Journal
from engine.journal.replay import recover, replay
from engine.journal.snapshots import Snapshot, SnapshotStore
from engine.sequencer import Sequencer

WAD = 10**18
TRADER = "0x" + "11" * 20
MAKER = "0x" + "22" * 20


class LedgerEngine:
    """Balances per account; every command also folds into a running digest, so the
    state hash depends on the order of commands, not only on their sum."""

    def __init__(self, balances: dict[str, int] | None = None, digest: str = "") -> None:
        self.balances = dict(balances or {})
        self.digest = digest
        self.applied: list[object] = []

    def apply(self, cmd: object) -> list[tuple[str, int]]:
        self.applied.append(cmd)
        self.digest = hashlib.sha256((self.digest + repr(cmd)).encode()).hexdigest()
        if isinstance(cmd, Deposit):
            self.balances[cmd.account] = self.balances.get(cmd.account, 0) + cmd.amount
            return [("deposited", cmd.amount)]
        if isinstance(cmd, Withdraw):
            self.balances[cmd.account] = self.balances.get(cmd.account, 0) - cmd.amount
            return [("withdrawn", cmd.amount)]
        return []

    def state_hash(self) -> str:
        return hashlib.sha256(json.dumps([sorted(self.balances.items()), self.digest]).encode()).hexdigest()

    def snapshot(self) -> bytes:
        return json.dumps({"balances": self.balances, "digest": self.digest}).encode()


def ledger_factory(body: bytes | None) -> LedgerEngine:
    if body is None:
        return LedgerEngine()
    data = json.loads(body)
    return LedgerEngine(data["balances"], data["digest"])


def commands(n: int, start: int = 1) -> list[object]:
    """A fixed stream: deposits and withdrawals of two accounts, a tick every 7th."""
    out: list[object] = []
    for i in range(start, start + n):
        if i % 7 == 0:
            out.append(Tick(i * 1000))
        elif i % 3 == 0:
            out.append(Withdraw(MAKER, i * WAD // 10, i * 1000))
        else:
            out.append(Deposit(TRADER if i % 2 else MAKER, i * WAD, i * 1000))
    return out


class CountingJournal(Journal):
    """A real journal that records each transaction's seqs (and can add fsync latency)."""

    def __init__(self, path: Path, delay_s: float = 0.0) -> None:
        super().__init__(path)
        self.transactions: list[list[int]] = []
        self.delay_s = delay_s

    def append_batch(self, records: Sequence[tuple[int, int, bytes]]) -> int:
        if self.delay_s:
            time.sleep(self.delay_s)
        last = super().append_batch(records)
        self.transactions.append([r[0] for r in records])
        return last


def run(engine: LedgerEngine, journal: Journal, cmds: list[object], **kwargs: object) -> list:
    """Submit `cmds` as one submit_many through a fresh sequencer, then close it."""
    with Sequencer(engine, journal, **kwargs) as sequencer:  # type: ignore[arg-type]
        return sequencer.submit_many(cmds)


def _payloads(journal: Journal) -> list[bytes]:
    return [r.payload for r in journal.iter_from(1)]


# ---------------------------------------------------------------- sequencer


def test_submit__one_command__journals_then_applies(tmp_path: Path) -> None:
    engine = LedgerEngine()
    with Journal(tmp_path / "j.db") as journal:
        [(seq, events)] = run(engine, journal, [Deposit(TRADER, 5 * WAD, 1)])
        assert (seq, events) == (1, [("deposited", 5 * WAD)])
        assert default_codec().decode(journal.read(1).payload) == Deposit(TRADER, 5 * WAD, 1)
        assert engine.balances == {TRADER: 5 * WAD}


def test_submit_many__max_batch_three__commits_in_groups_of_three(tmp_path: Path) -> None:
    engine = LedgerEngine()
    journal = CountingJournal(tmp_path / "j.db")
    results = run(engine, journal, commands(10), max_batch=3)
    assert [seq for seq, _ in results] == list(range(1, 11))
    assert journal.transactions == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]
    assert engine.applied == commands(10)
    journal.close()


def test_submit__concurrent_callers__share_commits_and_ack_after_commit(tmp_path: Path) -> None:
    engine = LedgerEngine()
    journal = CountingJournal(tmp_path / "j.db", delay_s=0.02)
    sequencer = Sequencer(engine, journal)
    acks: dict[int, tuple[int, int]] = {}
    barrier = threading.Barrier(24)

    def client(i: int) -> None:
        barrier.wait()
        seq, _ = sequencer.submit(Deposit(f"0x{i:040x}", (i + 1) * WAD, i))
        acks[i] = (seq, journal.last_seq())  # the committed watermark when answered

    threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seq for seq, _ in acks.values()) == list(range(1, 25))
    assert all(committed >= seq for seq, committed in acks.values())
    assert len(journal.transactions) < 24  # fsyncs were shared
    assert [s for tx in journal.transactions for s in tx] == list(range(1, 25))
    # apply order == journal order == seq order
    assert engine.applied == [default_codec().decode(p) for p in _payloads(journal)]
    sequencer.close()
    journal.close()


class FailingJournal(Journal):
    def append_batch(self, records: Sequence[tuple[int, int, bytes]]) -> int:
        raise sqlite3.OperationalError("disk I/O error")


def test_submit__commit_fails__not_applied_and_sequencer_halts(tmp_path: Path) -> None:
    engine = LedgerEngine()
    journal = FailingJournal(tmp_path / "j.db")
    sequencer = Sequencer(engine, journal)
    with pytest.raises(SequencerHalted, match="disk I/O error"):
        sequencer.submit(Deposit(TRADER, WAD, 1))
    assert engine.applied == []
    with pytest.raises(SequencerHalted, match="restart the process"):
        sequencer.submit(Deposit(TRADER, WAD, 2))
    sequencer.close()
    journal.close()


# ------------------------------------------------------ snapshots + recovery


@pytest.mark.parametrize("fork", [True, False], ids=["child-process", "thread"])
def test_recover__snapshots_every_four__equals_live_state(tmp_path: Path, fork: bool) -> None:
    live = LedgerEngine()
    journal = Journal(tmp_path / "j.db")
    store = SnapshotStore(tmp_path / "snaps", keep=2)
    run(live, journal, commands(18), snapshots=store, snapshot_every=4, fork_snapshots=fork)
    assert store.seqs() == [16, 12]
    engine, last = recover(journal, store, ledger_factory)
    assert last == 18
    assert engine.state_hash() == live.state_hash()
    assert engine.applied == commands(2, start=17)  # only the tail after the snapshot
    assert replay(journal, ledger_factory).state_hash() == live.state_hash()
    journal.close()


def test_recover__newest_snapshot_corrupt__falls_back_to_older(tmp_path: Path) -> None:
    live = LedgerEngine()
    journal = Journal(tmp_path / "j.db")
    store = SnapshotStore(tmp_path / "snaps")
    run(live, journal, commands(12), snapshots=store, snapshot_every=5)
    newest = tmp_path / "snaps" / "snapshot-000000000010.snap"
    raw = bytearray(newest.read_bytes())
    raw[-3] ^= 0xFF
    newest.write_bytes(bytes(raw))
    engine, last = recover(journal, store, ledger_factory)
    assert (last, engine.state_hash()) == (12, live.state_hash())
    assert len(engine.applied) == 7  # replayed 6..12 from the snapshot at 5
    journal.close()


def test_recover__snapshot_from_other_journal__is_skipped(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    with Journal(tmp_path / "a.db") as other:
        run(LedgerEngine(), other, commands(3), snapshots=store, snapshot_every=3)
    live = LedgerEngine()
    with Journal(tmp_path / "b.db") as journal:
        run(live, journal, commands(4, start=50))
        engine, last = recover(journal, store, ledger_factory)
        assert (last, engine.state_hash()) == (4, live.state_hash())
        assert len(engine.applied) == 4  # full replay, the foreign snapshot was refused


def test_recover__snapshot_past_journal_end__raises(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    store.save(Snapshot(9, LedgerEngine().state_hash(), 0, LedgerEngine().snapshot()))
    with Journal(tmp_path / "j.db") as journal:
        journal.append(1, 0, default_codec().encode(Tick(0)))
        with pytest.raises(JournalCorrupt, match="snapshot at seq 9 is past the journal's last seq 1"):
            recover(journal, store, ledger_factory)


class GatedStore(SnapshotStore):
    """Holds each save until a gate file exists (works in a forked child as well), and
    records the pid that saved, in a file named after the seq."""

    def __init__(self, directory: Path, gate: Path) -> None:
        super().__init__(directory)
        self.gate = gate

    def save(self, snapshot: Snapshot) -> str:
        deadline = time.monotonic() + 30
        while not self.gate.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        (Path(self.directory).parent / f"saved-{snapshot.seq}").write_text(str(os.getpid()))
        return super().save(snapshot)


@pytest.mark.parametrize("fork", [True, False], ids=["child-process", "thread"])
def test_sequencer__snapshot_due_while_one_is_written__skipped_not_waited_for(
        tmp_path: Path, fork: bool) -> None:
    gate = tmp_path / "gate"
    store = GatedStore(tmp_path / "snaps", gate)
    live = LedgerEngine()
    with Journal(tmp_path / "j.db") as journal:
        sequencer = Sequencer(live, journal, snapshots=store, snapshot_every=2,  # type: ignore[arg-type]
                              fork_snapshots=fork, skip_busy_snapshots=True)
        # seq 2's snapshot is held at the gate: 4, 6 and 8 come due meanwhile
        assert [seq for seq, _ in sequencer.submit_many(commands(9))] == list(range(1, 10))
        assert (sequencer.last_seq, sequencer.snapshots_skipped) == (9, 3)
        gate.touch()
        sequencer.close()
    assert store.seqs() == [2]
    saver = int((tmp_path / "saved-2").read_text())
    assert (saver != os.getpid()) == fork  # a child process wrote it, or this one's thread
    engine, last = recover(Journal(tmp_path / "j.db"), store, ledger_factory)
    assert (last, engine.state_hash()) == (9, live.state_hash())
    assert len(engine.applied) == 7  # from the snapshot at 2


class BrokenEngine(LedgerEngine):
    def snapshot(self) -> bytes:
        raise RuntimeError("cannot pickle this")


def test_sequencer__snapshot_child_fails__logged_and_sequencing_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    engine = BrokenEngine()
    with Journal(tmp_path / "j.db") as journal:
        with Sequencer(engine, journal, snapshots=store, snapshot_every=2,  # type: ignore[arg-type]
                       fork_snapshots=True) as sequencer:
            assert sequencer.submit_many(commands(3))[-1][0] == 3
            assert sequencer.submit(commands(1, start=4)[0])[0] == 4
    assert store.seqs() == []
    assert "RuntimeError: cannot pickle this" in capfd.readouterr().err
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert [re.fullmatch(r"snapshot at seq (\d+) failed in child (\d+) \(exit 1\), continuing "
                         r"on the journal; its error is on stderr", m)[1] for m in errors] == [
        "2", "4"]


def test_snapshot_store__leftover_temp_file__removed_on_open(tmp_path: Path) -> None:
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    (snaps / ".tmp-snapshot-000000000007-123").write_bytes(b"half a snapshot")
    store = SnapshotStore(snaps)
    assert os.listdir(snaps) == []
    assert store.seqs() == []


def test_sequencer_open__after_restart__continues_the_sequence(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    live = LedgerEngine()
    with Journal(tmp_path / "j.db") as journal:
        run(live, journal, commands(9), snapshots=store, snapshot_every=4)
    with Journal(tmp_path / "j.db") as journal:
        sequencer = Sequencer.open(journal, store, ledger_factory, snapshot_every=4)
        assert sequencer.last_seq == 9
        assert sequencer.submit(commands(1, start=10)[0])[0] == 10
        live.apply(commands(1, start=10)[0])
        assert sequencer.engine.state_hash() == live.state_hash()
        sequencer.close()


# --------------------------------------------------------- listeners, queries, halts


def test_subscribe__listener__sees_every_command_in_seq_order(tmp_path: Path) -> None:
    seen: list[tuple[int, object, list[object]]] = []
    with Journal(tmp_path / "j.db") as journal:
        with Sequencer(LedgerEngine(), journal, max_batch=2) as sequencer:
            sequencer.subscribe(lambda seq, cmd, events: seen.append((seq, cmd, events)))
            sequencer.submit_many(commands(5))
    assert [s for s, _, _ in seen] == [1, 2, 3, 4, 5]
    assert [c for _, c, _ in seen] == commands(5)
    assert seen[0][2] == [("deposited", WAD)]


def test_query__between_applies__reads_state_at_last_seq(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as journal:
        with Sequencer(LedgerEngine(), journal) as sequencer:
            sequencer.submit_many([Deposit(TRADER, 2 * WAD, 1), Deposit(TRADER, 3 * WAD, 2)])
            assert sequencer.query(lambda engine: engine.balances[TRADER]) == 5 * WAD


class ExplodingLedger(LedgerEngine):
    """Breaks an invariant on a withdrawal above 100 WAD."""

    def apply(self, cmd: object) -> list[tuple[str, int]]:
        if isinstance(cmd, Withdraw) and cmd.amount > 100 * WAD:
            raise AssertionError("invariant broken")
        return super().apply(cmd)


def test_submit_many__apply_raises__halts_with_the_command_journaled(tmp_path: Path) -> None:
    engine = ExplodingLedger()
    with Journal(tmp_path / "j.db") as journal:
        sequencer = Sequencer(engine, journal)
        sequencer.submit(Deposit(TRADER, WAD, 1))
        with pytest.raises(SequencerHalted, match="invariant broken"):
            sequencer.submit_many([Deposit(TRADER, WAD, 2), Withdraw(TRADER, 101 * WAD, 3)])
        assert journal.last_seq() == 3  # journaled before the apply: replay will stop there too
        assert engine.balances == {TRADER: 2 * WAD}
        with pytest.raises(SequencerHalted, match="restart the process"):
            sequencer.submit(Deposit(TRADER, WAD, 4))
        sequencer.close()


class HoldingJournal(Journal):
    """Holds every commit after the first until the sequencer has halted."""

    sequencer: Sequencer | None = None
    commits = 0

    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None:
        super().append_batch(rows)
        self.commits += 1
        deadline = time.monotonic() + 10
        while self.commits > 1 and self.sequencer.halted is None:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the sequencer never halted"
            time.sleep(0.001)


def test_submit_async__apply_raises_with_the_next_batch_in_flight__every_ticket_fails(
    tmp_path: Path,
) -> None:
    journal = HoldingJournal(tmp_path / "j.db")
    sequencer = Sequencer(ExplodingLedger(), journal, max_batch=1)
    journal.sequencer = sequencer
    outcome: list[str] = []

    def caller() -> None:  # the writer used to deadlock on its own lock here
        first = sequencer.submit_async([Withdraw(TRADER, 101 * WAD, 1)])
        second = sequencer.submit_async([Deposit(TRADER, WAD, 2)])
        for ticket in (first, second):
            try:
                ticket.result()
            except SequencerHalted as exc:
                outcome.append(str(exc.__cause__ or exc))
        sequencer.close()

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "a ticket or close() hung after the halt"
    assert len(outcome) == 2 and all("invariant broken" in text for text in outcome)
    assert journal.last_seq() == 2  # both were journaled; replay stops at the first too
    journal.close()


def test_submit__unencodable_command__rejected_without_a_seq(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as journal:
        with Sequencer(LedgerEngine(), journal) as sequencer:
            with pytest.raises(UnencodableValue, match="cannot encode float"):
                sequencer.submit(Deposit(TRADER, 0.5, 1))  # type: ignore[arg-type]
            assert sequencer.submit(Deposit(TRADER, WAD, 2))[0] == 1


# ------------------------------------------------------------------ the real core


def test_recover__real_engine_workload__snapshot_and_replay_equal_live_hash(tmp_path: Path) -> None:
    from engine.core.engine import Engine
    from engine.core.markets import default_markets
    from engine.journal.replay import core_engine_factory
    from tests.bench.workload import setup_commands, workload

    cmds = [*setup_commands(accounts=30), *workload(1_500, seed=3, accounts=30)]
    store = SnapshotStore(tmp_path / "snaps")
    with Journal(tmp_path / "j.db") as journal:
        with Sequencer(Engine(default_markets()), journal, snapshots=store,
                       snapshot_every=500, max_batch=256) as sequencer:
            for start in range(0, len(cmds), 100):
                sequencer.submit_many(cmds[start : start + 100])
            live = sequencer.engine.state_hash()
        assert store.seqs() == [1500, 1000, 500]
        engine, last = recover(journal, store, core_engine_factory())
        assert (last, engine.state_hash()) == (len(cmds), live)
        assert replay(journal).state_hash() == live
        half = replay(journal, until=1000)
        assert half.state_hash() == store.load(1000).state_hash


def test_submit__mixed_concurrent_callers_and_queries__journal_order_is_apply_order(
    tmp_path: Path,
) -> None:
    engine = LedgerEngine()
    journal = CountingJournal(tmp_path / "j.db")
    sequencer = Sequencer(engine, journal, max_batch=16)
    answered: list[int] = []
    lock = threading.Lock()

    def client(i: int) -> None:  # a failed assertion here leaves seqs out of `answered`
        for k in range(30):
            cmds = commands(1 + (i + k) % 5, start=1000 * i + 10 * k + 1)
            seqs = [seq for seq, _ in (sequencer.submit_many(cmds) if k % 2 else
                                       [sequencer.submit(c) for c in cmds])]
            if k % 2:  # one submit_many: consecutive seqs
                assert seqs == list(range(seqs[0], seqs[0] + len(cmds)))
            assert sequencer.query(lambda e: len(e.applied)) >= seqs[-1]
            with lock:
                answered.extend(seqs)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sequencer.close()
    assert sorted(answered) == list(range(1, journal.last_seq() + 1))
    assert all(len(tx) <= 16 for tx in journal.transactions)
    assert engine.applied == [default_codec().decode(p) for p in _payloads(journal)]
    assert replay(journal, ledger_factory).state_hash() == engine.state_hash()
    journal.close()


# ---------------------------------------------------------- batched writes, pipelining


class WatermarkEngine(LedgerEngine):
    """Records, with each applied command, the journal's committed watermark."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self.watermarks: list[int] = []

    def apply(self, cmd: object) -> list[tuple[str, int]]:
        self.watermarks.append(self.journal.last_seq())
        return super().apply(cmd)


def test_submit_async__two_tickets_in_flight__each_result_stops_at_its_own_commands(
    tmp_path: Path,
) -> None:
    journal = CountingJournal(tmp_path / "j.db")
    engine = WatermarkEngine(journal)
    sequencer = Sequencer(engine, journal, max_batch=4)
    first = sequencer.submit_async(commands(6))
    second = sequencer.submit_async(commands(5, start=7))
    deadline = time.monotonic() + 10
    while journal.last_seq() < 11 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert journal.last_seq() == 11 and engine.applied == []  # committed, nothing applied yet
    assert [seq for seq, _ in first.result()] == [1, 2, 3, 4, 5, 6]
    assert engine.applied == commands(6)  # the second ticket is left for its own result()
    assert [seq for seq, _ in second.result()] == [7, 8, 9, 10, 11]
    assert second.last_seq == 11
    assert engine.applied == commands(11)
    assert all(mark >= seq for seq, mark in enumerate(engine.watermarks, start=1))
    sequencer.close()
    journal.close()


def test_submit_async__events_false__applied_without_returning_events(tmp_path: Path) -> None:
    engine = LedgerEngine()
    with Journal(tmp_path / "j.db") as journal, Sequencer(engine, journal) as sequencer:
        ticket = sequencer.submit_async(commands(5), events=False)
        assert ticket.result() == []
        assert ticket.last_seq == 5
        assert engine.applied == commands(5)
        assert sequencer.submit(Deposit(TRADER, WAD, 99)) == (6, [("deposited", WAD)])
