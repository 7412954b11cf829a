"""What the engine does because time passed or a price moved (a mixin of `Engine`).

Time (`_advance`, before every command whose ts_ms reaches the next due time):
- expire resting and pending orders whose expiry (unix s) has come;
- retire the records of orders ended for a while (engine/core/retention.py);
- take the premium samples of the 5 s grid (aligned to the epoch) since the
  last one, from the book's impact bid/ask and the last index, as long as
  that index is fresh (at most `INDEX_STALE_MS` old); with a stale index no
  sample is taken and the funding tracker falls back to the last valid
  premium, so downtime neither invents nor drops prices;
- close every funding interval due (UTC-aligned timestamps), oldest first,
  each separately, and settle it through the ledger at the mark held then.

Prices (`_update_index`): circuit breaker, mark, stop / take-profit
triggers, funding-risk step reductions, then the liquidation sweep: every
account below maintenance has its orders cancelled and its positions closed
by IOC liquidation orders (flag 32) bounded by the bankruptcy price; what the
book cannot absorb goes to the insurance fund or, if the fund cannot carry
it, to the ADL queue at the bankruptcy price.
"""

from __future__ import annotations

import hashlib

from engine.core import liquidation, risk
from engine.core.codes import RejectCode
from engine.core.commands import PlaceOrder, Tick, UpdateIndex
from engine.core.events import (
    AccountFlagged,
    AutoDeleveraged,
    CircuitBreakerTripped,
    CommandRejected,
    FundingApplied,
    InsuranceTakeover,
    LiquidationStarted,
    MarkUpdated,
    OrderAccepted,
    OrderCancelled,
    OrderTriggered,
    PositionStepReduced,
)
from engine.core.funding import FundingTracker
from engine.core.orders import Order
from engine.core.rules import FLAG_BACKSTOP, FLAG_IOC, FLAG_LIQUIDATION, FLAG_REDUCE_ONLY, FLAG_STEP
from engine.core.triggers import NEVER_MS
from engine.core.validation import check_fee_cap
from engine.core.views import CANCELLED, FILLED, OPEN, PENDING, OrderRecord
from engine.prices.mark import CircuitBreaker, MarkTracker

SAMPLE_MS = 5_000  # premium sample grid
INDEX_STALE_MS = 30_000  # no premium samples from an index older than this
FUNDING_HISTORY = 10_000  # FundingApplied events kept per market for queries
ENGINE_ORDER_FLAGS = FLAG_IOC | FLAG_LIQUIDATION | FLAG_REDUCE_ONLY  # liquidation orders
STEP_ORDER_FLAGS = FLAG_IOC | FLAG_STEP | FLAG_REDUCE_ONLY  # funding-risk step reductions
TAKEOVER_ORDER_FLAGS = FLAG_IOC | FLAG_BACKSTOP  # the insurance account takes a position over
ADL_ORDER_FLAGS = FLAG_IOC | FLAG_BACKSTOP | FLAG_REDUCE_ONLY  # an opposite position deleveraged


def liquidation_order_id(order: Order) -> bytes:
    """The engine's 32-byte id of an order it makes itself (liquidation, backstop, step).

    The trader does not sign these (the settler does, once they settle: the
    contract accepts them only against an account below maintenance, or
    below initial margin for a step), so the engine cannot use the domain-bound
    EIP-712 hash:
    blake2b-256 over the order's fields, personalised, never equal to a keccak digest
    by accident in practice."""
    h = hashlib.blake2b(digest_size=32, person=b"perpx-liq-order")
    h.update(f"{order.trader}|{order.market}|{int(order.is_buy)}|{order.size}|"
             f"{order.limit_price}|{order.flags}|{order.max_fee_rate}|{order.nonce}".encode())
    return h.digest()


