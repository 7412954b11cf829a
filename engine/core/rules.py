"""The money formulas shared by the engine and the Exchange contract.

Each function here has a twin in contracts/ and a row of worked vectors in
tests/vectors/parity.json; docs/rules.md says why each rounds the way it does.
Rounding always favours the exchange: what a trader pays rounds up, what a
trader receives rounds down, requirements round up, equity rounds down.
All quantities are WAD integers: sizes in base units, prices in quote per
base, rates and fractions with 100% == WAD, the funding index in quote per
base (cumulative rate x mark).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.wad import WAD, Rounding, ceil_div, floor_div, margin, mul_div

# Order flags (DESIGN section 4), plus the orders the engine makes and the
# settler signs on an account's behalf: LIQUIDATION (the account is below
# maintenance margin), BACKSTOP (the counterparty of a liquidation at its
# bankruptcy price: the insurance account's takeover, or an ADL reduction)
# and STEP (a funding-risk step reduction of an account below initial margin).
FLAG_REDUCE_ONLY = 1
FLAG_POST_ONLY = 2
FLAG_IOC = 4
FLAG_FOK = 8
FLAG_ISOLATED = 16
FLAG_LIQUIDATION = 32
FLAG_BACKSTOP = 64
FLAG_STEP = 128
FLAGS_ALL = 63  # the flags a trader may sign
FLAGS_ENGINE = FLAG_LIQUIDATION | FLAG_BACKSTOP | FLAG_STEP
# Orders that can never rest in the book; the contract marks their nonce in
# a per-signer bitmap instead of keeping a filled-amount slot.
FLAGS_NON_RESTING = FLAG_IOC | FLAG_FOK | FLAGS_ENGINE


@dataclass(frozen=True, slots=True)
class TradeCash:
    """Cash moved by one fill, in WAD quote: the buyer pays `buyer_pays`,
    the seller receives `seller_receives`, the difference is dust that goes
    to the insurance balance."""

    buyer_pays: int
    seller_receives: int
    dust: int


def trade_cash(size: int, price: int) -> TradeCash:
    """Cash legs of a fill of `size` (WAD base) at `price` (WAD quote/base)."""
    pays = mul_div(size, price, WAD, Rounding.UP)
    receives = mul_div(size, price, WAD, Rounding.DOWN)
    return TradeCash(pays, receives, pays - receives)


def notional(size: int, price: int) -> int:
    """|size| x price in WAD quote, rounded down: the base for fees."""
    return mul_div(abs(size), price, WAD, Rounding.DOWN)


def fee_amount(size: int, price: int, rate: int) -> int:
    """Fee in WAD quote at `rate` (WAD fraction) on the fill's notional, rounded up."""
    return mul_div(notional(size, price), rate, WAD, Rounding.UP)


def fee_cap(size: int, price: int, max_fee_rate: int) -> int:
    """Largest fee an order signed with `max_fee_rate` allows on this fill.

    Same formula as fee_amount, so fee_amount(rate) <= fee_cap(max) whenever
    rate <= max."""
    return fee_amount(size, price, max_fee_rate)


def position_value(size: int, mark: int) -> int:
    """Signed value of a position at mark in WAD quote, rounded toward -inf."""
    return floor_div(size * mark, WAD)


def funding_owed(size: int, index_now: int, index_last: int) -> int:
    """Funding a position owes since it last settled, in WAD quote.

    Positive: the position pays; negative: it receives. Rounded toward
    +inf, so payers pay up and receivers get less; the dust stays in the
    market's funding pool and reaches the insurance balance."""
    return ceil_div(size * (index_now - index_last), WAD)


def funding_index_step(rate: int, mark: int) -> int:
    """Increment of a market's cumulative funding index for one interval:
    rate (signed WAD fraction) x mark (WAD price), rounded toward zero."""
    return mul_div(rate, mark, WAD, Rounding.DOWN)


def margin_requirement(size: int, mark: int, fraction: int) -> int:
    """|size| x mark x fraction in WAD quote, each step rounded up.

    With fraction = IMF it is the initial margin, with MMF the maintenance. The
    arithmetic is wad.margin's (compiled: wad.h's C path)."""
    return margin(size, mark, fraction)


@dataclass(frozen=True, slots=True)
class PositionMark:
    """What equity needs of one position: size, the market's mark and
    cumulative funding index now, and the index the position last settled at."""

    size: int
    mark: int
    index_now: int
    index_last: int


def equity(cash: int, positions: list[PositionMark]) -> int:
    """Account equity in WAD quote: cash + sum(value at mark - funding owed)."""
    total = cash
    for p in positions:
        total += position_value(p.size, p.mark) - funding_owed(p.size, p.index_now, p.index_last)
    return total


def bankruptcy_price(size: int, mark: int, account_equity: int) -> int:
    """Price at which closing the whole position leaves the account's equity at zero.

    Long (size > 0): mark - equity / size, rounded up (a liquidation sell must
    get at least this). Short: mark + equity / |size|, rounded down (a
    liquidation buy must pay at most this). Never below zero."""
    if size == 0:
        raise ValueError("bankruptcy_price: size must be non-zero")
    if size > 0:
        num = mark * size - account_equity * WAD
        return 0 if num <= 0 else ceil_div(num, size)
    num = mark * (-size) + account_equity * WAD
    return 0 if num <= 0 else floor_div(num, -size)


def liquidation_fee(size: int, price: int, rate: int, equity_after: int) -> int:
    """Liquidation fee in WAD quote: rate x notional rounded up, capped at the
    account's equity after the liquidation fill (never below zero)."""
    return min(fee_amount(size, price, rate), max(0, equity_after))
