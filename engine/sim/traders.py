"""Simulated traders: strategies that turn a `View` and a seeded RNG into signed commands.

Each trader owns a deterministic local key (`derive_key(label)`), signs its
orders with EIP-712 exactly as a wallet would (`sign_order`), and numbers its
orders with its own nonce counter, so nonces are unique per trader (the
Exchange refuses a second order on a spent nonce). `act(view, rng)` is pure
apart from that counter and the strategy's own memory: the same views and the
same `random.Random` seed give the same commands.

Roles:
- `MarketMaker` quotes a ladder of post-only orders on both sides around the
  index, skewed against its inventory, and re-quotes when the index moves or a
  quote is hit;
- `Taker` sends IOC orders of random size, leaning with the recent trend and
  keeping its leverage under a cap;
- `FundingArbitrageur` sells the perp when it trades rich to the index (longs
  will pay funding) and buys it when it trades cheap, and unwinds when the
  premium is gone;
- `OverLeveragedTrader` goes long at a leverage near the initial-margin limit
  and holds: the first sharp drop liquidates it.

Units: prices WAD quote per base, sizes WAD base, money WAD quote, basis points
as plain ints (1 bp = 0.01%), times unix milliseconds.
"""

from __future__ import annotations

import random
from collections import deque

from engine.chain.node import derive_key
from engine.core.commands import CancelOrder, PlaceOrder
from engine.core.markets import MarketSpec
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC, FLAG_POST_ONLY, FLAG_REDUCE_ONLY
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, sign_order
from engine.sim.view import AccountSnapshot, MarketSnapshot, View

BPS_DEN = 10_000


def floor_to(value: int, step: int) -> int:
    """`value` rounded down to a multiple of `step` (both WAD, value >= 0)."""
    return value // step * step


