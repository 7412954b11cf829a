"""Commands: everything that can change the engine's state, as plain values.

A command is what the sequencer journals before the core sees it, so replay
is `for cmd in journal: engine.apply(cmd)`. Each one carries `ts_ms`, the
sequencer's clock in integer unix milliseconds: the core never reads a clock.
Fields are only int, str, bool, bytes, None, tuples of those and the nested
frozen `Order`, so the journal's codec can encode them generically. Compiled
(make native), they are C extension types (Cython `cclass` dataclasses).
Amounts and prices in WAD; accounts are checksummed 0x addresses.
"""

from __future__ import annotations

import cython

from engine.core import orders  # `Order` itself is cimported (commands.pxd)
from engine.core.value import Value


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Deposit(Value):
    """Credit `amount` WAD quote of collateral (seen on chain) to `account`."""

    account: str
    amount: int
    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Withdraw(Value):
    """Debit `amount` WAD quote from `account`, if it is free collateral.

    `on_chain`: the Exchange already paid it out (a trader's own withdraw
    transaction, checked against margin at the chain's posted marks): the
    engine follows the chain and does not check margin again."""

    account: str
    amount: int
    ts_ms: int
    on_chain: bool = False


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class PlaceOrder(Value):
    """A signed order, already checked by the adapter (signature recovers `order.trader`).

    `order_hash` is the EIP-712 digest (the order's id everywhere), `signature`
    the 65-byte r||s||v kept for the settlement batch."""

    order: orders.Order
    order_hash: bytes
    signature: bytes
    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class CancelOrder(Value):
    """Cancel one open or pending (untriggered) order of `account` by its hash."""

    account: str
    order_hash: bytes
    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class CancelAll(Value):
    """Cancel every open and pending order of `account`, in one market or (None) all."""

    account: str
    market: int | None
    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class SetStake(Value):
    """Set the JEX stake (WAD, checkpointed on chain) that sets `account`'s fee tier."""

    account: str
    stake: int
    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class UpdateIndex(Value):
    """A new index price (WAD) for `market`.

    Drives the mark (index + EMA of the basis), the circuit breaker, a
    premium sample when one is due, stop / take-profit triggers, funding at
    the timestamps passed, and the liquidation sweep. `degraded` is the
    index's flag (fewer than 3 live sources)."""

    market: int
    index: int
    ts_ms: int
    degraded: bool = False


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Tick(Value):
    """Time passes without a price: expire orders, sample premiums, settle funding due."""

    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class SweepFees(Value):
    """The Exchange's `sweep_fees` moved `fees` WAD quote out of the fee pool (to the
    FeeRouter) and `insurance` WAD quote out of the insurance account's cash (to the
    InsuranceFund): the engine follows the chain."""

    fees: int
    insurance: int
    ts_ms: int


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class CoverBadDebt(Value):
    """The InsuranceFund paid `paid` WAD quote into the Exchange for `account`'s bad
    debt (`Exchange.cover_bad_debt`): the account is credited up to its debt, the
    rest goes to the insurance account, as on chain."""

    account: str
    paid: int
    ts_ms: int


COMMANDS: tuple[type, ...] = (
    Deposit,
    Withdraw,
    PlaceOrder,
    CancelOrder,
    CancelAll,
    SetStake,
    UpdateIndex,
    Tick,
    SweepFees,
    CoverBadDebt,
)

Command = (Deposit | Withdraw | PlaceOrder | CancelOrder | CancelAll | SetStake | UpdateIndex
           | Tick | SweepFees | CoverBadDebt)
