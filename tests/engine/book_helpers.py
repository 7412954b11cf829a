"""Traders, ids and a seeded book shared by the book tests (test_book*.py)."""

from __future__ import annotations

from engine.core.book import Book

WAD = 10**18
MAKER = "0x1111111111111111111111111111111111111111"
OTHER_MAKER = "0x2222222222222222222222222222222222222222"
TAKER = "0x3333333333333333333333333333333333333333"
TRADER = "0x4444444444444444444444444444444444444444"


def oid(n: int) -> bytes:
    """A 32-byte order id (stands in for an EIP-712 order hash)."""
    return n.to_bytes(32, "big")


def book_with_asks(*asks: tuple[int, str, int, int]) -> Book:
    """Asks given as (id, trader, price in whole quote, size in whole base)."""
    book = Book(1)
    for n, trader, price, size in asks:
        book.insert(oid(n), trader, False, price * WAD, size * WAD)
    return book
