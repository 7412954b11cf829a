"""The journal's storage: one CRC-checked row per group commit in SQLite (WAL, FULL),
what it refuses on open and while reading, its single writer and its readers.

tests/engine/test_journal.py tests the sequencer, snapshots and recovery on top of it;
tests/engine/test_journal_upgrade.py the rewrite of format-1 files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.journal.codec import default_codec
from engine.journal.errors import JournalClosed, JournalCorrupt, JournalLocked
from engine.journal.journal import FRAME_RECORDS, Journal, frame_crc, record_crc
from tests.engine.test_journal import commands


def test_append_batch__then_iter_from__returns_rows_in_order(tmp_path: Path) -> None:
    codec = default_codec()
    cmds = commands(10)
    with Journal(tmp_path / "j.db") as journal:
        journal.append_batch([(i + 1, c.ts_ms, codec.encode(c)) for i, c in enumerate(cmds)])
        assert journal.last_seq() == 10
        assert [codec.decode(r.payload) for r in journal.iter_from(1)] == cmds
        assert [r.seq for r in journal.iter_from(8)] == [8, 9, 10]
        assert [r.ts_ms for r in journal.iter_from(4, until=5)] == [4000, 5000]
        assert list(journal.iter_from(11)) == []
        assert journal.read(3).payload == codec.encode(cmds[2])


def test_open__wal_mode_and_full_sync__are_on(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as journal:
        assert journal.pragma("journal_mode") == "wal"
        assert journal.pragma("synchronous") == 2  # FULL


def test_append_batch__seq_gap__raises_and_keeps_nothing(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as journal:
        journal.append(1, 0, b"\x01N")
        with pytest.raises(JournalCorrupt, match="append of seq 3, expected 2"):
            journal.append_batch([(3, 0, b"\x01N")])
        with pytest.raises(JournalCorrupt, match="append of seq 4, expected 3"):
            journal.append_batch([(2, 0, b"\x01N"), (4, 0, b"\x01N")])
        assert journal.last_seq() == 1
        assert [r.seq for r in journal.iter_from(1)] == [1]


def test_open__existing_journal__resumes_at_last_seq(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        journal.append_batch([(1, 5, b"\x01T"), (2, 6, b"\x01F")])
    with Journal(path) as journal:
        assert journal.last_seq() == 2
        journal.append(3, 7, b"\x01N")
        assert [(r.seq, r.ts_ms, r.payload) for r in journal.iter_from(1)] == [
            (1, 5, b"\x01T"),
            (2, 6, b"\x01F"),
            (3, 7, b"\x01N"),
        ]


def _tamper(path: Path, sql: str, *params: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()


def _body(path: Path, first_seq: int) -> bytes:
    db = sqlite3.connect(path)
    (body,) = db.execute("SELECT body FROM frames WHERE first_seq = ?", (first_seq,)).fetchone()
    db.close()
    return body


def _in_pairs(journal: Journal, count: int) -> None:
    """Append seqs 1..count two per commit: rows 1..2, 3..4, ..."""
    for first in range(1, count + 1, 2):
        journal.append_batch([(s, s, b"\x01i\x01" + bytes([s])) for s in (first, first + 1)])


def test_append_batch__one_commit__one_row_with_every_command_framed(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        journal.append_batch([(1, 5, b"\x01T"), (2, 6, b"\x01FF")])
    # ts_ms i64 | length u32 | payload, little-endian, per command
    assert _body(path, 1) == (
        (5).to_bytes(8, "little") + b"\x02\x00\x00\x00\x01T"
        + (6).to_bytes(8, "little") + b"\x03\x00\x00\x00\x01FF")
    db = sqlite3.connect(path)
    assert db.execute("SELECT first_seq, last_seq, crc FROM frames").fetchall() == [
        (1, 2, frame_crc(1, 2, _body(path, 1)))]
    db.close()


def test_open__payload_flipped_in_tail__refuses_with_the_rows_seqs(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        journal.append_batch([(i, i, b"\x01i\x01" + bytes([i])) for i in range(1, 6)])
    body = bytearray(_body(path, 1))
    body[-1] ^= 0x01  # the last byte of seq 5's payload
    _tamper(path, "UPDATE frames SET body = ? WHERE first_seq = 1", bytes(body))
    with pytest.raises(JournalCorrupt, match=r"the row of seqs 1\.\.5 fails its CRC"):
        Journal(path)


def test_iter_from__corruption_before_verified_tail__raises_at_that_row(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        _in_pairs(journal, 10)
    _tamper(path, "UPDATE frames SET crc = crc + 1 WHERE first_seq = 3")
    with Journal(path, verify_tail=3) as journal:  # opens: only rows 7..8 and 9..10 checked
        seen = []
        with pytest.raises(JournalCorrupt, match=r"the row of seqs 3\.\.4 fails its CRC"):
            for record in journal.iter_from(1):
                seen.append(record.seq)
        assert seen == [1, 2]
        assert [r.seq for r in journal.iter_from(6, until=9)] == [6, 7, 8, 9]
    with pytest.raises(JournalCorrupt, match=r"the row of seqs 3\.\.4 fails its CRC"):
        Journal(path, verify_tail=None)


def test_open__missing_row__refuses(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        _in_pairs(journal, 6)
    _tamper(path, "DELETE FROM frames WHERE first_seq = 3")
    with pytest.raises(JournalCorrupt, match=r"holds 4 commands in 2 rows over seq 1\.\.6"):
        Journal(path)


def test_open__overlap_hiding_a_gap__refuses(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        _in_pairs(journal, 6)
    # rows 1..2, 2..3, 5..6: as many commands as seqs 1..6, but 2 twice and 4 never
    _tamper(path, "UPDATE frames SET first_seq = 2, last_seq = 3 WHERE first_seq = 3")
    with pytest.raises(JournalCorrupt, match="no gaps or overlaps"):
        Journal(path)


def test_open__body_with_trailing_bytes_and_a_valid_crc__refuses(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        _in_pairs(journal, 4)
    body = _body(path, 3) + b"\x00"
    _tamper(path, "UPDATE frames SET body = ?, crc = ? WHERE first_seq = 3", body,
            frame_crc(3, 4, body))
    with pytest.raises(JournalCorrupt, match=r"row of seqs 3\.\.4 has 1 bytes after its last"):
        Journal(path)


def test_open__format_1_journal__refuses_with_both_formats(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('format', '1')")
    db.commit()
    db.close()
    for readonly in (False, True):
        with pytest.raises(JournalCorrupt, match="journal format '1', this build reads '2'"):
            Journal(path, readonly=readonly)


def test_record_crc__binds_seq_and_ts() -> None:
    assert record_crc(1, 2, b"x") != record_crc(2, 2, b"x")
    assert record_crc(1, 2, b"x") != record_crc(1, 3, b"x")
    assert record_crc(1, 2, b"x") == record_crc(1, 2, b"x")


def test_open__second_writer_on_same_file__raises_journal_locked(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db"):
        with pytest.raises(JournalLocked, match=f"already open for writing by process {os.getpid()}"):
            Journal(tmp_path / "j.db")
    Journal(tmp_path / "j.db").close()  # released on close


def test_open__readonly_reader__follows_the_writers_commits(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as writer:
        writer.append(1, 10, b"\x01T")
        with Journal(tmp_path / "j.db", readonly=True) as reader:
            assert reader.last_seq() == 1
            writer.append_batch([(2, 11, b"\x01F"), (3, 12, b"\x01N")])
            assert reader.last_seq() == 3
            assert [r.payload for r in reader.iter_from(2)] == [b"\x01F", b"\x01N"]
            with pytest.raises(JournalClosed, match="read-only"):
                reader.append(4, 13, b"\x01N")


def test_range_digest__two_records__sha256_of_framed_records(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as journal:
        journal.append_batch([(1, 1000, b"\x01T"), (2, 1001, b"\x01F"), (3, 1002, b"\x01N")])
        expected = hashlib.sha256(
            b"perpx-journal-v1"
            + (2).to_bytes(8, "little") + (1001).to_bytes(8, "little") + b"\x02\x00\x00\x00\x01F"
            + (3).to_bytes(8, "little") + (1002).to_bytes(8, "little") + b"\x02\x00\x00\x00\x01N"
        ).digest()
        assert journal.range_digest(2, 3) == expected
        with pytest.raises(ValueError, match="seq range 2..4 is outside 1..3"):
            journal.range_digest(2, 4)


def test_open__torn_last_transaction_in_wal__discarded_and_earlier_rows_kept(tmp_path: Path) -> None:
    """A machine that dies mid-commit leaves a torn WAL tail. SQLite drops the whole
    unfinished transaction on open (its caller was never acknowledged), and every row
    it keeps passes its CRC: nothing to truncate by hand."""


    live = tmp_path / "live"
    live.mkdir()
    journal = Journal(live / "j.db")
    journal.append_batch([(1, 1, b"\x01T"), (2, 2, b"\x01F"), (3, 3, b"\x01N")])
    journal.append_batch([(s, s, b"\x01b\xff" + bytes([s]) * 255) for s in range(4, 40)])
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(live / "j.db", crashed / "j.db")  # the files as a power cut would leave them
    wal = (live / "j.db-wal").read_bytes()
    (crashed / "j.db-wal").write_bytes(wal[:-100])  # the last frame, the commit frame, torn
    journal.close()
    with Journal(crashed / "j.db", verify_tail=None) as reopened:
        assert reopened.last_seq() == 3
        assert [r.payload for r in reopened.iter_from(1)] == [b"\x01T", b"\x01F", b"\x01N"]
        reopened.append(4, 4, b"\x01T")  # and the journal continues from there


def test_append_batch__20000_commands__rows_of_frame_records_read_from_any_seq(
    tmp_path: Path,
) -> None:
    rows = [(seq, 10 * seq, b"\x01x%x;" % seq) for seq in range(1, 20_001)]
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        assert journal.append_batch(rows) == 20_000
        assert journal.append_batch([(20_001, 7, b"\x01N")]) == 20_001
        assert [(r.seq, r.ts_ms, r.payload) for r in journal.iter_from(1)] == [
            *rows, (20_001, 7, b"\x01N")]
        across = [r.seq for r in journal.iter_from(FRAME_RECORDS - 1, until=FRAME_RECORDS + 2)]
        assert across == [FRAME_RECORDS - 1, FRAME_RECORDS, FRAME_RECORDS + 1, FRAME_RECORDS + 2]
        assert journal.read(2 * FRAME_RECORDS + 1).payload == rows[2 * FRAME_RECORDS][2]
    db = sqlite3.connect(path)
    spans = db.execute("SELECT first_seq, last_seq FROM frames ORDER BY first_seq").fetchall()
    db.close()
    assert spans == [(1, 8192), (8193, 16384), (16385, 20_000), (20_001, 20_001)]
    with Journal(path, verify_tail=None) as reopened:  # every CRC checked
        assert reopened.last_seq() == 20_001


def test_open__sqlite_file_of_something_else__refuses_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(JournalCorrupt, match=r"not a perpx journal \(tables \['orders'\]\)"):
        Journal(path)
    assert path.read_bytes() == before
