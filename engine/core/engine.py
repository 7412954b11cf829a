"""The engine: commands in, events out, one deterministic state.

`Engine.apply(cmd)` validates, checks risk, matches, charges fees and
settles fills in the ledger, and returns the events in the order things
happened. Rejections are `OrderRejected` / `CancelRejected` /
`WithdrawalRejected` / `CommandRejected` events with a `RejectCode`, never
exceptions; an exception out of `apply` is a broken invariant or a bug and
means stop and replay.

Before a command runs, time advances to its `ts_ms`: resting orders past
their expiry are cancelled, premium samples due on the 5 s grid are taken,
and funding is settled at every UTC-aligned funding timestamp passed, each
separately (engine/core/sweeps.py). An `UpdateIndex` then moves the mark,
fires stop / take-profit orders and runs the liquidation sweep.

The order of one `PlaceOrder`: validation (1xxx) -> duplicate hash -> nonce
reuse (1016) -> fee cap -> reduce-only clamp (2002) -> post-only / FOK / IOC book checks (3xxx) ->
pre-trade initial margin counting the account's resting orders (2001) ->
`OrderAccepted` -> matching with self-trade prevention -> one
`TradeExecuted` per fill -> rest the remainder (GTC) or cancel it (IOC).

All amounts WAD; accounts are 0x address strings compared exactly (the
adapter checksums them); order ids are EIP-712 order hashes.
"""

from __future__ import annotations

import hashlib

import cython

from engine.core import fees, liquidation, risk
from engine.core.accounts import Ledger
from engine.core.book import Book, Match
from engine.core.codes import RejectCode
from engine.core.fills import FillHistory
from engine.core.commands import (
    CancelAll,
    CancelOrder,
    CoverBadDebt,
    Deposit,
    PlaceOrder,
    SetStake,
    SweepFees,
    Tick,
    UpdateIndex,
    Withdraw,
)
from engine.core.errors import InvalidCommand, InvalidMarket, InvariantViolation
from engine.core.events import (
    CommandRejected,
    OrderReduced,
    OrderRejected,
    cancel_rejected,
    order_accepted,
    order_cancelled,
    trade_executed,
)
from engine.core.exposure import ExposureRow, expose
from engine.core.markets import MarketSpec
from engine.core.orders import Order
from engine.core.queries import QueriesMixin
from engine.core.registry import OrderRegistry
from engine.core.retention import ORDER_RETENTION_MS, RetentionMixin
from engine.core.rules import (
    FLAG_BACKSTOP,
    FLAG_FOK,
    FLAG_ISOLATED,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FLAGS_NON_RESTING,
)
from engine.core.snapshot import SnapshotMixin
from engine.core.sweeps import SweepsMixin
from engine.core.transfers import TransfersMixin
from engine.core.triggers import ExpiryQueue, TriggerBook
from engine.core.validation import PLAIN_FLAGS, UINT256_MAX, check_fee_cap, check_shape
from engine.core.views import CANCELLED, FILLED, OPEN, PENDING, OrderRecord
from engine.core.wad import WAD, mul_wad_down, mul_wad_up, multiple_of

# the cancel path's rejection codes as plain ints: an attribute of the RejectCode enum
# class goes through its metaclass on every read (~900 instructions compiled)
UNKNOWN_ORDER = int(RejectCode.UNKNOWN_ORDER)
NOT_ORDER_OWNER = int(RejectCode.NOT_ORDER_OWNER)
# The flag bits the order path tests. Compiled they are C longs (engine.pxd), tested
# against an order's flags read once into a C long: one AND each, where a Python int
# AND and its truth test cost a call each.
POST_ONLY = FLAG_POST_ONLY
REDUCE_ONLY = FLAG_REDUCE_ONLY
ISOLATED = FLAG_ISOLATED
FOK = FLAG_FOK
NON_RESTING = FLAGS_NON_RESTING
NOT_ISOLATED = ~FLAG_ISOLATED  # every flag but isolated
# PLAIN_FLAGS as a bit mask, bit f for flags value f (all are below 64): compiled, the
# fast path's membership test is a shift, not a set lookup
PLAIN_MASK = sum(1 << f for f in PLAIN_FLAGS)
assert max(PLAIN_FLAGS) < 64


