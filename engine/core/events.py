"""Events: what the engine did, as immutable values in the order it did it.

Every event carries `seq` (the engine's event counter, strictly increasing
from 1, never reused) and `ts_ms` (the time of the command that caused it).
Money in WAD; accounts are 0x addresses; order ids are the 32-byte EIP-712
order hashes (liquidation orders get an engine id, see `liquidation_order_id`).
Fields are only int, str, bool, bytes, None and tuples of those, so the
journal's codec and the API can encode them generically.

Events are frozen dataclasses and, compiled (make native), C extension types
(Cython's `cclass` dataclasses): the engine emits many of them per second, and
building one is then a single C call. Interpreted, they are plain frozen
dataclasses with the same fields, equality and repr.
"""

from __future__ import annotations

import cython

from engine.core.value import Value

# ------------------------------------------------------------------- orders


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class OrderAccepted(Value):
    """The order passed validation and risk; trades and resting follow.

    `pending_trigger`: a stop / take-profit held off the book until the mark
    reaches `trigger_price`."""

    seq: int
    ts_ms: int
    order_hash: bytes
    trader: str
    market: int
    is_buy: bool
    size: int
    limit_price: int
    trigger_price: int
    flags: int
    pending_trigger: bool


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class OrderRejected(Value):
    """The order was refused; `code` is a RejectCode value, `message` names the field."""

    seq: int
    ts_ms: int
    order_hash: bytes
    trader: str
    code: int
    message: str


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class OrderCancelled(Value):
    """An open or pending order left the engine unfilled for `remaining` WAD base.

    reason: "user", "expired", "self-trade", "unfilled" (IOC/market rest),
    "reduce-only" (the position it reduced is gone), "liquidation"."""

    seq: int
    ts_ms: int
    order_hash: bytes
    trader: str
    market: int
    remaining: int
    reason: str


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class OrderReduced(Value):
    """A resting reduce-only order shrank to `remaining` WAD base because the position shrank."""

    seq: int
    ts_ms: int
    order_hash: bytes
    trader: str
    market: int
    remaining: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class OrderTriggered(Value):
    """A stop / take-profit order's trigger was reached by the mark; it now trades."""

    seq: int
    ts_ms: int
    order_hash: bytes
    trader: str
    market: int
    trigger_price: int
    mark: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class CancelRejected(Value):
    """A cancel was refused (RejectCode value, message naming the field)."""

    seq: int
    ts_ms: int
    account: str
    order_hash: bytes
    code: int
    message: str


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class TradeExecuted(Value):
    """One fill: everything a settlement `Fill` needs.

    `maker_order` / `taker_order` are the order hashes (the batcher looks the
    signed orders up by hash); `size` WAD base at the maker's `price` (WAD);
    fees in WAD quote. `liquidation`: the taker is an engine liquidation
    order (flag 32) and `taker_fee` is the liquidation fee, paid to the
    insurance fund instead of the fee pool."""

    seq: int
    ts_ms: int
    market: int
    maker: str
    taker: str
    maker_order: bytes
    taker_order: bytes
    taker_is_buy: bool
    size: int
    price: int
    maker_fee: int
    taker_fee: int
    liquidation: bool


# ----------------------------------------------------------------- accounts


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Deposited(Value):
    """`amount` WAD quote credited; `cash` is the account's cash after it."""

    seq: int
    ts_ms: int
    account: str
    amount: int
    cash: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Withdrawn(Value):
    """`amount` WAD quote debited; `cash` is the account's cash after it."""

    seq: int
    ts_ms: int
    account: str
    amount: int
    cash: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class WithdrawalRejected(Value):
    """A withdrawal was refused (RejectCode value, message naming the field)."""

    seq: int
    ts_ms: int
    account: str
    amount: int
    code: int
    message: str


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class StakeUpdated(Value):
    """The account's JEX stake (WAD) changed; `discount` is its fee discount (WAD fraction)."""

    seq: int
    ts_ms: int
    account: str
    stake: int
    discount: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class CommandRejected(Value):
    """A non-order command was refused: `command` is its class name."""

    seq: int
    ts_ms: int
    command: str
    code: int
    message: str


