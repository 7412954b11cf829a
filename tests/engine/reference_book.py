"""A deliberately naive order book with the API of engine.core.book.Book.

Everything is a plain list scanned linearly and sorted again on every question, so
that it is obviously right; tests/engine/test_book_differential.py runs the same
random commands through it and the fast book and demands identical answers.
It shares only the data types (Resting, Match) with the fast book; the priority
rules and the digest encoding are written out again here from their documentation.
"""

from __future__ import annotations

import hashlib

from engine.core.book import Match, Resting

PERSON = b"perpx-book-v1"


class ReferenceBook:
    """Price-time priority book over one unsorted list of resting orders."""

    def __init__(self, market: int) -> None:
        self.market = market
        self.resting: list[Resting] = []  # arrival order
        self.next_seq = 1

    def _find(self, order_id: bytes) -> Resting | None:
        for order in self.resting:
            if order.order_id == order_id:
                return order
        return None

    def _side(self, is_buy: bool) -> list[Resting]:
        """One side in priority order: best price first, then lowest seq."""
        side = [o for o in self.resting if o.is_buy == is_buy]
        if is_buy:
            return sorted(side, key=lambda o: (-o.price, o.seq))
        return sorted(side, key=lambda o: (o.price, o.seq))

    def best_bid(self) -> int | None:
        bids = [o.price for o in self.resting if o.is_buy]
        return max(bids) if bids else None

    def best_ask(self) -> int | None:
        asks = [o.price for o in self.resting if not o.is_buy]
        return min(asks) if asks else None

    def mid(self) -> int | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (bid + ask) // 2

    def would_cross(self, is_buy: bool, price: int) -> bool:
        if is_buy:
            ask = self.best_ask()
            return ask is not None and price >= ask
        bid = self.best_bid()
        return bid is not None and price <= bid

    def insert(self, order_id: bytes, trader: str, is_buy: bool, price: int, size: int) -> Resting:
        if size <= 0 or size >= 2**256:
            raise ValueError("bad size")
        if price <= 0 or price >= 2**256:
            raise ValueError("bad price")
        if self._find(order_id) is not None:
            raise ValueError("duplicate")
        if self.would_cross(is_buy, price):
            raise ValueError("would cross")
        order = Resting(order_id, trader, is_buy, price, size, self.next_seq)
        self.next_seq += 1
        self.resting.append(order)
        return order

    def cancel(self, order_id: bytes) -> Resting | None:
        order = self._find(order_id)
        if order is not None:
            self.resting.remove(order)
        return order

    def reduce(self, order_id: bytes, new_remaining: int) -> None:
        order = self._find(order_id)
        if order is None:
            raise KeyError(order_id)
        if new_remaining < 0 or new_remaining > order.remaining:
            raise ValueError("bad new remaining")
        order.remaining = new_remaining
        if new_remaining == 0:
            self.resting.remove(order)

    def get(self, order_id: bytes) -> Resting | None:
        return self._find(order_id)

    def _reachable(self, is_buy: bool, limit_price: int) -> list[Resting]:
        """The other side's orders a taker may meet, in the order it meets them."""
        if is_buy:
            return [o for o in self._side(False) if o.price <= limit_price]
        return [o for o in self._side(True) if o.price >= limit_price]

    def match(
        self, trader: str, is_buy: bool, limit_price: int, size: int
    ) -> tuple[list[Match], list[Resting]]:
        if size < 0:
            raise ValueError("bad size")
        fills: list[Match] = []
        cancelled: list[Resting] = []
        left = size
        for order in self._reachable(is_buy, limit_price):
            if left == 0:
                break
            if order.trader == trader:
                self.resting.remove(order)
                cancelled.append(order)
                continue
            take = min(left, order.remaining)
            left -= take
            order.remaining -= take
            if order.remaining == 0:
                self.resting.remove(order)
            fills.append(Match(order.order_id, order.trader, order.price, take, order.remaining))
        return fills, cancelled

    def fillable(self, trader: str, is_buy: bool, limit_price: int, size: int) -> int:
        if size <= 0:
            return 0
        total = sum(o.remaining for o in self._reachable(is_buy, limit_price) if o.trader != trader)
        return min(total, size)

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        result = []
        for is_buy in (True, False):
            totals: dict[int, int] = {}
            for order in self._side(is_buy):
                totals[order.price] = totals.get(order.price, 0) + order.remaining
            result.append(list(totals.items())[:levels])
        return result[0], result[1]

    def impact_price(self, is_buy: bool, notional: int) -> int | None:
        """Walk order by order (not level by level) and divide once at the end."""
        quote_left = notional * 10**18  # WAD^2
        base_num, base_den = 0, 1  # base bought so far, as a fraction
        for order in self._side(not is_buy):
            quote = order.remaining * order.price
            if quote >= quote_left:
                # base += quote_left / price
                base_num = base_num * order.price + quote_left * base_den
                base_den = base_den * order.price
                num = notional * 10**18 * base_den
                return -(-num // base_num) if is_buy else num // base_num
            quote_left -= quote
            base_num += order.remaining * base_den
        return None

    def orders_of(self, trader: str) -> list[Resting]:
        return [o for o in self.resting if o.trader == trader]

    def __len__(self) -> int:
        return len(self.resting)

    def state_digest(self) -> bytes:
        """blake2b-256, person "perpx-book-v1": header, then each order, bids then asks."""
        h = hashlib.blake2b(digest_size=32, person=PERSON)
        h.update(self.market.to_bytes(8, "big"))
        h.update(self.next_seq.to_bytes(8, "big"))
        h.update(len(self.resting).to_bytes(8, "big"))
        for order in self._side(True) + self._side(False):
            trader = order.trader.encode("ascii")
            h.update(bytes([1 if order.is_buy else 0]))
            h.update(order.price.to_bytes(32, "big"))
            h.update(order.remaining.to_bytes(32, "big"))
            h.update(order.seq.to_bytes(8, "big"))
            h.update(bytes([len(order.order_id)]) + order.order_id)
            h.update(bytes([len(trader)]) + trader)
        return h.digest()
