"""`perpx journal-upgrade`: a format-1 journal (one row per command) rewritten as format 2.

The format-1 files here are written as the format-1 build wrote them (its schema, its
per-row CRC over seq | ts_ms | payload), from a real engine stream."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from engine.cli import main
from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.journal.codec import default_codec
from engine.journal.errors import JournalCorrupt, JournalLocked
from engine.journal.journal import FRAME_RECORDS, Journal, _take_writer_lock, record_crc
from engine.journal.replay import replay
from engine.journal.upgrade import upgrade
from tests.bench.workload import setup_commands, workload

V1_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE journal (seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
    " payload BLOB NOT NULL, crc INTEGER NOT NULL)",
)


def write_v1(path: Path, records: list[tuple[int, int, bytes]]) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=16384")  # as the format-1 Journal set up its files
    db.execute("PRAGMA journal_mode=WAL")
    for statement in V1_SCHEMA:
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('format', '1')")
    db.executemany("INSERT INTO journal VALUES (?,?,?,?)",
                   [(s, t, p, record_crc(s, t, p)) for s, t, p in records])
    db.commit()
    db.close()


def stream(n: int) -> list:
    return [*setup_commands(), *workload(n, seed=3)]


def v1_records(cmds: list) -> list[tuple[int, int, bytes]]:
    encode = default_codec().encode
    return [(i + 1, c.ts_ms, encode(c)) for i, c in enumerate(cmds)]


def digest(records: list[tuple[int, int, bytes]]) -> bytes:
    """`range_digest` written out: sha256 over seq u64 | ts_ms i64 | len u32 | payload."""
    h = hashlib.sha256(b"perpx-journal-v1")
    for seq, ts, payload in records:
        h.update(seq.to_bytes(8, "little") + ts.to_bytes(8, "little", signed=True)
                 + len(payload).to_bytes(4, "little") + payload)
    return h.digest()


def test_upgrade__real_stream__same_records_digest_anchors_and_replayed_state(
    tmp_path: Path,
) -> None:
    cmds = stream(18_000)
    records = v1_records(cmds)
    path = tmp_path / "journal.sqlite"
    write_v1(path, records)
    before = path.read_bytes()
    with pytest.raises(JournalCorrupt, match="perpx journal-upgrade"):
        Journal(path)
    assert path.read_bytes() == before  # refused before anything was written

    assert upgrade(path) == len(records)

    live = Engine(default_markets())
    for cmd in cmds:
        live.apply(cmd)
    with Journal(path, verify_tail=None) as journal:
        got = [(r.seq, r.ts_ms, r.payload) for r in journal.iter_from(1)]
        assert got == records
        assert [record_crc(*r) for r in got] == [record_crc(*r) for r in records]  # anchors
        assert journal.range_digest(100, 9000) == digest(records[99:9000])
        assert replay(journal).state_hash() == live.state_hash()
        journal.append(len(records) + 1, 1, b"\x01N")  # and it goes on as format 2
    db = sqlite3.connect(path)
    spans = db.execute("SELECT first_seq, last_seq FROM frames ORDER BY first_seq").fetchall()
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    n = len(records)
    assert spans == [(1, FRAME_RECORDS), (FRAME_RECORDS + 1, 2 * FRAME_RECORDS),
                     (2 * FRAME_RECORDS + 1, n), (n + 1, n + 1)]
    assert tables == {"meta", "frames"}


def test_upgrade__row_fails_its_crc__refused_and_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_v1(path, [(s, s, b"\x01x%x;" % s) for s in range(1, 11)])
    db = sqlite3.connect(path)
    db.execute("UPDATE journal SET ts_ms = 99 WHERE seq = 5")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(JournalCorrupt, match="format-1 record seq 5 fails its CRC; nothing was"):
        upgrade(path)
    assert path.read_bytes() == before


def test_upgrade__missing_row__refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_v1(path, [(s, s, b"\x01N") for s in (1, 2, 4)])
    with pytest.raises(JournalCorrupt, match="format-1 seq 3 is missing \\(found 4\\)"):
        upgrade(path)


def test_upgrade__format_2_journal__nothing_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        journal.append(1, 1, b"\x01N")
    with pytest.raises(JournalCorrupt, match="not a format-1 journal \\(format '2'\\)"):
        upgrade(path)


def test_upgrade__writer_holds_the_lock__raises_journal_locked(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_v1(path, [(1, 1, b"\x01N")])
    fd = _take_writer_lock(str(path))
    try:
        with pytest.raises(JournalLocked, match="already open for writing"):
            upgrade(path)
    finally:
        os.close(fd)


def test_cli_journal_upgrade__json__prints_the_count(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "journal.sqlite"
    write_v1(path, [(s, s, b"\x01N") for s in range(1, 4)])
    assert main(["journal-upgrade", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"path": str(path), "commands": 3}
    assert main(["journal-upgrade", str(path)]) == 2  # a second run: already format 2
