"""The chain watcher: transactions anyone sends to the Exchange reach the engine.

Traders deposit, withdraw and cancel on the Exchange directly (a wallet, `perpx
deposit`, `perpx withdraw`, `perpx cancel --on-chain`); anyone may sweep the
fees and insurance surplus to the JEX contracts or have the InsuranceFund cover
an account's bad debt. The watcher reads those logs from the block after the
last one it processed and turns each into the engine command that mirrors it:

    Deposit(account, amount, cash)        -> Deposit(account, amount x SCALE, ts_ms)
    Withdraw(account, amount, cash)       -> Withdraw(account, amount x SCALE, ts_ms, on_chain=True)
    OrderCancelled(trader, order_hash, _) -> CancelOrder(trader, order_hash, ts_ms)
    FeesSwept(batch_id, fees, insurance)  -> SweepFees(fees x SCALE, insurance x SCALE, ts_ms)
    InsuranceFund.BadDebtCovered(account, batch_id, requested, covered, balance)
                                          -> CoverBadDebt(account, covered x SCALE, ts_ms)

(SCALE = 10**(18 - token decimals): 10**12 for the 6-decimal MockUSDC, so the
engine's amounts are WAD quote.)

Exactly once, across crashes. Each log is keyed by (block, tx hash, log
index). Before a command is submitted, its key and encoded command are written
to `watcher.sqlite` together with the new cursor (one SQLite transaction,
`seq` still NULL); after the sequencer has journaled it, the row gets the
journal `seq`. On restart a row without `seq` is looked up in the journal
after the last known `seq` (the sequencer journals a `submit_many` under
consecutive seqs, so the rows of one poll are a contiguous run): rows found
there are marked, the rest are submitted again. A log is therefore neither
missed (the cursor moves only with its row) nor applied twice (a row is
submitted only when the journal does not hold it).

`confirmations` keeps the watcher that many blocks behind the head (0 on local
chains). Re-orgs deeper than that are not handled.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from engine.core.commands import CancelOrder, CoverBadDebt, Deposit, SweepFees, Withdraw

LogKey = tuple[int, str, int]  # (block number, 0x tx hash, log index)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS applied (
    block INTEGER NOT NULL, tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL,
    kind TEXT NOT NULL, payload BLOB NOT NULL, seq INTEGER,
    PRIMARY KEY (block, tx_hash, log_index));
"""


@dataclass(frozen=True, slots=True)
class ChainLog:
    """One watched Exchange log and the engine command that mirrors it."""

    key: LogKey
    kind: str  # the event's name
    command: Deposit | Withdraw | CancelOrder | SweepFees | CoverBadDebt


def _hex(value: str | bytes) -> str:
    """A topic as lower-case 0x hex, whatever web3 handed back (str or bytes)."""
    return value.lower() if isinstance(value, str) else Web3.to_hex(value)


