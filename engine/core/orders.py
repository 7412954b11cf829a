"""The signed order, exactly the EIP-712 `Order` of DESIGN section 4.

Field names are the engine's snake_case spelling of the typed-data fields;
engine/eip712.py maps them to the signed struct, and the contract's `Order`
struct has the same fields in the same order.
"""

from __future__ import annotations

import cython

from engine.core.rules import (
    FLAG_FOK,
    FLAG_IOC,
    FLAG_ISOLATED,
    FLAG_LIQUIDATION,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FLAGS_ENGINE,
    FLAGS_NON_RESTING,
)
from engine.core.value import Value


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Order(Value):
    """A trader's signed order. Sizes and prices in WAD; expiry in unix seconds
    (0 = good until cancelled); max_fee_rate a WAD fraction."""

    trader: str  # checksummed 0x address
    market: int
    is_buy: bool
    size: int
    limit_price: int
    trigger_price: int = 0  # > 0: stop / take-profit, triggered by the mark price
    flags: int = 0
    max_fee_rate: int = 0
    nonce: int = 0
    expiry: int = 0

    def __reduce__(self) -> tuple[type[Order], tuple]:
        # pickled as its field values: snapshots hold every registered order
        return Order, (self.trader, self.market, self.is_buy, self.size, self.limit_price,
                       self.trigger_price, self.flags, self.max_fee_rate, self.nonce,
                       self.expiry)

    @property
    def reduce_only(self) -> bool:
        return bool(self.flags & FLAG_REDUCE_ONLY)

    @property
    def post_only(self) -> bool:
        return bool(self.flags & FLAG_POST_ONLY)

    @property
    def ioc(self) -> bool:
        return bool(self.flags & FLAG_IOC)

    @property
    def fok(self) -> bool:
        return bool(self.flags & FLAG_FOK)

    @property
    def isolated(self) -> bool:
        return bool(self.flags & FLAG_ISOLATED)

    @property
    def liquidation(self) -> bool:
        return bool(self.flags & FLAG_LIQUIDATION)

    @property
    def engine_made(self) -> bool:
        """An order the engine makes and the settler signs (liquidation, backstop, step)."""
        return bool(self.flags & FLAGS_ENGINE)

    @property
    def can_rest(self) -> bool:
        """False for IOC, FOK, market and liquidation orders."""
        return not self.flags & FLAGS_NON_RESTING
