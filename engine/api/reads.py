"""The API's read methods: functions of the engine's state, run inside
`Sequencer.query` (so no command is applied while they read), answering JSON.

Funding projections are computed here, outside the core, from a copy of the
market's funding tracker: the projected rate is what `close_interval` would
give if the interval ended now with the samples taken so far; a position's
projected next payment is `funding_owed(size, funding_index_step(rate, mark))`
(rounded like the real one, toward +inf); "accrued" is that payment pro rata
of the time elapsed in the interval, rounded the same way. All WAD on the
inside, decimal strings out.
"""

from __future__ import annotations

import copy
from collections import deque

from engine.api import wire
from engine.api.errors import ApiError
from engine.core import rules
from engine.core.codes import RejectCode
from engine.core.engine import Engine
from engine.core.triggers import NEVER_MS
from engine.core.wad import ceil_div


def _market(engine: Engine, market: int, field: str = "market") -> int:
    if market not in engine.specs:
        raise ApiError(RejectCode.UNKNOWN_MARKET,
                       f"{field}: {market} is not listed (markets: {sorted(engine.specs)})")
    return market


def next_funding_ms(engine: Engine, market: int) -> int | None:
    nxt = engine._next_funding_ms(market)  # noqa: SLF001 - the engine's own schedule
    return None if nxt >= NEVER_MS else nxt


def projected_rate(engine: Engine, market: int) -> int:
    """The rate (signed WAD fraction) the current interval would close at now."""
    nxt = next_funding_ms(engine, market)
    tracker = engine.funding[market]
    if nxt is None:
        return tracker.last_rate
    return copy.deepcopy(tracker).close_interval(nxt).rate


def book(engine: Engine, market: int, depth: int, seq: int) -> dict:
    bids, asks = engine.depth(_market(engine, market), depth)
    f = wire.from_wad
    return {"market": market, "seq": seq, "bids": [[f(p), f(s)] for p, s in bids],
            "asks": [[f(p), f(s)] for p, s in asks]}


def prices(engine: Engine, market: int) -> dict:
    return wire.prices_json(engine.market_view(_market(engine, market)))


def funding(engine: Engine, market: int, limit: int) -> dict:
    _market(engine, market)
    tracker = engine.funding[market]
    return {
        "market": market,
        "projected_rate": wire.from_wad(projected_rate(engine, market)),
        "last_rate": wire.from_wad(tracker.last_rate),
        "next_funding_ts_ms": next_funding_ms(engine, market),
        "interval_ms": tracker.interval_ms,
        "history": [wire.event_json(e) for e in engine.funding_history(market, limit)],
    }


def account(engine: Engine, account_: str) -> dict:
    out = wire.account_json(engine.account_summary(account_))
    out["margin_used"] = out["initial_margin"]
    return out


def position_funding(engine: Engine, market: int, size: int, now_ms: int,
                     rates: dict[int, int]) -> dict:
    """Projected funding of a position of `size` WAD base in `market` (module docstring)."""
    rate = rates.get(market)
    if rate is None:
        rate = rates[market] = projected_rate(engine, market)
    mark = engine.ledger.marks.get(market, 0)
    payment = rules.funding_owed(size, rules.funding_index_step(rate, mark), 0)
    nxt = next_funding_ms(engine, market)
    accrued = 0
    if nxt is not None:
        interval = engine.funding[market].interval_ms
        elapsed = min(max(now_ms - (nxt - interval), 0), interval)
        accrued = ceil_div(payment * elapsed, interval)
    f = wire.from_wad
    return {"funding_rate_projected": f(rate), "funding_accrued": f(accrued),
            "funding_next_payment": f(payment), "next_funding_ts_ms": nxt}


def positions(engine: Engine, account_: str, now_ms: int) -> list[dict]:
    rates: dict[int, int] = {}
    return [wire.position_json(v, position_funding(engine, v.market, v.size, now_ms, rates))
            for v in engine.positions(account_)]


def order(engine: Engine, order_hash: bytes) -> dict:
    view = engine.order_status(order_hash)
    if view is None:
        raise ApiError(RejectCode.UNKNOWN_ORDER,
                       f"order_hash: {wire.hex0x(order_hash)} is unknown to the engine (never "
                       f"accepted, or ended over {engine.order_retention_ms // 1000} s ago and "
                       "retired: its events stay in the journal)")
    return wire.order_view_json(view)


def open_orders(engine: Engine, account_: str, market: int | None) -> list[dict]:
    if market is not None:
        _market(engine, market)
    return [wire.order_view_json(v) for v in engine.open_orders(account_, market)]


def fills(engine: Engine, account_: str, limit: int) -> list[dict]:
    return [wire.trade_json(e) for e in engine.fills_of(account_, limit)]


def trades(engine: Engine, market: int, limit: int, recent: dict[int, deque]) -> list[dict]:
    _market(engine, market)
    history = list(recent.get(market, ()))[-limit:]
    return [wire.trade_json(e) for e in history]


def markets(engine: Engine) -> list[dict]:
    return [wire.market_json(engine.specs[m]) for m in sorted(engine.specs)]


def adl_queue(engine: Engine, market: int, side: str) -> list[dict]:
    ranking = engine.adl_ranking(_market(engine, market), side == "long")
    return [{"account": a, "score": wire.from_wad(s), "rank": i}
            for i, (a, s) in enumerate(ranking, start=1)]


def insurance(engine: Engine, limit: int, history: deque) -> dict:
    rows = list(history)[-limit:]
    return {"balance": wire.from_wad(engine.ledger.insurance),
            "history": [{"seq": s, "ts_ms": t, "balance": wire.from_wad(b),
                         "change": wire.from_wad(c), "cause": cause}
                        for s, t, b, c, cause in rows]}
