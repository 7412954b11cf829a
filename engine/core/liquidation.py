"""Liquidation, insurance takeover and auto-deleveraging (DESIGN section 8).

A margin unit is either the cross part of an account (tag CROSS) or one
isolated position (tag = its market). A unit is liquidatable when its equity
is below its maintenance margin. `find_liquidatable` keeps an index on the
ledger so a sweep after a mark move does not recompute every account: a unit
with one position has `equity - MM = C + floor(s*m/W) - ceil(ceil(|s|*m/W)*mmf/W)`
with C independent of the mark m, so it is liquidatable for marks beyond a
threshold; each such unit sits in a per-market sorted list keyed by two
integer bounds (surely liquidatable beyond one, surely safe before the
other, a few wei apart), and a sweep bisects. Only units inside the band and
cross accounts holding several positions are checked exactly. Accounts whose
cash or positions change are marked dirty by the ledger and re-keyed lazily.

All amounts WAD; the insurance fund's own account is never liquidated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

from sortedcontainers import SortedList

from engine.core import rules
from engine.core.accounts import INSURANCE, Ledger, LedgerError
from engine.core.wad import WAD, floor_div

CROSS = -1  # unit tag of an account's cross part
_W2 = WAD * WAD


class LiquidationIndex:
    """Per-market sorted thresholds of single-position units; see module docstring."""

    def __init__(self, ledger: Ledger) -> None:
        self.longs: dict[int, SortedList] = {m: SortedList() for m in ledger.markets}
        self.shorts: dict[int, SortedList] = {m: SortedList() for m in ledger.markets}
        self.multi: dict[int, set[str]] = {m: set() for m in ledger.markets}
        self.entries: dict[str, list[tuple[int, bool, tuple[int, int, tuple[str, int]]]]] = {}
        # single-position unit -> (market, size, C): the unit's equity at mark m is
        # C + floor(size x m / WAD) exactly (cross equity, or the isolated position's)
        self.unit_terms: dict[tuple[str, int], tuple[int, int, int]] = {}
        self.multi_of: dict[str, tuple[int, ...]] = {}
        # cross accounts with several positions: (C, ((market, size, mmf), ...)) so that
        # cross equity - cross MM = C + sum(value at mark - maintenance), checked exactly
        self.multi_data: dict[str, tuple[int, tuple[tuple[int, int, int], ...]]] = {}
        # market -> (the other markets' marks, {account: (C + their terms, size, mmf)}):
        # a sweep of one market then computes one term per multi-position account
        self.partials: dict[int, tuple[tuple, dict[str, tuple[int, int, int]]]] = {}
        ledger.dirty.update(a for a, acct in ledger.accounts.items() if acct.positions)

    def multi_is_liquidatable(self, account: str, marks: dict[int, int]) -> bool:
        """Exact check of a cross account with several positions, from its cached terms."""
        total, terms = self.multi_data[account]
        for market, size, mmf in terms:
            mark = marks.get(market, 0)
            total += (size * mark) // WAD  # rules.position_value
            notional = -((-abs(size) * mark) // WAD)  # rules.margin_requirement, step 1
            total += (-notional * mmf) // WAD  # minus step 2, rounded up
        return total < 0

    def multi_partials(self, market: int, marks: dict[int, int]
                       ) -> dict[str, tuple[int, int, int]]:
        """For every multi-position cross account holding `market`: (C plus the exact
        terms of its other markets at their current marks, size here, mmf here), so
        that its cross equity - cross MM = partial + term(market). Cached until a
        mark of another market changes; accounts re-keyed since are filled in."""
        others = tuple(marks.get(m, 0) for m in sorted(self.multi) if m != market)
        cached = self.partials.get(market)
        if cached is None or cached[0] != others:
            cached = self.partials[market] = (others, {})
        table = cached[1]
        if len(table) != len(self.multi[market]):
            for account in self.multi[market]:
                if account in table:
                    continue
                total, terms = self.multi_data[account]
                here = (0, 0)
                for m, size, mmf in terms:
                    if m == market:
                        here = (size, mmf)
                        continue
                    mark = marks.get(m, 0)
                    total += (size * mark) // WAD  # rules.position_value
                    notional = -((-abs(size) * mark) // WAD)  # rules.margin_requirement
                    total += (-notional * mmf) // WAD
                table[account] = (total, here[0], here[1])
        return table

    def refresh(self, ledger: Ledger) -> None:
        """Re-key every account the ledger marked dirty."""
        for account in ledger.dirty:
            self._remove(account)
            if account != INSURANCE:
                self._add(ledger, account)
        ledger.dirty.clear()

    def _remove(self, account: str) -> None:
        for market, is_long, key in self.entries.pop(account, ()):
            (self.longs if is_long else self.shorts)[market].remove(key)
            del self.unit_terms[key[2]]
        for market in self.multi_of.pop(account, ()):
            self.multi[market].discard(account)
            cached = self.partials.get(market)
            if cached is not None:
                cached[1].pop(account, None)
        self.multi_data.pop(account, None)

    def _add(self, ledger: Ledger, account: str) -> None:
        acct = ledger.accounts.get(account)
        if acct is None:
            return
        index = ledger.funding_index
        cross_const = acct.cash
        cross: list[tuple[int, int]] = []
        entries = []
        for market, pos in acct.positions.items():
            size = pos.size
            if not size:
                continue
            owed = -((-size * (index[market] - pos.last_index)) // WAD)  # rules.funding_owed
            if pos.isolated:
                base = floor_div(size * pos.entry_price, WAD)
                cross_const -= pos.isolated_margin - base
                entries.append(self._entry(ledger, account, market, market, size,
                                           pos.isolated_margin - base - owed))
            else:
                cross_const -= owed
                cross.append((market, size))
        if len(cross) == 1:
            market, size = cross[0]
            entries.append(self._entry(ledger, account, market, CROSS, size, cross_const))
        elif cross:
            markets = tuple(m for m, _ in cross)
            self.multi_of[account] = markets
            self.multi_data[account] = (cross_const, tuple(
                (m, size, ledger.markets[m].mmf) for m, size in cross))
            for market in markets:
                self.multi[market].add(account)
        for market, is_long, key, terms in entries:
            (self.longs if is_long else self.shorts)[market].add(key)
            self.unit_terms[key[2]] = terms
        if entries:
            self.entries[account] = [(market, is_long, key) for market, is_long, key, _ in entries]

    @staticmethod
    def _entry(ledger: Ledger, account: str, market: int, tag: int, size: int, const: int
               ) -> tuple:
        """(market, is_long, sorted-list key (safe, sure, (account, tag)), (market, size, C))."""
        mmf = ledger.markets[market].mmf
        unit = (account, tag)
        if size > 0:  # liquidatable surely when m < sure, never when m >= safe
            den = size * (WAD - mmf)
            sure = -((const * _W2) // den)  # ceil(-C W^2 / den)
            safe = -(((const - 3) * _W2) // den)  # ceil((3 - C) W^2 / den)
            return market, True, (safe, sure, unit), (market, size, const)
        den = -size * (WAD + mmf)  # liquidatable surely when m > sure, never when m <= safe
        return market, False, (floor_div((const - 3) * _W2, den), floor_div(const * _W2, den),
                               unit), (market, size, const)


def _index(ledger: Ledger) -> LiquidationIndex:
    if ledger.liq_index is None:
        ledger.liq_index = LiquidationIndex(ledger)
    ledger.liq_index.refresh(ledger)
    return ledger.liq_index


def unit_is_liquidatable(ledger: Ledger, account: str, tag: int) -> bool:
    """Exact check of one margin unit: cross (tag CROSS) or the isolated position in market
    tag. A unit without a position has nothing to liquidate and is never liquidatable
    (a flat account's negative cash is bad debt: Ledger.cover_bad_debt)."""
    if tag == CROSS:
        acct = ledger.accounts.get(account)
        if acct is None or not any(p.size and not p.isolated for p in acct.positions.values()):
            return False
        return ledger.cross_equity(account) < ledger.cross_maintenance_margin(account)
    pos = ledger.position(account, tag)
    if pos is None or not pos.isolated:
        return False
    mm = rules.margin_requirement(pos.size, ledger.marks.get(tag, 0), ledger.markets[tag].mmf)
    return ledger.isolated_equity(account, tag) < mm


def find_liquidatable_units(ledger: Ledger, markets: Iterable[int] | None = None
                            ) -> list[tuple[str, int]]:
    """Every margin unit `(account, tag)` below maintenance, sorted; tag is CROSS for the
    cross part of an account, else the market of an isolated position. Only the
    given markets' marks are taken to have moved (default: all markets)."""
    idx = _index(ledger)
    found: set[tuple[str, int]] = set()
    check: list[tuple[str, int]] = []
    add, maybe = found.add, check.append
    marks = ledger.marks
    for market in ledger.markets if markets is None else markets:
        mark = marks.get(market)
        if mark is None:
            continue
        longs = idx.longs[market]
        for _, sure, unit in longs.islice(longs.bisect_left((mark + 1,))):
            # safe > mark: may be liquidatable; surely so below `sure`
            if mark < sure:
                add(unit)
            else:
                maybe(unit)
        shorts = idx.shorts[market]
        for _, sure, unit in shorts.islice(0, shorts.bisect_left((mark,))):
            if mark > sure:
                add(unit)
            else:
                maybe(unit)
        if idx.multi[market]:
            for account, (total, size, mmf) in idx.multi_partials(market, marks).items():
                notional = -((-abs(size) * mark) // WAD)  # rules.margin_requirement step 1
                if total + (size * mark) // WAD + (-notional * mmf) // WAD < 0:
                    add((account, CROSS))
    found.update([u for u in check if u not in found and unit_is_liquidatable(ledger, *u)])
    # by account then tag: two stable sorts on C-level keys beat comparing tuples
    return sorted(sorted(found, key=itemgetter(1)), key=itemgetter(0))


def find_liquidatable(ledger: Ledger, markets: Iterable[int] | None = None) -> list[str]:
    """Every account with a unit (its cross part or an isolated position) whose equity
    is below maintenance margin, sorted by address."""
    return sorted({account for account, _ in find_liquidatable_units(ledger, markets)})


def bankruptcy_price(ledger: Ledger, account: str, market: int) -> int:
    """rules.bankruptcy_price of the position with its unit's equity at mark (the
    cross equity, or the isolated position's): the price (WAD) at which closing
    it leaves that equity at zero."""
    pos = ledger.position(account, market)
    if pos is None:
        raise LedgerError(f"bankruptcy_price: {account} has no position in market {market}")
    unit_equity = (ledger.isolated_equity(account, market) if pos.isolated
                   else ledger.cross_equity(account))
    return rules.bankruptcy_price(pos.size, ledger.marks[market], unit_equity)


def liquidation_records(ledger: Ledger, units: Iterable[tuple[str, int]]
                        ) -> list[tuple[str, int, bool, int, int]]:
    """For each unit `(account, tag)` (as `find_liquidatable_units` returns them), the
    liquidation order of each of its positions before anything closes, as the
    engine's LiquidationStarted carries it: (account, market, is_buy, size WAD base,
    bankruptcy price WAD) -- cross positions in market order, or the isolated one.
    Equal to `bankruptcy_price` per position; single-position units use the index's
    mark-independent constant (unit equity = C + floor(size x mark / WAD))."""
    idx = _index(ledger)
    terms_of, marks = idx.unit_terms, ledger.marks
    out = []
    for unit in units:
        terms = terms_of.get(unit)
        account, tag = unit
        if terms is None:  # a cross account with several positions (or none left)
            acct = ledger.accounts.get(account)
            if acct is None:
                continue
            equity = ledger.cross_equity(account) if tag == CROSS else None
            for market in sorted(acct.positions):
                pos = acct.positions[market]
                if not pos.size or pos.isolated != (tag == market) or (
                        tag != CROSS and market != tag):
                    continue
                unit_equity = equity if equity is not None else \
                    ledger.isolated_equity(account, market)
                out.append((account, market, pos.size < 0, abs(pos.size),
                            rules.bankruptcy_price(pos.size, marks[market], unit_equity)))
            continue
        market, size, const = terms
        mark = marks[market]
        equity = const + (size * mark) // WAD
        if size > 0:  # rules.bankruptcy_price, inlined
            num = mark * size - equity * WAD
            price = 0 if num <= 0 else -((-num) // size)
        else:
            num = mark * -size + equity * WAD
            price = 0 if num <= 0 else num // -size
        out.append((account, market, size < 0, abs(size), price))
    return out


def liquidation_order_size(ledger: Ledger, account: str, market: int) -> tuple[bool, int]:
    """The liquidation IOC order for a position: (is_buy, size WAD base) closing all of it."""
    pos = ledger.position(account, market)
    if pos is None:
        return False, 0
    return pos.size < 0, abs(pos.size)


def liquidation_fee(ledger: Ledger, market: int, size: int, price: int, equity_after: int) -> int:
    """rules.liquidation_fee at the market's rate: rate x notional (WAD quote), capped at
    the equity left after the liquidation fill, never below zero."""
    rate = ledger.markets[market].liquidation_fee_rate
    return rules.liquidation_fee(size, price, rate, equity_after)


def _adl_score(ledger: Ledger, account: str, market: int) -> int | None:
    """PnL% x effective leverage (WAD) of a position, None if PnL% <= 0 or equity <= 0.

    PnL% = unrealized PnL / entry notional; effective leverage = notional at mark of
    the unit's positions / the unit's equity (cross, or the isolated position)."""
    pos = ledger.position(account, market)
    if pos is None or account == INSURANCE:
        return None
    pnl = ledger.unrealized_pnl(account, market)
    cost = rules.notional(pos.size, pos.entry_price)
    if pnl <= 0 or cost == 0:
        return None
    if pos.isolated:
        equity = ledger.isolated_equity(account, market)
        exposure = rules.notional(pos.size, ledger.marks[market])
    else:
        equity = ledger.cross_equity(account)
        exposure = sum(rules.notional(p.size, ledger.marks.get(m, 0)) for m, p in
                       ledger.accounts[account].positions.items() if p.size and not p.isolated)
    if equity <= 0:
        return None
    return pnl * WAD // cost * exposure // equity


def adl_ranking(ledger: Ledger, market: int, side_is_long: bool) -> list[tuple[str, int]]:
    """ADL queue against a bankrupt position on side `side_is_long`: the OPPOSITE
    side's positions with PnL% > 0, as (account, score WAD), highest
    PnL% x effective leverage first, ties by address."""
    scored = []
    for account, pos in ledger.holders[market].items():
        if (pos.size > 0) != side_is_long:
            score = _adl_score(ledger, account, market)
            if score is not None:
                scored.append((account, score))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored


def adl_rank(ledger: Ledger, account: str, market: int) -> int | None:
    """1-based place of the account's position in its side's ADL queue (1 = deleveraged
    first), or None if it is not in the queue (flat, or PnL% <= 0)."""
    pos = ledger.position(account, market)
    if pos is None:
        return None
    for rank, (holder, _) in enumerate(adl_ranking(ledger, market, pos.size < 0), start=1):
        if holder == account:
            return rank
    return None


@dataclass(frozen=True, slots=True)
class Transfer:
    """One leg of a plan: move `size` (WAD base) of the bankrupt position to
    `counterparty` at `price` (WAD) via Ledger.transfer_position."""

    counterparty: str
    size: int
    price: int
    kind: str  # "takeover" or "adl"


def insurance_can_take_over(ledger: Ledger, market: int, size: int, price: int) -> bool:
    """Whether the insurance account, after buying the bankrupt position (signed `size`,
    WAD base, as it will hold it) at `price`, still meets initial margin at mark."""
    mark = ledger.marks[market]
    imf = ledger.markets[market].imf
    cash = rules.trade_cash(abs(size), price)
    cost = cash.buyer_pays if size > 0 else -cash.seller_receives
    held = ledger.position(INSURANCE, market)
    old = held.size if held is not None else 0
    equity = ledger.equity(INSURANCE) - cost + rules.position_value(size, mark)
    im = (ledger.initial_margin(INSURANCE) - rules.margin_requirement(old, mark, imf)
          + rules.margin_requirement(old + size, mark, imf))
    return equity >= im


def plan_takeover_and_adl(ledger: Ledger, account: str, market: int, remaining_size: int,
                          bankruptcy_price: int) -> list[Transfer]:
    """What to do with `remaining_size` (WAD base, > 0) of a liquidated position the
    book could not absorb, at `bankruptcy_price` (WAD): the insurance fund takes
    it all over if it stays above initial margin afterwards; otherwise opposite
    positions are deleveraged in ADL order (the adl_ranking queue first; should
    it not suffice, the rest of the opposite side by address, the insurance
    fund's own position last), each up to its own size."""
    pos = ledger.position(account, market)
    if pos is None or remaining_size <= 0 or remaining_size > abs(pos.size):
        raise LedgerError(f"plan_takeover_and_adl: {account} cannot hand over {remaining_size}")
    is_long = pos.size > 0
    signed = remaining_size if is_long else -remaining_size
    if insurance_can_take_over(ledger, market, signed, bankruptcy_price):
        return [Transfer(INSURANCE, remaining_size, bankruptcy_price, "takeover")]
    queue = [a for a, _ in adl_ranking(ledger, market, is_long)]
    ranked = set(queue)
    opposite = [a for a, p in ledger.holders[market].items() if (p.size > 0) != is_long]
    rest = sorted(a for a in opposite if a not in ranked and a != INSURANCE)
    rest += [INSURANCE] if INSURANCE in opposite else []
    plan, left = [], remaining_size
    for counterparty in queue + rest:
        take = min(left, abs(ledger.holders[market][counterparty].size))
        plan.append(Transfer(counterparty, take, bankruptcy_price, "adl"))
        left -= take
        if left == 0:
            break
    if left:
        raise LedgerError(f"plan_takeover_and_adl: opposite side short by {left} in {market}")
    return plan