def _is_plain(flags: object) -> bool:
    """`flags in PLAIN_FLAGS` for an exact int (anything else: False, which sends the
    order to check_shape for the exact answer)."""
    if type(flags) is not int or not 0 <= flags < 64:  # type: ignore[operator]
        return False
    bit = flags  # compiled: a C long (engine.pxd)
    return (PLAIN_MASK >> bit) & 1 == 1


@cython.cclass
class Lane:
    """One listed market's order path in one object (`EngineCore._lanes`, rebuilt from
    the state, never snapshotted): its book, its step and tick sizes, and its fee-rate
    memo (the dict of `_rates`). Compiled, its fields are C fields: an order reads them
    after one lookup instead of a dict lookup and an attribute read each."""

    def __init__(self, book: Book, spec: MarketSpec, rates: dict) -> None:
        self.book = book
        self.step_size = spec.step_size
        self.tick_size = spec.tick_size
        self.rates = rates


@cython.auto_pickle(False)  # pickled by SnapshotMixin's __getstate__ / __setstate__
@cython.cclass
class EngineCore:
    """The engine's state and its order path (see `Engine`). Compiled (make native) it
    is an extension type whose state is C fields and whose order-path methods are
    called through a vtable (engine/core/engine.pxd); `Engine` adds the sweeps,
    transfers, queries, retention and snapshots as plain Python mixins."""

    def __init__(self, markets: tuple[MarketSpec, ...], *,
                 order_retention_ms: int = ORDER_RETENTION_MS) -> None:
        self.specs: dict[int, MarketSpec] = {}
        for spec in markets:
            try:
                spec.check()
            except ValueError as exc:
                raise InvalidMarket(f"market {spec.market_id}: {exc}") from exc
            if spec.market_id in self.specs:
                raise InvalidMarket(f"market {spec.market_id} is listed twice")
            self.specs[spec.market_id] = spec
        self.books = {m: Book(m) for m in self.specs}
        self.ledger = Ledger(self.specs)
        self.orders = OrderRegistry()  # hash -> OrderRecord (engine/core/registry.py)
        self.triggers = {m: TriggerBook() for m in self.specs}
        self.expiries = ExpiryQueue()
        self.fills: dict[str, FillHistory] = {}
        self.monitor = risk.FundingRiskMonitor()
        self._seq = 0
        self._clock = 0
        self._next_due = 0  # the first command runs _advance, which schedules the rest
        self._liq_nonce = 0
        # market -> account -> (maker, taker) fee rates at its stake (fee_rates' memo)
        self._rates: dict[int, dict[str, tuple[int, int]]] = {m: {} for m in self.specs}
        # account -> market -> ExposureRow: the size and notional of its resting orders
        # on each side (engine/core/exposure.py)
        self._exposure: dict[str, dict[int, ExposureRow]] = {}
        # (account, market) -> resting reduce-only order hashes, oldest first
        self._reduce_only: dict[tuple[str, int], list[bytes]] = {}
        self._pending: dict[str, dict[bytes, int]] = {}  # trader -> {trigger order: market}
        # trader -> nonces of its accepted orders: the contract spends a nonce bit per order
        self._nonces: dict[str, set[int]] = {}
        self._init_sweeps()
        self._init_retention(order_retention_ms)
        self._register = self._registered.append
        self._dispatch = self._make_dispatch()
        self._lanes = self._make_lanes()

    def _make_lanes(self) -> dict:
        """market -> its Lane, from the books, specs and rates memo (after a restore too)."""
        return {m: Lane(self.books[m], spec, self._rates[m]) for m, spec in self.specs.items()}

    def _make_dispatch(self) -> dict:
        return {
            PlaceOrder: self._place, CancelOrder: self._cancel, CancelAll: self._cancel_all,
            Deposit: self._deposit, Withdraw: self._withdraw, SetStake: self._set_stake,
            UpdateIndex: self._update_index, Tick: self._tick,
            SweepFees: self._sweep_fees, CoverBadDebt: self._cover_bad_debt,
        }

    # ------------------------------------------------------------------ apply

    def apply(self, cmd: object) -> list:
        """Apply one command at its `ts_ms`; return the events it caused, in order.

        A command older than the engine's clock runs at the clock (time never
        goes backwards). Raises InvalidCommand for an object that is not a command."""
        kind = type(cmd)
        handler = None  # orders and cancels, most commands, skip the table
        if kind is PlaceOrder:
            ts = cython.cast(PlaceOrder, cmd).ts_ms  # compiled: a C field, not a getattr
        elif kind is CancelOrder:
            ts = cython.cast(CancelOrder, cmd).ts_ms
        else:
            handler = self._dispatch.get(kind)
            if handler is None:
                raise InvalidCommand(f"not an engine command: {kind.__name__}")
            ts = cmd.ts_ms  # type: ignore[attr-defined]
        if ts < self._clock:
            ts = self._clock
        else:
            self._clock = ts
        out: list = []
        if ts >= self._next_due:
            self._advance(ts, out)
        if handler is not None:
            handler(cmd, ts, out)
        elif kind is PlaceOrder:
            self._place(cmd, ts, out)
        else:
            self._cancel(cmd, ts, out)
        return out

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------------ orders

    def _reject(self, out: list, ts: int, order_hash: bytes, trader: str,
                code: RejectCode, message: str) -> None:
        self._seq += 1
        out.append(OrderRejected(self._seq, ts, order_hash, trader, int(code), message))

    def fee_rates(self, account: str, market: int) -> tuple[int, int]:
        """(maker, taker) fee rates (WAD fractions) of `account` in `market` at its stake."""
        by_account = self._rates[market]
        rates = by_account.get(account)
        if rates is None:
            spec = self.specs[market]
            acct = self.ledger.accounts.get(account)
            stake = acct.stake if acct is not None else 0
            rates = (fees.fee_rate(spec.maker_fee_rate, stake),
                     fees.fee_rate(spec.taker_fee_rate, stake))
            by_account[account] = rates
        return rates

    def _place(self, cmd: PlaceOrder, ts: int, out: list) -> None:
        order = cmd.order
        h = cmd.order_hash
        trader, market, size, limit = order.trader, order.market, order.size, order.limit_price
        lane = self._lanes.get(market)
        # the common well-formed order passes in one expression; anything else (or a
        # trigger order) goes through check_shape, which finds the exact rejection
        if (lane is None or not _is_plain(order.flags) or order.trigger_price
                or not 0 < size <= UINT256_MAX or not multiple_of(size, lane.step_size)
                or not 0 < limit <= UINT256_MAX or not multiple_of(limit, lane.tick_size)
                or (order.expiry and ts >= order.expiry * 1000)):
            bad = check_shape(order, self.specs.get(market), ts)
            if bad is not None:
                return self._reject(out, ts, h, trader, bad[0], bad[1])
        if self.orders.has(h):
            return self._reject(out, ts, h, trader, RejectCode.DUPLICATE_ORDER,
                                f"order_hash: 0x{h.hex()} was already accepted")
        used = self._nonces.get(trader)
        if used is not None and order.nonce in used:
            return self._reject(out, ts, h, trader, RejectCode.NONCE_REUSED,
                                f"nonce: {order.nonce} was already used by an accepted order of "
                                f"{trader}; sign the order with a fresh nonce")
        rates = lane.rates.get(trader)  # lane is not None: the market is listed
        if rates is None:
            rates = self.fee_rates(trader, market)
        if order.trigger_price:
            return self._place_trigger(cmd, ts, out, rates[1])
        self._accept(cmd, order, h, rates, used, ts, out, lane.book)

    def _accept(self, cmd: PlaceOrder, order: Order, h: bytes, rates: tuple[int, int],
                used: set[int] | None, ts: int, out: list, book: Book) -> None:
        """Fee cap, pre-trade checks, then `OrderAccepted` and execution of a well-formed
        order (`used`: the trader's spent nonces, None if none yet; `book`: its market's)."""
        trader, market, flags = order.trader, order.market, order.flags
        is_buy, limit = order.is_buy, order.limit_price
        bits = flags  # compiled: a C long (the flags of a well-formed order are < 256)
        if bits & POST_ONLY:
            maker = True
        elif bits & NON_RESTING:
            maker = False
        else:  # a resting-capable limit order is charged as maker unless it crosses now
            maker = not book.would_cross(is_buy, limit)
        rate = rates[0] if maker else rates[1]
        if order.max_fee_rate < rate:
            bad = check_fee_cap(order, rate, "maker" if maker else "taker")
            return self._reject(out, ts, h, trader, bad[0], bad[1])  # type: ignore[index]
        size = order.size
        exposure = self._exposure.get(trader)
        if bits & NOT_ISOLATED:  # reduce-only, post-only, IOC, FOK: their book checks too
            bad = self._pre_trade(order, size, exposure)
        else:  # a plain limit order: the margin check alone (what _pre_trade ends with)
            code = risk.checked_with_cache(self.ledger, trader, market, is_buy, size, limit,
                                           exposure)
            bad = None if code is None else self._margin_rejection(code, trader, market, size,
                                                                   limit)
        if bad is not None:
            return self._reject(out, ts, h, trader, bad[0], bad[1])
        self._seq = seq = self._seq + 1
        # OrderRecord(order, signature, OPEN, seq, ts) field by field: compiled, __new__
        # and C field stores skip the call of the type and its __init__ (hot path)
        rec = OrderRecord.__new__(OrderRecord)
        rec.order, rec.signature, rec.status, rec.filled = order, cmd.signature, OPEN, 0
        rec.seq, rec.ts_ms, rec.reason, rec.exposure_row = seq, ts, None, None
        self.orders.put(h, rec)
        self._register(h)  # _registered.append, bound once: a vectorcall, no lookup
        if used is None:
            self._nonces[trader] = {order.nonce}
        else:
            used.add(order.nonce)
        out.append(order_accepted(seq, ts, h, trader, market, is_buy, size, limit, 0, flags,
                                 False))
        if bits & REDUCE_ONLY:
            size = risk.reduce_only_size(self.ledger, trader, market, is_buy, size)
        elif maker:  # it cannot trade now (checked above): rest it whole, skip the matcher
            return self._rest(h, rec, size, book, exposure)
        self._execute(h, rec, size, ts, out)

    def _rest(self, h: bytes, rec: OrderRecord, size: int, book: Book,
              exposure: dict[int, ExposureRow] | None) -> None:
        """Rest `size` WAD base of an accepted GTC order (its record `rec`) that crosses
        nothing in `book`, its market's; track its exposure and its expiry (`exposure`:
        the trader's entry of `_exposure`, None if it has none)."""
        order = rec.order
        trader, market, is_buy, price = order.trader, order.market, order.is_buy, order.limit_price
        book.insert(h, trader, is_buy, price, size)
        rec.exposure_row = expose(self._exposure, exposure, trader, market, is_buy, size, price)
        if order.expiry:
            self.expiries.add(h, order.expiry, rec.seq)
            if self.expiries.next_ms < self._next_due:
                self._next_due = self.expiries.next_ms

    def _use_nonce(self, order: Order) -> None:
        """Spend the (trader, nonce) of an accepted order (checked by `_place`, code 1016)."""
        used = self._nonces.get(order.trader)
        if used is None:
            self._nonces[order.trader] = {order.nonce}
        else:
            used.add(order.nonce)

    def _clamp_reduce_only(self, order: Order, size: int) -> int:
        if not order.reduce_only:
            return size
        return risk.reduce_only_size(self.ledger, order.trader, order.market, order.is_buy, size)

    def _pre_trade(self, order: Order, size: int, exposure: dict[int, ExposureRow] | None
                   ) -> tuple[RejectCode, str] | None:
        """Reduce-only, book (3xxx) and margin (2xxx) checks of an order about to trade
        (`exposure`: its trader's entry of `_exposure`, None if it has none)."""
        trader, market, is_buy, limit = order.trader, order.market, order.is_buy, order.limit_price
        flags = order.flags  # compiled: a C long (engine.pxd)
        if flags & REDUCE_ONLY:
            size = self._clamp_reduce_only(order, size)
            if size == 0:
                return (RejectCode.REDUCE_ONLY_WOULD_INCREASE,
                        "flags: reduce-only (1) order on the side that would open or increase "
                        "the position")
        book = self.books[market]
        if flags & POST_ONLY:
            if book.would_cross(is_buy, limit):
                best = book.best_ask() if is_buy else book.best_bid()
                return (RejectCode.POST_ONLY_WOULD_CROSS,
                        f"limit_price: {limit} would cross the best {'ask' if is_buy else 'bid'} "
                        f"{best}; post-only orders must rest")
        elif flags & FOK:
            can = book.fillable(trader, is_buy, limit, size)
            if can < size:
                return (RejectCode.FOK_NOT_FILLABLE,
                        f"size: only {can} of {size} is fillable within limit_price {limit}")
        elif flags & NON_RESTING and not book.can_take(trader, is_buy, limit):
            return self._nothing_to_take(book, trader, is_buy, limit)
        if flags & REDUCE_ONLY:
            return None  # never increases exposure; the margin check is not needed
        code = risk.checked_with_cache(self.ledger, trader, market, is_buy, size, limit, exposure)
        if code is None:
            return None
        return self._margin_rejection(code, trader, market, size, limit)

    def _margin_rejection(self, code: int, trader: str, market: int, size: int, limit: int
                          ) -> tuple[RejectCode, str]:
        if code == RejectCode.NO_MARK_PRICE:
            return code, f"market: {market} has no mark price yet; wait for the first index"
        equity = self.ledger.equity(trader)
        maintenance = self.ledger.maintenance_margin(trader)
        if equity < maintenance:
            return (RejectCode.ACCOUNT_IN_LIQUIDATION,
                    f"size: the account is below maintenance margin (equity {equity} < "
                    f"{maintenance}); only reduce-only orders are accepted")
        return (RejectCode(code),
                f"size: {size} at limit_price {limit} would leave the account below initial "
                f"margin (equity {equity})")

    def _nothing_to_take(self, book: Book, trader: str, is_buy: bool, limit: int
                         ) -> tuple[RejectCode, str]:
        best = book.best_ask() if is_buy else book.best_bid()
        if best is None:
            return (RejectCode.NO_LIQUIDITY,
                    f"market: no {'asks' if is_buy else 'bids'} to take; an IOC/market order "
                    "needs resting liquidity")
        if (best <= limit) if is_buy else (best >= limit):
            return (RejectCode.SELF_TRADE_ONLY,
                    f"limit_price: the only liquidity within {limit} is the trader's own")
        return (RejectCode.IOC_NOTHING_FILLED,
                f"limit_price: {limit} does not reach the best {'ask' if is_buy else 'bid'} {best}")

    def _unexpose_rec(self, rec: OrderRecord, is_buy: bool, size: int, price: int) -> None:
        """ExposureRow.take for a rested order, through the row its record links to
        (looked up, and linked, if the record was restored from a snapshot)."""
        row = rec.exposure_row
        if row is None:
            order = rec.order
            row = rec.exposure_row = self._exposure[order.trader][order.market]
        row.take(is_buy, size, price)

    def _execute(self, h: bytes, rec: OrderRecord, size: int, ts: int, out: list) -> int:
        """Match an accepted order for `size` WAD base, then rest or cancel the rest.

        Returns the size filled."""
        order = rec.order
        trader, market, is_buy, limit = order.trader, order.market, order.is_buy, order.limit_price
        flags = order.flags  # compiled: a C long (engine.pxd)
        can_rest = not flags & NON_RESTING
        book = self.books[market]
        matches, stp = book.match(trader, is_buy, limit, size)
        for resting in stp:
            self._unrested(resting.order_id, resting.remaining, "self-trade", ts, out)
        filled = 0
        if matches:
            # a reduce-only order skipped the margin check: its fills are not in its bound
            filled = self._settle_matches(market, h, order, matches, ts, out, False,
                                          not flags & REDUCE_ONLY)
            rec.filled += filled
        left = order.size - rec.filled if can_rest else size - filled
        if flags & REDUCE_ONLY and can_rest:
            left = self._clamp_reduce_only(order, left)
        if left <= 0:
            rec.status = FILLED if rec.filled else CANCELLED
            if not rec.filled:
                rec.reason = "reduce-only"
        elif can_rest:
            book.insert(h, trader, is_buy, limit, left)
            rec.exposure_row = expose(self._exposure, self._exposure.get(trader), trader,
                                      market, is_buy, left, limit)
            if order.expiry:
                self.expiries.add(h, order.expiry, rec.seq)
                if self.expiries.next_ms < self._next_due:
                    self._next_due = self.expiries.next_ms
            if flags & REDUCE_ONLY:
                # rested without a margin check: its exposure is not in the cached bound
                self.ledger.risk_cache.pop(trader, None)
                self._reduce_only.setdefault((trader, market), []).append(h)
        else:
            rec.status = FILLED if rec.filled else CANCELLED
            rec.reason = "unfilled"
            self._seq += 1
            out.append(order_cancelled(self._seq, ts, h, trader, market, left, "unfilled"))
        return filled

    def _settle_matches(self, market: int, taker_hash: bytes, taker_order: Order,
                        matches: list[Match], ts: int, out: list, liquidation: bool,
                        checked: bool = False) -> int:
        """Settle fills of a taker against makers in the ledger; emit TradeExecuted each.

        Fees: each side's stake-tier rate, never above the rate its order signed
        (max_fee_rate), so the contract's fee check always holds. A liquidation
        taker pays the liquidation fee (capped at its equity) to insurance instead.

        `checked`: the taker's order passed the pre-trade margin check with its whole
        size, so its cached bound (Ledger.risk_cache) already covers these fills, as
        every maker's does (a resting order's fill moves the position by what leaves
        the order: its market's worst case cannot grow); Ledger.fill raises only the
        bounds these do not cover."""
        ledger, orders, rates = self.ledger, self.orders, self._rates[market]
        fills, expiries = self.fills, self.expiries
        taker = taker_order.trader
        is_buy = taker_order.is_buy
        taker_isolated = bool(taker_order.flags & FLAG_ISOLATED)
        taker_rate = min(self.fee_rates(taker, market)[1], taker_order.max_fee_rate)
        taker_history = None
        filled = 0
        seq = self._seq
        # Ledger.fill's `covered` sides (1 the buyer, 2 the seller): the maker always
        if is_buy:
            covered = 3 if checked else 2
        else:
            covered = 3 if checked else 1
        for match in matches:
            maker_hash, maker, price = match.maker_id, match.maker_trader, match.price
            size, maker_left = match.size, match.maker_remaining
            maker_rec = orders.record(maker_hash)
            maker_order = maker_rec.order
            notional = mul_wad_down(size, price)
            maker_rates = rates.get(maker)
            if maker_rates is None:
                maker_rates = self.fee_rates(maker, market)
            rate = maker_rates[0]
            if maker_order.max_fee_rate < rate:
                rate = maker_order.max_fee_rate
            maker_fee = mul_wad_up(notional, rate)
            taker_fee = 0 if liquidation else mul_wad_up(notional, taker_rate)
            bits = maker_order.flags  # compiled: a C long (engine.pxd)
            maker_isolated = (bits & ISOLATED) != 0
            if is_buy:  # the seller receives the notional (rules.trade_cash): pass it on
                ledger.fill(market, taker, maker, size, price, taker_fee, maker_fee,
                            taker_isolated, maker_isolated, False, notional, covered)
            else:
                ledger.fill(market, maker, taker, size, price, maker_fee, taker_fee,
                            maker_isolated, taker_isolated, False, notional, covered)
            if liquidation:
                taker_fee = self._charge_liquidation_fee(taker, market, size, price)
            maker_rec.filled += size
            self._unexpose_rec(maker_rec, not is_buy, size, price)  # the maker's resting side
            if maker_left == 0:
                maker_rec.status = FILLED
                if maker_order.expiry:
                    expiries.discard(maker_hash)
            filled += size
            seq += 1
            trade = trade_executed(seq, ts, market, maker, taker, maker_hash, taker_hash,
                                   is_buy, size, price, maker_fee, taker_fee, liquidation)
            out.append(trade)
            history = fills.get(maker)  # both histories keep the event itself
            if history is None:
                history = fills[maker] = FillHistory()
            history.add(trade)
            if taker_history is None:
                taker_history = fills.get(taker)
                if taker_history is None:
                    taker_history = fills[taker] = FillHistory()
            taker_history.add(trade)
        self._seq = seq
        reduce_only = self._reduce_only
        if reduce_only:  # the makers read back from the matches: no list kept per fill
            for account in sorted({taker, *[m.maker_trader for m in matches]}):
                if (account, market) in reduce_only:
                    self._shrink_reduce_only(account, market, ts, out)
        return filled

    def _charge_liquidation_fee(self, account: str, market: int, size: int, price: int) -> int:
        ledger = self.ledger
        fee = liquidation.liquidation_fee(ledger, market, size, price, ledger.equity(account))
        if fee:
            ledger.charge_liquidation_fee(account, fee)
        return fee

    def _unrested(self, h: bytes, remaining: int, reason: str, ts: int, out: list) -> None:
        """Book-keeping for an order the book already removed (STP, cancel, expiry)."""
        self._unrested_rec(h, self.orders.record(h), remaining, reason, ts, out)

    def _unrested_rec(self, h: bytes, rec: OrderRecord, remaining: int, reason: str, ts: int,
                      out: list) -> None:
        """`_unrested` with the order's record at hand."""
        order = rec.order
        rec.status = CANCELLED
        rec.reason = reason
        self._unexpose_rec(rec, order.is_buy, remaining, order.limit_price)
        if order.expiry:
            self.expiries.discard(h)
        self._seq += 1
        out.append(order_cancelled(self._seq, ts, h, order.trader, order.market, remaining, reason))

    def _shrink_reduce_only(self, account: str, market: int, ts: int, out: list) -> None:
        """Resting reduce-only orders of the account may total at most |position| on the
        closing side: the oldest keep their size, the newest shrink or go."""
        key = (account, market)
        hashes = self._reduce_only[key]
        book = self.books[market]
        pos = self.ledger.position(account, market)
        size = pos.size if pos is not None else 0
        allowed = abs(size)
        keep = []
        for h in hashes:
            resting = book.get(h)
            if resting is None:
                continue
            rem = resting.remaining
            if size == 0 or resting.is_buy == (size > 0) or allowed == 0:
                book.cancel(h)
                self._unrested(h, rem, "reduce-only", ts, out)
                continue
            if rem > allowed:
                book.reduce(h, allowed)
                self._exposure[account][market].take(resting.is_buy, rem - allowed,
                                                     resting.price)
                self._seq += 1
                out.append(OrderReduced(self._seq, ts, h, account, market, allowed))
                rem = allowed
            allowed -= rem
            keep.append(h)
        if keep:
            self._reduce_only[key] = keep
        else:
            del self._reduce_only[key]

    # ----------------------------------------------------------------- cancels

    def _cancel(self, cmd: CancelOrder, ts: int, out: list) -> None:
        h = cmd.order_hash
        rec = self.orders.get(h)
        if rec is None or rec.status not in (OPEN, PENDING):
            self._seq += 1
            out.append(cancel_rejected(self._seq, ts, cmd.account, h, UNKNOWN_ORDER,
                                      f"order_hash: 0x{h.hex()} is not an open or pending order"))
            return
        if rec.order.trader != cmd.account:
            self._seq += 1
            out.append(cancel_rejected(self._seq, ts, cmd.account, h, NOT_ORDER_OWNER,
                                      f"account: order 0x{h.hex()} belongs to another account"))
            return
        self._cancel_one(h, rec, "user", ts, out)

    def _cancel_one(self, h: bytes, rec: OrderRecord, reason: str, ts: int, out: list) -> None:
        order = rec.order
        if rec.status == PENDING:
            self.triggers[order.market].remove(h)
            del self._pending[order.trader][h]
            if not self._pending[order.trader]:
                del self._pending[order.trader]
            rec.status = CANCELLED
            rec.reason = reason
            if order.expiry:
                self.expiries.discard(h)
            self._seq += 1
            out.append(order_cancelled(self._seq, ts, h, order.trader, order.market,
                                      order.size, reason))
            return
        book = self.books[order.market]
        resting = book.cancel(h)
        if resting is None:
            raise InvariantViolation(f"order 0x{h.hex()} is open but not in the book")
        self._unrested_rec(h, rec, resting.remaining, reason, ts, out)

    def _cancel_all(self, cmd: CancelAll, ts: int, out: list) -> None:
        if cmd.market is not None and cmd.market not in self.specs:
            self._seq += 1
            out.append(CommandRejected(self._seq, ts, "CancelAll", int(RejectCode.UNKNOWN_MARKET),
                                       f"market: {cmd.market} is not listed"))
            return
        self.cancel_orders_of(cmd.account, cmd.market, "user", ts, out)

    def cancel_orders_of(self, account: str, market: int | None, reason: str, ts: int,
                         out: list) -> None:
        """Cancel every open and pending order of `account` (in `market`, or all), oldest first."""
        hashes = []
        for m, book in self.books.items():
            if market is None or m == market:
                hashes.extend(r.order_id for r in book.orders_of(account))
        for h, m in self._pending.get(account, {}).items():
            if market is None or m == market:
                hashes.append(h)
        orders = self.orders
        for h in sorted(hashes, key=lambda x: orders[x].seq):
            self._cancel_one(h, orders[h], reason, ts, out)

    # ------------------------------------------------------------- state hash

    def state_hash(self) -> str:
        """Hex blake2b-256 over every book, the ledger, the order registry, pending
        triggers, expiries, price and funding trackers, and the counters."""
        h = hashlib.blake2b(digest_size=32, person=b"perpx-engine")
        h.update(f"{self._seq}|{self._clock}|{self._liq_nonce}\n".encode())
        for market in sorted(self.specs):
            h.update(self.books[market].state_digest())
            self.triggers[market].update_digest(h)
        h.update(self.ledger.state_digest())
        # in registration order, whatever the registry's layout (see _registration_key)
        for order_hash, rec in sorted(self.orders.items(), key=_registration_key):
            h.update(order_hash + f"|{rec.status}|{rec.filled}|{rec.seq}|{rec.reason}\n".encode())
        self.expiries.update_digest(h)
        self._sweeps_digest(h)
        self._retention_digest(h)
        return h.hexdigest()


def _registration_key(item: tuple[bytes, OrderRecord]) -> int:
    """Sort key giving the registry's records in the order they were registered: by
    seq, which registration never lowers. Only a takeover/ADL liquidation gives two
    records one seq, its liquidation order and then its first backstop order (flag
    64), so a backstop order sorts after the rest of its seq. (Before the registry was
    sharded the state hash walked one dict in insertion order; this is that order, so
    snapshots taken then keep their state hash.)"""
    rec = item[1]
    return rec.seq * 2 + (1 if rec.order.flags & FLAG_BACKSTOP else 0)


class Engine(EngineCore, SweepsMixin, TransfersMixin, QueriesMixin, RetentionMixin,
             SnapshotMixin):
    """The matching, risk and funding engine over `markets` (see the module docstring).

    order_retention_ms: how long an ended order stays in `orders` (engine/core/retention.py).
    """

    __slots__ = ()  # the state is EngineCore's
