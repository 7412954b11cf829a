"""Book tests over whole states (engine.core.book): the by-trader index, the state
digest, a stateful invariant test and snapshots."""

from __future__ import annotations

import pickle
from copy import deepcopy

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine.core import book as book_module
from engine.core.book import Book, Resting
from tests.engine.book_helpers import MAKER, OTHER_MAKER, TAKER, TRADER, WAD, book_with_asks, oid


# ---------------------------------------------------------------- orders_of, digest


def test_orders_of__mixed_sides__arrival_order() -> None:
    book = Book(1)
    book.insert(oid(1), TRADER, True, 90 * WAD, WAD)
    book.insert(oid(2), MAKER, False, 110 * WAD, WAD)
    book.insert(oid(3), TRADER, False, 120 * WAD, WAD)
    book.insert(oid(4), TRADER, True, 95 * WAD, WAD)
    assert [o.order_id for o in book.orders_of(TRADER)] == [oid(1), oid(3), oid(4)]
    assert book.orders_of(TAKER) == []


def test_orders_of__fills_and_cancels_before_any_read__arrival_order_of_what_rests() -> None:
    book = book_with_asks((1, TRADER, 100, 1), (2, MAKER, 100, 1), (3, TRADER, 101, 2),
                          (4, TRADER, 102, 3), (5, MAKER, 102, 1))
    book.insert(oid(6), TRADER, True, 98 * WAD, WAD)
    assert book._by_trader is None  # nobody has read it: no per-trader index is kept
    book.cancel(oid(4))
    fills, stp = book.match(TAKER, True, 101 * WAD, 3 * WAD)  # takes 1, 2 and 1 of 3
    assert [(f.maker_id, f.size) for f in fills] == [(oid(1), WAD), (oid(2), WAD), (oid(3), WAD)]
    book.insert(oid(7), TRADER, False, 103 * WAD, WAD)
    assert [(o.order_id, o.remaining) for o in book.orders_of(TRADER)] == [
        (oid(3), WAD), (oid(6), WAD), (oid(7), WAD)]
    assert [o.order_id for o in book.orders_of(MAKER)] == [oid(5)]
    assert book.fillable(TRADER, True, 103 * WAD, 9 * WAD) == WAD  # only oid(5) is not its own


def test_orders_of__index_kept_while_read__follows_fills_cancels_and_reduces() -> None:
    book = book_with_asks((1, TRADER, 100, 2), (2, MAKER, 100, 1), (3, TRADER, 101, 2))
    assert [o.order_id for o in book.orders_of(TRADER)] == [oid(1), oid(3)]
    fills, stp = book.match(MAKER, True, 100 * WAD, 3 * WAD)  # fills oid(1), STP-cancels oid(2)
    assert [(f.maker_id, f.size, f.maker_remaining) for f in fills] == [(oid(1), 2 * WAD, 0)]
    assert stp == [Resting(oid(2), MAKER, False, 100 * WAD, WAD, 2)]
    assert book.orders_of(MAKER) == []
    book.insert(oid(4), TRADER, True, 99 * WAD, 5 * WAD)
    book.reduce(oid(3), WAD)
    assert [(o.order_id, o.remaining) for o in book.orders_of(TRADER)] == [
        (oid(3), WAD), (oid(4), 5 * WAD)]
    book.reduce(oid(3), 0)
    book.cancel(oid(4))
    assert book.orders_of(TRADER) == [] and book._by_trader == {}


def test_orders_of__no_read_for_the_keep_window__index_dropped_then_rebuilt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(book_module, "INDEX_KEEP_MIN", 3)
    book = Book(1)
    book.insert(oid(1), TRADER, True, 90 * WAD, WAD)
    assert [o.order_id for o in book.orders_of(TRADER)] == [oid(1)]  # kept for 3 inserts
    for n in (2, 3, 4):
        book.insert(oid(n), TRADER if n % 2 else MAKER, True, (90 + n) * WAD, WAD)
        assert book._by_trader is not None
    book.insert(oid(5), TRADER, True, 95 * WAD, WAD)  # the 4th insert with no read
    assert book._by_trader is None
    book.cancel(oid(3))
    book.match(TAKER, False, 94 * WAD, WAD)  # fills oid(5), the best bid (95)
    assert [o.order_id for o in book.orders_of(TRADER)] == [oid(1)]
    assert [o.order_id for o in book.orders_of(MAKER)] == [oid(2), oid(4)]
    # a read keeps it for max(resting orders, INDEX_KEEP_MIN) = 3 more inserts again
    for n in (6, 7, 8):
        book.insert(oid(n), TRADER, True, 80 * WAD, WAD)
    assert [o.order_id for o in book.orders_of(TRADER)] == [oid(1), oid(6), oid(7), oid(8)]


