"""Shared helpers of the engine tests: actors by role, an order builder, event filters."""

from __future__ import annotations

import hashlib
import itertools

from engine.core.commands import Deposit, PlaceOrder, UpdateIndex
from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.core.wad import WAD

MAKER = "0x" + "a1" * 20
TAKER = "0x" + "b2" * 20
TRADER = "0x" + "c3" * 20
BIDDER = "0x" + "d4" * 20
STRANGER = "0x" + "e5" * 20
ETH = 1  # market id: tick 0.01, step 0.001
T0 = 1_699_977_600_000 + 60_000  # one minute after a funding timestamp (8 h grid), unix ms
FEE_CAP = 10**15  # max_fee_rate 0.1%
SIG = b"\x01" * 65
_NONCES = itertools.count(1_000_000)  # fresh nonces: the engine rejects a reused one (1016)


def ohash(order: Order) -> bytes:
    """A stand-in order id (the engine takes the adapter's EIP-712 hash as given)."""
    return hashlib.blake2b(repr(order).encode(), digest_size=32).digest()


def order(trader: str, is_buy: bool, size: int, price: int, *, flags: int = 0,
          trigger: int = 0, expiry: int = 0, nonce: int | None = None, market: int = ETH,
          max_fee_rate: int = FEE_CAP) -> Order:
    """An Order; without `nonce`, a fresh one (each call gets the next from a counter)."""
    if nonce is None:
        nonce = next(_NONCES)
    return Order(trader, market, is_buy, size, price, trigger, flags, max_fee_rate, nonce, expiry)


def place(engine: Engine, o: Order, ts: int = T0 + 1_000) -> list:
    return engine.apply(PlaceOrder(o, ohash(o), SIG, ts))


def funded(*accounts: str, amount: int = 10_000 * WAD, index: int = 2_000 * WAD) -> Engine:
    """An engine on the default markets, `amount` WAD deposited per account, ETH index set at T0."""
    engine = Engine(default_markets())
    for acct in accounts:
        engine.apply(Deposit(acct, amount, T0))
    engine.apply(UpdateIndex(ETH, index, T0))
    return engine


def of(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def kinds(events: list) -> list[str]:
    return [type(e).__name__ for e in events]
