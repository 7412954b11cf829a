"""Differential test: the fast book against the naive reference book.

100,000 seeded random commands (4 seeds x 25,000) go through both books: limit orders
near the mid and far from it (match, then rest the remainder, as the engine does),
marketable orders, orders of traders who rest on the other side (self-trade
prevention), raw inserts that may cross, duplicate ids, cancels of live and unknown
ids, and reductions (once more with rare per-trader reads, so the lazily kept
by-trader index is dropped and rebuilt all along). Every answer must be equal: each
Match list, each STP-cancelled list, each error type, the quotes, depth and impact
prices along the way, and the final state_digest().
"""

from __future__ import annotations

import random
import sys

import pytest

from engine.core import NATIVE
from engine.core import book as book_module
from engine.core.book import Book
from tests.engine.reference_book import ReferenceBook

WAD = 10**18
TICK = WAD // 100  # 0.01 quote
STEP = WAD // 1000  # 0.001 base
MID_TICKS = 200_000  # 2,000.00 quote per base
TRADERS = [f"0x{i:040x}" for i in range(1, 9)]  # few traders, so self-trades are common
SEEDS = [11, 22, 33, 44]
COMMANDS_PER_SEED = 25_000
MAX_RESTING = 300  # past this, the mix leans to removals so the naive book stays fast


