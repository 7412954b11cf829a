"""Keepers: the settler (batches), the price keeper and the funding keeper, behind one outbox.

Every chain action the batcher plans is first written to the durable
`Outbox` (SQLite, synchronous=FULL) and only then sent. After a crash the
node replays the journal, regenerates the same actions, checks them against
the outbox, and resubmits whatever the chain has not applied yet, with the
same content: a batch keeps its `batch_id`, so a batch that did land is
refused, never applied twice.

Whether an action already landed is read from the chain, never assumed:
a batch when `Exchange.last_batch_id >= batch_id`, a price when the market's
`price_ts >= ts`, a funding interval when its `last_funding_ts >= funding_ts`.

Transactions are signed locally (one key per role: settler, funding keeper;
prices are signed by the price signer and submitted by the funding keeper),
with the account's pending nonce and an explicit gas limit. A transaction
that does not confirm in time is sent again (same nonce, higher fee) after
checking the chain; a revert raises `KeeperHalted` with the contract's reason
(the engine checks everything the contract checks, so a revert is a bug).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from engine.chain.batcher import Action, PostBatch, PostFunding, PostPrice
from engine.chain.deploy import Deployment
from engine.chain.encode import BatchArgs
from engine.chain.node import Chain
from engine.core.errors import PerpxError
from engine.eip712 import Domain, price_hash, sign_digest

# Markets.markets(id) tuple positions
M_PRICE_TS, M_CUM_INDEX, M_LAST_FUNDING_TS = 9, 11, 12
GAS_PER_FILL = 160_000
GAS_BASE = 600_000
GAS_CAP = 29_000_000

CrashHook = Callable[[str], None]


class KeeperHalted(PerpxError, RuntimeError):
    """A keeper transaction reverted or the chain disagrees with the plan: settlement stops."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """An action as written to the outbox: its number, the action, and a batch's digest."""

    n: int
    action: Action
    digest: bytes = b""