# ----------------------------------------------------------- prices, funding


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class MarkUpdated(Value):
    """New index and mark (WAD quote per base) for `market`."""

    seq: int
    ts_ms: int
    market: int
    index: int
    mark: int
    degraded: bool


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class CircuitBreakerTripped(Value):
    """The circuit breaker changed state: `tripped` True when the index (WAD) moved
    more than 5% in 60 s (funding accrual pauses), False once it is stable again."""

    seq: int
    ts_ms: int
    market: int
    index: int
    tripped: bool


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class FundingApplied(Value):
    """Funding settled for the interval ending at `funding_ts_ms` (unix ms).

    `rate` signed WAD fraction (> 0: longs pay), `premium`/`interest` its
    parts, `mark`/`index` the prices used, `payments` ((account, position
    size, amount paid; < 0 received), ...) in account order, `dust` (>= 0)
    what the rounding leaves in the market's funding pool for insurance,
    `late_ms` how long after the timestamp it was settled (> 0 after downtime:
    each missed interval is settled separately, in order)."""

    seq: int
    ts_ms: int
    market: int
    funding_ts_ms: int
    rate: int
    premium: int
    interest: int
    mark: int
    index: int
    payments: tuple
    dust: int
    late_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class AccountFlagged(Value):
    """Funding risk: `flagged` True when the account's funding outflow over 24 h
    exceeded 3% of its initial margin, False when it no longer does."""

    seq: int
    ts_ms: int
    account: str
    flagged: bool


# --------------------------------------------------------------- liquidation


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class LiquidationStarted(Value):
    """`account` is below maintenance; an IOC liquidation order `order_hash` closes
    `size` WAD base of `market` no worse than `bankruptcy_price` (WAD)."""

    seq: int
    ts_ms: int
    account: str
    market: int
    order_hash: bytes
    is_buy: bool
    size: int
    bankruptcy_price: int
    equity: int
    maintenance: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class PositionStepReduced(Value):
    """A flagged account near maintenance was reduced by `size` WAD base in `market`."""

    seq: int
    ts_ms: int
    account: str
    market: int
    order_hash: bytes
    is_buy: bool
    size: int
    filled: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class InsuranceTakeover(Value):
    """The insurance fund took `size` WAD base (signed, the account's side) at `price`."""

    seq: int
    ts_ms: int
    account: str
    market: int
    size: int
    price: int
    insurance_after: int
    liquidation_order: bytes  # the liquidated side's engine order (flag 32)
    backstop_order: bytes  # the insurance account's engine order (flag 64)


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class AutoDeleveraged(Value):
    """`counterparty` (ranked by PnL% x leverage) took `size` WAD base (signed, the
    liquidated side) of `account`'s position at the bankruptcy `price`."""

    seq: int
    ts_ms: int
    market: int
    account: str
    counterparty: str
    size: int
    price: int
    liquidation_order: bytes  # the liquidated side's engine order (flag 32)
    backstop_order: bytes  # the counterparty's reduce-only engine order (flag 64)


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class FeesSwept(Value):
    """The chain's sweep_fees: `fees` WAD quote left the fee pool, `insurance` WAD quote
    the insurance account's cash (now `insurance_after`)."""

    seq: int
    ts_ms: int
    fees: int
    insurance: int
    insurance_after: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class BadDebtCovered(Value):
    """The InsuranceFund paid `paid` WAD quote for `account`'s bad debt: `credited` went
    to the account (at most its debt), the rest to the insurance account."""

    seq: int
    ts_ms: int
    account: str
    paid: int
    credited: int


