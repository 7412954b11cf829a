"""Settle what the engine did on chain: batches, signed prices, funding, liquidation fills.

`DirectSettler` is the demo's own keeper, built only from the engine/chain
pieces (`deploy_all`, `encode.BatchArgs`/`FillArgs`, `Chain.send`). It reads
the engine's events in sequence order (`on_events(seq, events)`, from the
sequencer's listener) and:

- collects every `TradeExecuted` into the open batch, with both signed orders
  (`Engine.signed_order`); an engine liquidation order is signed by the
  settler key, which is what the Exchange asks of a flag-32 order;
- cuts the batch by fill count, by age (sim time), just before every funding
  timestamp, before a liquidation and right after one (the Exchange checks
  that the account is below maintenance at the posted mark);
- before each batch posts the engine's (index, mark) of every market that
  changed, signed by the price-signer key;
- at every `FundingApplied` settles the fills before it, posts the mark the
  engine paid funding at, moves the chain clock to the funding timestamp and
  posts the rate with the funding key;
- `reconcile()` compares every account's cash, positions, funding index and
  equity on chain with the engine's and returns the differences.

Units: WAD everywhere, except token amounts (6-decimal USDC) and chain time
(seconds); engine time is unix milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from engine.chain.deploy import Deployment
from engine.chain.encode import BatchArgs, FillArgs, SignedOrder
from engine.chain.node import ChainError
from engine.core.errors import PerpxError
from engine.core.events import (
    AutoDeleveraged,
    FundingApplied,
    InsuranceTakeover,
    LiquidationStarted,
    MarkUpdated,
    TradeExecuted,
)
from engine.eip712 import Domain, price_hash, sign_digest, sign_order

TOKEN_SCALE = 10**12  # WAD per unit of the 6-decimal mock USDC
# Gas limits given up front: estimating runs a transaction a dozen times on py-evm.
SETTLE_GAS_BASE = 400_000
SETTLE_GAS_PER_FILL = 150_000
PRICE_GAS = 200_000
FUNDING_GAS = 200_000


class SettlementError(PerpxError, RuntimeError):
    """Something the engine did cannot be posted on chain."""


@dataclass
class BatchRecord:
    """One settled batch: id, journal range, fills, gas used, chain timestamp (s)."""

    batch_id: int
    first_seq: int
    last_seq: int
    fills: int
    liquidation_fills: int
    gas: int
    timestamp: int


@dataclass
class FundingPost:
    """One funding interval posted on chain: market, timestamp (s), rate, mark, gas."""

    market: int
    funding_ts: int
    rate: int
    mark: int
    gas: int


@dataclass
class SettlerStats:
    batches: list[BatchRecord] = field(default_factory=list)
    funding: list[FundingPost] = field(default_factory=list)
    price_posts: int = 0
    price_gas: int = 0

    @property
    def fills(self) -> int:
        return sum(b.fills for b in self.batches)

    @property
    def settle_gas(self) -> int:
        return sum(b.gas for b in self.batches)

    def as_dict(self) -> dict:
        fills = self.fills
        return {
            "batches": len(self.batches), "fills": fills, "settle_gas": self.settle_gas,
            "gas_per_fill": self.settle_gas // fills if fills else 0,
            "price_posts": self.price_posts, "funding_posts": len(self.funding),
        }


class DirectSettler:
    """The demo's settlement keeper (see module docstring)."""

    def __init__(self, deployment: Deployment, engine, journal=None, *,
                 batch_max_fills: int = 50, batch_max_age_ms: int = 600_000) -> None:
        """engine: the Engine (read only, for signed orders and marks); journal: for
        batch digests (None: zero digest)."""
        self.d = deployment
        self.chain = deployment.chain
        self.engine = engine
        self.journal = journal
        self.batch_max_fills = batch_max_fills
        self.batch_max_age_ms = batch_max_age_ms
        self.domain = Domain(self.chain.chain_id, deployment.exchange.address)
        self.price_domain = Domain(self.chain.chain_id, deployment.markets.address)
        self.settler: LocalAccount = deployment.roles["settler"]
        self.stats = SettlerStats()
        self._fills: list[TradeExecuted] = []
        self._has_liquidation = False
        self._opened_ms: int | None = None
        self._covered_seq = 0
        self._last_seq = 0
        self._prices: dict[int, tuple[int, int, int]] = {}  # market -> (index, mark, ts_ms)
        self._posted: dict[int, tuple[int, int]] = {}
        self._price_ts: dict[int, int] = {}
        self._next_batch_id = deployment.exchange.functions.last_batch_id().call() + 1

    # ------------------------------------------------------------------ inputs

    def deposit(self, label: str, amount: int) -> int:
        """Fund the key of `label` with gas, then mint, approve and deposit `amount` WAD
        quote (a whole number of token units) on chain; returns the token amount."""
        if amount % TOKEN_SCALE:
            raise SettlementError(f"deposit {amount} is not a whole number of USDC units")
        tokens = amount // TOKEN_SCALE
        usdc, ex, chain = self.d.usdc, self.d.exchange, self.chain
        trader = chain.signer(label)
        chain.send(usdc.functions.mint(trader.address, tokens), trader)
        chain.send(usdc.functions.approve(ex.address, tokens), trader)
        chain.send(ex.functions.deposit(tokens), trader)
        return tokens

    def on_events(self, seq: int, events: list) -> None:
        """Consume the events of the command journaled at `seq`, in order.

        Batches are cut between commands, never inside one, so the fills of one
        IOC order (which the Exchange lets fill only once) stay in one batch."""
        current = 0  # fills of this command in the open batch
        for ev in events:
            kind = type(ev)
            if kind is TradeExecuted:
                if self._opened_ms is None:
                    self._opened_ms = ev.ts_ms
                self._fills.append(ev)
                current += 1
                self._has_liquidation |= ev.liquidation
            elif kind is MarkUpdated:
                self._prices[ev.market] = (ev.index, ev.mark, ev.ts_ms)
            elif kind is FundingApplied:
                self.flush(seq if current else seq - 1)
                current = 0
                self._post_funding(ev)
            elif kind is LiquidationStarted:
                self.flush(seq if current else seq - 1)
                current = 0
            elif kind in (InsuranceTakeover, AutoDeleveraged):
                raise SettlementError(
                    f"{kind.__name__} of {ev.account} in market {ev.market}: the demo's keeper "
                    "posts only book liquidations; give the makers deeper books")
        self._last_seq = seq
        if self._has_liquidation or len(self._fills) >= self.batch_max_fills:
            self.flush(seq)

    def on_time(self, ts_ms: int) -> None:
        """Cut the open batch once its oldest fill is `batch_max_age_ms` old."""
        if self._opened_ms is not None and ts_ms - self._opened_ms >= self.batch_max_age_ms:
            self.flush(self._last_seq)

    # ---------------------------------------------------------------- batches

    def flush(self, last_seq: int | None = None) -> BatchRecord | None:
        """Post the open batch (covering journal seqs up to `last_seq`), prices first."""
        if not self._fills:
            return None
        last_seq = self._last_seq if last_seq is None else last_seq
        fills = self._fills
        ts_s = max(f.ts_ms for f in fills) // 1000
        self._ensure_time(ts_s)
        self.post_prices(sorted({f.market for f in fills}))
        args = tuple(self._fill_args(f) for f in fills)
        first = self._covered_seq + 1
        digest = (self.journal.range_digest(first, last_seq) if self.journal is not None
                  else b"\x00" * 32)
        batch = BatchArgs(self._next_batch_id, first, last_seq, digest,
                          max(ts_s, self._last_batch_ts()), args)
        receipt = self._send(self.d.exchange.functions.settle(batch.as_tuple()), self.settler,
                             SETTLE_GAS_BASE + SETTLE_GAS_PER_FILL * len(fills))
        rec = BatchRecord(batch.batch_id, first, last_seq, len(fills),
                          sum(1 for f in fills if f.liquidation), receipt["gasUsed"],
                          batch.timestamp)
        self.stats.batches.append(rec)
        self._next_batch_id += 1
        self._covered_seq = last_seq
        self._fills = []
        self._has_liquidation = False
        self._opened_ms = None
        return rec

    def _last_batch_ts(self) -> int:
        return self.stats.batches[-1].timestamp if self.stats.batches else 0

    def _fill_args(self, ev: TradeExecuted) -> FillArgs:
        maker = self._signed(ev.maker_order)
        taker = self._signed(ev.taker_order)
        return FillArgs(maker, taker, ev.size, ev.price, ev.maker_fee, ev.taker_fee)

    def _signed(self, order_id: bytes) -> SignedOrder:
        order, signature = self.engine.signed_order(order_id)
        if not signature:  # an engine order (liquidation): the settler key signs it
            signature = sign_order(self.settler.key, self.domain, order)
        return SignedOrder(order, signature)

    # ----------------------------------------------------------- prices, funding

    def post_prices(self, markets: list[int] | None = None, force: bool = False) -> None:
        """Post the engine's latest (index, mark) of `markets` (all: None) if changed."""
        for market in sorted(self._prices) if markets is None else markets:
            index, mark, ts_ms = self._prices[market]
            if force or self._posted.get(market) != (index, mark):
                self._post_price(market, index, mark, ts_ms)

    def _post_price(self, market: int, index: int, mark: int, ts_ms: int) -> None:
        ts = max(ts_ms // 1000, self._price_ts.get(market, 0) + 1)
        self._ensure_time(ts)
        sig = sign_digest(self.d.roles["price-signer"].key,
                          price_hash(self.price_domain, market, index, mark, ts))
        call = self.d.markets.functions.post_prices(market, index, mark, ts, sig)
        receipt = self._send(call, self.d.roles["funding"], PRICE_GAS)
        self._posted[market] = (index, mark)
        self._price_ts[market] = ts
        self.stats.price_posts += 1
        self.stats.price_gas += receipt["gasUsed"]

    def _post_funding(self, ev: FundingApplied) -> None:
        funding_ts = ev.funding_ts_ms // 1000
        expected = self.d.markets.functions.next_funding_ts(ev.market).call()
        if expected != funding_ts:
            raise SettlementError(f"market {ev.market}: engine funding at {funding_ts}, chain "
                                  f"expects {expected}")
        if self._posted.get(ev.market) != (ev.index, ev.mark):
            self._post_price(ev.market, ev.index, ev.mark, ev.ts_ms)
        self._ensure_time(funding_ts)
        call = self.d.markets.functions.apply_funding(ev.market, ev.rate)
        receipt = self._send(call, self.d.roles["funding"], FUNDING_GAS)
        self.stats.funding.append(FundingPost(ev.market, funding_ts, ev.rate, ev.mark,
                                              receipt["gasUsed"]))

    def _send(self, call, sender: LocalAccount, gas: int):
        """Send with a fixed gas limit; on a revert, ask the node for the reason."""
        try:
            return self.chain.send(call, sender, gas=gas)
        except ChainError as exc:
            try:
                call.call({"from": sender.address})
            except Exception as why:  # noqa: BLE001 - web3 raises ContractLogicError
                raise SettlementError(f"{call.fn_name} reverted: {why}") from exc
            raise

    def _ensure_time(self, ts_s: int) -> None:
        if ts_s > self.chain.now():
            self.chain.set_time(ts_s)

    # -------------------------------------------------------------- reconcile

    def reconcile(self, accounts: list[str]) -> list[str]:
        """Differences between chain and engine (empty == equal): per account cash,
        each position's size and funding index, and equity at the same marks. Posts
        the engine's current marks first, so both sides value positions alike."""
        self.flush()
        self.post_prices()
        ex, ledger = self.d.exchange, self.engine.ledger
        diffs = []
        for account in accounts:
            acct = ledger.accounts.get(account)
            cash = acct.cash if acct is not None else 0
            if ex.functions.cash(account).call() != cash:
                diffs.append(f"{account}: cash chain {ex.functions.cash(account).call()} "
                             f"engine {cash}")
            for market in self.engine.specs:
                pos = ledger.position(account, market)
                size, last = (pos.size, pos.last_index) if pos is not None and pos.size else (0, 0)
                on_chain = tuple(ex.functions.position(account, market).call())
                if on_chain[0] != size or (size and on_chain[1] != last):
                    diffs.append(f"{account}: market {market} position chain {on_chain} "
                                 f"engine {(size, last)}")
            if ex.functions.equity(account).call() != ledger.equity(account):
                diffs.append(f"{account}: equity chain {ex.functions.equity(account).call()} "
                             f"engine {ledger.equity(account)}")
        return diffs