class Outbox:
    """The durable, append-only list of planned chain actions (one SQLite file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(os.fspath(self.path), isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS actions (n INTEGER PRIMARY KEY, "
                         "kind TEXT NOT NULL, body BLOB NOT NULL)")

    def load(self) -> list[Recorded]:
        rows = self._db.execute("SELECT n, body FROM actions ORDER BY n").fetchall()
        return [pickle.loads(body) for _, body in rows]  # noqa: S301 - our own file

    def append(self, records: list[Recorded]) -> None:
        """Write `records` durably in one transaction (before any of them is sent)."""
        if not records:
            return
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "INSERT INTO actions (n, kind, body) VALUES (?, ?, ?)",
                [(r.n, type(r.action).__name__, pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL))
                 for r in records])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


@dataclass
class KeeperStats:
    """What the keepers did: counts, gas, tx hashes and timings (wall seconds)."""

    batches: int = 0
    fills: int = 0
    batch_gas: int = 0
    prices: int = 0
    funding: int = 0
    resent: int = 0
    skipped_landed: int = 0
    tx_hashes: list[str] = field(default_factory=list)
    settle_wall_s: list[float] = field(default_factory=list)
    receipts: dict[int, dict] = field(default_factory=dict)  # batch_id -> receipt


class Keeper:
    """Sends recorded actions in order: settle, post_prices, apply_funding."""

    def __init__(self, chain: Chain, deployment: Deployment, *, settler: LocalAccount,
                 price_signer: LocalAccount, funding: LocalAccount, confirmations: int = 0,
                 local_clock: bool = True, crash_hook: CrashHook | None = None,
                 receipt_timeout_s: float = 120.0) -> None:
        self.chain = chain
        self.d = deployment
        self.settler = settler
        self.price_signer = price_signer
        self.funding = funding
        self.confirmations = confirmations
        self.local_clock = local_clock
        self.crash_hook = crash_hook or (lambda point: None)
        self.receipt_timeout_s = receipt_timeout_s
        self.stats = KeeperStats()
        self.market_domain = Domain(chain.chain_id, deployment.markets.address)
        self.on_batch: list[Callable[[PostBatch, dict], None]] = []
        self.on_funding: list[Callable[[PostFunding, dict], None]] = []

    # ------------------------------------------------------------ what landed

    def last_batch_id(self) -> int:
        return self.d.exchange.functions.last_batch_id().call()

    def market_state(self, market: int) -> tuple:
        return self.d.markets.functions.markets(market).call()

    def landed(self, action: Action) -> bool:
        """True when the chain already holds the effect of `action`."""
        if isinstance(action, PostBatch):
            return self.last_batch_id() >= action.batch_id
        state = self.market_state(action.market)
        if isinstance(action, PostPrice):
            return state[M_PRICE_TS] >= action.ts_s
        return state[M_LAST_FUNDING_TS] >= action.funding_ts_s

    # ---------------------------------------------------------------- execute

    def execute(self, rec: Recorded) -> None:
        """Make `rec` land on chain (once); no-op if it already has."""
        action = rec.action
        if self.landed(action):
            self.stats.skipped_landed += 1
            return
        if isinstance(action, PostBatch):
            self._settle(action, rec.digest)
        elif isinstance(action, PostPrice):
            self._post_price(action)
        else:
            self._apply_funding(action)

    def _need_time(self, ts_s: int) -> None:
        """Let the chain clock reach `ts_s`: move it on a local chain, wait on a real one."""
        if self.chain.now() >= ts_s:
            return
        if self.local_clock:
            self.chain.set_time(ts_s)
            return
        deadline = time.monotonic() + self.receipt_timeout_s
        while self.chain.now() < ts_s:
            if time.monotonic() > deadline:
                raise KeeperHalted(f"chain clock stuck below {ts_s}")
            time.sleep(0.5)

    def _settle(self, b: PostBatch, digest: bytes) -> None:
        self._need_time(b.timestamp)
        args = BatchArgs(b.batch_id, b.first_seq, b.last_seq, digest, b.timestamp, b.fills)
        gas = min(GAS_CAP, GAS_BASE + GAS_PER_FILL * len(b.fills))
        t0 = time.perf_counter()
        receipt = self._transact(self.d.exchange.functions.settle(args.as_tuple()),
                                 self.settler, gas, f"batch {b.batch_id}",
                                 lambda: self.last_batch_id() >= b.batch_id)
        st = self.stats
        st.settle_wall_s.append(time.perf_counter() - t0)
        if receipt is not None:
            st.batches += 1
            st.fills += len(b.fills)
            st.batch_gas += receipt["gasUsed"]
            st.receipts[b.batch_id] = receipt
            for listener in self.on_batch:
                listener(b, receipt)

    def _post_price(self, p: PostPrice) -> None:
        self._need_time(p.ts_s)
        sig = sign_digest(self.price_signer.key,
                          price_hash(self.market_domain, p.market, p.index, p.mark, p.ts_s))
        call = self.d.markets.functions.post_prices(p.market, p.index, p.mark, p.ts_s, sig)
        if self._transact(call, self.funding, 200_000, f"price {p.market}@{p.ts_s}",
                          lambda: self.market_state(p.market)[M_PRICE_TS] >= p.ts_s):
            self.stats.prices += 1

    def _apply_funding(self, f: PostFunding) -> None:
        self._need_time(f.funding_ts_s)
        state = self.market_state(f.market)
        interval = state[4]
        nxt = (state[M_LAST_FUNDING_TS] // interval + 1) * interval
        while nxt < f.funding_ts_s:
            # The chain listed the market in an earlier interval than the engine's first
            # index: close those empty intervals at rate 0 (nothing was open on chain).
            if self.d.exchange.functions.open_interest(f.market).call():
                raise KeeperHalted(f"market {f.market}: chain funding is at {nxt}, the engine's "
                                   f"next is {f.funding_ts_s}, and positions are open")
            self._transact(self.d.markets.functions.apply_funding(f.market, 0), self.funding,
                           200_000, f"empty funding {f.market}@{nxt}", lambda: False)
            nxt += interval
        if state[8] != f.mark:
            raise KeeperHalted(f"market {f.market}: chain mark {state[8]} != engine funding mark "
                               f"{f.mark}")
        receipt = self._transact(self.d.markets.functions.apply_funding(f.market, f.rate),
                                 self.funding, 200_000, f"funding {f.market}@{f.funding_ts_s}",
                                 lambda: self.market_state(f.market)[M_LAST_FUNDING_TS]
                                 >= f.funding_ts_s)
        if receipt is not None:
            self.stats.funding += 1
            for listener in self.on_funding:
                listener(f, receipt)

    # ----------------------------------------------------------- transactions

    def _transact(self, call, signer: LocalAccount, gas: int, label: str,
                  landed: Callable[[], bool]) -> dict | None:
        """Sign and send; wait for the receipt and the confirmations; resend if dropped.

        Returns the receipt, or None when `landed()` shows an earlier send applied it."""
        w3 = self.chain.w3
        bump = 0
        while True:
            nonce = w3.eth.get_transaction_count(signer.address, "pending")
            params = {"from": signer.address, "nonce": nonce, "gas": gas}
            tx = call.build_transaction(params)
            if bump and "maxFeePerGas" in tx:
                tx["maxFeePerGas"] = tx["maxFeePerGas"] * (100 + 20 * bump) // 100
                tx["maxPriorityFeePerGas"] = tx["maxPriorityFeePerGas"] * (100 + 20 * bump) // 100
            signed = signer.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            self.stats.tx_hashes.append(tx_hash.hex())
            self.crash_hook("after_send")
            try:
                receipt = w3.eth.wait_for_transaction_receipt(tx_hash,
                                                              timeout=self.receipt_timeout_s)
            except Exception:  # dropped or stuck: check, then send again
                if landed():
                    return None
                bump += 1
                self.stats.resent += 1
                continue
            self.crash_hook("after_receipt")
            if receipt["status"] != 1:
                raise KeeperHalted(f"{label} reverted in block {receipt['blockNumber']}: "
                                   f"{self._revert_reason(call, signer, receipt)}")
            self._confirm(receipt)
            return receipt

    def _confirm(self, receipt: dict) -> None:
        if self.confirmations <= 0:
            return
        target = receipt["blockNumber"] + self.confirmations
        deadline = time.monotonic() + self.receipt_timeout_s
        while self.chain.w3.eth.block_number < target:
            if time.monotonic() > deadline:
                raise KeeperHalted(f"no {self.confirmations} confirmations for block "
                                   f"{receipt['blockNumber']}")
            time.sleep(0.2)

    def _revert_reason(self, call, signer: LocalAccount, receipt: dict) -> str:
        try:
            call.call({"from": signer.address}, block_identifier=receipt["blockNumber"] - 1)
        except Exception as exc:  # the replay raises with the contract's message
            return (getattr(exc, "message", None) or str(exc)).replace("execution reverted: ", "")
        return "no reason (the call succeeds when replayed)"

