"""What happened during a run, collected from the engine's events for the report.

`Recorder.on_events(events)` sees every event in sequence order. It keeps
counts and totals (trades, volume, fees, rejections by code), the funding
intervals, the liquidations, and a price timeline (index, mark and last trade
price per market, one point per `timeline_ms`) for the chart. WAD integers
throughout; times unix milliseconds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from engine.core.events import (
    CircuitBreakerTripped,
    CommandRejected,
    FundingApplied,
    LiquidationStarted,
    MarkUpdated,
    OrderAccepted,
    OrderRejected,
    TradeExecuted,
)
from engine.core.wad import WAD


@dataclass
class LiquidationRecord:
    """One liquidation: the account, market, the position closed (WAD base, signed as
    held), the bankruptcy price, and what its IOC filled at (WAD) and paid (fee)."""

    ts_ms: int
    account: str
    market: int
    size: int
    bankruptcy_price: int
    equity: int
    maintenance: int
    filled: int = 0
    notional: int = 0
    fee: int = 0

    @property
    def avg_price(self) -> int:
        return self.notional * WAD // self.filled if self.filled else 0


@dataclass
class MarketTotals:
    trades: int = 0
    volume_base: int = 0
    volume_quote: int = 0
    fees: int = 0


@dataclass
class Recorder:
    timeline_ms: int = 60_000
    markets: dict[int, MarketTotals] = field(default_factory=dict)
    orders_accepted: int = 0
    rejections: Counter = field(default_factory=Counter)
    funding: list[FundingApplied] = field(default_factory=list)
    liquidations: list[LiquidationRecord] = field(default_factory=list)
    breaker_trips: list[tuple[int, int]] = field(default_factory=list)  # (ts_ms, market)
    timeline: dict[int, list[tuple[int, int, int, int | None]]] = field(default_factory=dict)
    _last_price: dict[int, int] = field(default_factory=dict)
    _open_liq: dict[tuple[str, int], LiquidationRecord] = field(default_factory=dict)

    def on_events(self, events: list) -> None:
        for ev in events:
            kind = type(ev)
            if kind is TradeExecuted:
                self._trade(ev)
            elif kind is MarkUpdated:
                self._mark(ev)
            elif kind is OrderAccepted:
                self.orders_accepted += 1
            elif kind is OrderRejected or kind is CommandRejected:
                self.rejections[ev.code] += 1
            elif kind is FundingApplied:
                self.funding.append(ev)
            elif kind is LiquidationStarted:
                size = -ev.size if ev.is_buy else ev.size  # the side held
                rec = LiquidationRecord(ev.ts_ms, ev.account, ev.market, size,
                                        ev.bankruptcy_price, ev.equity, ev.maintenance)
                self.liquidations.append(rec)
                self._open_liq[(ev.account, ev.market)] = rec
            elif kind is CircuitBreakerTripped and ev.tripped:
                self.breaker_trips.append((ev.ts_ms, ev.market))

    def _trade(self, ev: TradeExecuted) -> None:
        totals = self.markets.setdefault(ev.market, MarketTotals())
        notional = ev.size * ev.price // WAD
        totals.trades += 1
        totals.volume_base += ev.size
        totals.volume_quote += notional
        self._last_price[ev.market] = ev.price
        if ev.liquidation:
            rec = self._open_liq.get((ev.taker, ev.market))
            if rec is not None:
                rec.filled += ev.size
                rec.notional += notional
                rec.fee += ev.taker_fee
            totals.fees += ev.maker_fee
        else:
            totals.fees += ev.maker_fee + ev.taker_fee

    def _mark(self, ev: MarkUpdated) -> None:
        points = self.timeline.setdefault(ev.market, [])
        if points and ev.ts_ms - points[-1][0] < self.timeline_ms:
            return
        points.append((ev.ts_ms, ev.index, ev.mark, self._last_price.get(ev.market)))

    @property
    def trades(self) -> int:
        return sum(t.trades for t in self.markets.values())

