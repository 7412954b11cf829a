"""The central limit order book of one market: price-time priority, pure and deterministic.

Units: every price is WAD quote per base, every size is WAD base, every notional is
WAD quote. The book only stores and matches resting orders; risk, fees, order types
and events belong to the engine that drives it (engine/core/engine.py).

Layout, chosen for speed (see tests/bench/test_bench_book.py):
- per side, a dict price -> `_Level` and a `SortedList` of the level prices, with the
  best price cached;
- per level, an intrusive doubly linked list of `Resting` orders in arrival order, so
  a cancel anywhere in the queue is O(1) (plus O(log n) when it empties the level);
- a dict by order id and a dict by trader (insertion ordered, so `orders_of` answers
  in arrival order without sorting).

The book is never crossed: `insert` refuses an order that would cross the other
side, so the engine must `match` an incoming order first and rest only what is left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sortedcontainers import SortedList

UINT256_LIMIT = 2**256
DIGEST_PERSON = b"perpx-book-v1"  # blake2b personalisation of `state_digest`
Row = tuple[bytes, str, bool, int, int, int]  # order_id, trader, is_buy, price, remaining, seq


@dataclass(slots=True)
class Resting:
    """A resting order. Read it, never mutate it: the book owns it.

    price in WAD quote per base, remaining in WAD base (> 0 while resting, 0 once
    filled), seq the book's arrival sequence (lower = earlier = higher priority).
    """

    order_id: bytes
    trader: str
    is_buy: bool
    price: int
    remaining: int
    seq: int
    _prev: Resting | None = field(default=None, init=False, repr=False, compare=False)
    _next: Resting | None = field(default=None, init=False, repr=False, compare=False)

    def __reduce__(self) -> tuple[type[Resting], Row]:
        # Pickle / deepcopy a detached copy: following the queue links would recurse
        # once per order behind this one.
        return Resting, (self.order_id, self.trader, self.is_buy, self.price, self.remaining,
                         self.seq)


@dataclass(frozen=True, slots=True)
class Match:
    """One fill of a resting (maker) order: `size` WAD base at the maker's `price`."""

    maker_id: bytes
    maker_trader: str
    price: int
    size: int
    maker_remaining: int  # WAD base left of the maker after this fill (0 = removed)


class _Level:
    """The orders resting at one price, oldest first; `total` in WAD base."""

    __slots__ = ("price", "head", "tail", "total", "count")

    def __init__(self, price: int, first: Resting) -> None:
        self.price = price
        self.head: Resting | None = first
        self.tail: Resting | None = first
        self.total = first.remaining
        self.count = 1

    def orders(self) -> Iterator[Resting]:
        """The orders of this level, oldest first."""
        node = self.head
        while node is not None:
            yield node
            node = node._next


def encode_resting(order: Resting) -> bytes:
    """Canonical encoding of one resting order, as hashed by `Book.state_digest`.

    side (1 byte, 1 = buy) | price (32 bytes BE) | remaining (32 bytes BE) |
    seq (8 bytes BE) | len(order_id) (1 byte) | order_id | len(trader) (1 byte) |
    trader (ASCII, as given).
    """
    trader = order.trader.encode("ascii")
    return b"".join(
        (
            b"\x01" if order.is_buy else b"\x00",
            order.price.to_bytes(32, "big"),
            order.remaining.to_bytes(32, "big"),
            order.seq.to_bytes(8, "big"),
            len(order.order_id).to_bytes(1, "big"),
            order.order_id,
            len(trader).to_bytes(1, "big"),
            trader,
        )
    )


def digest_header(market: int, next_seq: int, count: int) -> bytes:
    """Canonical header of `Book.state_digest`: market, next seq, order count (8 bytes BE each)."""
    return market.to_bytes(8, "big") + next_seq.to_bytes(8, "big") + count.to_bytes(8, "big")


