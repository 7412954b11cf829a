"""The exchange node: journal + engine + batcher + keepers + reconciler, wired together.

`ExchangeNode` is what `perpx up`, the demo and the end-to-end tests run:

    node = ExchangeNode(chain, deployment, data_dir)
    node.fund(trader, 10_000 * 10**6, ts_ms)        # chain deposit; the watcher credits it
    node.submit(UpdateIndex(1, 2000 * WAD, ts_ms))   # journal + apply; settle what is due
    node.submit(PlaceOrder(order, order_hash, signature, ts_ms))
    node.on_time(ts_ms)                              # age cuts, funding due
    node.flush()                                     # settle everything pending
    assert node.reconcile() == []

Money that moves on chain reaches the engine through one path, the chain watcher
(engine/chain/watcher.py): `on_time` (and `fund`, right after its deposit)
polls the Exchange's Deposit, Withdraw and OrderCancelled logs and journals
the matching engine commands, exactly once across restarts. A withdrawal the
chain allowed but the engine's own margin check refuses halts settlement as a
mismatch (the engine has no command that forces a debit yet).

Crash-only: on start it replays the whole journal through a fresh engine and
the batcher, checks the regenerated chain actions against its outbox, and
sends whatever the chain has not applied yet (the chain's `last_batch_id`,
price and funding timestamps say what landed). Nothing else is needed to
restart: the journal, the outbox and the chain.

Batches are cut by count, age, funding and expiry, and at a mark change only
when settling at the new marks could revert (`cut_every_mark=True`: at every
mark change; engine/chain/batcher.py says which changes those are).

Single-writer: call `submit`, `on_time`, `flush` from one thread (the API
serialises its commands through its own queue). Engine times in ms, chain
times in s, amounts WAD (deposits in token units, 6 decimals for MockUSDC).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from engine.chain.batcher import Batcher, NotSettleable, PostBatch, PostPrice
from engine.chain.deploy import Deployment
from engine.chain.keeper import M_LAST_FUNDING_TS, M_PRICE_TS, Keeper, KeeperHalted, Outbox, \
    Recorded
from engine.chain.liquidator import Liquidator
from engine.chain.node import Chain
from engine.chain.reconciler import Mismatch, Reconciler, ReconcileError, engine_view
from engine.chain.watcher import ChainWatcher, WatcherStore
from engine.core.commands import PlaceOrder, Tick
from engine.core.engine import Engine
from engine.core.events import OrderAccepted, WithdrawalRejected
from engine.core.markets import MarketSpec, default_markets
from engine.core.rules import FLAG_ISOLATED
from engine.eip712 import Domain
from engine.journal import Journal, default_codec
from engine.sequencer import Sequencer

log = logging.getLogger(__name__)
TOKEN_TO_WAD = 10**12  # MockUSDC has 6 decimals


def _signer(key: LocalAccount | str | bytes | None, default: LocalAccount) -> LocalAccount:
    if key is None:
        return default
    return key if isinstance(key, LocalAccount) else Account.from_key(key)


class ExchangeNode:
    """One engine and its keepers over one deployment (see the module docstring)."""

    def __init__(self, chain: Chain, deployment: Deployment, data_dir: Path, *,
                 batch_max_fills: int = 50, batch_max_age_s: float = 5, confirmations: int = 0,
                 price_signer_key: LocalAccount | str | None = None,
                 settler_key: LocalAccount | str | None = None,
                 funding_key: LocalAccount | str | None = None,
                 markets: tuple[MarketSpec, ...] | None = None,
                 price_heartbeat_s: int = 60, local_clock: bool = True,
                 check_batches: bool = False, cut_every_mark: bool = False,
                 crash_hook: Callable[[str], None] | None = None) -> None:
        self.chain = chain
        self.d = deployment
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.batch_max_age_ms = int(batch_max_age_s * 1000)
        self.check_batches = check_batches
        self.crash_hook = crash_hook or (lambda point: None)
        self.specs = markets or default_markets()
        roles = deployment.roles
        self.settler = _signer(settler_key, roles.get("settler"))
        self.keeper = Keeper(chain, deployment, settler=self.settler,
                             price_signer=_signer(price_signer_key, roles.get("price-signer")),
                             funding=_signer(funding_key, roles.get("funding")),
                             confirmations=confirmations, local_clock=local_clock,
                             crash_hook=self.crash_hook)
        self.reconciler = Reconciler(deployment, [s.market_id for s in self.specs])
        self.halted: BaseException | None = None
        self.mismatches: list[Mismatch] = []
        self.latencies_ms: list[float] = []
        self._wall: dict[int, float] = {}  # journal seq -> perf_counter when applied (live)
        self.codec = default_codec()
        self.journal = Journal(self.data_dir / "journal.sqlite")
        self.outbox = Outbox(self.data_dir / "outbox.sqlite")
        self.engine = Engine(self.specs)
        self.liquidator = Liquidator(self.settler, Domain(chain.chain_id, deployment.exchange.address),
                                     self.engine.signed_order)
        self.batcher = Batcher(self.liquidator.signed_order, max_fills=batch_max_fills,
                               price_heartbeat_ms=price_heartbeat_s * 1000,
                               margin_ok=None if cut_every_mark else
                               lambda a: self.engine.ledger.equity(a)
                               >= self.engine.ledger.initial_margin(a))
        self._records: list[Recorded] = []
        self._next = 0  # index in _records of the first action not known to have landed
        self._recover()
        self.sequencer = Sequencer(self.engine, self.journal, codec=self.codec)
        self.sequencer.subscribe(self._listen)
        self.keeper.on_batch.append(self._on_batch)
        self._pump()
        self.watcher = ChainWatcher(deployment.exchange,
                                    WatcherStore(self.data_dir / "watcher.sqlite"),
                                    deployment.usdc.functions.decimals().call(),
                                    encode=self.codec.encode, confirmations=confirmations,
                                    insurance_fund=deployment.insurance_fund)
        self._check_chain_logs(self.watcher.resubmit(
            self.watcher.recover(self.journal, self.codec.decode), self._journal_chain))
        self._pump()

    # --------------------------------------------------------------- recovery

    def _recover(self) -> None:
        """Replay the journal through engine and batcher; match the outbox; skip what landed."""
        recorded = self.outbox.load()
        chain_last = self.keeper.last_batch_id()
        batch_ids = [r.action.batch_id for r in recorded if isinstance(r.action, PostBatch)]
        if chain_last > (batch_ids[-1] if batch_ids else 0):
            raise KeeperHalted(f"the chain settled batch {chain_last}, but this node's outbox "
                               f"only knows {batch_ids[-1] if batch_ids else 0}: wrong data_dir "
                               "or deployment")
        self.batcher.follow([r.action.pos for r in recorded if isinstance(r.action, PostBatch)],
                            [r.action.pos for r in recorded
                             if isinstance(r.action, PostPrice) and r.action.synced])
        decode, apply = self.codec.decode, self.engine.apply
        for record in self.journal.iter_from(1):
            cmd = decode(record.payload)
            self._feed(record.seq, cmd, apply(cmd))
        regenerated = self.batcher.take()
        for i, rec in enumerate(recorded):
            if i >= len(regenerated) or regenerated[i].key() != rec.action.key():
                raise KeeperHalted(f"outbox action {rec.n} ({type(rec.action).__name__}) differs "
                                   "from the journal's replay: the journal or outbox was changed")
        self._records = list(recorded)
        self._record(regenerated[len(recorded):])
        self._next = self._first_not_landed(chain_last)

    def _first_not_landed(self, chain_last: int) -> int:
        states = {s.market_id: self.keeper.market_state(s.market_id) for s in self.specs}
        for i, rec in enumerate(self._records):
            a = rec.action
            if isinstance(a, PostBatch):
                done = a.batch_id <= chain_last
            elif isinstance(a, PostPrice):
                done = a.ts_s <= states[a.market][M_PRICE_TS]
            else:
                done = a.funding_ts_s <= states[a.market][M_LAST_FUNDING_TS]
            if not done:
                return i
        return len(self._records)

    def _feed(self, seq: int, cmd: object, events: list) -> None:
        self.batcher.on_command(seq, cmd, events)
        self.liquidator.observe(events)

    def _listen(self, seq: int, cmd: object, events: list) -> None:
        self._wall[seq] = time.perf_counter()
        if self.halted is not None:
            return
        try:
            self._feed(seq, cmd, events)
        except NotSettleable as exc:  # settlement stops; the engine's state stays journaled
            log.error("settlement halted: %s", exc)
            self.halted = exc

    def _record(self, actions: list) -> None:
        """Number, digest and durably write planned actions (before any is sent)."""
        recs = []
        n = len(self._records)
        for a in actions:
            digest = b""
            if isinstance(a, PostBatch):
                digest = self.journal.range_digest(a.first_seq, a.last_seq)
            recs.append(Recorded(n, a, digest))
            n += 1
        self.outbox.append(recs)
        self._records.extend(recs)

    # ------------------------------------------------------------------ input

    def submit(self, cmd: object) -> list:
        """Journal and apply one engine command; settle whatever became due. Returns its events.

        Refuses (ValueError, before journaling) orders the chain cannot settle yet."""
        self._raise_if_halted()
        if isinstance(cmd, PlaceOrder) and cmd.order.flags & FLAG_ISOLATED:
            raise ValueError("flags: isolated margin (16) cannot settle on chain yet; "
                             "send a cross-margin order")
        self.crash_hook("before_journal")
        _, events = self.sequencer.submit(cmd)
        self.crash_hook("after_journal")
        self._pump()
        return events

    def submit_many(self, cmds: list) -> list[list]:
        """Journal and apply `cmds` in one group commit; settle what became due. Returns
        the events of each command, in order (same refusals as `submit`)."""
        self._raise_if_halted()
        for cmd in cmds:
            if isinstance(cmd, PlaceOrder) and cmd.order.flags & FLAG_ISOLATED:
                raise ValueError("flags: isolated margin (16) cannot settle on chain yet; "
                                 "send a cross-margin order")
        self.crash_hook("before_journal")
        done = self.sequencer.submit_many(cmds)
        self.crash_hook("after_journal")
        self._pump()
        return [events for _, events in done]

    def fund(self, trader: LocalAccount, amount_units: int, ts_ms: int) -> list:
        """Mint (local MockUSDC), approve and deposit on chain; the watcher then credits
        the engine (one path for every deposit). Returns the events of the chain logs
        applied by that poll (the Deposited event of this deposit among them)."""
        usdc, ex = self.d.usdc, self.d.exchange
        self.chain.send(usdc.functions.mint(trader.address, amount_units), trader)
        self.chain.send(usdc.functions.approve(ex.address, amount_units), trader)
        self.chain.send(ex.functions.deposit(amount_units), trader)
        return self.poll_chain(ts_ms)

    def poll_chain(self, ts_ms: int) -> list:
        """Apply the trader transactions (Deposit, Withdraw, OrderCancelled logs) mined
        since the last poll, stamped `ts_ms`; returns their events, in chain order."""
        self._raise_if_halted()
        applied = self.watcher.poll(ts_ms, self._journal_chain)
        self._check_chain_logs([events for _, events in applied])
        self._pump()
        return [e for _, events in applied for e in events]

    def _journal_chain(self, cmds: list) -> list:
        self.crash_hook("before_chain_journal")
        done = self.sequencer.submit_many(cmds)
        self.crash_hook("after_chain_journal")
        return done

    def _check_chain_logs(self, events_per_log: list[list]) -> None:
        """A chain withdrawal the engine refused: chain and engine now differ, halt."""
        bad = [Mismatch(ev.account, "cash (chain withdrawal refused by the engine: "
                        f"{ev.message})", 0, -ev.amount)
               for events in events_per_log for ev in events if isinstance(ev, WithdrawalRejected)]
        if bad:
            self._mismatch(bad, "chain withdrawal")

    def on_time(self, ts_ms: int) -> None:
        """The clock reached `ts_ms`: apply the trader transactions mined since the last
        poll, settle funding due (a journaled Tick), cut a batch whose oldest fill is
        `batch_max_age_s` old, and send what is due."""
        self.poll_chain(ts_ms)
        due = self.sequencer.query(lambda e: [e.market_view(m).next_funding_ts_ms
                                              for m in e.specs])
        if any(t is not None and t <= ts_ms for t in due):
            self.submit(Tick(ts_ms))
        since = self.batcher.pending_since_ms
        if since is not None and ts_ms - since >= self.batch_max_age_ms:
            self.sequencer.query(lambda e: self.batcher.cut())
        self._pump()

    def flush(self) -> None:
        """Cut and settle everything pending."""
        self._raise_if_halted()
        self.sequencer.query(lambda e: self.batcher.cut())
        self._pump()

    def sync_prices(self) -> None:
        """Settle everything pending and post the engine's latest marks, so on-chain
        equity and margin are valued at the engine's marks (replayed after a restart)."""
        self._raise_if_halted()
        self.sequencer.query(lambda e: self.batcher.sync_prices())
        self._pump()

    # ---------------------------------------------------------------- keepers

    def _pump(self) -> None:
        actions = self.sequencer.query(lambda e: self.batcher.take()) \
            if hasattr(self, "sequencer") else self.batcher.take()
        self._record(actions)
        while self._next < len(self._records):
            self._raise_if_halted()
            try:
                self.keeper.execute(self._records[self._next])
            except KeeperHalted as exc:
                self.halted = exc
                raise
            self._next += 1

    def _on_batch(self, batch: PostBatch, receipt: dict) -> None:
        now = time.perf_counter()
        for seq in batch.fill_seqs:
            wall = self._wall.get(seq)
            if wall is not None:
                self.latencies_ms.append((now - wall) * 1000)
        for seq in set(batch.fill_seqs):
            self._wall.pop(seq, None)
        for f in batch.fills:
            for side in (f.maker.order, f.taker.order):
                if side.engine_made:
                    self.liquidator.forget(self._liq_hash(side))
        if self.check_batches:
            view = self.sequencer.query(engine_view)
            bad = self.reconciler.check_batch_receipt(receipt, view,
                                                      self.batcher.pending_accounts())
            if bad:
                self._mismatch(bad, f"batch {batch.batch_id}")

    @staticmethod
    def _liq_hash(order) -> bytes:
        from engine.core.sweeps import liquidation_order_id

        return liquidation_order_id(order)

    # ------------------------------------------------------------ reconciling

    def reconcile(self) -> list[Mismatch]:
        """Compare the chain with the engine (accounts with unsettled fills skipped; pools
        only when nothing is pending). A mismatch halts settlement, naming account and field."""
        def read(engine: Engine) -> tuple:
            return engine_view(engine), self.batcher.pending_accounts(), self.batcher.pending_fills

        view, skip, pending = self.sequencer.query(read)
        bad = self.reconciler.reconcile(view, skip, pools=pending == 0)
        if bad:
            self._mismatch(bad, "reconcile")
        return bad

    def _mismatch(self, bad: list[Mismatch], where: str) -> None:
        self.mismatches.extend(bad)
        text = "; ".join(str(m) for m in bad[:10])
        log.error("chain != engine after %s: %s", where, text)
        if self.halted is None:
            self.halted = ReconcileError(f"chain != engine after {where}: {text}")

    def _raise_if_halted(self) -> None:
        if self.halted is not None:
            raise KeeperHalted(f"settlement halted: {self.halted}")

    # ------------------------------------------------------------------ stats

    def stats(self) -> dict:
        """Batches, fills, gas per fill, tx hashes, settle latencies (ms), liquidations."""
        ks, ls = self.keeper.stats, self.liquidator.stats
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None

        return {
            "batches": ks.batches, "fills": ks.fills, "batch_gas": ks.batch_gas,
            "gas_per_fill": ks.batch_gas // ks.fills if ks.fills else None,
            "prices_posted": ks.prices, "funding_posted": ks.funding, "resent": ks.resent,
            "already_landed": ks.skipped_landed, "tx_hashes": list(ks.tx_hashes),
            "settle_latency_p50_ms": pct(0.50), "settle_latency_p99_ms": pct(0.99),
            "settle_wall_s": round(sum(ks.settle_wall_s), 3),
            "pending_fills": self.batcher.pending_fills,
            "last_batch_id": self.batcher.next_batch_id - 1,
            "liquidations": ls.started, "liquidation_fills": ls.fills,
            "liquidation_fees": ls.fees, "liquidated_accounts": list(ls.accounts),
            "insurance_takeovers": ls.takeovers, "adl_legs": ls.adl,
            "chain_logs_applied": self.watcher.store.count(),
            "halted": str(self.halted) if self.halted else None,
        }

    def close(self) -> None:
        """Stop: nothing is lost (the journal and outbox are durable); call flush() first
        to settle what is pending."""
        self.sequencer.close()
        self.journal.close()
        self.outbox.close()
        self.watcher.store.close()

