"""Accounts, positions and the ledger of cash the engine shares with the Exchange contract.

The cash model is the chain's, so engine and contract agree to the wei:
a fill moves `size x price` of cash (the buyer pays it rounded up, the seller
receives it rounded down, the dust goes to the insurance balance), and

    equity = cash + sum(position_value(size, mark) - funding_owed(size, index, last_index))
    IM / MM = sum(margin_requirement(size, mark, imf / mmf))

with every formula taken from `engine.core.rules`. Funding is settled lazily,
exactly like the contract: a market keeps a cumulative index, and a position
pays `funding_owed(size, index_now, last_index)` when a fill or transfer
touches it. `apply_funding` still reports each position's payment for the
interval eagerly, so the engine can emit it.

Isolated margin (order flag 16) is an engine-side view: the contract is
cross-margin only and checks the account as a whole. An isolated position
carries `isolated_margin` (allocated at open: the initial margin of the
filled size at the fill price) and its own equity

    isolated_equity = isolated_margin + position_value(size, mark)
                      - position_value(size, entry_price) - funding owed,

which cannot draw on the rest of the account; the cross part of the account
is what remains (`cross_equity`). Funding settled on an isolated position is
taken from its margin; reducing it releases margin pro rata to the cross part.

All amounts are WAD integers: sizes in base, prices in quote per base, cash,
PnL and margins in quote. Accounts are 0x addresses (strings).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import cython

from engine.core import rules
from engine.core.codes import RejectCode
from engine.core.errors import InvariantViolation, PerpxError
from engine.core.markets import MarketSpec
from engine.core.value import Value
from engine.core.memo import SizeMemo
from engine.core.riskcell import RiskCell
from engine.core.wad import (
    WAD,
    Rounding,
    add_add,
    add_margin,
    add_mul_wad_down,
    add_sub,
    closed_pnl,
    margin,
    mul_div,
    mul_wad_down,
    mul_wad_up,
    sub_sub,
    weighted_mean,
)

# The insurance fund's own account: its cash IS the insurance balance, and it
# holds the positions the fund takes over from liquidated accounts.
INSURANCE = "0x000000000000000000000000000000000000dEaD"


class LedgerError(PerpxError, ValueError):
    """A ledger call with impossible arguments (a bug in the caller, not a rejection)."""


@cython.dataclasses.dataclass(repr=False)
@cython.no_gc  # WAD integers and a flag: never part of a reference cycle
@cython.cclass
class Position(Value):
    """One account's position in one market (all WAD)."""

    size: int  # signed base, long > 0
    last_index: int  # market funding index at last settlement (the contract stores the same)
    entry_price: int  # volume-weighted average entry of the open size, quote per base
    realized_pnl: int  # cumulative trading PnL realised on reductions, quote
    funding_paid: int  # cumulative funding paid (> 0) / received (< 0), quote
    isolated: bool = False
    isolated_margin: int = 0  # quote allocated to an isolated position


@cython.dataclasses.dataclass(repr=False)
@cython.no_gc  # its positions dict holds Positions only: never part of a reference cycle
@cython.cclass
class Account(Value):
    """Cash (exactly the contract's, WAD quote), positions by market id, staked JEX (WAD)."""

    cash: int
    positions: dict[int, Position] = cython.dataclasses.field(default_factory=dict)
    stake: int = 0


@dataclass(frozen=True, slots=True)
class FillResult:
    """What one fill did, in WAD: realized PnL and settled funding of each side, dust."""

    market: int
    size: int
    price: int
    buyer_realized: int
    seller_realized: int
    buyer_funding: int  # funding settled on the buyer's position before the fill (> 0 paid)
    seller_funding: int
    dust: int  # buyer_pays - seller_receives, credited to insurance
    buyer_size_after: int
    seller_size_after: int


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One position's payment for one interval, WAD quote (> 0 pays, < 0 receives)."""

    account: str
    size: int
    amount: int


@dataclass(frozen=True, slots=True)
class FundingResult:
    """One funding interval of one market. `total` = sum of payments >= 0 (dust)."""

    market: int
    rate: int
    mark: int
    index_before: int
    index_after: int
    payments: tuple[FundingPayment, ...]
    total: int


