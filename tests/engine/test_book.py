"""Unit tests of engine.core.book with exact numbers: insert, cancel, match, the
fillable and quote reads, impact prices, reduce (test_book_state.py has the by-trader
index, the digest, the stateful invariants and snapshots)."""

from __future__ import annotations

import bisect

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from sortedcontainers import SortedList

from engine.core import book as book_module
from engine.core.book import NOTHING, Book, Match, Resting
from tests.engine.book_helpers import MAKER, OTHER_MAKER, TAKER, TRADER, WAD, book_with_asks, oid


# ---------------------------------------------------------------- insert


def test_insert__new_order__rests_with_next_seq() -> None:
    book = Book(1)
    first = book.insert(oid(1), MAKER, True, 100 * WAD, 2 * WAD)
    second = book.insert(oid(2), MAKER, True, 99 * WAD, 3 * WAD)
    assert first == Resting(oid(1), MAKER, True, 100 * WAD, 2 * WAD, 1)
    assert second.seq == 2
    assert len(book) == 2
    assert book.get(oid(2)) == Resting(oid(2), MAKER, True, 99 * WAD, 3 * WAD, 2)
    assert book.next_seq == 3


def test_insert__duplicate_id__raises_and_changes_nothing() -> None:
    book = Book(1)
    book.insert(oid(1), MAKER, True, 100 * WAD, 2 * WAD)
    digest = book.state_digest()
    with pytest.raises(ValueError, match="book: duplicate order id 0x0{63}1"):
        book.insert(oid(1), OTHER_MAKER, False, 200 * WAD, 1 * WAD)
    assert book.state_digest() == digest
    assert book.next_seq == 2


@pytest.mark.parametrize("size", [0, -1, 2**256])
def test_insert__bad_size__raises(size: int) -> None:
    with pytest.raises(ValueError, match=r"book: size must be in \(0, 2\*\*256\), got "):
        Book(1).insert(oid(1), MAKER, True, 100 * WAD, size)


@pytest.mark.parametrize("order_id", ["0x01", 1, bytearray(32)])
def test_insert__id_not_bytes__raises_and_leaves_the_book_as_it_was(order_id) -> None:
    book = Book(1)
    book.insert(oid(1), MAKER, True, 100 * WAD, WAD)
    with pytest.raises(TypeError, match="order id: expected bytes"):
        book.insert(order_id, MAKER, True, 99 * WAD, WAD)
    assert [o.order_id for o in book.orders()] == [oid(1)] and len(book) == 1
    assert book.best_bid() == 100 * WAD


def test_insert__zero_price__raises() -> None:
    with pytest.raises(ValueError, match=r"book: price must be in \(0, 2\*\*256\), got 0"):
        Book(1).insert(oid(1), MAKER, True, 0, WAD)


def test_insert__buy_at_best_ask__raises_would_cross() -> None:
    book = book_with_asks((1, MAKER, 100, 1))
    with pytest.raises(ValueError, match=f"book: buy at {100 * WAD} would cross best ask"):
        book.insert(oid(2), TAKER, True, 100 * WAD, WAD)
    assert len(book) == 1


def test_insert__sell_at_best_bid__raises_would_cross() -> None:
    book = Book(1)
    book.insert(oid(1), MAKER, True, 100 * WAD, WAD)
    with pytest.raises(ValueError, match=f"book: sell at {99 * WAD} would cross best bid"):
        book.insert(oid(2), TAKER, False, 99 * WAD, WAD)


def test_insert__onto_an_existing_level__still_refuses_bad_size_and_duplicate() -> None:
    """A price that already has a level on the order's side skips the price and cross
    checks (it cannot be out of range or crossed); size and id are still checked."""
    book = book_with_asks((1, MAKER, 101, 1))
    book.insert(oid(2), MAKER, True, 99 * WAD, WAD)
    digest = book.state_digest()
    for size in (0, -1, 2**256):
        with pytest.raises(ValueError, match=r"book: size must be in \(0, 2\*\*256\), got "):
            book.insert(oid(3), TRADER, True, 99 * WAD, size)
    with pytest.raises(ValueError, match="book: duplicate order id 0x0{63}2"):
        book.insert(oid(2), TRADER, True, 99 * WAD, WAD)
    with pytest.raises(ValueError, match=f"book: sell at {99 * WAD} would cross best bid"):
        book.insert(oid(3), TRADER, False, 99 * WAD, WAD)  # a bid level, not an ask level
    with pytest.raises(ValueError, match=rf"book: price must be in \(0, 2\*\*256\), got {2**256}$"):
        book.insert(oid(3), TRADER, False, 2**256, WAD)
    assert book.state_digest() == digest
    book.insert(oid(3), TRADER, True, 99 * WAD, 2 * WAD)
    assert book.depth(1) == ([(99 * WAD, 3 * WAD)], [(101 * WAD, WAD)])
    assert book.get(oid(3)).seq == 3


