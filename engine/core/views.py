"""Order records and the read-only views the engine answers queries with.

`OrderRecord` is the engine's registry entry of an accepted order (mutable,
part of the state). The views are frozen dataclasses built on demand for the
API; nothing in them is kept or hashed. All amounts WAD, times unix ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cython

from engine.core.orders import Order

if TYPE_CHECKING:
    from engine.core.exposure import ExposureRow

# Order statuses
PENDING = "pending"  # a trigger order waiting for the mark
OPEN = "open"  # resting in the book
FILLED = "filled"
CANCELLED = "cancelled"  # see `reason`: user, expired, self-trade, unfilled, ...


@cython.no_gc  # fields are atoms, an Order and an ExposureRow: never part of a reference cycle
@cython.cclass
class OrderRecord:
    """What the engine remembers of an accepted order (the book keeps its remaining).

    Its C layout is in views.pxd."""

    def __init__(self, order: Order, signature: bytes, status: str, seq: int, ts_ms: int) -> None:
        self.order = order
        self.signature = signature
        self.status = status
        self.filled = 0
        self.seq = seq  # the engine event seq of its OrderAccepted: the registry's order
        self.ts_ms = ts_ms
        self.reason: str | None = None
        # not state (never pickled): the `Engine._exposure` row its resting remainder is
        # counted in, once it rested (None before, and after a restore: looked up then)
        self.exposure_row: ExposureRow | None = None

    def __reduce__(self) -> tuple:
        # pickled as a tuple of its slots (snapshots hold every record; see Order)
        return _record, (self.order, self.signature, self.status, self.filled, self.seq,
                         self.ts_ms, self.reason)


def _record(order: Order, signature: bytes, status: str, filled: int, seq: int, ts_ms: int,
            reason: str | None) -> OrderRecord:
    """An OrderRecord from its pickled slots (OrderRecord.__reduce__)."""
    rec = OrderRecord(order, signature, status, seq, ts_ms)
    rec.filled = filled
    rec.reason = reason
    return rec


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order as the engine knows it: status, filled and remaining WAD base."""

    order_hash: bytes
    order: Order
    status: str
    filled: int
    remaining: int
    accepted_ts_ms: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class PositionView:
    """An open position: signed size, entry and mark (WAD quote/base), unrealized PnL
    and funding owed (WAD quote), liquidation price (None: not reachable) and ADL
    rank (1 = deleveraged first; None: not in the queue)."""

    market: int
    size: int
    entry_price: int
    mark: int
    unrealized_pnl: int
    realized_pnl: int
    funding_paid: int
    isolated: bool
    liquidation_price: int | None
    adl_rank: int | None


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account's money in WAD quote: cash, equity at mark, margins, free collateral;
    stake in WAD JEX; flagged: funding-risk flag; open_orders: count resting or pending."""

    account: str
    cash: int
    equity: int
    initial_margin: int
    maintenance_margin: int
    free_collateral: int
    stake: int
    flagged: bool
    open_orders: int


@dataclass(frozen=True, slots=True)
class MarketView:
    """A market's prices (WAD; None before the first index), book top and funding state."""

    market: int
    symbol: str
    index: int | None
    mark: int | None
    best_bid: int | None
    best_ask: int | None
    open_interest: int
    funding_index: int
    last_funding_rate: int
    next_funding_ts_ms: int | None
    circuit_breaker: bool
