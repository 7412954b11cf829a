"""Liquidation, insurance takeover and auto-deleveraging (DESIGN section 8).

A margin unit is either the cross part of an account (tag CROSS) or one
isolated position (tag = its market). A unit is liquidatable when its equity
is below its maintenance margin.

`find_liquidatable_units` keeps a `LiquidationIndex` on the ledger so a sweep
after a mark move does not recompute every account. A unit whose equity
depends on one mark m has

    equity - MM = C + floor(s*m/W) - ceil(ceil(|s|*m/W)*mmf/W)

with C independent of m, so it is liquidatable exactly for marks beyond a
threshold. Two integer bounds bracket it: beyond `sure` the unit is surely
liquidatable, before `safe` surely not; they are a few wei apart (at most
`NARROW`; dust positions, whose bounds are further apart, sit in a small
"wide" set checked exactly). Units sit in per-market sorted lists keyed
(safe, sure, unit, *terms), so a sweep bisects twice: everything past `mark +- NARROW`
is taken whole at C speed, the few units inside the band are checked exactly.
A single-position unit's key carries its pricing terms (the `unit_terms` entry's
(market, size, q, r), inline, or NO_TERMS), so
that `find_liquidation_records` prices the units it finds without looking them up.

Single-position units (a cross part with one position, or an isolated
position) are keyed once, when the ledger marks their account dirty. A cross
account holding several positions has, for a sweep of market X, the same
form with C = its constant plus the exact terms of its other positions at
their current marks: each market keeps such a "multi book" keyed the same
way once it serves a second sweep at the same other marks; a move of another
market's mark rebuilds it, checked account by account until then (see
`_MultiBook`).

`liquidation_records` and `find_liquidation_records` price the liquidation orders
from the same constants.

All amounts WAD; the insurance fund's own account is never liquidated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter

from sortedcontainers import SortedList

from engine.core import rules
from engine.core.accounts import INSURANCE, Ledger, LedgerError
from engine.core.wad import WAD, floor_div

CROSS = -1  # unit tag of an account's cross part
NARROW = 2**32  # widest sure-safe gap (WAD price) kept in the sorted lists
_W2 = WAD * WAD
_unit_of = itemgetter(2)
_account_of = itemgetter(0)

Unit = tuple[str, int]
Terms = tuple[int, int, int, int]  # (market, size, q, r): see LiquidationIndex.unit_terms
# (safe, sure, unit, market, size, q, r): WAD price bounds, then the unit's pricing terms
# (NO_TERMS where they are looked up instead), inline to save the sweep an indirection
Key = tuple
NO_TERMS = (None, 0, 0, 0)


def unit_key(size: int, mmf: int, const: int, unit: Unit, terms: Terms = NO_TERMS
             ) -> tuple[bool, Key]:
    """(is_long, (safe, sure, unit, *terms)) for a unit with `equity - MM = const +
    floor(size*m/W) - ceil(ceil(|size|*m/W)*mmf/W)` at mark m (all WAD); `terms`
    ride along (keys of one list never tie before them: a unit is in a list once).

    Long: surely liquidatable when m < sure, never when m >= safe (sure <= safe).
    Short: surely liquidatable when m > sure, never when m <= safe (safe <= sure).
    The terms differ from (size*m*(W -+ mmf))/W^2 by less than 3 wei of quote."""
    if size > 0:
        den = size * (WAD - mmf)
        return True, (-(((const - 3) * _W2) // den), -((const * _W2) // den), unit, *terms)
    den = -size * (WAD + mmf)
    return False, (floor_div((const - 3) * _W2, den), floor_div(const * _W2, den), unit,
                   *terms)


def _is_wide(is_long: bool, key: Key) -> bool:
    return (key[0] - key[1] if is_long else key[1] - key[0]) > NARROW


def _excess(size: int, mark: int, mmf: int) -> int:
    """rules.position_value(size, mark) - rules.margin_requirement(size, mark, mmf) in
    plain integer steps: a position's term in equity - maintenance margin (WAD)."""
    notional = -((-abs(size) * mark) // WAD)  # ceil(|size| x mark / W)
    return (size * mark) // WAD + (-notional * mmf) // WAD


def _below(const: int, size: int, mmf: int, mark: int) -> bool:
    """Exact: const + position_value(size, mark) < margin_requirement(size, mark, mmf)."""
    return const + _excess(size, mark, mmf) < 0


class _Lists:
    """Sorted keys of one population of units in one market: longs and shorts with
    narrow bounds, and the few wide ones (unit -> (size, mmf, const))."""

    __slots__ = ("longs", "shorts", "wide")

    def __init__(self, longs: Iterable[Key] = (), shorts: Iterable[Key] = ()) -> None:
        self.longs = SortedList(longs)
        self.shorts = SortedList(shorts)
        self.wide: dict[Unit, tuple[int, int, int]] = {}

    def add(self, is_long: bool, key: Key, terms: tuple[int, int, int]) -> bool:
        """Insert; False if it went to the wide set."""
        if _is_wide(is_long, key):
            self.wide[key[2]] = terms
            return False
        (self.longs if is_long else self.shorts).add(key)
        return True

    def remove(self, is_long: bool, key: Key | None, unit: Unit) -> None:
        if key is None:
            del self.wide[unit]
        else:
            (self.longs if is_long else self.shorts).remove(key)

    def sweep(self, mark: int, sure: list[Key], band: list[tuple[Key, bool]],
              wide: list[tuple[Unit, tuple[int, int, int]]]) -> None:
        """Append the keys of the units surely liquidatable at `mark` to `sure`, the
        ones within NARROW of their bounds to `band` (with is_long), the wide units
        to `wide`."""
        longs = self.longs
        if longs:
            lo = longs.bisect_left((mark + 1,))  # safe > mark: maybe
            hi = longs.bisect_left((mark + NARROW + 1,))  # sure >= safe - NARROW > mark
            if hi < len(longs):
                sure.extend(longs.islice(hi))
            band.extend((key, True) for key in longs.islice(lo, hi))
        shorts = self.shorts
        if shorts:
            hi = shorts.bisect_left((mark,))  # safe < mark: maybe
            lo = shorts.bisect_left((mark - NARROW,))  # sure <= safe + NARROW < mark
            if lo:
                sure.extend(shorts.islice(0, lo))
            band.extend((key, False) for key in shorts.islice(lo, hi))
        if self.wide:
            wide.extend(self.wide.items())


class _MultiBook:
    """The multi-position cross accounts of one market, their constant C taken at
    `others` (the other markets' marks): `table` holds (C, size, mmf) per account.

    Linear after a rebuild: checked account by account, which costs less than keying
    and sorting when the next move of another mark throws the book away again (marks
    of several markets alternating). Keyed (`lists` set, `placed` = account ->
    (is_long, key or None if wide)) from its second sweep at unchanged `others`, so
    that further sweeps of its own market bisect."""

    __slots__ = ("others", "table", "lists", "placed", "uses")

    def __init__(self, others: tuple[int, ...], table: dict[str, tuple[int, int, int]]) -> None:
        self.others = others
        self.table = table
        self.lists: _Lists | None = None
        self.placed: dict[str, tuple[bool, Key | None]] = {}
        self.uses = 0

    def key_all(self) -> None:
        """Key every account into sorted lists (one sort)."""
        longs: list[Key] = []
        shorts: list[Key] = []
        wide: dict[Unit, tuple[int, int, int]] = {}
        placed = self.placed = {}
        for account, (const, size, mmf) in self.table.items():
            unit = (account, CROSS)
            is_long, key = unit_key(size, mmf, const, unit)
            if _is_wide(is_long, key):
                wide[unit] = (size, mmf, const)
                placed[account] = (is_long, None)
            else:
                (longs if is_long else shorts).append(key)
                placed[account] = (is_long, key)
        self.lists = _Lists(longs, shorts)
        self.lists.wide = wide

    def put(self, account: str, terms: tuple[int, int, int]) -> None:
        self.table[account] = terms
        if self.lists is not None:
            const, size, mmf = terms
            is_long, key = unit_key(size, mmf, const, (account, CROSS))
            placed = self.lists.add(is_long, key, (size, mmf, const))
            self.placed[account] = (is_long, key if placed else None)

    def drop(self, account: str) -> None:
        if self.table.pop(account, None) is not None and self.lists is not None:
            is_long, key = self.placed.pop(account)
            self.lists.remove(is_long, key, (account, CROSS))

    def sweep(self, mark: int, out: list[Key], exact: Callable[[Unit], bool]) -> None:
        """Append a key of every account liquidatable at `mark` (WAD), exactly; its unit
        is (account, CROSS), its terms NO_TERMS."""
        self.uses += 1
        if self.lists is None and self.uses > 1:
            self.key_all()  # served a second sweep at the same other marks: worth keying
        if self.lists is not None:
            _sweep(self.lists, mark, out, exact)
            return
        for account, (const, size, mmf) in self.table.items():  # _below, inlined
            notional = -((-abs(size) * mark) // WAD)  # ceil(|size| x mark / W)
            if const + (size * mark) // WAD + (-notional * mmf) // WAD < 0:
                out.append((0, 0, (account, CROSS), *NO_TERMS))


class LiquidationIndex:
    """Per-market sorted bounds of every margin unit; see the module docstring."""

    def __init__(self, ledger: Ledger) -> None:
        self.market_ids = tuple(sorted(ledger.markets))
        self.mmf = {m: spec.mmf for m, spec in ledger.markets.items()}
        # market -> (cross units, isolated units) of single-position units
        self.singles: dict[int, tuple[_Lists, _Lists]] = {
            m: (_Lists(), _Lists()) for m in self.market_ids}
        # account -> its single-position units: (market, is_cross, is_long, key or None)
        self.entries: dict[str, list[tuple[int, bool, bool, Key | None, Unit]]] = {}
        # single-position unit -> (market, size, q, r) with C x W = q x size + r, where
        # C is the unit's constant: its equity at mark m is C + floor(size x m / W)
        self.unit_terms: dict[Unit, tuple[int, int, int, int]] = {}
        # cross accounts with several positions: (C, ((market, size, mmf), ...) by market)
        # so that cross equity - cross MM = C + sum(value at mark - maintenance)
        self.multi: dict[int, set[str]] = {m: set() for m in self.market_ids}
        self.multi_data: dict[str, tuple[int, tuple[tuple[int, int, int], ...]]] = {}
        self.books: dict[int, _MultiBook] = {}
        ledger.dirty.update(a for a, acct in ledger.accounts.items() if acct.positions)

    # ---- sweeping ------------------------------------------------------------------
    def multi_is_liquidatable(self, account: str, marks: dict[int, int]) -> bool:
        """Exact check of a cross account with several positions, from its cached terms."""
        total, terms = self.multi_data[account]
        for market, size, mmf in terms:
            total += _excess(size, marks.get(market, 0), mmf)
        return total < 0

    def multi_constant(self, account: str, market: int, marks: dict[int, int]
                       ) -> tuple[int, int, int]:
        """(C, size, mmf) of a multi-position account in `market`: C is its constant
        plus the exact terms of its other positions at their marks, so that its cross
        equity - cross MM = C + floor(size x m / W) - ceil(ceil(|size| x m / W) x mmf / W)."""
        total, terms = self.multi_data[account]
        size = mmf = 0
        for m, s, f in terms:
            if m == market:
                size, mmf = s, f
                continue
            total += _excess(s, marks.get(m, 0), f)
        return total, size, mmf

    def book(self, market: int, marks: dict[int, int]) -> _MultiBook:
        """The market's multi book, rebuilt if another market's mark moved, with the
        accounts re-keyed since filled in. The first one starts keyed; a rebuilt one
        starts linear and is keyed by its second sweep (see `_MultiBook`)."""
        others = tuple(marks.get(m, 0) for m in self.market_ids if m != market)
        book = self.books.get(market)
        members = self.multi[market]
        if book is None or book.others != others:
            keyed = book is None
            book = self.books[market] = _MultiBook(others, {
                account: self.multi_constant(account, market, marks) for account in members})
            if keyed:
                book.key_all()
        elif len(book.table) != len(members):
            for account in members - book.table.keys():
                book.put(account, self.multi_constant(account, market, marks))
        return book

    # ---- keeping up with the ledger ------------------------------------------------
    def refresh(self, ledger: Ledger) -> None:
        """Re-key every account the ledger marked dirty."""
        for account in ledger.dirty:
            self._remove(account)
            if account != INSURANCE:
                self._add(ledger, account)
        ledger.dirty.clear()

    def _remove(self, account: str) -> None:
        for market, is_cross, is_long, key, unit in self.entries.pop(account, ()):
            self.singles[market][0 if is_cross else 1].remove(is_long, key, unit)
            del self.unit_terms[unit]
        data = self.multi_data.pop(account, None)
        if data is None:
            return
        for market, _, _ in data[1]:
            self.multi[market].discard(account)
            book = self.books.get(market)
            if book is not None:
                book.drop(account)

    def _add(self, ledger: Ledger, account: str) -> None:
        acct = ledger.accounts.get(account)
        if acct is None:
            return
        index, mmfs = ledger.funding_index, self.mmf
        cross_const = acct.cash
        cross: list[tuple[int, int]] = []
        units = []
        for market, pos in acct.positions.items():
            size = pos.size
            if not size:
                continue
            owed = -((-size * (index[market] - pos.last_index)) // WAD)  # rules.funding_owed
            if pos.isolated:
                base = floor_div(size * pos.entry_price, WAD)  # rules.position_value at entry
                cross_const -= pos.isolated_margin - base
                units.append((market, market, size, pos.isolated_margin - base - owed))
            else:
                cross_const -= owed
                cross.append((market, size))
        if len(cross) == 1:
            units.append((cross[0][0], CROSS, cross[0][1], cross_const))
        elif cross:
            cross.sort()
            self.multi_data[account] = (cross_const, tuple(
                (m, size, mmfs[m]) for m, size in cross))
            for market, _ in cross:
                self.multi[market].add(account)
        entries = []
        for market, tag, size, const in units:
            unit, mmf = (account, tag), mmfs[market]
            terms = self.unit_terms[unit] = (market, size, *divmod(const * WAD, size))
            is_long, key = unit_key(size, mmf, const, unit, terms)
            placed = self.singles[market][0 if tag == CROSS else 1].add(
                is_long, key, (size, mmf, const))
            entries.append((market, tag == CROSS, is_long, key if placed else None, unit))
        if entries:
            self.entries[account] = entries


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


def _sweep(lists: _Lists, mark: int, out: list[Key], exact: Callable[[Unit], bool]) -> None:
    """Append to `out` the key of every unit of `lists` liquidatable at `mark` (WAD): the
    sure ones whole, the ones in the band by their `sure` bound or else `exact`, the
    wide ones by their exact terms (a wide unit's key is (0, 0, unit, *NO_TERMS))."""
    band: list[tuple[Key, bool]] = []
    wide: list[tuple[Unit, tuple[int, int, int]]] = []
    lists.sweep(mark, out, band, wide)
    for key, is_long in band:
        if (mark < key[1] if is_long else mark > key[1]) or exact(key[2]):
            out.append(key)
    for unit, (size, mmf, const) in wide:
        if _below(const, size, mmf, mark):
            out.append((0, 0, unit, *NO_TERMS))


def _unit_exact(ledger: Ledger, unit: Unit) -> bool:
    return unit_is_liquidatable(ledger, *unit)


def _multi_exact(idx: LiquidationIndex, marks: dict[int, int], unit: Unit) -> bool:
    return idx.multi_is_liquidatable(unit[0], marks)


def find_liquidatable_units(ledger: Ledger, markets: Iterable[int] | None = None
                            ) -> list[Unit]:
    """Every margin unit `(account, tag)` below maintenance, sorted; tag is CROSS for the
    cross part of an account, else the market of an isolated position. Only the
    given markets' marks are taken to have moved (default: all markets)."""
    units = list(map(_unit_of, _liquidatable_keys(ledger, markets)))
    units.sort(key=_account_of)
    return units


def _liquidatable_keys(ledger: Ledger, markets: Iterable[int] | None) -> list[Key]:
    """The keys of `find_liquidatable_units`' units: the cross units first, then the
    isolated ones market by market, so that one stable sort by account gives
    (account, tag) order (and sorts strings, not tuples)."""
    idx = _index(ledger)
    marks = ledger.marks
    chosen = idx.market_ids if markets is None else sorted(set(markets))
    cross: list[Key] = []
    isolated: list[Key] = []  # market by market, ascending
    multi: list[Key] = []
    single_exact = partial(_unit_exact, ledger)
    multi_exact = partial(_multi_exact, idx, marks)
    for market in chosen:
        mark = marks.get(market)
        if mark is None or market not in idx.singles:
            continue
        cross_lists, isolated_lists = idx.singles[market]
        _sweep(cross_lists, mark, cross, single_exact)
        _sweep(isolated_lists, mark, isolated, single_exact)
        if idx.multi[market]:
            idx.book(market, marks).sweep(mark, multi, multi_exact)
    # a multi-position account is found once, whichever of its markets' books found it
    cross.extend({key[2]: key for key in multi}.values() if len(chosen) > 1 else multi)
    cross.extend(isolated)
    return cross


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


def liquidation_records(ledger: Ledger, units: Iterable[Unit]
                        ) -> list[tuple[str, int, bool, int, int]]:
    """For each unit `(account, tag)` (as `find_liquidatable_units` returns them), the
    liquidation order of each of its positions before anything closes, as the
    engine's LiquidationStarted carries it: (account, market, is_buy, size WAD base,
    bankruptcy price WAD) -- cross positions in market order, or the isolated one.
    Equal to `bankruptcy_price` per position, computed from the index's
    mark-independent constants (unit equity = C + floor(size x mark / WAD))."""
    terms_of = _index(ledger).unit_terms
    return _records(ledger, [(0, 0, unit, *terms_of.get(unit, NO_TERMS)) for unit in units])


def find_liquidation_records(ledger: Ledger, markets: Iterable[int] | None = None
                             ) -> list[tuple[str, int, bool, int, int]]:
    """`liquidation_records(ledger, find_liquidatable_units(ledger, markets))`, priced
    from the terms the sorted keys carry instead of a lookup per unit (and sorted
    once, as records: a unit's records are consecutive, the sort is stable)."""
    records = _records(ledger, _liquidatable_keys(ledger, markets))
    records.sort(key=_account_of)
    return records


def _records(ledger: Ledger, keys: list[Key]) -> list[tuple[str, int, bool, int, int]]:
    """liquidation_records of the units of `keys`; a key without terms (a wide unit, a
    multi-position account, a unit outside the index) is looked up or priced apart."""
    idx = _index(ledger)
    terms_of, multi_data, marks = idx.unit_terms, idx.multi_data, ledger.marks
    out: list[tuple[str, int, bool, int, int]] = []
    append = out.append
    for _, _, unit, market, size, q, r in keys:
        if market is None:
            terms = terms_of.get(unit)
            if terms is None:
                out.extend(_records_of_multi(ledger, multi_data, unit))
                continue
            market, size, q, r = terms
        # rules.bankruptcy_price inlined: with equity = C + floor(size x mark / W),
        # mark x size - equity x W = (size x mark mod W) - C x W, so the price is
        # ceil (long) or floor (short) of ((size x mark mod W) - r) / size - q
        rest = (size * marks[market]) % WAD - r
        if size > 0:
            price = -((-rest) // size) - q
            append((unit[0], market, False, size, price if price > 0 else 0))
        else:
            price = rest // size - q
            append((unit[0], market, True, -size, price if price > 0 else 0))
    return out


def _records_of_multi(ledger: Ledger, multi_data: dict, unit: Unit
                      ) -> list[tuple[str, int, bool, int, int]]:
    """liquidation_records of a unit outside the single-position index: a cross part
    with several positions (from the index's terms), else from the ledger."""
    account, tag = unit
    marks = ledger.marks
    data = multi_data.get(account) if tag == CROSS else None
    if data is not None:
        equity, terms = data
        for market, size, _ in terms:
            equity += (size * marks[market]) // WAD  # rules.position_value
        return [(account, market, size < 0, abs(size),
                 rules.bankruptcy_price(size, marks[market], equity))
                for market, size, _ in terms]
    acct = ledger.accounts.get(account)
    if acct is None:
        return []
    out = []
    for market in sorted(acct.positions):
        pos = acct.positions[market]
        if pos.size and (pos.isolated and market == tag or not pos.isolated and tag == CROSS):
            out.append((account, market, pos.size < 0, abs(pos.size),
                        bankruptcy_price(ledger, account, market)))
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