# The ledger's state (its C fields when compiled, engine/core/accounts.pxd; a test holds
# the two lists equal), snapshotted by __getstate__ but for the caches in LEDGER_CACHES
LEDGER_STATE = ("markets", "accounts", "fee_pool", "funding_pool", "open_interest", "marks",
                "funding_index", "holders", "dirty", "liq_index", "risk_cache", "im_cache",
                "mark_epoch")
LEDGER_CACHES = ("liq_index", "risk_cache", "im_cache", "mark_epoch")
# Ledger.mark_epoch values, process-wide: no two ledgers' marks ever share an epoch
_MARK_EPOCHS = itertools.count(1)


@cython.auto_pickle(False)  # pickled by __getstate__ / __setstate__
@cython.cclass
class Ledger:
    """Every account's cash and positions, the pools, marks and funding indices.

    Pure and deterministic. `insurance` is the cash of the INSURANCE account;
    conservation: sum(cash of all accounts, INSURANCE included) + fee_pool +
    sum(funding_pool) == deposits - withdrawals (`total_balance()`).
    """

    def __init__(self, markets: dict[int, MarketSpec]) -> None:
        self.markets: dict[int, MarketSpec] = dict(markets)
        self.accounts: dict[str, Account] = {INSURANCE: Account(cash=0)}
        self.fee_pool: int = 0
        self.funding_pool: dict[int, int] = {m: 0 for m in markets}
        self.open_interest: dict[int, int] = {m: 0 for m in markets}  # long side, WAD base
        self.marks: dict[int, int] = {}
        self.funding_index: dict[int, int] = {m: 0 for m in markets}
        # market -> {account: position} of every open position (size != 0)
        self.holders: dict[int, dict[str, Position]] = {m: {} for m in markets}
        # accounts whose cash or positions changed since the liquidation index last looked
        self.dirty: set[str] = set()
        self.liq_index: Any = None  # owned by engine.core.liquidation
        # account -> RiskCell [R, E]: R an upper bound of the initial margin of its worst
        # case (positions and resting orders), E its exact cross equity, WAD quote,
        # updated in place (no dict store per fill): the engine's pre-trade fast path
        # (engine.core.risk.checked_with_cache). Not state. A mark change or a funding
        # step clears it; a fill of q in a cross position raises R by
        # margin_requirement(q, mark, IMF) (the worst case grows by at most q) and
        # carries E across it exactly (wad.move_equity: the cash moved, the position's
        # value at mark); one touching an isolated position, or any other change of the
        # account's cash (`cash_changed`), drops the account's entry.
        self.risk_cache: dict[str, RiskCell] = {}
        # (market, size) -> size_margin(market, size) at the current marks
        self.im_cache: SizeMemo = SizeMemo()
        # changes with every mark (set_mark: marks change only there), from _MARK_EPOCHS;
        # resting-exposure verdicts hold for one epoch (exposure.no_resting_loss). Not state
        self.mark_epoch: int = next(_MARK_EPOCHS)

    def __getstate__(self) -> dict:
        # the caches are not state: never snapshotted (the liquidation index is rebuilt
        # by its first sweep)
        return {name: getattr(self, name) for name in LEDGER_STATE if name not in LEDGER_CACHES}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.risk_cache = {}
        self.im_cache = SizeMemo()
        self.mark_epoch = next(_MARK_EPOCHS)
        self.liq_index = None

    # ---- pools -----------------------------------------------------------------
    @property
    def insurance(self) -> int:
        """The insurance fund's balance, WAD quote (the INSURANCE account's cash)."""
        return self.accounts[INSURANCE].cash

    @insurance.setter
    def insurance(self, value: int) -> None:
        self.accounts[INSURANCE].cash = value
        self.cash_changed(INSURANCE)

    def cash_changed(self, account: str) -> None:
        """Record a change of the account's cash outside a fill (which keeps its own
        books): mark it for the liquidation index and drop its pre-trade cache entry,
        whose cross equity is stale now. Every such change must call this."""
        self.dirty.add(account)
        self.risk_cache.pop(account, None)

    def total_balance(self) -> int:
        """Sum of all cash (INSURANCE included) + fee pool + funding pools, WAD quote."""
        cash = sum(a.cash for a in self.accounts.values())
        return cash + self.fee_pool + sum(self.funding_pool.values())

    # ---- cash in and out ----------------------------------------------------------
    def _account(self, account: str) -> Account:
        acct = self.accounts.get(account)
        if acct is None:
            acct = self.accounts[account] = Account(cash=0)
        return acct

    def deposit(self, account: str, amount: int) -> None:
        """Credit `amount` (WAD quote, > 0) to the account's cash."""
        if amount <= 0:
            raise LedgerError(f"deposit: amount must be positive, got {amount}")
        self._account(account).cash += amount
        self.cash_changed(account)

    def withdraw(self, account: str, amount: int, *, enforce_margin: bool = True) -> int | None:
        """Debit `amount` (WAD quote) if equity after it still meets initial margin
        (the contract's rule) and the cross part still meets its own initial margin
        (the engine's isolated view). Returns None if done, else a RejectCode.

        enforce_margin=False records a withdrawal the Exchange already paid out."""
        if amount <= 0:
            return RejectCode.AMOUNT_NOT_POSITIVE
        acct = self.accounts.get(account)
        if acct is None or account == INSURANCE:
            return RejectCode.INSUFFICIENT_BALANCE
        if not enforce_margin:
            acct.cash -= amount
            self.cash_changed(account)
            return None
        if self.equity(account) - amount < self.initial_margin(account):
            return RejectCode.WITHDRAWAL_EXCEEDS_FREE_COLLATERAL
        if self.cross_equity(account) - amount < self.cross_initial_margin(account):
            return RejectCode.WITHDRAWAL_EXCEEDS_FREE_COLLATERAL
        acct.cash -= amount
        self.cash_changed(account)
        return None

    def set_stake(self, account: str, stake: int) -> None:
        """Record the account's checkpointed JEX stake (WAD), used for fee tiers."""
        if stake < 0:
            raise LedgerError(f"set_stake: stake must not be negative, got {stake}")
        self._account(account).stake = stake

    def set_mark(self, market: int, mark: int) -> None:
        """Set the market's mark price (WAD quote per base, > 0)."""
        if market not in self.markets:
            raise LedgerError(f"set_mark: unknown market {market}")
        if mark <= 0:
            raise LedgerError(f"set_mark: mark must be positive, got {mark}")
        self.marks[market] = mark
        self.mark_epoch = next(_MARK_EPOCHS)
        self.risk_cache.clear()
        self.im_cache.clear()

    def size_margin(self, market: int, size: int) -> int:
        """rules.margin_requirement(size, mark, IMF) of `size` WAD base (> 0) in a listed
        market at its current mark (0 without one), WAD quote: what an order or a fill
        of `size` adds at most to a pre-trade bound (risk.checked_with_cache).
        Remembered per market and size until a mark moves: the order flow repeats sizes."""
        memo = self.im_cache
        m = memo.get(market, size)
        if m is None:
            m = margin(size, self.marks.get(market, 0), self.markets[market].imf)
            memo.put(market, size, m)
        return m

    # ---- funding -------------------------------------------------------------------
    def _settle_funding(self, account: str, acct: Account, market: int) -> int:
        """Settle the position's funding owed at the current index; returns it (> 0 paid)."""
        pos = acct.positions.get(market)
        if pos is None:
            return 0
        index = self.funding_index[market]
        last = pos.last_index
        if index == last:
            return 0  # rules.funding_owed(size, i, i) == 0
        owed = rules.funding_owed(pos.size, index, last)
        pos.last_index = index
        if owed:
            acct.cash -= owed
            self.funding_pool[market] += owed
            pos.funding_paid += owed
            if pos.isolated:
                pos.isolated_margin -= owed
        return owed

    def apply_funding(self, market: int, rate: int) -> FundingResult:
        """Advance the market's funding index by one interval at `rate` (signed WAD
        fraction) and the current mark, and report each open position's payment
        for this interval: funding_owed(size, index_after, index_before).

        Payments are settled lazily (on the next touch), exactly like the
        contract; settlement over several intervals rounds once, so the settled
        amount can be a few wei below the sum of the reported ones."""
        if market not in self.markets:
            raise LedgerError(f"apply_funding: unknown market {market}")
        mark = self.marks.get(market, 0)
        before = self.funding_index[market]
        after = before + rules.funding_index_step(rate, mark)
        self.funding_index[market] = after
        payments = []
        total = 0
        for account in sorted(self.holders[market]):
            size = self.holders[market][account].size
            amount = rules.funding_owed(size, after, before)
            total += amount
            payments.append(FundingPayment(account, size, amount))
        if after != before:
            self.dirty.update(self.holders[market])
            self.risk_cache.clear()  # every holder's cross equity moved
        return FundingResult(market, rate, mark, before, after, tuple(payments), total)

    # ---- fills ---------------------------------------------------------------------
    def apply_fill(
        self,
        market: int,
        buyer: str,
        seller: str,
        size: int,
        price: int,
        buyer_fee: int,
        seller_fee: int,
        *,
        buyer_isolated: bool = False,
        seller_isolated: bool = False,
    ) -> FillResult:
        """Settle one fill of `size` (WAD base, > 0) at `price` (WAD quote/base).

        Both sides' funding is settled first; then cash moves as the contract
        moves it (rules.trade_cash: the buyer pays it rounded up, the seller
        receives it rounded down, the dust goes to insurance), fees (WAD quote)
        go to the fee pool, sizes, entries and realized PnL update, and the
        open interest follows. When a market's open interest reaches zero its
        funding pool, pure dust by then, moves to insurance. The isolated flags
        only matter when a side opens a position from flat or flips it."""
        if market not in self.markets:
            raise LedgerError(f"apply_fill: unknown market {market}")
        if size <= 0 or price <= 0:
            raise LedgerError(f"apply_fill: size and price must be positive, got {size}, {price}")
        if buyer == seller:
            raise LedgerError("apply_fill: buyer and seller must differ (self-trade)")
        return FillResult(market, size, price, *self.fill(market, buyer, seller, size, price,
                                                           buyer_fee, seller_fee,
                                                           buyer_isolated, seller_isolated))

    def fill(self, market: int, buyer: str, seller: str, size: int, price: int,
             buyer_fee: int, seller_fee: int, buyer_isolated: bool, seller_isolated: bool,
             report: bool = True, receives: int | None = None, covered: int = 0
             ) -> tuple[int, int, int, int, int, int, int] | None:
        """`apply_fill` without its argument checks, for a caller that guarantees them
        (the engine's matcher: known market, size and price > 0, buyer != seller).
        Returns (buyer realized, seller realized, buyer funding, seller funding, dust,
        buyer size after, seller size after), all WAD; None if not `report` (the
        engine's matcher, which reads none of them: no tuple built per fill). `receives`:
        mul_wad_down(size, price) if the caller has it (the matcher's fee notional).
        `covered`: the sides whose cached pre-trade bound (risk_cache) already covers
        this fill, 1 the buyer, 2 the seller (the matcher's: a maker's resting order, a
        taker whose order passed the margin check with its whole size); the bound of
        every other side grows by the fill's margin at mark."""
        accounts = self.accounts
        b_acct = accounts.get(buyer)
        if b_acct is None:
            b_acct = accounts[buyer] = Account(cash=0)
        s_acct = accounts.get(seller)
        if s_acct is None:
            s_acct = accounts[seller] = Account(cash=0)
        index = self.funding_index[market]
        # funding is settled only when the index moved since the position last settled;
        # a position never held is opened flat at the current index
        b_pos = b_acct.positions.get(market)
        if b_pos is None:
            b_pos = b_acct.positions[market] = Position(0, index, 0, 0, 0)
            b_funding = 0
        else:
            b_funding = 0 if b_pos.last_index == index else \
                self._settle_funding(buyer, b_acct, market)
        s_pos = s_acct.positions.get(market)
        if s_pos is None:
            s_pos = s_acct.positions[market] = Position(0, index, 0, 0, 0)
            s_funding = 0
        else:
            s_funding = 0 if s_pos.last_index == index else \
                self._settle_funding(seller, s_acct, market)
        if receives is None:  # rules.trade_cash: the seller's leg rounds down
            receives = mul_wad_down(size, price)
        pays = mul_wad_up(size, price)  # the buyer's leg rounds up
        # each leg in one fused sum (compiled: one int built, not two)
        b_was, s_was = b_acct.cash, s_acct.cash
        b_acct.cash = sub_sub(b_was, pays, buyer_fee)
        s_acct.cash = add_sub(s_was, receives, seller_fee)
        self.fee_pool = add_add(self.fee_pool, buyer_fee, seller_fee)
        # no dust when size x price is a whole WAD multiple (whole ticks x steps): a
        # comparison, not a subtraction
        dust = 0 if pays == receives else pays - receives
        if dust:
            accounts[INSURANCE].cash += dust
            self.risk_cache.pop(INSURANCE, None)  # (not marked dirty: see below)
        # what each side's cached pre-trade bound grows by: size_margin (|delta| is `size`
        # on both sides) unless `covered`, and the mark its cached cross equity is
        # carried at, only if a bound is cached
        b_grow = s_grow = mark = 0
        if self.risk_cache:
            mark = self.marks.get(market, 0)
            if covered != 3:
                grow = self.size_margin(market, size)
                b_grow = 0 if covered & 1 else grow
                s_grow = 0 if covered & 2 else grow
        b_old, s_old = b_pos.size, s_pos.size
        b_real = self._trade(buyer, b_pos, market, size, True, price, buyer_isolated, b_grow,
                             mark, b_was, b_acct.cash)
        s_real = self._trade(seller, s_pos, market, size, False, price, seller_isolated,
                             s_grow, mark, s_was, s_acct.cash)
        # open interest counts the long side: the buyer's long part grows by `up`, the
        # seller's shrinks by `down`; both are `size` when a long sells to a long (or to a
        # flat buyer): no change, no update
        b_new, s_new = b_pos.size, s_pos.size
        up = size if b_old >= 0 else (b_new if b_new > 0 else 0)
        down = size if s_new >= 0 else (s_old if s_old > 0 else 0)
        if up is not down:
            oi = self.open_interest
            oi[market] = add_sub(oi[market], up, down)
        dirty = self.dirty
        dirty.add(buyer)
        dirty.add(seller)
        # INSURANCE is not marked: the liquidation index never keys the insurance account
        pool = self.funding_pool
        if pool[market] and self.open_interest[market] == 0:
            accounts[INSURANCE].cash += pool[market]
            self.risk_cache.pop(INSURANCE, None)
            pool[market] = 0
        if not report:
            return None
        return b_real, s_real, b_funding, s_funding, dust, b_pos.size, s_pos.size

    def _trade(self, account: str, pos: Position, market: int, size: int, is_buy: bool,
               price: int, isolated: bool, grow: int, mark: int, was: int, cash: int) -> int:
        """Apply a buy (is_buy) or a sell of `size` (WAD base, > 0) at price (WAD) to the
        account's position `pos` in the market (size 0 if flat or never held); returns
        the realized PnL (WAD quote). `grow` (WAD quote) is what the account's cached
        pre-trade bound rises by; its cached cross equity moves by the fill's cash (from
        `was` to `cash`, after any funding settled, whose payment the equity already
        counted) and the position's value at `mark` (the market's, 0 if none). Open
        interest is the caller's (`fill`)."""
        was_isolated = pos.isolated
        old = pos.size
        new = old + size if is_buy else old - size
        realized = 0
        if old == 0:  # open
            pos.isolated = isolated
            pos.entry_price = price
            if isolated:
                pos.isolated_margin += rules.margin_requirement(size, price,
                                                                self.markets[market].imf)
            self.holders[market][account] = pos
        elif (old > 0) if is_buy else (old < 0):  # increase
            # (|old| x entry + size x price) // |new|, |new| = |old| + size
            pos.entry_price = weighted_mean(old, pos.entry_price, size, price)
            if was_isolated:
                pos.isolated_margin += rules.margin_requirement(size, price,
                                                                self.markets[market].imf)
        else:  # reduce, close or flip (_reduce reads |delta| only: size will do)
            realized = self._reduce(pos, market, old, new, size, price, isolated)
            if new == 0:
                self.holders[market].pop(account, None)
        pos.size = new
        cache = self.risk_cache
        cell = cache.get(account)
        if cell is not None:
            if was_isolated or pos.isolated:
                del cache[account]
            else:
                if grow:
                    cell.grow(grow)
                cell.move(cash, was, new, old, mark)  # the terms of cross_equity that moved
        return realized

    def _reduce(self, pos: Position, market: int, old: int, new: int, delta: int, price: int,
                isolated: bool) -> int:
        """Reduce, close or flip `pos` from `old` to `new` (WAD base) at `price` (WAD):
        realize PnL on the closed part (returned, WAD quote), release isolated margin pro
        rata, and open a flipped remainder at `price`. The caller sets `pos.size`."""
        # floor(closed x (price - entry)) for a long, (entry - price) for a short, closed
        # = min(|delta|, |old|)
        realized = closed_pnl(old, delta, price, pos.entry_price)
        pos.realized_pnl += realized
        if pos.isolated:
            closed = min(abs(delta), abs(old))
            pos.isolated_margin = mul_div(pos.isolated_margin, abs(old) - closed, abs(old),
                                          Rounding.DOWN)
        if new == 0:
            pos.entry_price = 0
            if pos.isolated:  # nothing left to carry: the remaining margin is cross again
                pos.isolated_margin = 0
        elif (new > 0) != (old > 0):  # flipped: the remainder opens at price
            pos.entry_price = price
            pos.isolated = isolated
            pos.isolated_margin = (rules.margin_requirement(new, price,
                                                            self.markets[market].imf)
                                   if isolated else 0)
        return realized

    def transfer_position(self, market: int, from_account: str, to_account: str, size: int,
                          price: int) -> FillResult:
        """Move `size` (WAD base, > 0, at most |position|) of from_account's position
        to to_account at `price` (WAD), with no fees: an insurance takeover or an
        ADL at the bankruptcy price. Cash moves as for a fill (from a long, the
        receiver is the buyer), so the contract's `liquidate`/`deleverage` agree."""
        pos = self.position(from_account, market)
        if pos is None or size <= 0 or size > abs(pos.size):
            raise LedgerError(f"transfer_position: {from_account} cannot transfer {size} "
                              f"in market {market}")
        if pos.size > 0:
            return self.apply_fill(market, to_account, from_account, size, price, 0, 0)
        return self.apply_fill(market, from_account, to_account, size, price, 0, 0)

    def charge_liquidation_fee(self, account: str, amount: int) -> None:
        """Move a liquidation fee (WAD quote, >= 0) from the account's cash to insurance."""
        if amount < 0:
            raise LedgerError(f"charge_liquidation_fee: amount must not be negative, got {amount}")
        self._account(account).cash -= amount
        self.accounts[INSURANCE].cash += amount
        self.cash_changed(account)
        self.cash_changed(INSURANCE)

    def cover_bad_debt(self, account: str) -> int:
        """If a flat account's cash is negative, the insurance balance pays it back to
        zero; returns the amount covered (WAD quote, 0 if none)."""
        acct = self.accounts.get(account)
        if acct is None or account == INSURANCE or acct.cash >= 0:
            return 0
        if any(p.size for p in acct.positions.values()):
            return 0
        debt = -acct.cash
        acct.cash = 0
        self.accounts[INSURANCE].cash -= debt
        self.cash_changed(account)
        self.cash_changed(INSURANCE)
        return debt

    def receive_bad_debt_cover(self, account: str, paid: int) -> int:
        """The InsuranceFund paid `paid` (WAD quote, >= 0) into the Exchange for the
        account's bad debt (Exchange.cover_bad_debt): the account's negative cash is
        credited up to zero, the rest goes to insurance, as the contract splits it.
        Returns the amount credited to the account."""
        if paid < 0:
            raise LedgerError(f"receive_bad_debt_cover: paid must not be negative, got {paid}")
        acct = self.accounts.get(account)
        credited = min(paid, max(-acct.cash, 0)) if acct is not None else 0
        if credited:
            acct.cash += credited
            self.cash_changed(account)
        self.insurance += paid - credited
        return credited

    # ---- views ---------------------------------------------------------------------
    def position(self, account: str, market: int) -> Position | None:
        """The account's open position in the market, or None if flat."""
        acct = self.accounts.get(account)
        if acct is None:
            return None
        pos = acct.positions.get(market)
        return pos if pos is not None and pos.size != 0 else None

    def _owed(self, market: int, pos: Position) -> int:
        return rules.funding_owed(pos.size, self.funding_index[market], pos.last_index)

    def equity(self, account: str) -> int:
        """Account equity at mark, WAD quote: cash + sum(value at mark - funding owed),
        exactly `rules.equity` (the contract's)."""
        acct = self.accounts.get(account)
        if acct is None:
            return 0
        total = acct.cash
        marks, index = self.marks, self.funding_index
        for market, pos in acct.positions.items():
            size = pos.size
            if size:
                # rules.position_value (floor) - rules.funding_owed (ceil), inlined
                total += mul_wad_down(size, marks.get(market, 0))
                moved = index[market] - pos.last_index
                if moved:
                    total += mul_wad_down(-size, moved)
        return total

    def _requirement(self, account: str, imf: bool, only_cross: bool) -> int:
        acct = self.accounts.get(account)
        if acct is None:
            return 0
        total = 0
        marks, specs = self.marks, self.markets
        for market, pos in acct.positions.items():
            size = pos.size
            if size and not (only_cross and pos.isolated):
                spec = specs[market]
                fraction = spec.imf if imf else spec.mmf
                # rules.margin_requirement: |size| x mark, then x fraction, each rounded up
                total = add_margin(total, size, marks.get(market, 0), fraction)
        return total

    def initial_margin(self, account: str) -> int:
        """Sum of |size| x mark x IMF over all positions, WAD quote (the contract's)."""
        return self._requirement(account, True, False)

    def maintenance_margin(self, account: str) -> int:
        """Sum of |size| x mark x MMF over all positions, WAD quote (the contract's)."""
        return self._requirement(account, False, False)

    def free_collateral(self, account: str) -> int:
        """What the account could withdraw or commit, WAD quote: max(0, equity - IM),
        limited by the cross part (isolated margin is not free)."""
        whole = self.equity(account) - self.initial_margin(account)
        cross = self.cross_equity(account) - self.cross_initial_margin(account)
        return max(0, min(whole, cross))

    def isolated_equity(self, account: str, market: int) -> int:
        """Equity of an isolated position, WAD quote: its margin + PnL at mark - funding owed."""
        pos = self.position(account, market)
        if pos is None or not pos.isolated:
            return 0
        mark = self.marks.get(market, 0)
        return (pos.isolated_margin + rules.position_value(pos.size, mark)
                - rules.position_value(pos.size, pos.entry_price) - self._owed(market, pos))

    def cross_equity(self, account: str) -> int:
        """Equity minus the equity of every isolated position, WAD quote.

        One pass: a cross position adds its value at mark less funding owed; an
        isolated one adds value(size, entry) - isolated_margin, which is what is
        left of it in `equity - isolated_equity`."""
        acct = self.accounts.get(account)
        if acct is None:
            return 0
        total = acct.cash
        marks, index = self.marks, self.funding_index
        for market, pos in acct.positions.items():
            size = pos.size
            if not size:
                continue
            if pos.isolated:
                total += mul_wad_down(size, pos.entry_price) - pos.isolated_margin
            else:
                total = add_mul_wad_down(total, size, marks.get(market, 0))
                now = index[market]
                if now != pos.last_index:  # funding owed, rounded up (none while unmoved)
                    total += mul_wad_down(-size, now - pos.last_index)
        return total

    def cross_initial_margin(self, account: str) -> int:
        """Initial margin of the cross positions only, WAD quote."""
        return self._requirement(account, True, True)

    def cross_maintenance_margin(self, account: str) -> int:
        """Maintenance margin of the cross positions only, WAD quote."""
        return self._requirement(account, False, True)

    def unrealized_pnl(self, account: str, market: int) -> int:
        """Trading PnL of the open position at mark, WAD quote (funding excluded):
        position_value(size, mark) - position_value(size, entry_price)."""
        pos = self.position(account, market)
        if pos is None:
            return 0
        return (rules.position_value(pos.size, self.marks.get(market, 0))
                - rules.position_value(pos.size, pos.entry_price))

    def liquidation_price(self, account: str, market: int) -> int | None:
        """Mark (WAD) at which the position's margin unit (the cross account, or the
        isolated position) reaches maintenance, other marks fixed; None if flat or
        if a long cannot be liquidated at any positive mark. Exact up to rounding
        (a few wei of quote): the real root, rounded toward the safe side."""
        pos = self.position(account, market)
        if pos is None:
            return None
        constant = self.margin_constant(account, market)
        spec = self.markets[market]
        if pos.size > 0:
            num = -constant * WAD * WAD
            if num <= 0:
                return None
            return -((-num) // (pos.size * (WAD - spec.mmf)))  # ceil
        return max(0, constant * WAD * WAD // (-pos.size * (WAD + spec.mmf)))

    def margin_constant(self, account: str, market: int) -> int:
        """The part C of `equity - MM` of the position's margin unit that does not
        depend on this market's mark, WAD quote, so that for the position's size s

            equity - MM ~= C + s x mark - |s| x mark x MMF   (each over WAD, +- 3 wei).

        For a cross position C = cross equity - this position's value at mark -
        maintenance of the other cross positions; for an isolated one
        C = isolated_margin - value at entry - funding owed."""
        pos = self.position(account, market)
        if pos is None:
            raise LedgerError(f"margin_constant: {account} has no position in {market}")
        if pos.isolated:
            return (pos.isolated_margin - rules.position_value(pos.size, pos.entry_price)
                    - self._owed(market, pos))
        mark = self.marks.get(market, 0)
        own_mm = rules.margin_requirement(pos.size, mark, self.markets[market].mmf)
        other_mm = self.cross_maintenance_margin(account) - own_mm
        return self.cross_equity(account) - rules.position_value(pos.size, mark) - other_mm

    # ---- digest --------------------------------------------------------------------
    def state_digest(self) -> bytes:
        """Deterministic blake2b (32 bytes) over every account in sorted order, its
        positions by market, the pools, open interest, marks and funding indices."""
        h = hashlib.blake2b(digest_size=32, person=b"perpx-ledger")
        for address in sorted(self.accounts):
            acct = self.accounts[address]
            h.update(f"A|{address}|{acct.cash}|{acct.stake}\n".encode())
            for market in sorted(acct.positions):
                p = acct.positions[market]
                h.update(f"P|{market}|{p.size}|{p.last_index}|{p.entry_price}|{p.realized_pnl}|"
                         f"{p.funding_paid}|{int(p.isolated)}|{p.isolated_margin}\n".encode())
        h.update(f"F|{self.fee_pool}\n".encode())
        for market in sorted(self.markets):
            h.update(f"M|{market}|{self.funding_pool[market]}|{self.open_interest[market]}|"
                     f"{self.marks.get(market, 0)}|{self.funding_index[market]}\n".encode())
        return h.digest()

    def check_invariants(self) -> None:
        """Raise InvariantViolation if sizes per market do not sum to zero or the
        open interest disagrees with the positions."""
        for market in self.markets:
            longs = shorts = 0
            for acct in self.accounts.values():
                pos = acct.positions.get(market)
                if pos is not None:
                    longs += max(pos.size, 0)
                    shorts += max(-pos.size, 0)
            if longs != shorts or longs != self.open_interest[market]:
                raise InvariantViolation(
                    f"market {market}: longs {longs}, shorts {shorts}, "
                    f"open interest {self.open_interest[market]}")
