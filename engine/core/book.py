"""The central limit order book of one market: price-time priority, pure and deterministic.

Units: every price is WAD quote per base, every size is WAD base, every notional is
WAD quote. The book only stores and matches resting orders; risk, fees, order types
and events belong to the engine that drives it (engine/core/engine.py).

Layout, chosen for speed (measured by tests/bench/test_bench_book.py):
- per side, price -> level in a PriceIndex (engine/core/memo.py: compiled, a C table,
  as a dict keyed by whole ticks probes several slots a lookup; the rare price of
  2**120 or more in a dict beside it, `_level_at` reads both), and the level keys
  kept sorted, best last (bids
  store the price, asks its negation), so the best level is created, found and dropped
  at the end in O(1). The keys are touched only when a level appears or empties. They
  live in a plain list (`bisect`: a C memmove of the keys behind the spot) while a side
  has at most KEYS_LIST_MAX levels, and in a `SortedList` (O(log n), slower per call)
  beyond that until the side shrinks under KEYS_LIST_MIN, so a deep level never costs
  a memmove of a huge list;
- a level is a 3-item list [head, tail, total WAD base] over an intrusive doubly linked
  list of `Resting` orders in arrival order, each linking its level while it rests,
  so a cancel anywhere in the queue is O(1) with no lookup by price;
- a dict by order id, in arrival order (insertion ordered, and orders only leave it);
- a by-trader index (a dict by trader of dicts by order id, arrival ordered) kept only
  while someone reads it. `orders_of` is rare next to order flow (account reads,
  cancel-all, liquidation), yet keeping the index costs every
  insert, fill and cancel ~15%. So it is built on demand from the arrival-ordered dict
  (O(resting orders)), kept up to date while in use, and dropped once max(resting
  orders, INDEX_KEEP_MIN) inserts pass with no read: by then its upkeep has cost about
  what a rebuild costs, so a reader pays at most ~2x the cheaper of the two, and order
  flow with no per-trader reads pays nothing. Self-trade prevention, `fillable` (FOK)
  and `can_take` (IOC) need no index: they compare each maker met on the way with the
  taker, so an order never pays for a rebuild.

Hot paths (`insert`, `_take`) are longer than the house 40 lines on purpose: each
helper call they avoid is a few percent of the benchmark. They also build `Resting`
with Resting.__new__ and `Match` with tuple.__new__, skipping a Python-level frame.

`match` answers an order that does not cross (most limit orders) with the shared pair
of empty tuples NOTHING instead of two new lists: treat its result as read-only.

The book is never crossed: `insert` refuses an order that would cross the other
side, so the engine must `match` an incoming order first and rest only what is left.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import cython
from sortedcontainers import SortedList

from engine.core.idmap import IdMap
from engine.core.memo import PriceIndex
from engine.core.value import Value

UINT256_LIMIT = 2**256
DIGEST_PERSON = b"perpx-book-v1"  # blake2b personalisation of `state_digest`
Row = tuple[bytes, str, bool, int, int, int]  # order_id, trader, is_buy, price, remaining, seq

# A level is list [head: Resting, tail: Resting, total: WAD base] (a list, not an object:
# levels appear and vanish on about a quarter of all commands). Indexes:
HEAD, TAIL, TOTAL = 0, 1, 2
# Level keys per side: a plain list up to KEYS_LIST_MAX levels, a SortedList beyond, back
# to a list under KEYS_LIST_MIN (measured crossover of a worst-case insert: ~4,000 keys).
KEYS_LIST_MAX = 4_096
KEYS_LIST_MIN = 1_024
Keys = list[int] | SortedList
# An unread by-trader index is dropped after max(resting orders, INDEX_KEEP_MIN) inserts.
INDEX_KEEP_MIN = 4_096


@cython.freelist(64)  # compiled: a fill or cancel frees one, the next rest reuses it
@cython.cclass
class Resting:
    """A resting order. Read it, never mutate it: the book owns it.

    price in WAD quote per base, remaining in WAD base (> 0 while resting, 0 once
    filled), seq the book's arrival sequence (lower = earlier = higher priority).
    Equality compares these six fields only.
    """

    def __init__(self, order_id: bytes, trader: str, is_buy: bool, price: int, remaining: int,
                 seq: int) -> None:
        self.order_id = order_id
        self.trader = trader
        self.is_buy = is_buy
        self.price = price
        self.remaining = remaining
        self.seq = seq
        self._prev: Resting | None = None  # neighbours in its level's queue; None once removed
        self._next: Resting | None = None
        self._level: list | None = None  # its level while it rests (no lookup by price)

    def _fields(self) -> Row:
        return (self.order_id, self.trader, self.is_buy, self.price, self.remaining, self.seq)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Resting:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable (remaining), like a dataclass

    def __repr__(self) -> str:
        return ("Resting(order_id={!r}, trader={!r}, is_buy={!r}, price={!r}, remaining={!r}, "
                "seq={!r})".format(*self._fields()))

    def __reduce__(self) -> tuple[type[Resting], Row]:
        # Pickle / deepcopy a detached copy: following the queue links would recurse
        # once per order behind this one.
        return Resting, self._fields()


ByTrader = dict[str, dict[bytes, Resting]]


@cython.dataclasses.dataclass(frozen=True, repr=False)
@cython.no_gc
@cython.cclass
class Match(Value):
    """One fill of a resting (maker) order: `size` WAD base at the maker's `price`.

    A frozen value (compiled: an extension type the garbage collector does not track,
    built by `_match` field by field; it was a NamedTuple, whose instances cost a
    tracked tuple subclass and a Python-level `tuple.__new__` call each, ~1,100
    instructions)."""

    maker_id: bytes
    maker_trader: str
    price: int
    size: int
    maker_remaining: int  # WAD base left of the maker after this fill (0 = removed)


def _match(maker_id: bytes, maker_trader: str, price: int, size: int,
           maker_remaining: int) -> Match:
    """A Match, compiled without the call of its type (C field stores)."""
    if cython.compiled:
        m = cython.declare(Match, Match.__new__(Match))
        m.maker_id, m.maker_trader, m.price = maker_id, maker_trader, price
        m.size, m.maker_remaining = size, maker_remaining
        return m
    return Match(maker_id, maker_trader, price, size, maker_remaining)


NOTHING: tuple[tuple[Match, ...], tuple[Resting, ...]] = ((), ())  # `match`: no cross


def _bisect_left(keys: list, key: int) -> int:
    """`bisect.bisect_left(keys, key)` on a plain list of level keys. Compiled, a C loop:
    the builtin, called from compiled code, costs a generic call with its arguments
    packed (~600 instructions, more than the search)."""
    if not cython.compiled:
        return bisect_left(keys, key)
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def level_orders(level: list) -> Iterator[Resting]:
    """The orders of one level, oldest first."""
    node = level[HEAD]
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

    def __init__(self, market: int) -> None:
        self.market = market
        self._orders = IdMap()  # order id -> Resting, in arrival order (engine/core/idmap.py)
        self._by_trader: ByTrader | None = None  # None: not kept (nobody read it lately)
        self._index_until = 0  # the insert seq at which an unread index is dropped
        # the levels by price: in memo.h's table (compiled: a dict of WAD prices probes
        # several slots a lookup), and in these dicts the prices it cannot hold (2**120
        # and up); `_level_at` reads both
        self._bid_index = PriceIndex()
        self._ask_index = PriceIndex()
        self._bids: dict[int, list] = {}
        self._asks: dict[int, list] = {}
        self._bid_keys: Keys = []  # bid prices ascending: best bid last
        self._ask_keys: Keys = []  # negated ask prices ascending: best ask last
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
        rows = [o._fields() for o in self.orders()]
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
        order that would cross the other side (match it first, rest the remainder);
        TypeError on an id that is not bytes.
        """
        if not 0 < size < UINT256_LIMIT:
            raise ValueError(f"book: size must be in (0, 2**256), got {size}")
        seq = self._next_seq
        # Resting(...) field by field: __new__ skips the __init__ frame (hot path)
        order = Resting.__new__(Resting)
        order.order_id = order_id
        order.trader = trader
        order.is_buy = is_buy
        order.price = price
        order.remaining = size
        order.seq = seq
        order._next = None
        # registered and checked for a duplicate in one lookup of the (large) id table
        orders = self._orders
        if orders.setdefault(order_id, order) is not order:
            raise ValueError(f"book: duplicate order id 0x{order_id.hex()}")
        levels = self._bids if is_buy else self._asks
        found = (self._bid_index if is_buy else self._ask_index).get(price, levels)
        # levels: a price the index cannot hold, in the dict if anywhere
        level = levels.get(price) if found is levels else found
        # A price with a level on this side is in range and cannot cross (the book is
        # never crossed): only a new level needs the checks.
        if level is None:
            try:
                self._check_new_level(is_buy, price)
            except ValueError:
                orders.pop(order_id)  # refused: the book is as it was
                raise
        self._next_seq = seq + 1
        if level is None:  # a new level: register its key, best last (inline: hot path)
            order._prev = None
            order._level = new = [order, order, size]
            if not (self._bid_index if is_buy else self._ask_index).put(price, new):
                levels[price] = new  # a price the index cannot hold
            if is_buy:
                keys, key = self._bid_keys, price
            else:
                keys, key = self._ask_keys, -price
            if type(keys) is not list:
                self._add_key(is_buy, key)
            elif not keys or key > keys[-1]:  # a new best
                keys.append(key)
                if is_buy:
                    self._best_bid = price
                else:
                    self._best_ask = price
            elif len(keys) < KEYS_LIST_MAX:
                cython.cast(list, keys).insert(_bisect_left(keys, key), key)  # new: left == right
            else:
                self._add_key(is_buy, key)
        else:
            order._level = level
            order._prev = tail = level[TAIL]
            tail._next = level[TAIL] = order
            level[TOTAL] += size
        by_trader = self._by_trader
        if by_trader is not None:
            if seq < self._index_until:
                try:
                    by_trader[trader][order_id] = order
                except KeyError:
                    by_trader[trader] = {order_id: order}
            else:
                self._by_trader = None
        return order

    def cancel(self, order_id: bytes) -> Resting | None:
        """Remove an order and return it (with its remaining at cancel time); None if unknown."""
        order = self._orders.pop(order_id, None)
        if order is None:
            return None
        self._unlink(order)
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
            self._orders.pop(order_id)
            self._unlink(order)
            return
        cython.cast(list, order._level)[TOTAL] -= order.remaining - new_remaining
        order.remaining = new_remaining

    def match(
        self, trader: str, is_buy: bool, limit_price: int, size: int
    ) -> tuple[Sequence[Match], Sequence[Resting]]:
        """Take up to `size` WAD base from the other side, best price then oldest first.

        A buy takes asks priced <= limit_price, a sell takes bids >= limit_price (WAD).
        Self-trade prevention: a resting order of `trader` met on the way is cancelled
        (never filled), returned in the second list, and matching goes on behind it.
        Returns (fills in order, STP-cancelled orders in order): two new lists once the
        order reaches the other side, the shared read-only NOTHING = ((), ()) when it does
        not (or `size` is 0).
        """
        if size <= 0:
            if size < 0:
                raise ValueError(f"book: match size must be >= 0, got {size}")
            return NOTHING
        if is_buy:
            best = self._best_ask
            if best is None or best > limit_price:
                return NOTHING  # fast path: the order does not cross (most limit orders)
        else:
            best = self._best_bid
            if best is None or best < limit_price:
                return NOTHING
        return self._take(trader, is_buy, limit_price, size, best)

    # ------------------------------------------------------------------ reads

    def fillable(self, trader: str, is_buy: bool, limit_price: int, size: int) -> int:
        """WAD base that `match` would fill now (own orders excluded), min `size`; no change.

        Walks the levels within `limit_price` best first, each in time priority, and
        counts the orders of others (self-trade prevention skips the trader's own): the
        walk stops at `size`, so it costs what the match would, never the whole book (a
        by-trader index rebuilt here stalled the engine for 10 ms at 23k resting orders)."""
        if size <= 0:
            return 0
        total = 0
        for price in self._prices_within(is_buy, limit_price):
            order = self._level_at(not is_buy, price)[HEAD]
            while order is not None:
                if order.trader != trader:
                    total += order.remaining
                    if total >= size:
                        return size
                order = order._next
        return total

    def can_take(self, trader: str, is_buy: bool, limit_price: int) -> bool:
        """True if a taker order of `trader` would fill anything now within `limit_price`
        (WAD): `fillable(trader, is_buy, limit_price, 1) > 0`, answered from the head of
        the best level when it belongs to someone else (almost always)."""
        best = self._best_ask if is_buy else self._best_bid
        if best is None or (best > limit_price if is_buy else best < limit_price):
            return False
        if self._level_at(not is_buy, best)[HEAD].trader != trader:
            return True
        return self.fillable(trader, is_buy, limit_price, 1) > 0

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
        at = self._level_at
        return (
            [(p, at(True, p)[TOTAL]) for p in islice(reversed(self._bid_keys), levels)],
            [(-k, at(False, -k)[TOTAL]) for k in islice(reversed(self._ask_keys), levels)],
        )

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
        target = notional * 10**18
        spent = 0  # WAD^2 quote of the levels fully taken
        base = 0  # WAD base of the levels fully taken
        for price in self._prices_within(is_buy, None):
            total = self._level_at(not is_buy, price)[TOTAL]
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
        own = self._index().get(trader)
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
        return len(self._bid_keys), len(self._ask_keys)

    def orders(self) -> Iterator[Resting]:
        """Every resting order in priority order: bids best first, then asks best first."""
        for price in reversed(self._bid_keys):
            yield from level_orders(self._level_at(True, price))
        for key in reversed(self._ask_keys):
            yield from level_orders(self._level_at(False, -key))

    def state_digest(self) -> bytes:
        """blake2b-256 of `digest_header` then `encode_resting` of every order in `orders()`."""
        h = hashlib.blake2b(digest_size=32, person=DIGEST_PERSON)
        h.update(digest_header(self.market, self._next_seq, len(self._orders)))
        for order in self.orders():
            h.update(encode_resting(order))
        return h.digest()

    # -------------------------------------------------------------- internals

    def _take(self, trader: str, is_buy: bool, limit: int, left: int, best: int
              ) -> tuple[list[Match], list[Resting]]:
        """The body of `match` once it crosses `best` (WAD): consume levels from the best."""
        fills: list[Match] = []
        cancelled: list[Resting] = []
        orders, by_trader = self._orders, self._by_trader
        levels, keys = (self._asks, self._ask_keys) if is_buy else (self._bids, self._bid_keys)
        index = self._ask_index if is_buy else self._bid_index
        while left:
            found = index.get(best, levels)
            level = levels[best] if found is levels else found  # levels: as in insert
            order = level[HEAD]
            total, start = level[TOTAL], left  # total less what STP removed; left on arrival
            while order is not None:
                maker, order_id = order.trader, order.order_id
                if maker == trader:  # self-trade prevention: cancel the resting order
                    total -= order.remaining
                    cancelled.append(order)
                else:
                    rem = order.remaining
                    if rem > left:  # partial fill: the order stays at the head
                        rem -= left
                        order.remaining = rem
                        fills.append(_match(order_id, maker, best, left, rem))
                        left = 0
                        break
                    left -= rem
                    order.remaining = 0
                    fills.append(_match(order_id, maker, best, rem, 0))
                orders.pop(order_id)
                if by_trader is not None:
                    own = by_trader[maker]
                    del own[order_id]
                    if not own:
                        del by_trader[maker]
                # a taken order keeps no link: consumed neighbours would otherwise point
                # at each other, a cycle only the garbage collector frees
                order._level = None
                order._next, order = None, order._next
                if not left:
                    break
            if order is not None:  # left == 0 inside this level
                order._prev = None
                level[HEAD] = order
                level[TOTAL] = total - start  # left is 0: the whole of start filled here
                break
            if not index.remove(best):
                del levels[best]  # a price the index cannot hold
            keys.pop()
            if is_buy:
                best = self._best_ask = -keys[-1] if keys else None  # type: ignore[assignment]
                if best is None or best > limit:
                    break
            else:
                best = self._best_bid = keys[-1] if keys else None  # type: ignore[assignment]
                if best is None or best < limit:
                    break
        return fills, cancelled

    def _unlink(self, order: Resting) -> None:
        """Unlink `order` (already out of _orders) from its level and its trader's index;
        drop the level if it empties."""
        by_trader = self._by_trader
        if by_trader is not None:
            own = by_trader[order.trader]
            del own[order.order_id]
            if not own:
                del by_trader[order.trader]
        prev, nxt, level = order._prev, order._next, order._level
        order._prev = order._next = None  # see _take: no links out of the book
        order._level = None
        if prev is None and nxt is None:  # the only order of its level
            self._drop_level(order.is_buy, order.price)
            return
        if prev is None:
            level[HEAD] = nxt
        else:
            prev._next = nxt
        if nxt is None:
            level[TAIL] = prev
        else:
            nxt._prev = prev
        level[TOTAL] -= order.remaining

    def _index(self) -> ByTrader:
        """The by-trader index, built from the arrival-ordered orders if it is not kept;
        a read keeps it for max(resting orders, INDEX_KEEP_MIN) more inserts."""
        by_trader = self._by_trader
        if by_trader is None:
            by_trader = self._by_trader = {}
            for o in self._orders.values():
                try:
                    by_trader[o.trader][o.order_id] = o
                except KeyError:
                    by_trader[o.trader] = {o.order_id: o}
        self._index_until = self._next_seq + max(len(self._orders), INDEX_KEEP_MIN)
        return by_trader

    def _level_at(self, is_buy: bool, price: int) -> list:
        """The level at `price` on the bid (is_buy) or ask side; KeyError if none."""
        levels = self._bids if is_buy else self._asks
        found = (self._bid_index if is_buy else self._ask_index).get(price, levels)
        if found is levels:  # a price the index cannot hold: the dict has it
            return levels[price]
        if found is None:
            raise KeyError(price)
        return found

    def _check_new_level(self, is_buy: bool, price: int) -> None:
        """Raise ValueError unless a new level at `price` (WAD) is in range and uncrossed."""
        if not 0 < price < UINT256_LIMIT:
            raise ValueError(f"book: price must be in (0, 2**256), got {price}")
        if is_buy:
            best = self._best_ask
            if best is not None and price >= best:
                raise ValueError(f"book: buy at {price} would cross best ask {best}; match first")
        else:
            best = self._best_bid
            if best is not None and price <= best:
                raise ValueError(f"book: sell at {price} would cross best bid {best}; match first")

    def _add_key(self, is_buy: bool, key: int) -> None:
        """Add a new level's key (bid price, or negated ask price, WAD) off the fast path."""
        keys = self._bid_keys if is_buy else self._ask_keys
        if type(keys) is list:
            cython.cast(list, keys).insert(_bisect_left(keys, key), key)  # new: left == right
            if len(keys) > KEYS_LIST_MAX:
                self._set_keys(is_buy, SortedList(keys))
                keys = self._bid_keys if is_buy else self._ask_keys
        else:
            keys.add(key)
        if key == keys[-1]:  # a new best
            if is_buy:
                self._best_bid = key
            else:
                self._best_ask = -key

    def _drop_level(self, is_buy: bool, price: int) -> None:
        """Forget an empty level at `price` (WAD); move the cached best if it was the best."""
        if is_buy:
            if not self._bid_index.remove(price):
                del self._bids[price]  # a price the index cannot hold
            keys, key = self._bid_keys, price
        else:
            if not self._ask_index.remove(price):
                del self._asks[price]
            keys, key = self._ask_keys, -price
        if key == keys[-1]:
            keys.pop()
            best = (keys[-1] if is_buy else -keys[-1]) if keys else None
            if is_buy:
                self._best_bid = best
            else:
                self._best_ask = best
        elif type(keys) is list:
            del keys[_bisect_left(keys, key)]
            if len(keys) > KEYS_LIST_MAX:  # grown past the bound by new bests (appends)
                self._set_keys(is_buy, SortedList(keys))
        else:
            keys.remove(key)
        if type(keys) is not list and len(keys) < KEYS_LIST_MIN:
            self._set_keys(is_buy, list(keys))

    def _set_keys(self, is_buy: bool, keys: Keys) -> None:
        if is_buy:
            self._bid_keys = keys
        else:
            self._ask_keys = keys

    def _prices_within(self, is_buy: bool, limit_price: int | None) -> Iterator[int]:
        """Prices of the side a taker meets, best first, not past `limit_price` (None: all)."""
        keys = self._ask_keys if is_buy else self._bid_keys
        start = 0
        if limit_price is not None:
            key = -limit_price if is_buy else limit_price
            start = _bisect_left(keys, key) if type(keys) is list else keys.bisect_left(key)
        within = islice(reversed(keys), len(keys) - start)
        return (-k for k in within) if is_buy else within