class SweepsMixin:
    """Time, prices, funding, triggers and liquidations of `Engine` (see module docstring)."""

    __slots__ = ()

    def _init_sweeps(self) -> None:
        self.marks = {m: MarkTracker() for m in self.specs}
        self.breakers = {m: CircuitBreaker() for m in self.specs}
        self.funding = {m: FundingTracker(spec) for m, spec in self.specs.items()}
        self.index: dict[int, int] = {}
        self.index_ts: dict[int, int] = {}
        self.next_sample: dict[int, int] = {}
        self._funding_log: dict[int, list] = {m: [] for m in self.specs}
        # the earliest funding timestamp of a market with an index, as `_reschedule`
        # last saw it (0: not looked at yet); `_advance` asks the trackers only from then
        self._funding_due = 0

    # ------------------------------------------------------------------- time

    def _tick(self, cmd: Tick, ts: int, out: list) -> None:
        """Nothing beyond `_advance`, which `apply` already ran up to ts."""

    def _advance(self, ts: int, out: list) -> None:
        if self.expiries.next_ms <= ts:
            for h in self.expiries.due(ts):
                self._cancel_one(h, self.orders[h], "expired", ts, out)
        due: list[tuple[int, int]] = []
        funding_due = ts >= self._funding_due  # else no tracker has a timestamp due
        moved = funding_due  # whether a tracker may have moved (then _reschedule asks)
        for market, tracker in self.funding.items():
            if market not in self.index:
                continue
            if self.next_sample[market] <= ts:
                self._take_samples(market, ts)
                moved = True
            if funding_due:
                for funding_ts in tracker.due(ts):
                    due.append((funding_ts, market))
        for funding_ts, market in sorted(due):
            self._settle_funding(market, funding_ts, ts, out)
        for market in sorted({market for _, market in due}):
            self._liquidation_sweep(market, ts, out)  # funding can push accounts under
        if self._retire_due <= ts:
            self._retire(ts)
        self._reschedule(moved)

    def _take_samples(self, market: int, ts: int) -> None:
        """Premium samples at the grid points in [next_sample, ts] while the index is fresh."""
        book, tracker, spec = self.books[market], self.funding[market], self.specs[market]
        index = self.index[market]
        last_fresh = self.index_ts[market] + INDEX_STALE_MS
        grid = self.next_sample[market]
        if grid <= min(ts, last_fresh):
            impact_bid = book.impact_price(False, spec.impact_notional)
            impact_ask = book.impact_price(True, spec.impact_notional)
            while grid <= ts and grid <= last_fresh:
                tracker.sample(grid, impact_bid, impact_ask, index)
                grid += SAMPLE_MS
        self.next_sample[market] = (ts // SAMPLE_MS + 1) * SAMPLE_MS

    def _settle_funding(self, market: int, funding_ts: int, ts: int, out: list) -> None:
        rate = self.funding[market].close_interval(funding_ts)
        result = self.ledger.apply_funding(market, rate.rate)
        payments = tuple((p.account, p.size, p.amount) for p in result.payments)
        self._seq += 1
        event = FundingApplied(self._seq, ts, market, funding_ts, rate.rate, rate.premium,
                               rate.interest, result.mark, self.index[market], payments,
                               result.total, ts - funding_ts)
        out.append(event)
        history = self._funding_log[market]
        history.append(event)
        if len(history) > FUNDING_HISTORY:
            del history[: len(history) - FUNDING_HISTORY]
        flagged, unflagged = self.monitor.record(
            self.ledger, [(p.account, p.amount) for p in result.payments], funding_ts)
        for account, state in sorted([(a, True) for a in flagged] + [(a, False) for a in unflagged]):
            self._seq += 1
            out.append(AccountFlagged(self._seq, ts, account, state))

    def _next_funding_ms(self, market: int) -> int:
        tracker = self.funding[market]
        if tracker.last_closed_ms is not None:
            return tracker.last_closed_ms + tracker.interval_ms
        if tracker.started_ms is not None:
            return tracker.next_funding_ts(tracker.started_ms)
        return NEVER_MS

    def _reschedule(self, trackers_moved: bool = True) -> None:
        """Set `_next_due`, the next engine time `_advance` has work at. The funding
        trackers are asked only if they may have moved since the last call (a sample
        or a settlement): else `_funding_due` still holds."""
        nxt = min(self.expiries.next_ms, self._retire_due)
        for market in self.index:
            nxt = min(nxt, self.next_sample[market])
        if trackers_moved:
            funding = NEVER_MS
            for market in self.index:
                funding = min(funding, self._next_funding_ms(market))
            self._funding_due = funding
        self._next_due = min(nxt, self._funding_due)

    # ----------------------------------------------------------------- prices

    def _update_index(self, cmd: UpdateIndex, ts: int, out: list) -> None:
        market, index = cmd.market, cmd.index
        if market not in self.specs or index <= 0:
            code = RejectCode.UNKNOWN_MARKET if market not in self.specs else \
                RejectCode.PRICE_NOT_POSITIVE
            message = (f"market: {market} is not listed" if market not in self.specs
                       else f"index: must be > 0 (WAD), got {index}")
            self._seq += 1
            out.append(CommandRejected(self._seq, ts, "UpdateIndex", int(code), message))
            return
        first = market not in self.index
        self.index[market] = index
        self.index_ts[market] = ts
        tripped = self.breakers[market].update(ts, index)
        tracker = self.funding[market]
        if tripped != tracker.paused:
            tracker.set_paused(tripped)
            self._seq += 1
            out.append(CircuitBreakerTripped(self._seq, ts, market, index, tripped))
        mark = self.marks[market].update(ts, index, self.books[market].mid())
        self.ledger.set_mark(market, mark)
        self._seq += 1
        out.append(MarkUpdated(self._seq, ts, market, index, mark, cmd.degraded))
        if first:
            spec = self.specs[market]
            book = self.books[market]
            tracker.sample(ts, book.impact_price(False, spec.impact_notional),
                           book.impact_price(True, spec.impact_notional), index)
            self.next_sample[market] = (ts // SAMPLE_MS + 1) * SAMPLE_MS
        self._fire_triggers(market, mark, ts, out)
        if self.monitor.flagged:
            self._step_reductions(ts, out)
        self._liquidation_sweep(market, ts, out)
        self._reschedule()

    # --------------------------------------------------------------- triggers

    def _place_trigger(self, cmd: PlaceOrder, ts: int, out: list, taker_rate: int) -> None:
        order, h = cmd.order, cmd.order_hash
        mark = self.ledger.marks.get(order.market)
        if mark is None:
            return self._reject(out, ts, h, order.trader, RejectCode.NO_MARK_PRICE,
                                f"trigger_price: market {order.market} has no mark price yet")
        bad = check_fee_cap(order, taker_rate, "taker")
        if bad is None and order.reduce_only and not risk.reduce_only_size(
                self.ledger, order.trader, order.market, order.is_buy, order.size):
            bad = (RejectCode.REDUCE_ONLY_WOULD_INCREASE,
                   "flags: reduce-only (1) order on the side that would open or increase "
                   "the position")
        if bad is not None:
            return self._reject(out, ts, h, order.trader, bad[0], bad[1])
        self._seq += 1
        rec = OrderRecord(order, cmd.signature, PENDING, self._seq, ts)
        self.orders[h] = rec
        self._registered.append(h)
        self._use_nonce(order)
        out.append(OrderAccepted(self._seq, ts, h, order.trader, order.market, order.is_buy,
                                 order.size, order.limit_price, order.trigger_price,
                                 order.flags, True))
        self.triggers[order.market].add(h, order.trigger_price, order.trigger_price > mark,
                                        rec.seq)
        self._pending.setdefault(order.trader, {})[h] = order.market
        if order.expiry:
            self.expiries.add(h, order.expiry, rec.seq)
            self._next_due = min(self._next_due, self.expiries.next_ms)
        self._fire_triggers(order.market, mark, ts, out)

    def _fire_triggers(self, market: int, mark: int, ts: int, out: list) -> None:
        """Run every pending order of `market` whose trigger the mark reached, oldest first."""
        for h in self.triggers[market].fire(mark):
            rec = self.orders[h]
            order = rec.order
            pending = self._pending[order.trader]
            del pending[h]
            if not pending:
                del self._pending[order.trader]
            if order.expiry:
                self.expiries.discard(h)
            self._seq += 1
            out.append(OrderTriggered(self._seq, ts, h, order.trader, market,
                                      order.trigger_price, mark))
            bad = self._pre_trade(order, order.size, self._exposure.get(order.trader))
            if bad is not None:
                rec.status = CANCELLED
                rec.reason = bad[0].name.lower()
                self._seq += 1
                out.append(OrderCancelled(self._seq, ts, h, order.trader, market, order.size,
                                          rec.reason))
                continue
            rec.status = OPEN
            self._execute(h, rec, self._clamp_reduce_only(order, order.size), ts, out)
            if order.expiry and rec.status == OPEN:
                self.expiries.add(h, order.expiry, rec.seq)
                self._next_due = min(self._next_due, self.expiries.next_ms)

    # ------------------------------------------------------------ liquidation

    def _liquidation_sweep(self, market: int, ts: int, out: list) -> None:
        units = liquidation.find_liquidatable_units(self.ledger, [market])
        if not units:
            return
        by_account: dict[str, list[int]] = {}
        for account, tag in units:
            by_account.setdefault(account, []).append(tag)
        for account in sorted(by_account):
            self._liquidate(account, by_account[account], ts, out)

    def _liquidate(self, account: str, tags: list[int], ts: int, out: list) -> None:
        """Cancel the account's orders, then close each liquidatable unit's positions
        (market order) until the unit is back above maintenance."""
        self.cancel_orders_of(account, None, "liquidation", ts, out)
        ledger = self.ledger
        for tag in tags:
            if tag == liquidation.CROSS:
                acct = ledger.accounts[account]
                markets = sorted(m for m, p in acct.positions.items() if p.size and not p.isolated)
            else:
                markets = [tag]
            for market in markets:
                if not liquidation.unit_is_liquidatable(ledger, account, tag):
                    break
                self._close_position(account, market, ts, out)

    def _engine_order(self, account: str, market: int, is_buy: bool, size: int, limit: int,
                      max_fee_rate: int, ts: int, flags: int = ENGINE_ORDER_FLAGS
                      ) -> tuple[bytes, Order, object]:
        """Register an order the engine makes for `account` (by default a liquidation
        order: flags IOC | reduce-only | 32); nonces count up across all of them."""
        self._liq_nonce += 1
        order = Order(account, market, is_buy, size, limit, 0, flags,
                      max_fee_rate, self._liq_nonce, 0)
        h = liquidation_order_id(order)
        rec = OrderRecord(order, b"", OPEN, self._seq + 1, ts)
        self.orders[h] = rec
        self._registered.append(h)
        return h, order, rec

    def _bounded_limit(self, market: int, is_buy: bool, bankruptcy: int) -> int:
        """The bankruptcy price on the tick grid, rounded to the side that loses nothing more."""
        tick = self.specs[market].tick_size
        return bankruptcy // tick * tick if is_buy else -(-bankruptcy // tick) * tick

    def _close_position(self, account: str, market: int, ts: int, out: list) -> None:
        ledger, spec = self.ledger, self.specs[market]
        bankruptcy = liquidation.bankruptcy_price(ledger, account, market)
        is_buy, size = liquidation.liquidation_order_size(ledger, account, market)
        limit = self._bounded_limit(market, is_buy, bankruptcy)
        h, order, rec = self._engine_order(account, market, is_buy, size, limit,
                                           spec.liquidation_fee_rate, ts)
        self._seq += 1
        out.append(LiquidationStarted(self._seq, ts, account, market, h, is_buy, size, bankruptcy,
                                      ledger.equity(account), ledger.maintenance_margin(account)))
        matches, _ = self.books[market].match(account, is_buy, limit, size)
        filled = self._settle_matches(market, h, order, matches, ts, out, True) if matches else 0
        rec.filled = filled
        rec.status = FILLED
        left = size - filled
        if not left:
            return
        rec.reason = "unfilled"
        if not filled:
            rec.status = CANCELLED
        self._seq += 1
        out.append(OrderCancelled(self._seq, ts, h, account, market, left, "unfilled"))
        tag = market if ledger.accounts[account].positions[market].isolated else liquidation.CROSS
        if filled and not liquidation.unit_is_liquidatable(ledger, account, tag):
            return  # the book's fills brought it back above maintenance: the rest stays
        self._backstop(account, market, is_buy, left, ts, out)

    def _backstop(self, account: str, market: int, is_buy: bool, left: int, ts: int,
                  out: list) -> None:
        """What the book could not absorb (`left` WAD base) goes over at the bankruptcy
        price of what is left (the fills and their fee changed the equity since the
        liquidation order was priced): to the insurance account, or in ADL order. Each
        leg is a fill between a fresh liquidation order for the rest of the position
        and a backstop order of the counterparty (flag 64; reduce-only for ADL), both
        signed by the settler, which the contract checks at the bankruptcy price."""
        ledger = self.ledger
        bankruptcy = liquidation.bankruptcy_price(ledger, account, market)
        liq_h, _, liq_rec = self._engine_order(account, market, is_buy, left, bankruptcy, 0, ts)
        liq_rec.filled, liq_rec.status = left, FILLED
        for leg in liquidation.plan_takeover_and_adl(ledger, account, market, left, bankruptcy):
            takeover = leg.kind == "takeover"
            flags = TAKEOVER_ORDER_FLAGS if takeover else ADL_ORDER_FLAGS
            bs_h, _, bs_rec = self._engine_order(leg.counterparty, market, not is_buy, leg.size,
                                                 leg.price, 0, ts, flags)
            bs_rec.filled, bs_rec.status = leg.size, FILLED
            ledger.transfer_position(market, account, leg.counterparty, leg.size, leg.price)
            signed = -leg.size if is_buy else leg.size  # the liquidated side's sign
            self._seq += 1
            if takeover:
                out.append(InsuranceTakeover(self._seq, ts, account, market, signed, leg.price,
                                             ledger.insurance, liq_h, bs_h))
            else:
                out.append(AutoDeleveraged(self._seq, ts, market, account, leg.counterparty,
                                           signed, leg.price, liq_h, bs_h))
                if (leg.counterparty, market) in self._reduce_only:
                    self._shrink_reduce_only(leg.counterparty, market, ts, out)

    def _step_reductions(self, ts: int, out: list) -> None:
        """Funding-risk: reduce flagged accounts near maintenance by one step each."""
        ledger = self.ledger
        for step in self.monitor.step_reductions(ledger):
            market = step.market
            bankruptcy = liquidation.bankruptcy_price(ledger, step.account, market)
            limit = self._bounded_limit(market, step.is_buy, bankruptcy)
            taker_rate = self.fee_rates(step.account, market)[1]
            h, order, rec = self._engine_order(step.account, market, step.is_buy, step.size,
                                               limit, taker_rate, ts, STEP_ORDER_FLAGS)
            self._seq += 1
            seq = self._seq
            matches, stp = self.books[market].match(step.account, step.is_buy, limit, step.size)
            for resting in stp:
                self._unrested(resting.order_id, resting.remaining, "self-trade", ts, out)
            trades: list = []
            filled = self._settle_matches(market, h, order, matches, ts, trades, False) \
                if matches else 0
            rec.filled = filled
            rec.status = FILLED if filled else CANCELLED
            out.append(PositionStepReduced(seq, ts, step.account, market, h, step.is_buy,
                                           step.size, filled))
            out.extend(trades)

    def _sweeps_digest(self, h: "hashlib._Hash") -> None:
        for market in sorted(self.specs):
            h.update(self.marks[market].state_digest())
            h.update(self.breakers[market].state_digest())
            h.update(self.funding[market].state_digest())
            h.update(f"{self.index.get(market)}|{self.index_ts.get(market)}|"
                     f"{self.next_sample.get(market)}\n".encode())
        h.update(("|".join(sorted(self.monitor.flagged)) + "\n").encode())
        for key in sorted(self._reduce_only):
            h.update(f"{key}".encode() + b"".join(self._reduce_only[key]))
