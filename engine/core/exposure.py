"""Resting exposure: for each trader and market, the size and the exact notional (size
x price, WAD base x WAD quote) of its resting orders on each side, as the pre-trade
margin check reads them (risk.pre_trade_check_exposure).

`Engine._exposure` maps trader -> market -> row [buy size, sum of buy size x price,
sell size, sum of sell size x price]. Every order that rests adds to its row and every
fill, cancel or shrink of a resting order takes from it. A row stays, at zeros, once
its orders are gone: the next order there updates it in place (risk.py reads a zero
row as no row; dropping a row and building it again cost ~3x an update), so a rested
order's record can link its row (OrderRecord.exposure_row).

Taking from a row keeps the pre-trade cache (risk.checked_with_cache) valid: the
worst-case requirement can only fall, and the resting loss is re-tested at every use.
"""

from __future__ import annotations

from engine.core.wad import add_mul, mul, sub_mul

Row = list[int]


def expose(exposure: dict[str, dict[int, Row]], by_market: dict[int, Row] | None, trader: str,
        market: int, is_buy: bool, size: int, price: int) -> Row:
    """Add a resting order's `size` (> 0) WAD base at WAD `price` to its row in
    `exposure` (`by_market`: the trader's entry, None if it has none); returns the row."""
    row = None if by_market is None else by_market.get(market)
    if row is None:  # a new row holds the order alone
        notional = mul(size, price)
        row = [size, notional, 0, 0] if is_buy else [0, 0, size, notional]
        if by_market is None:
            exposure[trader] = {market: row}
        else:
            by_market[market] = row
    elif is_buy:
        row[0] += size
        row[1] = add_mul(row[1], size, price)
    else:
        row[2] += size
        row[3] = add_mul(row[3], size, price)
    return row


def unexpose(row: Row, is_buy: bool, size: int, price: int) -> None:
    """Take `size` (> 0) WAD base at WAD `price` of an order that was filled, left the
    book or shrank from its row (its exposure is there: every rest adds it)."""
    if is_buy:
        row[0] -= size
        row[1] = sub_mul(row[1], size, price)
    else:
        row[2] -= size
        row[3] = sub_mul(row[3], size, price)