# ---------------------------------------------------------------- cancel


def test_cancel__unknown_id__returns_none() -> None:
    book = book_with_asks((1, MAKER, 100, 1))
    assert book.cancel(oid(9)) is None
    assert len(book) == 1


def test_cancel__middle_of_level__keeps_others_in_order() -> None:
    book = book_with_asks((1, MAKER, 100, 1), (2, OTHER_MAKER, 100, 2), (3, MAKER, 100, 3))
    cancelled = book.cancel(oid(2))
    assert cancelled == Resting(oid(2), OTHER_MAKER, False, 100 * WAD, 2 * WAD, 2)
    assert book.depth(5) == ([], [(100 * WAD, 4 * WAD)])
    assert [o.order_id for o in book.orders()] == [oid(1), oid(3)]
    assert book.orders_of(OTHER_MAKER) == []
    assert book.cancel(oid(2)) is None


def test_cancel__last_order_of_best_level__moves_best() -> None:
    book = book_with_asks((1, MAKER, 100, 1), (2, MAKER, 101, 1))
    book.cancel(oid(1))
    assert book.best_ask() == 101 * WAD
    book.cancel(oid(2))
    assert book.best_ask() is None
    assert book.level_count() == (0, 0)


def test_cancel__levels_created_out_of_order__middle_and_deep_levels_leave_sorted_keys() -> None:
    book = Book(1)
    for n, price in enumerate((100, 96, 98, 99, 90, 97), start=1):  # best bid first, then deeper
        book.insert(oid(n), MAKER, True, price * WAD, n * WAD)
    for n, price in enumerate((105, 110, 107, 101, 120), start=11):
        book.insert(oid(n), MAKER, False, price * WAD, WAD)
    assert book.depth(3) == ([(100 * WAD, WAD), (99 * WAD, 4 * WAD), (98 * WAD, 3 * WAD)],
                             [(101 * WAD, WAD), (105 * WAD, WAD), (107 * WAD, WAD)])
    for n in (3, 5, 12):  # 98 (middle), 90 (deepest bid), 110 (middle ask)
        book.cancel(oid(n))
    book.cancel(oid(1))  # the best bid: the next one takes over
    book.cancel(oid(14))  # the best ask
    assert (book.best_bid(), book.best_ask()) == (99 * WAD, 105 * WAD)
    assert book.depth(10) == ([(99 * WAD, 4 * WAD), (97 * WAD, 6 * WAD), (96 * WAD, 2 * WAD)],
                              [(105 * WAD, WAD), (107 * WAD, WAD), (120 * WAD, WAD)])
    assert book.level_count() == (3, 3)
    whole_bid_side = (99 * 4 + 97 * 6 + 96 * 2) * WAD  # 1,170 quote for 12 base
    assert book.impact_price(False, whole_bid_side) == 97_500000000000000000
    assert book.impact_price(False, whole_bid_side + 1) is None


def test_insert__many_deep_levels__keys_move_to_sorted_list_and_back() -> None:
    book = Book(1)
    for n in range(5_000):  # each new ask level is the deepest: the worst place to insert
        book.insert(oid(n), MAKER, False, (100 + n) * WAD, WAD)
    assert isinstance(book._ask_keys, SortedList)  # past KEYS_LIST_MAX = 4,096 levels
    book.insert(oid(9_999), MAKER, False, 99 * WAD, 2 * WAD)  # a new best on a SortedList
    assert book.best_ask() == 99 * WAD
    assert book.depth(2)[1] == [(99 * WAD, 2 * WAD), (100 * WAD, WAD)]
    for n in range(0, 4_100, 2):  # every other level from the best end
        book.cancel(oid(n))
    book.cancel(oid(9_999))
    assert book.best_ask() == 101 * WAD
    assert isinstance(book._ask_keys, SortedList)
    for n in range(1_001, 4_999):  # down to the odd n < 1,000 and n = 4,999: 501 levels
        book.cancel(oid(n))
    assert type(book._ask_keys) is list  # under KEYS_LIST_MIN = 1,024 levels
    assert book.level_count() == (0, 501)
    assert book.depth(2)[1] == [(101 * WAD, WAD), (103 * WAD, WAD)]
    assert book.fillable(TAKER, True, 105 * WAD, 10 * WAD) == 3 * WAD
    book.cancel(oid(4_999))
    assert book.depth(1_000)[1][-1] == (1_099 * WAD, WAD)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(-2**200, 2**200), max_size=40, unique=True),
       key=st.integers(-2**200, 2**200))
