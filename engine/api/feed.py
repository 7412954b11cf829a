"""What the API learns from the sequencer's stream of applied commands.

`Feed.on_applied` is a `Sequencer.subscribe` listener: it runs on the applying
thread right after each command, so it stays small. It keeps the market's
recent trades and the insurance fund's history (the balance read between two
applies is exact), and hands the events to the event loop for WebSocket
subscribers in coalesced batches (one `call_soon_threadsafe` per burst, not
per command). On the loop, `_drain` routes each event to the subscriptions
that want it: trades and funding by market, account events by every account
the event names, and book snapshots (one per burst and market) for markets
whose book changed.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.api import wire
from engine.core.events import (
    AutoDeleveraged,
    FundingApplied,
    InsuranceTakeover,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderTriggered,
    TradeExecuted,
)

TRADES_KEPT = 1000  # per market
INSURANCE_KEPT = 10_000
QUEUE_LIMIT = 20_000  # notifications waiting for one slow WebSocket before it is closed
_BOOK_EVENTS = (OrderAccepted, OrderCancelled, OrderReduced, OrderTriggered, TradeExecuted,
                InsuranceTakeover, AutoDeleveraged)
_ACCOUNT_FIELDS = ("trader", "account", "maker", "taker", "counterparty")


@dataclass(eq=False)
class Connection:
    """One WebSocket's outgoing queue and its subscriptions."""

    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    subs: dict[str, Subscription] = field(default_factory=dict)
    overflow: bool = False

    def push(self, message: dict) -> None:
        if self.overflow:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflow = True  # the sender closes the socket: the client is too slow


@dataclass(eq=False)
class Subscription:
    id: str
    channel: str
    conn: Connection
    market: int | None = None
    account: str | None = None
    depth: int = 20

    def send(self, data: object) -> None:
        self.conn.push({"jsonrpc": "2.0", "method": "subscription",
                        "params": {"subscription": self.id, "channel": self.channel,
                                   "data": data}})


def accounts_of(event: object) -> set[str]:
    """Every account an event concerns (funding: every account it paid or credited)."""
    out = {getattr(event, f) for f in _ACCOUNT_FIELDS if hasattr(event, f)}
    if isinstance(event, FundingApplied):
        out.update(p[0] for p in event.payments)
    out.discard(None)
    return out


class Feed:
    """Recent trades, insurance history and subscription fan-out (module docstring)."""

    def __init__(self, engine_insurance: int) -> None:
        self.recent_trades: dict[int, deque] = {}
        self.insurance_history: deque = deque(maxlen=INSURANCE_KEPT)
        self._insurance = engine_insurance
        self._engine = None  # set by attach_engine: read between applies only
        self._lock = threading.Lock()
        self._buffer: list[tuple[int, list]] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[str, dict[object, set[Subscription]]] = {
            "book": {}, "trades": {}, "account": {}, "funding": {}}
        self._count = 0
        self._ids = itertools.count(1)
        self.book_reader: Callable[[int, int], asyncio.Future] | None = None

    def attach_engine(self, engine: object) -> None:
        self._engine = engine

    # -- the applying thread ------------------------------------------------------------

    def on_applied(self, seq: int, cmd: object, events: list) -> None:
        """Sequencer listener (applying thread): record, then hand over to the loop."""
        for ev in events:
            if type(ev) is TradeExecuted:
                trades = self.recent_trades.get(ev.market)
                if trades is None:
                    trades = self.recent_trades[ev.market] = deque(maxlen=TRADES_KEPT)
                trades.append(ev)
        if self._engine is not None:
            balance = self._engine.ledger.insurance
            if balance != self._insurance:
                cause = next((type(e).__name__ for e in events
                              if isinstance(e, (InsuranceTakeover, FundingApplied, AutoDeleveraged))
                              or (type(e) is TradeExecuted and e.liquidation)),
                             type(cmd).__name__)
                self.insurance_history.append((seq, cmd.ts_ms, balance,
                                               balance - self._insurance, cause))
                self._insurance = balance
        if self._count and self._loop is not None and events:
            with self._lock:
                self._buffer.append((seq, events))
                if self._scheduled:
                    return
                self._scheduled = True
            self._loop.call_soon_threadsafe(self._drain)

    # -- the event loop ---------------------------------------------------------------------

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, conn: Connection, channel: str, market: int | None,
                  account: str | None, depth: int) -> Subscription:
        sub = Subscription(f"s{next(self._ids)}", channel, conn, market, account, depth)
        key = account if channel == "account" else market
        self._subs[channel].setdefault(key, set()).add(sub)
        conn.subs[sub.id] = sub
        self._count += 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        key = sub.account if sub.channel == "account" else sub.market
        group = self._subs[sub.channel].get(key)
        if group is not None and sub in group:
            group.discard(sub)
            if not group:
                del self._subs[sub.channel][key]
            self._count -= 1
        sub.conn.subs.pop(sub.id, None)

    def drop(self, conn: Connection) -> None:
        for sub in list(conn.subs.values()):
            self.unsubscribe(sub)

    def _targets(self, channel: str, key: object) -> list[Subscription]:
        subs = self._subs[channel]
        out = list(subs.get(key, ()))
        if channel in ("trades", "funding") and key is not None:
            out.extend(subs.get(None, ()))  # subscribed to every market
        return out

    def _drain(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
            self._scheduled = False
        dirty: dict[int, int] = {}
        for seq, events in batch:
            for ev in events:
                kind = type(ev)
                market = getattr(ev, "market", None)
                if kind is TradeExecuted and self._subs["trades"]:
                    data = wire.trade_json(ev)
                    for sub in self._targets("trades", market):
                        sub.send(data)
                elif kind is FundingApplied and self._subs["funding"]:
                    data = wire.event_json(ev)
                    for sub in self._targets("funding", market):
                        sub.send(data)
                if kind in _BOOK_EVENTS and market in self._subs["book"]:
                    dirty[market] = seq
                if self._subs["account"]:
                    data = None
                    for acct in accounts_of(ev):
                        for sub in self._subs["account"].get(acct, ()):
                            data = data or wire.event_json(ev)
                            sub.send(data)
        for market in dirty:
            asyncio.ensure_future(self._push_book(market))

    async def _push_book(self, market: int) -> None:
        subs = list(self._subs["book"].get(market, ()))
        if not subs or self.book_reader is None:
            return
        depth = max(s.depth for s in subs)
        snapshot = await self.book_reader(market, depth)
        for sub in subs:
            data = snapshot
            if sub.depth < depth:
                data = {**snapshot, "bids": snapshot["bids"][:sub.depth],
                        "asks": snapshot["asks"][:sub.depth]}
            sub.send(data)