class Book:
    """Price-time priority limit order book of one market (see the module docstring)."""

    __slots__ = (
        "market",
        "_orders",
        "_by_trader",
        "_bids",
        "_asks",
        "_bid_prices",
        "_ask_prices",
        "_best_bid",
        "_best_ask",
        "_next_seq",
    )

    def __init__(self, market: int) -> None:
        self.market = market
        self._orders: dict[bytes, Resting] = {}
        self._by_trader: dict[str, dict[bytes, Resting]] = {}
        self._bids: dict[int, _Level] = {}
        self._asks: dict[int, _Level] = {}
        self._bid_prices = SortedList()  # ascending; best bid is the last
        self._ask_prices = SortedList()  # ascending; best ask is the first
        self._best_bid: int | None = None
        self._best_ask: int | None = None
        self._next_seq = 1

    @classmethod
    def restore(cls, market: int, next_seq: int, rows: Iterable[Row]) -> Book:
        """Rebuild a book from (order_id, trader, is_buy, price, remaining, seq) rows.

        Each order keeps its seq, hence its time priority; `next_seq` must exceed every
        seq. This is what a snapshot stores (see `rows` and `__reduce__`).
        """
        book = cls(market)
        for order_id, trader, is_buy, price, remaining, seq in sorted(rows, key=lambda r: r[5]):
            if seq < book._next_seq:
                raise ValueError(f"book: restored seq {seq} is not increasing")
            book._next_seq = seq
            book.insert(order_id, trader, is_buy, price, remaining)
        if next_seq < book._next_seq:
            raise ValueError(f"book: next_seq {next_seq} must exceed every restored seq")
        book._next_seq = next_seq
        return book

    def rows(self) -> list[Row]:
        """Every resting order as (order_id, trader, is_buy, price, remaining, seq), by seq."""
        rows = [(o.order_id, o.trader, o.is_buy, o.price, o.remaining, o.seq)
                for o in self.orders()]
        rows.sort(key=lambda r: r[5])
        return rows

    def __reduce__(self) -> tuple[object, tuple[int, int, list[Row]]]:
        # Pickle / deepcopy as flat rows: the default would follow the linked queues
        # recursively and overflow the stack on a level with ~1,000 orders.
        return Book.restore, (self.market, self._next_seq, self.rows())

    # ----------------------------------------------------------------- writes

    def insert(self, order_id: bytes, trader: str, is_buy: bool, price: int, size: int) -> Resting:
        """Rest `size` WAD base at `price` (WAD) at the back of its level; return the order.

        Raises ValueError on a duplicate id, a size or price outside (0, 2**256), or an
        order that would cross the other side (match it first, rest the remainder).
        """
        if not 0 < size < UINT256_LIMIT:
            raise ValueError(f"book: size must be in (0, 2**256), got {size}")
        if not 0 < price < UINT256_LIMIT:
            raise ValueError(f"book: price must be in (0, 2**256), got {price}")
        orders = self._orders
        if order_id in orders:
            raise ValueError(f"book: duplicate order id 0x{order_id.hex()}")
        if is_buy:
            best, best_own = self._best_ask, self._best_bid
            if best is not None and price >= best:
                raise ValueError(f"book: buy at {price} would cross best ask {best}; match first")
        else:
            best, best_own = self._best_bid, self._best_ask
            if best is not None and price <= best:
                raise ValueError(f"book: sell at {price} would cross best bid {best}; match first")
        seq = self._next_seq
        self._next_seq = seq + 1
        order = Resting(order_id, trader, is_buy, price, size, seq)
        levels = self._bids if is_buy else self._asks
        level = levels.get(price)
        if level is None:
            levels[price] = _Level(price, order)
            if is_buy:
                self._bid_prices.add(price)
                if best_own is None or price > best_own:
                    self._best_bid = price
            else:
                self._ask_prices.add(price)
                if best_own is None or price < best_own:
                    self._best_ask = price
        else:
            tail = level.tail
            tail._next = order  # type: ignore[union-attr]  # a live level is never empty
            order._prev = tail
            level.tail = order
            level.total += size
            level.count += 1
        orders[order_id] = order
        own = self._by_trader.get(trader)
        if own is None:
            self._by_trader[trader] = {order_id: order}
        else:
            own[order_id] = order
        return order

    def cancel(self, order_id: bytes) -> Resting | None:
        """Remove an order and return it (with its remaining at cancel time); None if unknown."""
        order = self._orders.get(order_id)
        if order is None:
            return None
        self._remove(order)
        return order

    def reduce(self, order_id: bytes, new_remaining: int) -> None:
        """Shrink an order to `new_remaining` WAD base in place, keeping its time priority.

        0 removes it. Raises KeyError for an unknown id and ValueError for a new size
        that is negative or larger than the current remaining (growing loses priority:
        cancel and insert instead).
        """
        order = self._orders.get(order_id)
        if order is None:
            raise KeyError(f"book: unknown order id 0x{order_id.hex()}")
        if not 0 <= new_remaining <= order.remaining:
            raise ValueError(
                f"book: reduce to {new_remaining} must be in [0, {order.remaining}] "
                f"for order 0x{order_id.hex()}"
            )
        if new_remaining == 0:
            self._remove(order)
            return
        levels = self._bids if order.is_buy else self._asks
        levels[order.price].total -= order.remaining - new_remaining
        order.remaining = new_remaining

    def match(
        self, trader: str, is_buy: bool, limit_price: int, size: int
    ) -> tuple[list[Match], list[Resting]]:
        """Take up to `size` WAD base from the other side, best price then oldest first.

        A buy takes asks priced <= limit_price, a sell takes bids >= limit_price (WAD).
        Self-trade prevention: a resting order of `trader` met on the way is cancelled
        (never filled), returned in the second list, and matching goes on behind it.
        Returns (fills in order, STP-cancelled orders in order).
        """
        if size < 0:
            raise ValueError(f"book: match size must be >= 0, got {size}")
        best = self._best_ask if is_buy else self._best_bid
        if best is None or (best > limit_price if is_buy else best < limit_price):
            return [], []  # fast path: the order does not cross (most limit orders)
        fills: list[Match] = []
        cancelled: list[Resting] = []
        left = size
        levels = self._asks if is_buy else self._bids
        while left:
            best = self._best_ask if is_buy else self._best_bid
            if best is None or (best > limit_price if is_buy else best < limit_price):
                break
            level = levels[best]
            order = level.head
            while order is not None:
                nxt = order._next
                if order.trader == trader:
                    self._remove(order)
                    cancelled.append(order)
                else:
                    rem = order.remaining
                    if rem <= left:
                        left -= rem
                        self._remove(order)
                        order.remaining = 0
                        fills.append(Match(order.order_id, order.trader, best, rem, 0))
                    else:
                        rem -= left
                        order.remaining = rem
                        level.total -= left
                        fills.append(Match(order.order_id, order.trader, best, left, rem))
                        left = 0
                    if not left:
                        break
                order = nxt
        return fills, cancelled

    # ------------------------------------------------------------------ reads

    def fillable(self, trader: str, is_buy: bool, limit_price: int, size: int) -> int:
        """WAD base that `match` would fill now (own orders excluded), min `size`; no change."""
        if size <= 0:
            return 0
        levels = self._asks if is_buy else self._bids
        own = self._by_trader.get(trader)
        # the trader's own remaining per price on the side it would take (excluded by STP)
        own_at: dict[int, int] = {}
        if own:
            for o in own.values():
                if o.is_buy != is_buy:
                    own_at[o.price] = own_at.get(o.price, 0) + o.remaining
        total = 0
        for price in self._prices_within(is_buy, limit_price):
            total += levels[price].total - own_at.get(price, 0)
            if total >= size:
                return size
        return total

    def would_cross(self, is_buy: bool, price: int) -> bool:
        """True if an order at `price` (WAD) would trade now, i.e. cannot be post-only."""
        if is_buy:
            return self._best_ask is not None and price >= self._best_ask
        return self._best_bid is not None and price <= self._best_bid

    def best_bid(self) -> int | None:
        """Highest bid price (WAD), None if there are no bids."""
        return self._best_bid

    def best_ask(self) -> int | None:
        """Lowest ask price (WAD), None if there are no asks."""
        return self._best_ask

    def mid(self) -> int | None:
        """floor((best bid + best ask) / 2) in WAD; None unless both sides exist."""
        if self._best_bid is None or self._best_ask is None:
            return None
        return (self._best_bid + self._best_ask) // 2

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """L2 view: up to `levels` (price, total size) per side, bids high->low, asks low->high."""
        if levels < 0:
            raise ValueError(f"book: depth levels must be >= 0, got {levels}")
        bids = [(p, self._bids[p].total) for p in islice(reversed(self._bid_prices), levels)]
        asks = [(p, self._asks[p].total) for p in islice(self._ask_prices, levels)]
        return bids, asks

    def impact_price(self, is_buy: bool, notional: int) -> int | None:
        """Average price (WAD) of a market buy (is_buy) / sell of `notional` WAD quote.

        Walks the asks (buy) or bids (sell) best first. With Q = notional * WAD, the
        levels fully taken holding B base (WAD) and the quote R still to spend at the
        last level's price p (R in WAD^2), the exact average is Q * p / (B * p + R),
        rounded up for a buy and down for a sell, so the figure never flatters the
        book. None if the whole side holds less than `notional`.
        """
        if notional <= 0:
            raise ValueError(f"book: impact notional must be > 0, got {notional}")
        levels = self._asks if is_buy else self._bids
        prices = self._ask_prices if is_buy else reversed(self._bid_prices)
        target = notional * 10**18
        spent = 0  # WAD^2 quote of the levels fully taken
        base = 0  # WAD base of the levels fully taken
        for price in prices:
            total = levels[price].total
            level_quote = total * price
            if spent + level_quote >= target:
                rest = target - spent
                num, den = target * price, base * price + rest
                return -(-num // den) if is_buy else num // den
            spent += level_quote
            base += total
        return None

    def orders_of(self, trader: str) -> list[Resting]:
        """The resting orders of `trader`, oldest first."""
        own = self._by_trader.get(trader)
        return list(own.values()) if own else []

    def get(self, order_id: bytes) -> Resting | None:
        """The resting order with this id, None if it is not resting."""
        return self._orders.get(order_id)

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    @property
    def next_seq(self) -> int:
        """The seq the next inserted order will get."""
        return self._next_seq

    def level_count(self) -> tuple[int, int]:
        """Number of (bid, ask) price levels."""
        return len(self._bids), len(self._asks)

    def orders(self) -> Iterator[Resting]:
        """Every resting order in priority order: bids best first, then asks best first."""
        for price in reversed(self._bid_prices):
            yield from self._bids[price].orders()
        for price in self._ask_prices:
            yield from self._asks[price].orders()

    def state_digest(self) -> bytes:
        """blake2b-256 of `digest_header` then `encode_resting` of every order in `orders()`."""
        h = hashlib.blake2b(digest_size=32, person=DIGEST_PERSON)
        h.update(digest_header(self.market, self._next_seq, len(self._orders)))
        for order in self.orders():
            h.update(encode_resting(order))
        return h.digest()

    # -------------------------------------------------------------- internals

    def _prices_within(self, is_buy: bool, limit_price: int) -> Iterator[int]:
        """Prices of the side a taker meets, best first, not past `limit_price`."""
        if is_buy:
            return self._ask_prices.irange(maximum=limit_price)
        return self._bid_prices.irange(minimum=limit_price, reverse=True)

    def _remove(self, order: Resting) -> None:
        """Unlink `order` from its level and the indexes; drop the level if it empties."""
        is_buy = order.is_buy
        levels = self._bids if is_buy else self._asks
        level = levels[order.price]
        prev, nxt = order._prev, order._next
        if prev is None:
            level.head = nxt
        else:
            prev._next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt._prev = prev
        order._prev = order._next = None
        level.count -= 1
        level.total -= order.remaining
        if not level.count:
            self._drop_level(is_buy, order.price)
        order_id = order.order_id
        del self._orders[order_id]
        own = self._by_trader[order.trader]
        del own[order_id]
        if not own:
            del self._by_trader[order.trader]

    def _drop_level(self, is_buy: bool, price: int) -> None:
        if is_buy:
            del self._bids[price]
            prices = self._bid_prices
            prices.remove(price)
            if price == self._best_bid:
                self._best_bid = prices[-1] if prices else None
        else:
            del self._asks[price]
            prices = self._ask_prices
            prices.remove(price)
            if price == self._best_ask:
                self._best_ask = prices[0] if prices else None