def test_bisect_left__any_sorted_keys__same_index_as_the_builtin(keys: list[int], key: int
                                                               ) -> None:
    keys.sort()  # the book's keys: unique, sorted; negated ask prices are negative
    assert book_module._bisect_left(keys, key) == bisect.bisect_left(keys, key)
    for present in keys:
        assert book_module._bisect_left(keys, present) == bisect.bisect_left(keys, present)


def test_cancel__deep_level_of_a_side_built_by_new_bests__keys_move_to_sorted_list() -> None:
    book = Book(1)
    for n in range(5_000):  # each bid is a new best: appended, the list outgrows its bound
        book.insert(oid(n), MAKER, True, (100 + n) * WAD, WAD)
    assert type(book._bid_keys) is list
    book.cancel(oid(0))  # a deep level: no memmove of 5,000 keys from now on
    assert isinstance(book._bid_keys, SortedList)
    assert book.level_count() == (4_999, 0)
    assert book.depth(1) == ([(5_099 * WAD, WAD)], [])
    assert book.depth(5_000)[0][-1] == (101 * WAD, WAD)


# ---------------------------------------------------------------- match


def test_match__two_levels__best_price_first_then_time() -> None:
    book = book_with_asks((1, MAKER, 101, 1), (2, MAKER, 100, 2), (3, OTHER_MAKER, 100, 3))
    fills, cancelled = book.match(TAKER, True, 101 * WAD, 6 * WAD)
    assert fills == [
        Match(oid(2), MAKER, 100 * WAD, 2 * WAD, 0),
        Match(oid(3), OTHER_MAKER, 100 * WAD, 3 * WAD, 0),
        Match(oid(1), MAKER, 101 * WAD, 1 * WAD, 0),
    ]
    assert cancelled == []
    assert len(book) == 0