class Driver:
    """Generates commands from one seed and applies each to both books."""

    def __init__(self, seed: int, read_rate: float = 1.0, max_resting: int = MAX_RESTING
                 ) -> None:
        self.rng = random.Random(seed)
        self.read_rate = read_rate  # share of the `fillable` and `orders_of` reads made
        self.max_resting = max_resting
        self.fast = Book(7)
        self.ref = ReferenceBook(7)
        self.next_id = 1
        self.ids: list[bytes] = []  # ids ever rested; some are dead by now
        self.counts: dict[str, int] = {}

    def new_id(self) -> bytes:
        order_id = self.rng.getrandbits(64).to_bytes(8, "big") + self.next_id.to_bytes(24, "big")
        self.next_id += 1
        return order_id

    def price_near_mid(self, spread_ticks: int) -> int:
        mid = self.fast.mid()
        center = mid // TICK if mid is not None else MID_TICKS
        return max(1, center + self.rng.randint(-spread_ticks, spread_ticks)) * TICK

    def passive_price(self, is_buy: bool) -> int:
        """Mostly behind the mid on the order's own side, sometimes a little through it,
        and one time in ten far behind it (deep levels: keys inserted and removed mid-list)."""
        mid = self.fast.mid()
        center = mid // TICK if mid is not None else MID_TICKS
        away = self.rng.randint(-3, 25) if self.rng.random() < 0.9 else self.rng.randint(26, 400)
        return max(1, center - away if is_buy else center + away) * TICK

    def size(self) -> int:
        return self.rng.choice([1, 2, 5, 10, 25, 50, 120, 500]) * STEP

    def live_id(self) -> bytes | None:
        while self.ids:
            i = self.rng.randrange(len(self.ids))
            order_id = self.ids[i]
            if self.fast.get(order_id) is not None:
                return order_id
            self.ids[i] = self.ids[-1]
            self.ids.pop()
        return None

    def both(self, name: str, *args: object) -> object:
        """Call `name` on both books; equal results, or the same exception type."""
        outcomes = []
        for book in (self.fast, self.ref):
            try:
                result = getattr(book, name)(*args)
                if name == "match":  # the fast book answers "no cross" with NOTHING = ((), ())
                    result = (list(result[0]), list(result[1]))
                outcomes.append(("ok", result))
            except (ValueError, KeyError) as exc:
                outcomes.append(("error", type(exc)))
        assert outcomes[0] == outcomes[1], (name, args)
        self.counts[name] = self.counts.get(name, 0) + 1
        return outcomes[0][1] if outcomes[0][0] == "ok" else None

    def reads(self) -> bool:
        """Whether to make the next per-trader read (always, at the default read_rate)."""
        return self.read_rate == 1.0 or self.rng.random() < self.read_rate

    def place(self, trader: str, is_buy: bool, price: int, size: int, rest: bool) -> None:
        filled = None
        if self.reads():
            filled = self.both("fillable", trader, is_buy, price, size)
        fills, cancelled = self.both("match", trader, is_buy, price, size)
        assert filled is None or sum(f.size for f in fills) == filled
        filled = sum(f.size for f in fills)
        for order in cancelled:
            assert order.trader == trader
        left = size - filled
        if rest and left:
            order_id = self.new_id()
            self.both("insert", order_id, trader, is_buy, price, left)
            self.ids.append(order_id)

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if len(self.fast) > self.max_resting and roll < 0.69:
            roll = 0.69 + roll * 0.31 / 0.69  # move into the removal commands below
        trader = rng.choice(TRADERS)
        is_buy = rng.random() < 0.5
        if roll < 0.55:
            self.place(trader, is_buy, self.passive_price(is_buy), self.size(), rest=True)
        elif roll < 0.60:  # marketable: IOC with a protective limit far through the book
            limit = self.price_near_mid(40)
            self.place(trader, is_buy, limit, self.size() * rng.randint(1, 6), rest=False)
        elif roll < 0.64:  # a trader who rests on the other side sweeps through it
            order_id = self.live_id()
            if order_id is not None:
                own = self.fast.get(order_id)
                limit = own.price + (5 * TICK if not own.is_buy else -5 * TICK)
                size = self.size() * 3
                self.place(own.trader, not own.is_buy, max(TICK, limit), size, rest=False)
        elif roll < 0.68:  # raw insert that may cross: both must refuse it alike
            order_id = self.new_id()
            self.both("insert", order_id, trader, is_buy, self.price_near_mid(3), self.size())
            self.ids.append(order_id)
        elif roll < 0.69:  # duplicate id, bad size, bad price
            order_id = self.live_id() or self.new_id()
            self.both("insert", order_id, trader, is_buy, self.price_near_mid(50) + 10**30, STEP)
            self.both("insert", self.new_id(), trader, is_buy, 10**30, 0)
            self.both("insert", self.new_id(), trader, is_buy, 0, STEP)
        elif roll < 0.83:
            self.both("cancel", self.live_id() or self.new_id())
        elif roll < 0.87:  # unknown or already dead id
            dead = rng.choice(self.ids) if self.ids and rng.random() < 0.5 else self.new_id()
            self.both("cancel", dead)
        else:
            self.reduce()
        self.check_quotes()

    def reduce(self) -> None:
        order_id = self.live_id()
        if order_id is None or self.rng.random() < 0.05:
            self.both("reduce", self.new_id(), STEP)  # unknown id: KeyError in both
            return
        remaining = self.fast.get(order_id).remaining
        choice = self.rng.random()
        if choice < 0.1:
            new = remaining + STEP  # growing is refused
        elif choice < 0.3:
            new = 0
        else:
            new = self.rng.randint(1, remaining)
        self.both("reduce", order_id, new)

    def check_quotes(self) -> None:
        assert self.fast.best_bid() == self.ref.best_bid()
        assert self.fast.best_ask() == self.ref.best_ask()
        assert len(self.fast) == len(self.ref)
        if self.rng.random() < 0.1:
            self.both("mid")
            self.both("depth", self.rng.randint(0, 12))
            self.both("would_cross", self.rng.random() < 0.5, self.price_near_mid(3))
            self.both("impact_price", self.rng.random() < 0.5, self.rng.randint(1, 2_000_000) * WAD)
            if self.reads():
                self.both("orders_of", self.rng.choice(TRADERS))
            self.both("get", self.live_id() or self.new_id())