EVENTS: tuple[type, ...] = (
    OrderAccepted,
    OrderRejected,
    OrderCancelled,
    OrderReduced,
    OrderTriggered,
    CancelRejected,
    TradeExecuted,
    Deposited,
    Withdrawn,
    WithdrawalRejected,
    StakeUpdated,
    CommandRejected,
    MarkUpdated,
    CircuitBreakerTripped,
    FundingApplied,
    AccountFlagged,
    LiquidationStarted,
    PositionStepReduced,
    InsuranceTakeover,
    AutoDeleveraged,
    FeesSwept,
    BadDebtCovered,
)


# ------------------------------------------------------------ hot constructors
# The order path builds these several times a command. Compiled, calling the class
# goes through type_call, an argument tuple and the dataclass __init__ (about 1,000
# instructions an event, callgrind); these fill the C fields of a new instance
# instead (engine.pxd cimports them). The event is the same value either way (a test
# compares them field by field); interpreted, they call the class.


def order_accepted(seq: int, ts_ms: int, order_hash: bytes, trader: str, market: int,
                   is_buy: bool, size: int, limit_price: int, trigger_price: int, flags: int,
                   pending_trigger: bool) -> OrderAccepted:
    if cython.compiled:
        ev = cython.declare(OrderAccepted, OrderAccepted.__new__(OrderAccepted))
        ev.seq, ev.ts_ms, ev.order_hash, ev.trader, ev.market = seq, ts_ms, order_hash, trader, market
        ev.is_buy, ev.size, ev.limit_price, ev.trigger_price = is_buy, size, limit_price, trigger_price
        ev.flags, ev.pending_trigger = flags, pending_trigger
        return ev
    return OrderAccepted(seq, ts_ms, order_hash, trader, market, is_buy, size, limit_price,
                         trigger_price, flags, pending_trigger)


def order_cancelled(seq: int, ts_ms: int, order_hash: bytes, trader: str, market: int,
                    remaining: int, reason: str) -> OrderCancelled:
    if cython.compiled:
        ev = cython.declare(OrderCancelled, OrderCancelled.__new__(OrderCancelled))
        ev.seq, ev.ts_ms, ev.order_hash, ev.trader = seq, ts_ms, order_hash, trader
        ev.market, ev.remaining, ev.reason = market, remaining, reason
        return ev
    return OrderCancelled(seq, ts_ms, order_hash, trader, market, remaining, reason)


def cancel_rejected(seq: int, ts_ms: int, account: str, order_hash: bytes, code: int,
                    message: str) -> CancelRejected:
    if cython.compiled:
        ev = cython.declare(CancelRejected, CancelRejected.__new__(CancelRejected))
        ev.seq, ev.ts_ms, ev.account, ev.order_hash = seq, ts_ms, account, order_hash
        ev.code, ev.message = code, message
        return ev
    return CancelRejected(seq, ts_ms, account, order_hash, code, message)


def trade_executed(seq: int, ts_ms: int, market: int, maker: str, taker: str,
                   maker_order: bytes, taker_order: bytes, taker_is_buy: bool, size: int,
                   price: int, maker_fee: int, taker_fee: int,
                   liquidation: bool) -> TradeExecuted:
    if cython.compiled:
        ev = cython.declare(TradeExecuted, TradeExecuted.__new__(TradeExecuted))
        ev.seq, ev.ts_ms, ev.market, ev.maker, ev.taker = seq, ts_ms, market, maker, taker
        ev.maker_order, ev.taker_order, ev.taker_is_buy = maker_order, taker_order, taker_is_buy
        ev.size, ev.price, ev.maker_fee, ev.taker_fee = size, price, maker_fee, taker_fee
        ev.liquidation = liquidation
        return ev
    return TradeExecuted(seq, ts_ms, market, maker, taker, maker_order, taker_order,
                         taker_is_buy, size, price, maker_fee, taker_fee, liquidation)