def test_match__partial_fill__maker_keeps_rest_and_priority() -> None:
    book = book_with_asks((1, MAKER, 100, 5), (2, OTHER_MAKER, 100, 1))
    fills, _ = book.match(TAKER, True, 100 * WAD, 3 * WAD // 2)
    assert fills == [Match(oid(1), MAKER, 100 * WAD, 3 * WAD // 2, 7 * WAD // 2)]
    assert book.get(oid(1)).remaining == 7 * WAD // 2
    assert [o.order_id for o in book.orders()] == [oid(1), oid(2)]
    assert book.depth(1) == ([], [(100 * WAD, 9 * WAD // 2)])


def test_match__limit_below_next_level__never_crosses_limit() -> None:
    book = book_with_asks((1, MAKER, 100, 1), (2, MAKER, 102, 5))
    fills, _ = book.match(TAKER, True, 101 * WAD, 10 * WAD)
    assert fills == [Match(oid(1), MAKER, 100 * WAD, WAD, 0)]
    assert book.best_ask() == 102 * WAD


def test_match__sell_taker__takes_bids_at_or_above_limit() -> None:
    book = Book(1)
    book.insert(oid(1), MAKER, True, 99 * WAD, 2 * WAD)
    book.insert(oid(2), MAKER, True, 100 * WAD, 1 * WAD)
    book.insert(oid(3), MAKER, True, 98 * WAD, 4 * WAD)
    fills, _ = book.match(TAKER, False, 99 * WAD, 5 * WAD)
    assert fills == [
        Match(oid(2), MAKER, 100 * WAD, 1 * WAD, 0),
        Match(oid(1), MAKER, 99 * WAD, 2 * WAD, 0),
    ]
    assert book.best_bid() == 98 * WAD


def test_match__own_resting_orders__cancelled_not_filled_and_matching_continues() -> None:
    book = book_with_asks(
        (1, TRADER, 100, 2), (2, MAKER, 100, 1), (3, TRADER, 101, 4), (4, MAKER, 101, 3)
    )
    fills, cancelled = book.match(TRADER, True, 101 * WAD, 2 * WAD)
    assert fills == [
        Match(oid(2), MAKER, 100 * WAD, WAD, 0),
        Match(oid(4), MAKER, 101 * WAD, WAD, 2 * WAD),
    ]
    assert cancelled == [
        Resting(oid(1), TRADER, False, 100 * WAD, 2 * WAD, 1),
        Resting(oid(3), TRADER, False, 101 * WAD, 4 * WAD, 3),
    ]
    assert book.orders_of(TRADER) == []
    assert len(book) == 1


def test_match__filled_before_own_order__own_order_stays() -> None:
    book = book_with_asks((1, MAKER, 100, 1), (2, TRADER, 100, 2))
    fills, cancelled = book.match(TRADER, True, 100 * WAD, WAD)
    assert fills == [Match(oid(1), MAKER, 100 * WAD, WAD, 0)]
    assert cancelled == []
    assert book.get(oid(2)).remaining == 2 * WAD


def test_match__sweep_ends_inside_a_level__rest_keeps_order_total_and_links() -> None:
    book = book_with_asks(
        (1, MAKER, 100, 1), (2, OTHER_MAKER, 100, 1), (3, MAKER, 101, 2), (4, OTHER_MAKER, 101, 3),
        (5, MAKER, 101, 4),
    )
    fills, stp = book.match(TAKER, True, 101 * WAD, 5 * WAD)
    assert [f.maker_id for f in fills] == [oid(1), oid(2), oid(3), oid(4)]
    assert fills[-1] == Match(oid(4), OTHER_MAKER, 101 * WAD, WAD, 2 * WAD)
    assert stp == []
    assert book.depth(5) == ([], [(101 * WAD, 6 * WAD)])
    book.cancel(oid(5))  # unlinking the tail right behind the new head
    book.insert(oid(6), TRADER, False, 101 * WAD, WAD)
    assert [(o.order_id, o.remaining) for o in book.orders()] == [(oid(4), 2 * WAD), (oid(6), WAD)]
    assert book.orders_of(MAKER) == []
    assert book.orders_of(OTHER_MAKER) == [Resting(oid(4), OTHER_MAKER, False, 101 * WAD, 2 * WAD, 4)]


def test_match__filled_maker__object_reads_zero_and_leaves_every_index() -> None:
    book = book_with_asks((1, MAKER, 100, 2))
    maker = book.get(oid(1))
    fills, _ = book.match(TAKER, True, 100 * WAD, 2 * WAD)
    assert fills == [Match(oid(1), MAKER, 100 * WAD, 2 * WAD, 0)]
    assert maker.remaining == 0
    assert oid(1) not in book
    assert book.orders_of(MAKER) == [] and book.get(oid(1)) is None
    assert book.level_count() == (0, 0) and book.best_ask() is None
    book.insert(oid(1), MAKER, False, 100 * WAD, WAD)  # the id is free again
    assert book.get(oid(1)).seq == 2


def test_match__fill__is_an_immutable_named_tuple() -> None:
    book = book_with_asks((1, MAKER, 100, 2))
    (fill,), _ = book.match(TAKER, True, 100 * WAD, WAD)
    assert (fill.maker_id, fill.maker_trader, fill.price, fill.size, fill.maker_remaining) == (
        oid(1), MAKER, 100 * WAD, WAD, WAD)
    with pytest.raises(AttributeError):
        fill.size = 2 * WAD  # type: ignore[misc]


def test_match__empty_book_or_zero_size__returns_nothing() -> None:
    assert Book(1).match(TAKER, True, 100 * WAD, WAD) is NOTHING
    assert NOTHING == ((), ())
    book = book_with_asks((1, MAKER, 100, 1))
    assert book.match(TAKER, True, 100 * WAD, 0) is NOTHING
    assert book.match(TAKER, True, 99 * WAD, WAD) is NOTHING  # does not reach 100
    own = book.get(oid(1))
    fills, stp = book.match(MAKER, True, 100 * WAD, WAD)  # crosses: new lists, STP only
    assert fills == [] and stp == [own] and fills is not NOTHING[0]
    assert book.match(TAKER, True, 100 * WAD, WAD) is NOTHING  # the side is empty now
    with pytest.raises(ValueError, match="book: match size must be >= 0, got -1"):
        book.match(TAKER, True, 100 * WAD, -1)


# ---------------------------------------------------------------- fillable


def test_fillable__own_orders_excluded__equals_what_match_fills() -> None:
    book = book_with_asks(
        (1, TRADER, 100, 2), (2, MAKER, 100, 1), (3, TRADER, 101, 4), (4, MAKER, 101, 3),
        (5, MAKER, 103, 7),
    )
    assert book.fillable(TRADER, True, 101 * WAD, 10 * WAD) == 4 * WAD
    assert book.fillable(TAKER, True, 101 * WAD, 10 * WAD) == 10 * WAD
    assert book.fillable(TAKER, True, 100 * WAD, 10 * WAD) == 3 * WAD
    assert book.fillable(TRADER, True, 99 * WAD, 10 * WAD) == 0
    assert len(book) == 5  # nothing changed
    fills, _ = book.match(TRADER, True, 101 * WAD, 10 * WAD)
    assert sum(f.size for f in fills) == 4 * WAD


def test_can_take__own_order_at_head__equals_fillable_of_one_step() -> None:
    book = book_with_asks((1, TRADER, 100, 2), (2, MAKER, 101, 1), (3, TRADER, 102, 4))
    for trader in (TRADER, MAKER, TAKER):
        for limit in (99, 100, 101, 102):
            assert book.can_take(trader, True, limit * WAD) == (
                book.fillable(trader, True, limit * WAD, 1) > 0), (trader, limit)
    assert not book.can_take(TRADER, True, 100 * WAD)  # only its own order at 100
    assert book.can_take(TRADER, True, 101 * WAD)
    assert not book.can_take(TAKER, False, 200 * WAD)  # no bids


def test_fillable_and_can_take__own_order_at_head__build_no_by_trader_index() -> None:
    book = book_with_asks((1, TRADER, 100, 2), (2, MAKER, 100, 1), (3, TRADER, 101, 4))
    assert book._by_trader is None
    assert book.fillable(TRADER, True, 101 * WAD, 5 * WAD) == WAD
    assert book.can_take(TRADER, True, 100 * WAD)  # behind its own head order: MAKER's
    assert book._by_trader is None  # walked the levels, did not index the whole book
    assert [o.order_id for o in book.orders_of(TRADER)] == [oid(1), oid(3)]
    assert book._by_trader is not None  # the one reader that builds it


def test_fillable__size_smaller_than_book__returns_size() -> None:
    book = book_with_asks((1, MAKER, 100, 5))
    assert book.fillable(TAKER, True, 100 * WAD, 3 * WAD) == 3 * WAD
    assert book.fillable(TAKER, True, 100 * WAD, 0) == 0


# ---------------------------------------------------------------- quotes and depth


def test_would_cross__at_and_through_best__true_else_false() -> None:
    book = book_with_asks((1, MAKER, 100, 1))
    book.insert(oid(2), MAKER, True, 98 * WAD, WAD)
    assert book.would_cross(True, 100 * WAD) is True
    assert book.would_cross(True, 99 * WAD) is False
    assert book.would_cross(False, 98 * WAD) is True
    assert book.would_cross(False, 99 * WAD) is False
    assert Book(1).would_cross(True, 10**30) is False


def test_mid__odd_sum__floors() -> None:
    book = Book(1)
    assert book.mid() is None
    book.insert(oid(1), MAKER, True, 100 * WAD, WAD)
    assert book.mid() is None
    book.insert(oid(2), MAKER, False, 100 * WAD + 1, WAD)
    assert book.mid() == 100 * WAD
    assert (book.best_bid(), book.best_ask()) == (100 * WAD, 100 * WAD + 1)


def test_depth__several_orders_per_level__aggregated_and_ordered() -> None:
    book = Book(1)
    for n, is_buy, price, size in [
        (1, True, 98, 1), (2, True, 99, 2), (3, True, 99, 3), (4, True, 97, 4),
        (5, False, 101, 5), (6, False, 100, 6), (7, False, 101, 7), (8, False, 102, 8),
    ]:
        book.insert(oid(n), MAKER, is_buy, price * WAD, size * WAD)
    assert book.depth(2) == (
        [(99 * WAD, 5 * WAD), (98 * WAD, 1 * WAD)],
        [(100 * WAD, 6 * WAD), (101 * WAD, 12 * WAD)],
    )
    assert book.depth(10)[0][-1] == (97 * WAD, 4 * WAD)
    assert book.depth(0) == ([], [])


# ---------------------------------------------------------------- impact price


def test_impact_price__buy_across_two_levels__worked_example() -> None:
    # Asks: 2 base at 100, 3 base at 101. A market buy of 300 quote takes the first
    # level whole (200 quote for 2 base), then 100 quote at 101, i.e. 100/101 base.
    # Average = 300 / (2 + 100/101) = 30300 / 302 = 100.331125827814569536423...
    # rounded up for a buy: 100.331125827814569537.
    book = book_with_asks((1, MAKER, 100, 2), (2, MAKER, 101, 3))
    assert book.impact_price(True, 300 * WAD) == 100_331125827814569537
    assert book.impact_price(True, 200 * WAD) == 100 * WAD  # exactly the first level
    assert book.impact_price(True, 503 * WAD) == 100_600000000000000000  # whole side: 503/5
    assert book.impact_price(True, 503 * WAD + 1) is None


def test_impact_price__sell_across_two_levels__rounds_down() -> None:
    # Bids: 1 base at 100, 2 base at 99. A market sell of 199 quote: 100 quote for
    # 1 base, then 99 quote at 99 = 1 base. Average 199 / 2 = 99.5 exactly.
    # 150 quote: 100 + 50/99 base -> 150 * 99 / (99 + 50) = 14850 / 149
    # = 99.664429530201342281879..., rounded down.
    book = Book(1)
    book.insert(oid(1), MAKER, True, 100 * WAD, WAD)
    book.insert(oid(2), MAKER, True, 99 * WAD, 2 * WAD)
    assert book.impact_price(False, 199 * WAD) == 99_500000000000000000
    assert book.impact_price(False, 150 * WAD) == 99_664429530201342281
    assert book.impact_price(True, 1) is None
    with pytest.raises(ValueError, match="book: impact notional must be > 0, got 0"):
        book.impact_price(False, 0)


# ---------------------------------------------------------------- reduce


def test_reduce__front_order__keeps_time_priority() -> None:
    book = book_with_asks((1, MAKER, 100, 5), (2, OTHER_MAKER, 100, 5))
    book.reduce(oid(1), 2 * WAD)
    assert book.get(oid(1)) == Resting(oid(1), MAKER, False, 100 * WAD, 2 * WAD, 1)
    assert book.depth(1) == ([], [(100 * WAD, 7 * WAD)])
    fills, _ = book.match(TAKER, True, 100 * WAD, 3 * WAD)
    assert fills == [
        Match(oid(1), MAKER, 100 * WAD, 2 * WAD, 0),
        Match(oid(2), OTHER_MAKER, 100 * WAD, WAD, 4 * WAD),
    ]


def test_reduce__to_zero__removes_order() -> None:
    book = book_with_asks((1, MAKER, 100, 5))
    book.reduce(oid(1), 0)
    assert book.get(oid(1)) is None
    assert book.best_ask() is None
    assert book.orders_of(MAKER) == []


def test_reduce__grow_or_unknown__raises() -> None:
    book = book_with_asks((1, MAKER, 100, 5))
    with pytest.raises(ValueError, match=rf"book: reduce to {6 * WAD} must be in \[0, {5 * WAD}\]"):
        book.reduce(oid(1), 6 * WAD)
    with pytest.raises(ValueError, match=r"book: reduce to -1 must be in"):
        book.reduce(oid(1), -1)
    with pytest.raises(KeyError, match="book: unknown order id 0x0{63}2"):
        book.reduce(oid(2), WAD)
    assert book.get(oid(1)).remaining == 5 * WAD


# ---------------------------------------------------------------- Resting, reads


def test_resting__equality__six_fields_only_never_queue_links() -> None:
    book = book_with_asks((1, MAKER, 100, 1), (2, MAKER, 100, 1))
    first = book.get(oid(1))
    assert first == Resting(oid(1), MAKER, False, 100 * WAD, WAD, 1)  # linked vs detached
    assert first != Resting(oid(1), MAKER, False, 100 * WAD, WAD, 3)
    assert first != (oid(1), MAKER, False, 100 * WAD, WAD, 1)
    assert repr(first) == (f"Resting(order_id={oid(1)!r}, trader='{MAKER}', is_buy=False, "
                           f"price={100 * WAD}, remaining={WAD}, seq=1)")
    with pytest.raises(TypeError):
        hash(first)


def test_depth__negative_levels__raises() -> None:
    with pytest.raises(ValueError, match="book: depth levels must be >= 0, got -1"):
        Book(1).depth(-1)


def test_restore__repeated_seq__raises() -> None:
    rows = [(oid(1), MAKER, True, 99 * WAD, WAD, 4), (oid(2), MAKER, True, 98 * WAD, WAD, 4)]
    with pytest.raises(ValueError, match="book: restored seq 4 is not increasing"):
        Book.restore(1, 9, rows)