class WatcherStore:
    """The watcher's durable state: its block cursor and every log it submitted."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def cursor(self) -> int | None:
        """The last block fully processed (None before the first poll)."""
        row = self.db.execute("SELECT block FROM cursor WHERE id = 1").fetchone()
        return None if row is None else row[0]

    def stage(self, logs: list[tuple[ChainLog, bytes]], block: int) -> None:
        """Write the intents of `logs` (seq NULL) and move the cursor to `block`, atomically."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR IGNORE INTO applied (block, tx_hash, log_index, kind, payload, seq) "
                "VALUES (?, ?, ?, ?, ?, NULL)",
                [(*log.key, log.kind, payload) for log, payload in logs])
            self.db.execute("INSERT INTO cursor (id, block) VALUES (1, ?) "
                            "ON CONFLICT (id) DO UPDATE SET block = excluded.block", (block,))

    def mark(self, keys_seqs: list[tuple[LogKey, int]]) -> None:
        """Record the journal seq each submitted log got."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "UPDATE applied SET seq = ? WHERE block = ? AND tx_hash = ? AND log_index = ?",
                [(seq, *key) for key, seq in keys_seqs])

    def unsubmitted(self) -> list[tuple[LogKey, bytes]]:
        """Intents without a journal seq, in chain order."""
        rows = self.db.execute("SELECT block, tx_hash, log_index, payload FROM applied "
                               "WHERE seq IS NULL ORDER BY block, log_index").fetchall()
        return [((b, h, i), bytes(p)) for b, h, i, p in rows]

    def last_seq(self) -> int:
        """The highest journal seq of a submitted log (0 when none)."""
        return self.db.execute("SELECT max(seq) FROM applied").fetchone()[0] or 0

    def count(self) -> int:
        """Logs submitted to the journal so far."""
        return self.db.execute("SELECT count(*) FROM applied WHERE seq IS NOT NULL").fetchone()[0]

    def close(self) -> None:
        self.db.close()


class ChainWatcher:
    """Polls the Exchange's (and the InsuranceFund's) logs that change balances the
    engine keeps and submits their engine commands exactly once.

    `submit_many(cmds) -> [(seq, events)]` is the node's journaled submission;
    `encode(cmd) -> bytes` the journal codec's encoding (to find commands again
    in the journal after a crash)."""

    EVENTS = ("Deposit", "Withdraw", "OrderCancelled", "FeesSwept")
    FUND_EVENTS = ("BadDebtCovered",)

    def __init__(self, exchange: Any, store: WatcherStore, token_decimals: int, *,
                 encode: Callable[[object], bytes], confirmations: int = 0,
                 start_block: int = 0, insurance_fund: Any = None) -> None:
        self.exchange = exchange
        self.w3: Web3 = exchange.w3
        self.store = store
        self.scale = 10 ** (18 - token_decimals)
        self.encode = encode
        self.confirmations = confirmations
        self.start_block = start_block
        # (contract address, topic) -> (contract, event name)
        self._watched: dict[tuple[str, str], tuple[Any, str]] = {}
        for contract, names in ((exchange, self.EVENTS), (insurance_fund, self.FUND_EVENTS)):
            for name in names if contract is not None else ():
                topic = _hex(getattr(contract.events, name)().topic)
                self._watched[(contract.address.lower(), topic)] = (contract, name)

    # ----------------------------------------------------------------- reading

    def fetch(self, ts_ms: int) -> tuple[list[ChainLog], int | None]:
        """New watched logs (chain order) up to the confirmed head, and that head (None
        when there is no new block to read). Engine commands are stamped `ts_ms`."""
        head = self.w3.eth.block_number - self.confirmations
        cursor = self.store.cursor()
        first = self.start_block if cursor is None else cursor + 1
        if head < first:
            return [], None
        addresses = sorted({a for a, _ in self._watched})
        topics = sorted({t for _, t in self._watched})
        raw = self.w3.eth.get_logs({"address": [Web3.to_checksum_address(a) for a in addresses],
                                    "fromBlock": first, "toBlock": head, "topics": [topics]})
        out = []
        for entry in sorted(raw, key=lambda e: (e["blockNumber"], e["logIndex"])):
            watched = self._watched.get((entry["address"].lower(), _hex(entry["topics"][0])))
            if watched is not None:  # a node that ignores OR-topics returns everything
                out.append(self._decode(*watched, entry, ts_ms))
        return out, head

    def _decode(self, contract: Any, name: str, entry: Any, ts_ms: int) -> ChainLog:
        args = getattr(contract.events, name)().process_log(entry)["args"]
        key = (entry["blockNumber"], Web3.to_hex(entry["transactionHash"]), entry["logIndex"])
        scale = self.scale
        cmd: Deposit | Withdraw | CancelOrder | SweepFees | CoverBadDebt
        if name == "Deposit":
            cmd = Deposit(Web3.to_checksum_address(args["account"]), args["amount"] * scale,
                          ts_ms)
        elif name == "Withdraw":
            # the Exchange already checked margin and paid it out: the engine follows
            cmd = Withdraw(Web3.to_checksum_address(args["account"]),
                           args["amount"] * scale, ts_ms, on_chain=True)
        elif name == "OrderCancelled":
            cmd = CancelOrder(Web3.to_checksum_address(args["trader"]),
                              bytes(args["order_hash"]), ts_ms)
        elif name == "FeesSwept":
            cmd = SweepFees(args["fees"] * scale, args["insurance"] * scale, ts_ms)
        else:  # the InsuranceFund paid for Exchange.cover_bad_debt(account)
            cmd = CoverBadDebt(Web3.to_checksum_address(args["account"]),
                               args["covered"] * scale, ts_ms)
        return ChainLog(key, name, cmd)

    # -------------------------------------------------------------- submitting

    def poll(self, ts_ms: int, submit_many: Callable[[list], list]) -> list[tuple[ChainLog, list]]:
        """Read new logs, stage them with the cursor, submit them, record their seqs.
        Returns each submitted log with the events its command caused."""
        logs, head = self.fetch(ts_ms)
        if head is None:
            return []
        staged = [(log, self.encode(log.command)) for log in logs]
        self.store.stage(staged, head)
        if not logs:
            return []
        done = submit_many([log.command for log in logs])
        self.store.mark([(log.key, seq) for log, (seq, _) in zip(logs, done)])
        return [(log, events) for log, (_, events) in zip(logs, done)]

    def recover(self, journal: Any, decode: Callable[[bytes], object]) -> list[tuple[LogKey, object]]:
        """After a restart: mark the staged logs the journal already holds; return the
        others (key, command), which the caller submits with `resubmit`."""
        pending = self.store.unsubmitted()
        if not pending:
            return []
        tail = list(journal.iter_from(self.store.last_seq() + 1))
        found: list[tuple[LogKey, int]] = []
        start = next((i for i, r in enumerate(tail) if r.payload == pending[0][1]), None)
        if start is not None:
            for (key, payload), record in zip(pending, tail[start:]):
                if record.payload != payload:
                    break
                found.append((key, record.seq))
        self.store.mark(found)
        return [(key, decode(payload)) for key, payload in pending[len(found):]]

    def resubmit(self, pending: list[tuple[LogKey, object]],
                 submit_many: Callable[[list], list]) -> list[list]:
        """Submit what `recover` returned and record its seqs; the events per command."""
        if not pending:
            return []
        done = submit_many([cmd for _, cmd in pending])
        self.store.mark([(key, seq) for (key, _), (seq, _) in zip(pending, done)])
        return [events for _, events in done]