def ceil_to(value: int, step: int) -> int:
    """`value` rounded up to a multiple of `step`."""
    return -(-value // step) * step


def shift_bps(price: int, bps: int) -> int:
    """price x (1 + bps / 10,000), WAD, rounded down."""
    return price * (BPS_DEN + bps) // BPS_DEN


def random_size(rng: random.Random, spec: MarketSpec, notional_lo: int, notional_hi: int,
                price: int) -> int:
    """A size (WAD base, on the step grid, >= one step) worth between the two notionals."""
    notional = rng.randint(notional_lo, notional_hi)
    return max(spec.step_size, floor_to(notional * WAD // price, spec.step_size))


class Trader:
    """A key, a nonce counter and the signing of orders; strategies subclass it."""

    role = "trader"

    def __init__(self, label: str, domain: Domain, deposit: int) -> None:
        """label: derives the key; deposit: collateral to fund the account with (WAD quote)."""
        self.label = label
        self.domain = domain
        self.signer = derive_key(label)
        self.address: str = self.signer.address
        self.deposit = deposit
        self._nonce = 0

    def place(self, spec: MarketSpec, is_buy: bool, size: int, limit: int, ts_ms: int,
              flags: int = 0) -> PlaceOrder:
        """A signed PlaceOrder with the next nonce; the fee cap is the market's taker rate."""
        self._nonce += 1
        order = Order(trader=self.address, market=spec.market_id, is_buy=is_buy, size=size,
                      limit_price=limit, flags=flags, max_fee_rate=spec.taker_fee_rate,
                      nonce=self._nonce)
        return PlaceOrder(order, order_hash(self.domain, order),
                          sign_order(self.signer.key, self.domain, order), ts_ms)

    def cancel(self, digest: bytes, ts_ms: int) -> CancelOrder:
        return CancelOrder(self.address, digest, ts_ms)

    def taker_limit(self, snap: MarketSnapshot, is_buy: bool, slippage_bps: int) -> int | None:
        """A protective IOC limit `slippage_bps` beyond the best opposite quote (None: empty side)."""
        tick = snap.spec.tick_size
        if is_buy:
            return None if snap.best_ask is None else floor_to(
                shift_bps(snap.best_ask, slippage_bps), tick)
        return None if snap.best_bid is None else ceil_to(
            shift_bps(snap.best_bid, -slippage_bps), tick)

    def act(self, view: View, rng: random.Random) -> list:
        """The commands this trader sends at `view.ts_ms`."""
        raise NotImplementedError


class MarketMaker(Trader):
    """Post-only ladder on both sides of one market, centred on the index and skewed
    against inventory by up to `skew_bps` at `max_inventory` (WAD base)."""

    role = "market maker"

    def __init__(self, label: str, domain: Domain, deposit: int, spec: MarketSpec,
                 levels: tuple[tuple[int, int], ...], max_inventory: int, skew_bps: int = 8,
                 requote_bps: int = 4, refresh_ms: int = 120_000,
                 min_requote_ms: int = 10_000) -> None:
        """levels: (offset from the centre in bps, size in WAD base) per rung; the ladder
        is replaced when hit or moved `requote_bps`, at most every `min_requote_ms`,
        and at least every `refresh_ms`."""
        super().__init__(label, domain, deposit)
        self.spec = spec
        self.levels = levels
        self.max_inventory = max_inventory
        self.skew_bps = skew_bps
        self.requote_bps = requote_bps
        self.refresh_ms = refresh_ms
        self.min_requote_ms = min_requote_ms
        self._center = 0
        self._quoted_ms = 0
        self._quoted_size: int | None = 0

    def _center_price(self, index: int, inventory: int) -> int:
        skew = self.skew_bps * BPS_DEN * inventory // self.max_inventory  # in 1/10,000 bp
        skew = max(-self.skew_bps * BPS_DEN, min(self.skew_bps * BPS_DEN, skew))
        return index * (BPS_DEN * BPS_DEN - skew) // (BPS_DEN * BPS_DEN)

    def _needs_requote(self, acct: AccountSnapshot, center: int, ts_ms: int) -> bool:
        resting = sum(o.remaining for o in acct.orders if o.market == self.spec.market_id)
        if self._quoted_size is None:  # first look after quoting: learn what rests
            self._quoted_size = resting  # (post-only quotes that would cross are refused)
        if not self._center:
            return True  # nothing quoted yet
        age = ts_ms - self._quoted_ms
        if age >= self.refresh_ms:
            return True
        moved = abs(center - self._center) * BPS_DEN > self.requote_bps * self._center
        return age >= self.min_requote_ms and (moved or resting != self._quoted_size)

    def act(self, view: View, rng: random.Random) -> list:
        snap = view.markets[self.spec.market_id]
        acct = view.accounts[self.address]
        if snap.index is None:
            return []
        inventory = acct.position(self.spec.market_id)
        center = self._center_price(snap.index, inventory)
        if not self._needs_requote(acct, center, view.ts_ms):
            return []
        ts, tick = view.ts_ms, self.spec.tick_size
        cmds: list = [self.cancel(o.order_hash, ts) for o in acct.orders
                      if o.market == self.spec.market_id]
        for offset, size in self.levels:
            jitter = rng.randint(0, 1)  # keeps two makers from stacking identical prices
            if inventory < self.max_inventory:
                bid = floor_to(shift_bps(center, -(offset + jitter)), tick)
                cmds.append(self.place(self.spec, True, size, bid, ts, FLAG_POST_ONLY))
            if inventory > -self.max_inventory:
                ask = ceil_to(shift_bps(center, offset + jitter), tick)
                cmds.append(self.place(self.spec, False, size, ask, ts, FLAG_POST_ONLY))
        self._center, self._quoted_ms, self._quoted_size = center, ts, None
        return cmds


class Taker(Trader):
    """IOC orders with probability `rate` per step, in a random market, leaning with the
    index's move over `trend_ms`, never above `max_leverage` x equity of exposure."""

    role = "taker"

    def __init__(self, label: str, domain: Domain, deposit: int, specs: tuple[MarketSpec, ...],
                 rate: float, notional: tuple[int, int], max_leverage: int = 3,
                 trend_ms: int = 300_000, lean: float = 0.25) -> None:
        super().__init__(label, domain, deposit)
        self.specs = specs
        self.rate = rate
        self.notional = notional
        self.max_leverage = max_leverage
        self.trend_ms = trend_ms
        self.lean = lean
        self._history: dict[int, deque[tuple[int, int]]] = {s.market_id: deque() for s in specs}

    def _trend(self, market: int, ts_ms: int, index: int) -> int:
        """-1, 0 or +1: the sign of the index's move over the last `trend_ms`."""
        hist = self._history[market]
        hist.append((ts_ms, index))
        while len(hist) > 1 and hist[1][0] <= ts_ms - self.trend_ms:
            hist.popleft()
        old = hist[0][1]
        return (index > old) - (index < old)

    def act(self, view: View, rng: random.Random) -> list:
        trends = {}
        for spec in self.specs:
            idx = view.markets[spec.market_id].index
            if idx is not None:
                trends[spec.market_id] = self._trend(spec.market_id, view.ts_ms, idx)
        if not trends or rng.random() >= self.rate:
            return []
        spec = rng.choice([s for s in self.specs if s.market_id in trends])
        snap = view.markets[spec.market_id]
        acct = view.accounts[self.address]
        is_buy = rng.random() < 0.5 + self.lean * trends[spec.market_id]
        size = random_size(rng, spec, *self.notional, snap.index)
        exposure = sum(abs(p) * view.markets[m].index // WAD for m, p in acct.positions.items()
                       if view.markets[m].index)
        pos = acct.position(spec.market_id)
        if exposure + size * snap.index // WAD > self.max_leverage * max(acct.equity, 0) and pos:
            is_buy = pos < 0  # too much exposure: trade the reducing side
            size = min(size, abs(pos))
        limit = self.taker_limit(snap, is_buy, 50)
        if limit is None:
            return []
        return [self.place(spec, is_buy, size, limit, view.ts_ms, FLAG_IOC)]


class FundingArbitrageur(Trader):
    """Trades the premium: short the perp when its book mid is `threshold_bps` above
    the index, long when below, flat (reduce-only) when the premium has gone."""

    role = "funding arbitrageur"

    def __init__(self, label: str, domain: Domain, deposit: int, specs: tuple[MarketSpec, ...],
                 threshold_bps: int, clip_notional: int, max_notional: int,
                 every_ms: int = 30_000) -> None:
        super().__init__(label, domain, deposit)
        self.specs = specs
        self.threshold_bps = threshold_bps
        self.clip_notional = clip_notional
        self.max_notional = max_notional
        self.every_ms = every_ms
        self._next_ms = 0

    def premium_bps(self, snap: MarketSnapshot) -> int | None:
        """(book mid - index) / index in bps, rounded toward zero; None without a book."""
        mid = snap.mid
        if mid is None or snap.index is None:
            return None
        return int((mid - snap.index) * BPS_DEN / snap.index)

    def act(self, view: View, rng: random.Random) -> list:
        if view.ts_ms < self._next_ms:
            return []
        self._next_ms = view.ts_ms + self.every_ms
        acct = view.accounts[self.address]
        cmds = []
        for spec in self.specs:
            snap = view.markets[spec.market_id]
            premium = self.premium_bps(snap)
            if premium is None:
                continue
            pos = acct.position(spec.market_id)
            held = abs(pos) * snap.index // WAD
            clip = random_size(rng, spec, self.clip_notional // 2, self.clip_notional, snap.index)
            if abs(premium) >= self.threshold_bps:
                is_buy = premium < 0  # rich perp: sell it and collect funding
                adds = pos == 0 or (pos > 0) == is_buy
                if adds and held + clip * snap.index // WAD > self.max_notional:
                    continue
                flags = FLAG_IOC
            elif pos and abs(premium) * 3 < self.threshold_bps:
                is_buy, clip, flags = pos < 0, min(clip, abs(pos)), FLAG_IOC | FLAG_REDUCE_ONLY
            else:
                continue
            limit = self.taker_limit(snap, is_buy, 20)
            if limit is not None:
                cmds.append(self.place(spec, is_buy, clip, limit, view.ts_ms, flags))
        return cmds


class OverLeveragedTrader(Trader):
    """Buys `leverage` x its deposit of one market in IOC clips from `start_ms`, then holds
    whatever happens: a drop of a few percent takes it below maintenance margin."""

    role = "over-leveraged"

    def __init__(self, label: str, domain: Domain, deposit: int, spec: MarketSpec,
                 leverage: int, start_ms: int, clip_notional: int, is_long: bool = True) -> None:
        super().__init__(label, domain, deposit)
        self.spec = spec
        self.leverage = leverage
        self.start_ms = start_ms
        self.clip_notional = clip_notional
        self.is_long = is_long
        self.done = False

    def act(self, view: View, rng: random.Random) -> list:
        if self.done or view.ts_ms < self.start_ms:
            return []
        snap = view.markets[self.spec.market_id]
        if snap.index is None:
            return []
        held = abs(view.accounts[self.address].position(self.spec.market_id)) * snap.index // WAD
        target = self.leverage * self.deposit
        if held + self.clip_notional // 4 >= target:
            self.done = True  # fully in: from here on it only holds
            return []
        want = min(self.clip_notional, target - held)
        size = max(self.spec.step_size, floor_to(want * WAD // snap.index, self.spec.step_size))
        limit = self.taker_limit(snap, self.is_long, 30)
        if limit is None:
            return []
        return [self.place(self.spec, self.is_long, size, limit, view.ts_ms, FLAG_IOC)]
