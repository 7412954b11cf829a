"""The engine's snapshot: its whole state as bytes, and back (`SnapshotMixin`).

`Engine.snapshot()` pickles every field of the state (`STATE`); the books pickle as
flat rows (`Book.__reduce__`) and the order registry as one flat tuple per order, so
a snapshot of millions of orders neither recurses along the books' linked queues nor
pickles an object pair per order. `Engine.from_snapshot` restores the same state
hash, including from the older layouts `__setstate__` still reads. Where snapshots
are kept and when they are taken is the journal's business (engine/journal/
snapshots.py, engine/sequencer.py).
"""

from __future__ import annotations

import gc
import pickle
from typing import TYPE_CHECKING

from engine.core import accounts, events, liquidation
from engine.core.book import Book
from engine.core.errors import SnapshotError
from engine.core.exposure import rows_from_lists
from engine.core.fills import FillHistory
from engine.core.orders import Order
from engine.core.registry import OrderRegistry
from engine.core.value import register_legacy_unpicklers
from engine.core.views import OrderRecord

if TYPE_CHECKING:
    from engine.core.engine import Engine

SNAPSHOT_MAGIC = b"perpx-engine-snapshot-v1\n"

# Snapshots written before Value.__reduce__ name Cython's own unpickle function of each
# value class (`__pyx_unpickle_Position`, ...): the interpreted engine has none, so
# they are bound here to one that reads the same state (engine/core/value.py).
for _module in (accounts, events):
    register_legacy_unpicklers(vars(_module))

# The engine's state: EngineCore's C fields (engine/core/engine.pxd; a test holds the
# two lists equal), pickled by __getstate__ (all but DERIVED, which __setstate__
# rebuilds)
STATE = (
    "specs", "books", "ledger", "orders", "triggers", "expiries", "marks", "breakers",
    "funding", "index", "index_ts", "next_sample", "_funding_log", "fills", "monitor",
    "_seq", "_clock", "_next_due", "_liq_nonce", "_rates", "_exposure", "_reduce_only",
    "_pending", "_nonces", "_dispatch", "order_retention_ms", "_registered", "_retiring",
    "_retire_due", "_lanes", "_funding_due", "_register",
)
# rebuilt from the rest by __setstate__, not pickled (_funding_due: 0, "look at once";
# _register: _registered.append, bound)
DERIVED = ("_dispatch", "_lanes", "_funding_due", "_register")


class SnapshotMixin:
    """`Engine`'s pickling, snapshot and restore (see the module docstring)."""

    __slots__ = ()

    def __getstate__(self) -> dict:
        # books pickle as flat rows (Book.__reduce__), not as their linked queues, and the
        # order registry as one flat tuple per order: a snapshot pickles every order the
        # engine holds, and plain tuples pickle ~2.5x faster than an object pair per order
        state = {name: getattr(self, name) for name in STATE if name not in DERIVED}
        state["orders"] = _flat_orders(self.orders)
        return state

    def __setstate__(self, state: dict) -> None:
        orders = state.get("orders")
        # registration order: the rows' order, or an older snapshot's dict's order
        registered = [row[0] for row in orders] if type(orders) is list else list(orders)
        if type(orders) is list:
            state["orders"] = _unflat_orders(orders)
        elif type(orders) is dict:  # a snapshot from before the sharded registry
            state["orders"] = OrderRegistry(orders.items())
        for name, value in state.items():
            setattr(self, name, value)
        self._restore_retention(state, registered)
        self._register = self._registered.append
        if "_nonces" not in state:  # a snapshot from before nonce tracking: rebuild it
            self._nonces = {}
            for rec in self.orders.values():
                if not rec.order.engine_made:
                    self._use_nonce(rec.order)
        for market, book in self.books.items():
            if not isinstance(book, Book):  # older snapshots: (next seq, rows seq first)
                next_seq, rows = book
                self.books[market] = Book.restore(market, next_seq, [
                    (oid, trader, is_buy, price, left, seq)
                    for seq, oid, trader, is_buy, price, left in rows])
        rows_from_lists(self._exposure)  # a snapshot from before ExposureRow: list rows
        for account, history in self.fills.items():
            if type(history) is not FillHistory:  # a snapshot that kept the events
                self.fills[account] = FillHistory.of(history)
        if set(self._rates) != set(self.specs):
            # a snapshot from before the rates memo was keyed by market ((account,
            # market) keys): drop it, it is only fee_rates' memo, refilled on use
            self._rates = {m: {} for m in self.specs}
        self._dispatch = self._make_dispatch()
        self._funding_due = 0
        self._lanes = self._make_lanes()  # after the books and the rates memo are final

    def snapshot(self) -> bytes:
        """The whole state as bytes; `Engine.from_snapshot` restores the same state hash."""
        enabled = gc.isenabled()
        gc.disable()  # the flat rows are short-lived: no collection needs to walk them
        try:
            return SNAPSHOT_MAGIC + pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            if enabled:
                gc.enable()

    @classmethod
    def from_snapshot(cls, data: bytes) -> Engine:
        """Rebuild an engine from `snapshot()` bytes; raises SnapshotError on anything else."""
        if not data.startswith(SNAPSHOT_MAGIC):
            raise SnapshotError("snapshot: not a perpx engine snapshot (bad magic or version)")
        enabled = gc.isenabled()
        gc.disable()  # millions of new objects, no garbage: full collections would rescan them
        try:
            engine = pickle.loads(data[len(SNAPSHOT_MAGIC):])  # noqa: S301 - our own snapshot
        except Exception as exc:
            raise SnapshotError(f"snapshot: corrupt data ({exc})") from exc
        finally:
            if enabled:
                gc.enable()
        if not isinstance(engine, cls):
            raise SnapshotError("snapshot: does not hold an Engine")
        # the liquidation index is a cache a snapshot leaves out: build it now, during
        # recovery, rather than in the first mark update's sweep
        liquidation.find_liquidatable_units(engine.ledger, ())
        return engine


def _flat_orders(orders: OrderRegistry) -> list[tuple]:
    """The registry as (hash, Order fields..., signature, status, filled, seq, ts_ms,
    reason) tuples, in the registry's order (`_unflat_orders` inverts it)."""
    return [(h, o.trader, o.market, o.is_buy, o.size, o.limit_price, o.trigger_price, o.flags,
             o.max_fee_rate, o.nonce, o.expiry, r.signature, r.status, r.filled, r.seq,
             r.ts_ms, r.reason)
            for h, r in orders.items() for o in (r.order,)]


def _unflat_orders(rows: list[tuple]) -> OrderRegistry:
    orders = OrderRegistry()
    for row in rows:
        rec = orders[row[0]] = OrderRecord(Order(*row[1:11]), row[11], row[12], row[14], row[15])
        rec.filled = row[13]
        rec.reason = row[16]
    return orders
