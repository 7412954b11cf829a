"""Read-only queries of `Engine` for the API (a mixin): nothing here changes state.

All amounts WAD (sizes base, prices quote per base, money quote); accounts
are 0x address strings; order ids the 32-byte order hashes.
"""

from __future__ import annotations

from engine.core import liquidation
from engine.core.errors import UnknownOrder
from engine.core.orders import Order
from engine.core.views import (
    OPEN,
    PENDING,
    AccountSummary,
    MarketView,
    OrderView,
    PositionView,
)


class QueriesMixin:
    """Queries answered from the engine's state (see module docstring)."""

    __slots__ = ()

    def order_status(self, order_hash: bytes) -> OrderView | None:
        """The order with this hash (any status), None if the engine never accepted it or
        retired it (ended for over `order_retention_ms`: engine/core/retention.py)."""
        rec = self.orders.get(order_hash)
        if rec is None:
            return None
        remaining = 0
        if rec.status == OPEN:
            resting = self.books[rec.order.market].get(order_hash)
            remaining = resting.remaining if resting is not None else 0
        elif rec.status == PENDING:
            remaining = rec.order.size
        return OrderView(order_hash, rec.order, rec.status, rec.filled, remaining, rec.ts_ms,
                         rec.reason)

    def nonce_used(self, trader: str, nonce: int) -> bool:
        """Whether an order of `trader` the engine accepted spent `nonce` (another order
        with it is refused: NONCE_REUSED, 1016), retired orders' nonces included."""
        used = self._nonces.get(trader)
        return used is not None and nonce in used

    def signed_order(self, order_hash: bytes) -> tuple[Order, bytes]:
        """(order, 65-byte signature) for the settlement batcher; b"" for engine orders.

        Raises UnknownOrder for a hash the engine never accepted."""
        rec = self.orders.get(order_hash)
        if rec is None:
            raise UnknownOrder(f"order 0x{order_hash.hex()} is unknown to the engine")
        return rec.order, rec.signature

    def open_orders(self, account: str, market: int | None = None) -> list[OrderView]:
        """Resting and pending orders of `account` (in `market`, or all), oldest first."""
        views = []
        for m, book in self.books.items():
            if market is None or m == market:
                views.extend(self.order_status(r.order_id) for r in book.orders_of(account))
        for h, m in self._pending.get(account, {}).items():
            if market is None or m == market:
                views.append(self.order_status(h))
        views.sort(key=lambda v: self.orders[v.order_hash].seq)
        return views

    def fills_of(self, account: str, limit: int = 100) -> list:
        """The account's latest `limit` TradeExecuted events, oldest first (engine keeps 1,000)."""
        history = self.fills.get(account)
        if not history or limit <= 0:
            return []
        return history.latest(limit)

    def depth(self, market: int, levels: int = 20
              ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """L2 book: up to `levels` (price, size) per side, bids high to low, asks low to high."""
        return self.books[market].depth(levels)

    def account_summary(self, account: str) -> AccountSummary:
        """Cash, equity, margins and free collateral of `account` at the current marks."""
        ledger = self.ledger
        acct = ledger.accounts.get(account)
        orders = sum(len(b.orders_of(account)) for b in self.books.values())
        orders += len(self._pending.get(account, {}))
        return AccountSummary(
            account, acct.cash if acct else 0, ledger.equity(account),
            ledger.initial_margin(account), ledger.maintenance_margin(account),
            ledger.free_collateral(account), acct.stake if acct else 0,
            self.monitor.is_flagged(account), orders,
        )

    def positions(self, account: str) -> list[PositionView]:
        """Open positions of `account` by market, with liquidation price and ADL rank."""
        ledger = self.ledger
        acct = ledger.accounts.get(account)
        if acct is None:
            return []
        views = []
        for market in sorted(acct.positions):
            pos = acct.positions[market]
            if not pos.size:
                continue
            views.append(PositionView(
                market, pos.size, pos.entry_price, ledger.marks.get(market, 0),
                ledger.unrealized_pnl(account, market), pos.realized_pnl, pos.funding_paid,
                pos.isolated, ledger.liquidation_price(account, market),
                liquidation.adl_rank(ledger, account, market),
            ))
        return views

    def adl_ranking(self, market: int, side_is_long: bool) -> list[tuple[str, int]]:
        """The public ADL queue of `market` against a bankrupt position on side `side_is_long`:
        (account, PnL% x effective leverage in WAD), first deleveraged first."""
        return liquidation.adl_ranking(self.ledger, market, side_is_long)

    def funding_history(self, market: int, limit: int = 100) -> list:
        """The latest `limit` FundingApplied events of `market`, oldest first."""
        return self.funding_history_of(market)[-limit:] if limit > 0 else []

    def funding_history_of(self, market: int) -> list:
        return list(self._funding_log.get(market, ()))

    def market_view(self, market: int) -> MarketView:
        """Prices, book top, open interest and funding state of `market`."""
        spec = self.specs[market]
        book = self.books[market]
        tracker = self.funding[market]
        nxt = self._next_funding_ms(market)
        return MarketView(
            market, spec.symbol, self.index.get(market), self.ledger.marks.get(market),
            book.best_bid(), book.best_ask(), self.ledger.open_interest[market],
            self.ledger.funding_index[market], tracker.last_rate,
            None if nxt >= 2**63 else nxt, self.breakers[market].tripped,
        )

    def get_order(self, order_hash: bytes) -> OrderView:
        """Like `order_status`, but raises UnknownOrder for an unknown hash."""
        view = self.order_status(order_hash)
        if view is None:
            raise UnknownOrder(f"order 0x{order_hash.hex()} is unknown to the engine (never "
                               f"accepted, or ended over {self.order_retention_ms} ms ago and "
                               "retired)")
        return view
