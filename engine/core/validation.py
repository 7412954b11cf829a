"""Validation of a signed order before it reaches risk and matching (codes 1xxx).

Pure functions over the order, its market and the time; the engine calls
`check_order` first and emits `OrderRejected(code, message)` with what it
returns. Messages name the offending field and say what would be accepted,
so a client can fix the order without reading the code.
"""

from __future__ import annotations

from engine.core.codes import RejectCode
from engine.core.markets import MarketSpec
from engine.core.orders import Order
from engine.core.rules import (
    FLAG_FOK,
    FLAG_IOC,
    FLAG_LIQUIDATION,
    FLAG_POST_ONLY,
    FLAGS_ALL,
)

UINT256_MAX = 2**256 - 1
Rejection = tuple[RejectCode, str]
_CHECKED = FLAG_LIQUIDATION | FLAG_POST_ONLY | FLAG_IOC | FLAG_FOK  # bits that can clash


def is_expired(expiry_s: int, ts_ms: int) -> bool:
    """True once `ts_ms` (unix ms) reaches `expiry_s` (unix seconds, 0 = never).

    An order is live while now < expiry, the same rule as the contract's
    `expiry == 0 or block.timestamp < expiry` applied to the batch time."""
    return expiry_s != 0 and ts_ms >= expiry_s * 1000


def check_shape(order: Order, spec: MarketSpec | None, ts_ms: int) -> Rejection | None:
    """Market, size, step, price, tick, trigger, flags and expiry of `order`, in that order.

    Returns the first failing (code, message), or None if the order is well formed."""
    if spec is None:
        return RejectCode.UNKNOWN_MARKET, f"market: {order.market} is not listed"
    size = order.size
    if size <= 0 or size > UINT256_MAX:
        return RejectCode.SIZE_NOT_POSITIVE, f"size: must be > 0 (WAD base), got {size}"
    if size % spec.step_size:
        return (RejectCode.SIZE_OFF_STEP,
                f"size: {size} is not a multiple of step_size {spec.step_size}")
    price = order.limit_price
    if price <= 0 or price > UINT256_MAX:
        return (RejectCode.PRICE_NOT_POSITIVE,
                f"limit_price: must be > 0 (WAD quote per base), got {price}")
    if price % spec.tick_size:
        return (RejectCode.PRICE_OFF_TICK,
                f"limit_price: {price} is not a multiple of tick_size {spec.tick_size}")
    trigger = order.trigger_price
    if trigger < 0 or trigger > UINT256_MAX or trigger % spec.tick_size:
        return (RejectCode.TRIGGER_OFF_TICK,
                f"trigger_price: {trigger} must be 0 or a multiple of tick_size {spec.tick_size}")
    bad = check_flags(order)
    if bad is not None:
        return bad
    if is_expired(order.expiry, ts_ms):
        return (RejectCode.EXPIRED,
                f"expiry: {order.expiry} (unix s) is not after the time {ts_ms} (unix ms)")
    return None


def check_flags(order: Order) -> Rejection | None:
    """Flags must be known bits, and name at most one time-in-force.

    Refused: unknown bits; the liquidation bit (engine-only); post-only with
    IOC or FOK (a post-only order must rest); IOC with FOK; post-only on a
    trigger order (a triggered order executes at once)."""
    flags = order.flags
    if flags < 0 or flags & ~FLAGS_ALL:
        return RejectCode.BAD_FLAGS, f"flags: unknown bits in {flags} (allowed mask {FLAGS_ALL})"
    if not flags & _CHECKED:
        return None  # plain, reduce-only and/or isolated: nothing can clash
    if flags & FLAG_LIQUIDATION:
        return RejectCode.BAD_FLAGS, "flags: 32 (liquidation) is set only by the engine"
    if flags & FLAG_POST_ONLY and flags & (FLAG_IOC | FLAG_FOK):
        return RejectCode.BAD_FLAGS, "flags: post-only (2) cannot be combined with IOC (4) or FOK (8)"
    if flags & FLAG_IOC and flags & FLAG_FOK:
        return RejectCode.BAD_FLAGS, "flags: IOC (4) and FOK (8) are exclusive"
    if flags & FLAG_POST_ONLY and order.trigger_price:
        return RejectCode.BAD_FLAGS, "flags: post-only (2) is not allowed on a trigger order"
    return None


def _plain_flags() -> frozenset[int]:
    """Every flags value `check_flags` accepts on an order without a trigger price."""
    return frozenset(flags for flags in range(FLAGS_ALL + 1)
                     if check_flags(Order("", 0, False, 0, 0, 0, flags)) is None)


# Flag values a non-trigger order may carry: the engine's fast path tests membership
# here and leaves anything else to `check_shape` for the exact rejection.
PLAIN_FLAGS = _plain_flags()


def check_fee_cap(order: Order, rate: int, role: str) -> Rejection | None:
    """`max_fee_rate` must cover `rate` (WAD fraction), the rate charged in `role`."""
    if order.max_fee_rate < rate:
        return (RejectCode.MAX_FEE_RATE_BELOW_FEE,
                f"max_fee_rate: {order.max_fee_rate} is below the {role} fee rate {rate}")
    return None
