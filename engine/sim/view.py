"""What a simulated trader sees: a frozen snapshot of the engine's public state.

Strategies never touch the engine; the demo builds one `View` per step with
`take_view(engine, accounts, ts_ms)` (a read, inside `Sequencer.query`) and
hands it to every trader. Prices in WAD quote per base, sizes in WAD base,
money in WAD quote, times in unix milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.markets import MarketSpec

DEPTH_LEVELS = 10


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One of the trader's own resting orders: hash, side, limit price, remaining size."""

    order_hash: bytes
    market: int
    is_buy: bool
    price: int
    remaining: int


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Index and mark (None before the first index) and the top of the L2 book."""

    spec: MarketSpec
    index: int | None
    mark: int | None
    bids: tuple[tuple[int, int], ...]  # (price, size), best first
    asks: tuple[tuple[int, int], ...]

    @property
    def best_bid(self) -> int | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> int | None:
        """Book mid (WAD), None when either side is empty."""
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) // 2


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One trader's equity and free collateral (WAD quote), positions by market
    (signed WAD base) and resting orders."""

    account: str
    equity: int
    free_collateral: int
    positions: dict[int, int]
    orders: tuple[RestingOrder, ...]

    def position(self, market: int) -> int:
        return self.positions.get(market, 0)


@dataclass(frozen=True, slots=True)
class View:
    """The state one simulation step acts on."""

    ts_ms: int
    markets: dict[int, MarketSnapshot]
    accounts: dict[str, AccountSnapshot]


def take_view(engine, accounts: list[str], ts_ms: int) -> View:
    """Snapshot `engine` (an engine.core.engine.Engine) for the given accounts."""
    markets = {}
    for m, spec in engine.specs.items():
        bids, asks = engine.depth(m, DEPTH_LEVELS)
        markets[m] = MarketSnapshot(spec, engine.index.get(m), engine.ledger.marks.get(m),
                                    tuple(bids), tuple(asks))
    snaps = {}
    for account in accounts:
        summary = engine.account_summary(account)
        positions = {}
        for m in engine.specs:
            pos = engine.ledger.position(account, m)
            if pos is not None and pos.size:
                positions[m] = pos.size
        orders = tuple(RestingOrder(v.order_hash, v.order.market, v.order.is_buy,
                                    v.order.limit_price, v.remaining)
                       for v in engine.open_orders(account) if v.remaining)
        snaps[account] = AccountSnapshot(account, summary.equity, summary.free_collateral,
                                         positions, orders)
    return View(ts_ms, markets, snaps)