def test_state_digest__same_commands__same_digest_and_any_change_differs() -> None:
    def build() -> Book:
        book = book_with_asks((1, MAKER, 100, 5), (2, OTHER_MAKER, 101, 5))
        book.insert(oid(3), MAKER, True, 99 * WAD, WAD)
        return book

    first, second = build(), build()
    assert first.state_digest() == second.state_digest()
    assert len(first.state_digest()) == 32
    second.reduce(oid(1), 5 * WAD - 1)
    assert first.state_digest() != second.state_digest()
    assert Book(1).state_digest() != Book(2).state_digest()
    # Same orders, different time priority: different digest.
    a, b = Book(1), Book(1)
    a.insert(oid(1), MAKER, True, 99 * WAD, WAD)
    a.insert(oid(2), MAKER, True, 99 * WAD, WAD)
    b.insert(oid(2), MAKER, True, 99 * WAD, WAD)
    b.insert(oid(1), MAKER, True, 99 * WAD, WAD)
    assert a.state_digest() != b.state_digest()


# ---------------------------------------------------------------- stateful invariants

PRICES = st.integers(min_value=95, max_value=105).map(lambda p: p * WAD)
SIZES = st.integers(min_value=1, max_value=20).map(lambda s: s * WAD // 4)
TRADERS = st.sampled_from([MAKER, OTHER_MAKER, TAKER, TRADER])


class BookMachine(RuleBasedStateMachine):
    """Random place / cancel / reduce / sweep; the book never crosses, sizes are conserved."""

    @initialize()
    def start(self) -> None:
        self.book = Book(1)
        self.next_id = 1
        self.inserted = self.filled = self.cancelled = self.reduced = 0

    @rule(trader=TRADERS, is_buy=st.booleans(), price=PRICES, size=SIZES)
    def place(self, trader: str, is_buy: bool, price: int, size: int) -> None:
        expected = self.book.fillable(trader, is_buy, price, size)
        fills, stp = self.book.match(trader, is_buy, price, size)
        done = sum(f.size for f in fills)
        assert done == expected
        for o in stp:  # out of the book: no link into it
            assert o._level is None and o._next is None
        for f in fills:
            assert f.price <= price if is_buy else f.price >= price
            assert f.maker_trader != trader
        self.filled += done
        self.cancelled += sum(o.remaining for o in stp)
        if size > done:
            self.book.insert(self.next_id.to_bytes(32, "big"), trader, is_buy, price, size - done)
            self.inserted += size - done
            self.next_id += 1

    @precondition(lambda self: len(self.book) > 0)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(list(self.book.orders())))
        assert self.book.cancel(order.order_id) is order
        assert order._level is None and order._prev is None and order._next is None
        self.cancelled += order.remaining

    @precondition(lambda self: len(self.book) > 0)
    @rule(data=st.data())
    def reduce(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(list(self.book.orders())))
        new = data.draw(st.integers(min_value=0, max_value=order.remaining))
        self.reduced += order.remaining - new
        self.book.reduce(order.order_id, new)

    @invariant()
    def never_crossed(self) -> None:
        bid, ask = self.book.best_bid(), self.book.best_ask()
        if bid is not None and ask is not None:
            assert bid < ask

    @invariant()
    def sizes_conserved(self) -> None:
        resting = sum(o.remaining for o in self.book.orders())
        assert self.inserted == self.filled + self.cancelled + self.reduced + resting
        bids, asks = self.book.depth(1000)
        assert sum(s for _, s in bids) + sum(s for _, s in asks) == resting
        assert all(o.remaining > 0 for o in self.book.orders())

    @invariant()
    def indexes_agree(self) -> None:
        orders = list(self.book.orders())
        assert len(orders) == len(self.book)
        for o in orders:  # each resting order links the level its price keys
            assert o._level is self.book._level_at(o.is_buy, o.price)
        for trader in (MAKER, OTHER_MAKER, TAKER, TRADER):
            assert self.book.orders_of(trader) == sorted(
                (o for o in orders if o.trader == trader), key=lambda o: o.seq
            )


TestBookMachine = BookMachine.TestCase
TestBookMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


# ---------------------------------------------------------------- snapshots


def test_restore__rows_of_a_book__same_digest_and_priority() -> None:
    book = book_with_asks((1, MAKER, 100, 5), (2, OTHER_MAKER, 100, 5), (3, MAKER, 101, 1))
    book.insert(oid(4), TRADER, True, 99 * WAD, WAD)
    book.cancel(oid(1))
    restored = Book.restore(1, book.next_seq, reversed(book.rows()))
    assert restored.state_digest() == book.state_digest()
    assert book.rows()[0] == (oid(2), OTHER_MAKER, False, 100 * WAD, 5 * WAD, 2)
    restored.insert(oid(5), MAKER, False, 100 * WAD, WAD)
    assert restored.get(oid(5)).seq == 5
    assert [o.order_id for o in restored.orders()] == [oid(4), oid(2), oid(5), oid(3)]
    with pytest.raises(ValueError, match="book: next_seq 3 must exceed every restored seq"):
        Book.restore(1, 3, book.rows())


def test_pickle__long_queue__round_trips_without_recursion() -> None:
    book = Book(1)
    for n in range(5_000):  # one level: a naive pickle would recurse 5,000 deep
        book.insert(oid(n), MAKER, True, 100 * WAD, WAD)
    copy = pickle.loads(pickle.dumps(book))
    assert copy.state_digest() == book.state_digest()
    assert copy.next_seq == 5_001
    resting = pickle.loads(pickle.dumps(book.get(oid(10))))
    assert resting == book.get(oid(10))
    assert deepcopy(book).state_digest() == book.state_digest()
