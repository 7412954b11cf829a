"""Resting exposure: for each trader and market, the size and the exact notional (size
x price, WAD base x WAD quote) of its resting orders on each side, as the pre-trade
margin check reads them (risk.pre_trade_check_exposure).

`Engine._exposure` maps trader -> market -> `ExposureRow` (buy size, sum of buy size x
price, sell size, sum of sell size x price). Every order that rests adds to its row
and every fill, cancel or shrink of a resting order takes from it. A row stays, at
zeros, once its orders are gone: the next order there updates it in place (risk.py
reads a zero row as no row; dropping a row and building it again cost ~3x an update),
so a rested order's record can link its row (OrderRecord.exposure_row).

Taking from a row keeps the pre-trade cache (risk.checked_with_cache) valid: the
worst-case requirement can only fall, and the resting loss is tested at every use
(`no_resting_loss`: a row keeps a loss-free verdict only until a take, an add on the
losing side of the mark it was found at, or a new mark).

Compiled, a row holds C integers (exposure.h: 128-bit sizes, 256-bit notionals)
updated in place, and moves to Python ints for good if an update would leave their
range; interpreted, Python ints. Either way it holds exactly what Python's integer
arithmetic gives.
"""

from __future__ import annotations

import cython


@cython.final
@cython.no_gc  # its fields are ints: never part of a reference cycle
@cython.cclass
class ExposureRow:
    """One trader's resting orders in one market: `values()` = (buy size, buy notional,
    sell size, sell notional), all >= 0 while every take matches an earlier add."""

    def __init__(self, buys: int = 0, buy_notional: int = 0, sells: int = 0,
                 sell_notional: int = 0) -> None:
        self._ints = True
        if cython.compiled:
            self._ints = perpx_xrow_set(cython.address(self._c), buys,  # noqa: F821
                                        buy_notional, sells, sell_notional) != 0
        if self._ints:
            self._bs, self._bn, self._ss, self._sn = buys, buy_notional, sells, sell_notional
        # the last `no_resting_loss` verdict: loss-free at the marks of ledger epoch
        # _free_epoch (0: none), this row's market's mark then being _free_mark
        self._free_epoch = 0
        self._free_mark = None

    def add(self, is_buy: bool, size: int, price: int) -> None:
        """An order of `size` WAD base at WAD `price` rests on side `is_buy`."""
        self._move(is_buy, size, price, False)

    def take(self, is_buy: bool, size: int, price: int) -> None:
        """`size` WAD base at WAD `price` of a resting order on side `is_buy` was filled,
        left the book or shrank (it was added: every rest adds)."""
        self._move(is_buy, size, price, True)

    def _move(self, is_buy: bool, size: int, price: int, sub: bool) -> None:
        if self._free_epoch:  # the verdict survives an add at a price no worse than its mark
            if sub or (price > self._free_mark if is_buy else price < self._free_mark):
                self._free_epoch = 0
        if cython.compiled:
            if not self._ints:
                if perpx_xrow_add(cython.address(self._c), 0 if is_buy else 1,  # noqa: F821
                                  size, price, 1 if sub else 0) == 0:
                    return
                self._spill()
        if sub:
            size = -size
        if is_buy:
            self._bs += size
            self._bn += size * price
        else:
            self._ss += size
            self._sn += size * price

    def loss_free(self, mark: int) -> bool:
        """Whether the resting orders lose nothing at `mark`: each side's average price,
        rounded against the trader, is no worse than mark (ceil(bn / bs) > mark <=>
        bn > mark x bs for buys, floor(sn / ss) < mark <=> sn < mark x ss for sells)."""
        if cython.compiled:
            if not self._ints:
                free = perpx_xrow_loss_free(cython.address(self._c), mark)  # noqa: F821
                if free >= 0:
                    return free == 1
                self._spill()  # a mark past the C range (or not an exact int)
        return ((not self._bs or self._bn <= mark * self._bs)
                and (not self._ss or self._sn >= mark * self._ss))

    def values(self) -> tuple[int, int, int, int]:
        """(buy size, buy notional, sell size, sell notional) as Python ints."""
        if cython.compiled:
            if not self._ints:
                c = cython.address(self._c)
                return (perpx_xrow_get(c, 0), perpx_xrow_get(c, 1),  # noqa: F821
                        perpx_xrow_get(c, 2), perpx_xrow_get(c, 3))  # noqa: F821
        return self._bs, self._bn, self._ss, self._sn

    def _spill(self) -> None:
        """Move the row to Python ints for good (an update left the C range)."""
        self._bs, self._bn, self._ss, self._sn = self.values()
        self._ints = True

    def __eq__(self, other: object) -> bool:
        if type(other) is not ExposureRow:
            return NotImplemented
        return self.values() == other.values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"ExposureRow{self.values()}"

    def __reduce__(self) -> tuple:
        return ExposureRow, self.values()


def expose(exposure: dict[str, dict[int, ExposureRow]], by_market: dict[int, ExposureRow] | None,
           trader: str, market: int, is_buy: bool, size: int, price: int) -> ExposureRow:
    """Add a resting order's `size` (> 0) WAD base at WAD `price` to its row in
    `exposure` (`by_market`: the trader's entry, None if it has none); returns the row."""
    row = None if by_market is None else by_market.get(market)
    if row is None:  # a new row, for the order alone
        row = ExposureRow()
        if by_market is None:
            exposure[trader] = {market: row}
        else:
            by_market[market] = row
    row.add(is_buy, size, price)
    return row


def no_resting_loss(by_market: dict[int, ExposureRow], marks: dict[int, int], epoch: int) -> bool:
    """Whether none of a trader's resting orders (`by_market`, its entry of the
    exposure) loses at its market's mark (a market without a mark counts none).

    `marks` are the ledger's, at its `mark_epoch` `epoch` (> 0; a new one at every mark
    change). A row found loss-free keeps that verdict for the epoch while it only gains
    orders at prices no worse than its mark (buys at or below it, sells at or above:
    each side's average stays on the safe side), so it is not tested again."""
    for market, row in by_market.items():
        if row._free_epoch == epoch:
            continue
        mark = marks.get(market)
        if mark is None:
            continue
        if not row.loss_free(mark):
            return False
        row._free_epoch = epoch
        row._free_mark = mark
    return True


def rows_from_lists(exposure: dict[str, dict[int, object]]) -> None:
    """Rows of a snapshot from before ExposureRow ([bs, bn, ss, sn] lists) as rows, in
    place."""
    for by_market in exposure.values():
        for market, row in by_market.items():
            if type(row) is list:
                by_market[market] = ExposureRow(*row)  # type: ignore[misc]
