"""Engine values to contract arguments: Order, Sig, Fill and Batch tuples.

The contract structs (contracts/Exchange.vy) have the same fields in the same
order as engine.core.orders.Order and DESIGN section 5.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.orders import Order
from engine.eip712 import split_signature


def order_tuple(order: Order) -> tuple:
    return (order.trader, order.market, order.is_buy, order.size, order.limit_price,
            order.trigger_price, order.flags, order.max_fee_rate, order.nonce, order.expiry)


def sig_tuple(signature: bytes) -> tuple:
    v, r, s = split_signature(signature)
    return (v, r, s)


def order_filled(order: Order, filled: int, nonce_spent: bool) -> int:
    """How much of an order the Exchange has used up (WAD base), from its public
    getters: `filled` = Exchange.filled(order_hash) and `nonce_spent` =
    Exchange.nonce_used(trader, nonce). A resting order keeps filled[hash] only
    while partly filled (max_value(uint256) once cancelled); a used-up order, or
    any order whose nonce is spent, reads as its full size. Engine orders (flags
    32, 64, 128) spend the settler's nonce, so only `filled` says anything."""
    if filled != 0 or order.engine_made:
        return filled
    return order.size if nonce_spent else 0


@dataclass(frozen=True, slots=True)
class SignedOrder:
    order: Order
    signature: bytes  # 65 bytes r || s || v


@dataclass(frozen=True, slots=True)
class FillArgs:
    """One settlement fill: both signed orders, the size and price, both fees (WAD)."""

    maker: SignedOrder
    taker: SignedOrder
    size: int
    price: int
    maker_fee: int
    taker_fee: int

    def as_tuple(self) -> tuple:
        return (order_tuple(self.maker.order), sig_tuple(self.maker.signature),
                order_tuple(self.taker.order), sig_tuple(self.taker.signature),
                self.size, self.price, self.maker_fee, self.taker_fee)


@dataclass(frozen=True, slots=True)
class BatchArgs:
    batch_id: int
    first_seq: int
    last_seq: int
    journal_digest: bytes
    timestamp: int
    fills: tuple[FillArgs, ...]

    @property
    def accounts(self) -> list[str]:
        """Every trader the batch touches, sorted by address value and unique."""
        seen = {f.maker.order.trader for f in self.fills} | {f.taker.order.trader for f in self.fills}
        return sorted(seen, key=lambda a: int(a, 16))

    def as_tuple(self) -> tuple:
        return (self.batch_id, self.first_seq, self.last_seq, self.journal_digest, self.timestamp,
                self.accounts, [f.as_tuple() for f in self.fills])
