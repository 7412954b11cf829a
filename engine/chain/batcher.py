"""The batcher: turns the engine's event stream into an ordered plan of chain actions.

It listens to the sequencer (`on_command(seq, cmd, events)`, in seq order)
and emits, in the order the chain must see them:

- `PostPrice(market, index, mark, ts_s)`: the (index, mark) the engine used.
  Prices are posted lazily: only before a batch or a funding call that needs
  them, or when the last posted one is older than `price_heartbeat_ms`.
- `PostBatch(...)`: fills cut into a settlement batch
  - by count (`max_fills`, at a command boundary, never splitting one order's
    run of fills: an IOC/FOK/liquidation order cannot fill in two batches),
  - before the batch would exceed the contract's MAX_FILLS / MAX_ACCOUNTS,
  - before a mark changes (every fill of a batch is checked on chain at one
    set of marks, the latest posted before it): always, or, with a
    `margin_ok` oracle, only when the change could make the batch revert:
    the command that moved the mark also made fills, the batch holds a
    liquidation fill (checked against maintenance at the posted mark), or an
    account the batch touches is below initial margin at the new marks (the
    chain requires initial margin after the batch, or less risk). Otherwise
    the batch stays open and settles at the later marks, at which every
    account it touches was checked to meet initial margin,
  - before a fill whose second reaches the expiry of an order already in the
    batch (the batch timestamp, its last fill's second, must stay < expiry),
  - at every funding timestamp, before `PostFunding`, so the chain holds
    exactly the positions open at that moment,
  - and when asked (`cut()`: by age, or a flush).
- `PostFunding(market, funding_ts_s, rate, mark)`: the engine's FundingApplied.

A batch's timestamp is the second of its last fill (floor: the contract
refuses a fill at or after an order's expiry, and the engine filled it
before). `first_seq..last_seq` is the journal range the batch covers
(contiguous over the whole journal; a batch cut inside a command shares that
command's seq with the next batch).

Deterministic given the events and the positions of explicit cuts, so after
a crash the node replays the journal through it and regenerates exactly the
actions it had recorded (engine/chain/keeper.py holds the durable outbox).
All prices and sizes WAD; chain times in seconds, engine times in ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.chain.encode import FillArgs, SignedOrder
from engine.core.accounts import INSURANCE
from engine.core.errors import PerpxError
from engine.core.events import (
    AutoDeleveraged,
    FundingApplied,
    InsuranceTakeover,
    MarkUpdated,
    TradeExecuted,
)
from engine.core.orders import Order

# engine events that become settlement fills: book fills, takeover and ADL legs
FILL_EVENTS = (TradeExecuted, InsuranceTakeover, AutoDeleveraged)
MAX_FILLS = 200  # Exchange.MAX_FILLS
MAX_ACCOUNTS = 256  # Exchange.MAX_ACCOUNTS


class NotSettleable(PerpxError, RuntimeError):
    """The engine did something the contracts have no entry point for yet."""


@dataclass(frozen=True, slots=True)
class PostPrice:
    """A signed (index, mark) entry to post; `ts_s` chain seconds."""

    market: int
    index: int
    mark: int
    ts_s: int
    pos: tuple[int, int] = (0, 0)  # (seq, events consumed) where it was planned
    synced: bool = False  # planned by an explicit `sync_prices()` (replay repeats it)

    def key(self) -> tuple:
        return ("price", self.market, self.index, self.mark, self.ts_s)


@dataclass(frozen=True, slots=True)
class PostBatch:
    """One settlement batch (the contract's Batch without the digest, added at recording)."""

    batch_id: int
    first_seq: int
    last_seq: int
    timestamp: int  # seconds of the last fill
    fills: tuple[FillArgs, ...]
    fill_seqs: tuple[int, ...]  # journal seq of the command that made each fill
    fill_ts_ms: tuple[int, ...]
    pos: tuple[int, int] = (0, 0)

    def key(self) -> tuple:
        return ("batch", self.batch_id, self.first_seq, self.last_seq, self.timestamp,
                tuple(f.as_tuple() for f in self.fills))


@dataclass(frozen=True, slots=True)
class PostFunding:
    """The funding of the interval ending at `funding_ts_s`; `mark` the engine's (for checks)."""

    market: int
    funding_ts_s: int
    rate: int
    mark: int
    pos: tuple[int, int] = (0, 0)

    def key(self) -> tuple:
        return ("funding", self.market, self.funding_ts_s, self.rate, self.mark)


Action = PostPrice | PostBatch | PostFunding


@dataclass(slots=True)
class _Pending:
    fills: list[FillArgs] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    ts_ms: list[int] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    min_expiry: int = 0  # smallest non-zero order expiry (s) in the batch, 0 = none
    liquidation: bool = False  # the batch holds a liquidation fill

    def clear(self) -> None:
        self.liquidation = False
        self.fills.clear()
        self.seqs.clear()
        self.ts_ms.clear()
        self.accounts.clear()
        self.min_expiry = 0


# (order hash) -> (order, signature); liquidation orders are signed by the liquidator
OrderSource = Callable[[bytes], tuple[Order, bytes]]
# (account) -> True when it meets initial margin in the engine's current state
MarginOracle = Callable[[str], bool]


class Batcher:
    """Plans chain actions from engine events (see the module docstring)."""

    def __init__(self, order_source: OrderSource, *, max_fills: int = 50,
                 price_heartbeat_ms: int = 60_000, first_batch_id: int = 1,
                 margin_ok: MarginOracle | None = None) -> None:
        """margin_ok: None cuts at every mark change; an oracle keeps a batch open across
        mark changes that cannot make it revert (module docstring)."""
        if not 1 <= max_fills <= MAX_FILLS:
            raise ValueError(f"max_fills must be in 1..{MAX_FILLS}, got {max_fills}")
        self.order_source = order_source
        self.max_fills = max_fills
        self.price_heartbeat_ms = price_heartbeat_ms
        self.margin_ok = margin_ok
        self._cmd_has_fills = False
        self.next_batch_id = first_batch_id
        self.actions: list[Action] = []  # planned, not yet taken by the keeper
        self.marks: dict[int, tuple[int, int, int]] = {}  # market -> (index, mark, ts_ms)
        self.posted: dict[int, tuple[int, int, int]] = {}  # market -> (index, mark, ts_s)
        self.last_seq = 0  # last journal seq seen
        self._pending = _Pending()
        self._covered = 0  # journal seq the last batch covered up to
        self._pos: tuple[int, int] = (0, 0)
        self._forced: list[tuple[int, int]] = []  # replay: recorded cut positions, ascending
        self._forced_syncs: list[tuple[int, int]] = []  # replay: recorded sync positions
        self._fills_left_in_cmd = 0

    # ------------------------------------------------------------------ input

    @property
    def pending_fills(self) -> int:
        return len(self._pending.fills)

    @property
    def pending_since_ms(self) -> int | None:
        """ts_ms of the oldest fill not yet in a batch, None if there is none."""
        return self._pending.ts_ms[0] if self._pending.ts_ms else None

    def pending_accounts(self) -> set[str]:
        return set(self._pending.accounts)

    def follow(self, positions: list[tuple[int, int]],
               syncs: list[tuple[int, int]] = ()) -> None:
        """Replay mode: cut batches exactly at these recorded positions (seq, events
        consumed), and nowhere else, while any of them lies ahead; repeat the explicit
        price syncs recorded at `syncs`."""
        self._forced = sorted(positions)
        self._forced_syncs = sorted(set(syncs))

    def on_command(self, seq: int, cmd: object, events: list) -> None:
        """Feed one applied command's events (the sequencer listener)."""
        self.last_seq = seq
        self._fills_left_in_cmd = sum(1 for e in events if type(e) in FILL_EVENTS)
        self._cmd_has_fills = self._fills_left_in_cmd > 0
        first_fill = True
        for k, ev in enumerate(events):
            self._pos = (seq, k)
            self._forced_cut()
            kind = type(ev)
            if kind in FILL_EVENTS:
                if first_fill and not self._forced:
                    self._precheck_command(events[k:])
                first_fill = False
                if kind is TradeExecuted:
                    self._add_fill(seq, ev)
                else:
                    self._add_backstop(seq, ev)
                self._fills_left_in_cmd -= 1
            elif kind is MarkUpdated:
                self._on_mark(ev)
            elif kind is FundingApplied:
                self._on_funding(ev)
        self._pos = (seq, len(events))
        self._forced_cut()
        if not self._forced and len(self._pending.fills) >= self.max_fills:
            self._cut()

    def cut(self) -> None:
        """Cut the pending fills into a batch now (age or flush), at a command boundary."""
        if self._pending.fills:
            self._cut()

    def sync_prices(self) -> None:
        """Plan a post of every market's latest (index, mark) not yet posted (so chain
        equity is valued at the engine's marks), cutting pending fills first."""
        self.cut()
        self._sync_prices(synced=True)

    def take(self) -> list[Action]:
        """The actions planned since the last call, in order."""
        out, self.actions = self.actions, []
        return out

    # ---------------------------------------------------------------- cutting

    def _forced_cut(self) -> None:
        while self._forced and self._forced[0] <= self._pos:
            at = self._forced.pop(0)
            if at == self._pos and self._pending.fills:
                self._cut()
        while self._forced_syncs and self._forced_syncs[0] <= self._pos:
            if self._forced_syncs.pop(0) == self._pos:
                self._sync_prices(synced=True)

    def _precheck_command(self, events: list) -> None:
        """Cut before a command's fills if they would not fit in the current batch."""
        trades = [e for e in events if type(e) in FILL_EVENTS]
        accounts = set(self._pending.accounts)
        for e in trades:
            if type(e) is TradeExecuted:
                accounts.update((e.maker, e.taker))
            else:
                accounts.update((e.account, e.counterparty if type(e) is AutoDeleveraged
                                 else INSURANCE))
        if self._pending.fills and (len(self._pending.fills) + len(trades) > MAX_FILLS
                                    or len(accounts) > MAX_ACCOUNTS):
            self._cut()

    def _add_fill(self, seq: int, ev: TradeExecuted) -> None:
        p = self._pending
        maker_order, maker_sig = self.order_source(ev.maker_order)
        taker_order, taker_sig = self.order_source(ev.taker_order)
        if taker_order.isolated or maker_order.isolated:
            raise NotSettleable(f"fill seq {ev.seq}: isolated-margin orders (flag 16) cannot "
                                "settle on chain yet")
        ts_s = ev.ts_ms // 1000
        if p.fills and (p.min_expiry and ts_s >= p.min_expiry) and not self._forced:
            self._cut()
        if p.fills and not self._forced and self._would_split_run_over_limit():
            self._cut()
        self._append(seq, ev.ts_ms, FillArgs(SignedOrder(maker_order, maker_sig),
                                             SignedOrder(taker_order, taker_sig),
                                             ev.size, ev.price, ev.maker_fee, ev.taker_fee),
                     ev.liquidation)

    def _add_backstop(self, seq: int, ev: InsuranceTakeover | AutoDeleveraged) -> None:
        """A takeover or ADL leg: the fill of the counterparty's backstop order (maker)
        against the liquidated side's engine order (taker) at the bankruptcy price,
        no fees. Its legs follow the liquidation's book fills in the same batch."""
        if self._pending.fills and not self._forced and self._would_split_run_over_limit():
            self._cut()
        maker = SignedOrder(*self.order_source(ev.backstop_order))
        taker = SignedOrder(*self.order_source(ev.liquidation_order))
        self._append(seq, ev.ts_ms, FillArgs(maker, taker, abs(ev.size), ev.price, 0, 0), True)

    def _append(self, seq: int, ts_ms: int, fill: FillArgs, liquidation: bool) -> None:
        """Add one fill to the pending batch: its accounts, and the smallest expiry."""
        p = self._pending
        p.fills.append(fill)
        p.seqs.append(seq)
        p.ts_ms.append(ts_ms)
        p.liquidation = p.liquidation or liquidation
        for o in (fill.maker.order, fill.taker.order):
            p.accounts.add(o.trader)
            if o.expiry and (not p.min_expiry or o.expiry < p.min_expiry):
                p.min_expiry = o.expiry

    def _would_split_run_over_limit(self) -> bool:
        """A command with more fills than MAX_FILLS: cut only at the hard limit."""
        return len(self._pending.fills) >= MAX_FILLS

    def _on_mark(self, ev: MarkUpdated) -> None:
        old = self.marks.get(ev.market)
        if old is not None and (old[0], old[1]) != (ev.index, ev.mark) and self._pending.fills \
                and not self._forced and self._mark_may_revert():
            self._cut()
        self.marks[ev.market] = (ev.index, ev.mark, ev.ts_ms)
        posted = self.posted.get(ev.market)
        if posted is None or ev.ts_ms - posted[2] * 1000 >= self.price_heartbeat_ms:
            self._post_price(ev.market)

    def _on_funding(self, ev: FundingApplied) -> None:
        if self._pending.fills and not self._forced:
            self._cut()
        self._sync_prices()
        posted = self.posted.get(ev.market)
        if posted is None or posted[1] != ev.mark:
            raise NotSettleable(f"funding of market {ev.market} at {ev.funding_ts_ms} ms used "
                                f"mark {ev.mark}, but the last mark the engine published is "
                                f"{posted}")
        self.actions.append(PostFunding(ev.market, ev.funding_ts_ms // 1000, ev.rate, ev.mark,
                                        self._pos))

    def _sync_prices(self, synced: bool = False) -> None:
        for market in sorted(self.marks):
            index, mark, _ = self.marks[market]
            posted = self.posted.get(market)
            if posted is None or (posted[0], posted[1]) != (index, mark):
                self._post_price(market, synced)

    def _mark_may_revert(self) -> bool:
        """Could settling the pending batch at the new marks revert? (engine state is the
        state after this command, which equals the batch's result when it made no fills)"""
        p = self._pending
        if self.margin_ok is None or self._cmd_has_fills or p.liquidation:
            return True
        return not all(self.margin_ok(a) for a in sorted(p.accounts))

    def _post_price(self, market: int, synced: bool = False) -> None:
        index, mark, ts_ms = self.marks[market]
        posted = self.posted.get(market)
        ts_s = ts_ms // 1000
        if posted is not None and ts_s <= posted[2]:
            ts_s = posted[2] + 1  # the chain wants strictly increasing price timestamps
        self.posted[market] = (index, mark, ts_s)
        self.actions.append(PostPrice(market, index, mark, ts_s, self._pos, synced))

    def _cut(self) -> None:
        p = self._pending
        self._sync_prices()
        first_seq = min(self._covered + 1, p.seqs[0])
        last_seq = p.seqs[-1]
        batch = PostBatch(self.next_batch_id, first_seq, last_seq, p.ts_ms[-1] // 1000,
                          tuple(p.fills), tuple(p.seqs), tuple(p.ts_ms), self._pos)
        self.actions.append(batch)
        self.next_batch_id += 1
        self._covered = last_seq
        p.clear()