@pytest.mark.parametrize("seed", SEEDS)
def test_book__random_commands__matches_reference_book(seed: int) -> None:
    driver = Driver(seed)
    for i in range(COMMANDS_PER_SEED):
        driver.step()
        if i % 5_000 == 0:
            assert driver.fast.state_digest() == driver.ref.state_digest()
    assert driver.fast.state_digest() == driver.ref.state_digest()
    # The stream really exercised every path (the counts are per seed).
    counts = driver.counts
    assert counts["match"] > 10_000
    assert counts["insert"] > 10_000
    assert counts["cancel"] > 4_000
    assert counts["reduce"] > 3_000
    assert counts["impact_price"] > 1_000
    assert driver.fast.next_seq == driver.ref.next_seq
    assert len(driver.fast) > 0


def test_book__random_commands_with_tiny_key_lists__matches_reference_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same stream with the level keys switching list <-> SortedList all the time."""
    monkeypatch.setattr(book_module, "KEYS_LIST_MAX", 6)
    monkeypatch.setattr(book_module, "KEYS_LIST_MIN", 3)
    driver = Driver(55)
    for i in range(COMMANDS_PER_SEED):
        driver.step()
        if i % 5_000 == 0:
            assert driver.fast.state_digest() == driver.ref.state_digest()
    assert driver.fast.state_digest() == driver.ref.state_digest()
    assert max(driver.fast.level_count()) > 6  # at least one side is a SortedList now


def test_book__rare_per_trader_reads__matches_reference_book_as_the_index_comes_and_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Few reads of `orders_of` (the one reader of the by-trader index; `fillable` walks
    the levels) and a short keep window: the index is dropped and rebuilt many times,
    and every answer still equals the reference's."""
    monkeypatch.setattr(book_module, "INDEX_KEEP_MIN", 16)
    driver = Driver(66, read_rate=0.05, max_resting=40)
    built = dropped = 0
    kept = False
    for i in range(COMMANDS_PER_SEED):
        driver.step()
        now = driver.fast._by_trader is not None
        built += now and not kept
        dropped += kept and not now
        kept = now
        if i % 5_000 == 0:
            assert driver.fast.state_digest() == driver.ref.state_digest()
    assert driver.fast.state_digest() == driver.ref.state_digest()
    assert built > 50 and dropped > 50
    assert driver.counts["fillable"] > 50 and driver.counts["orders_of"] > 10


def test_book__prices_either_side_of_2_pow_120__matches_reference_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compiled, a level's price below 2**120 is kept in the book's C index and one above
    in its dict (engine/core/memo.py): a stream whose prices straddle 2**120 uses both
    on both sides, levels coming and going across the boundary."""
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "TICK", 2**120 // MID_TICKS + 1)  # the mid just above
    driver = Driver(77, max_resting=80)
    for i in range(COMMANDS_PER_SEED // 5):
        driver.step()
        if i % 1_000 == 0:
            assert driver.fast.state_digest() == driver.ref.state_digest()
    assert driver.fast.state_digest() == driver.ref.state_digest()
    prices = {o.price for o in driver.fast.orders()}
    assert min(prices) < 2**120 < max(prices)
    held = len(driver.fast._bid_index) + len(driver.fast._ask_index)
    if NATIVE["memo"] == "compiled":  # the C index holds only the prices below 2**120
        assert held == sum(1 for p in prices if p < 2**120)
        assert len(driver.fast._bids) + len(driver.fast._asks) == len(prices) - held
    else:  # interpreted, the index is a dict of every level
        assert held == len(prices)


def test_book__random_commands__self_trades_and_both_outcomes_occur() -> None:
    """The stream must reach the interesting cases, or the differential proves little."""
    driver = Driver(SEEDS[0])
    stp = fills = partial = crossed = 0
    original = driver.both

    def spy(name: str, *args: object) -> object:
        nonlocal stp, fills, partial, crossed
        result = original(name, *args)
        if name == "match":
            stp += len(result[1])
            fills += len(result[0])
            partial += sum(1 for f in result[0] if f.maker_remaining)
        if name == "insert" and result is None:
            crossed += 1
        return result

    driver.both = spy  # type: ignore[method-assign]
    for _ in range(5_000):
        driver.step()
    assert stp > 100
    assert fills > 1_000
    assert partial > 100
    assert crossed > 50
