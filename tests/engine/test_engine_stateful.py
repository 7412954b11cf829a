"""Hypothesis state machine over the whole engine: invariants after every command.

- the book is never crossed after matching;
- positions sum to zero per market (and match the open interest);
- money is conserved: sum(cash, insurance included) + fee pool + funding pools
  == deposits - withdrawals;
- every funding interval's payments sum to its dust, and the dust is >= 0;
- replaying the command list into a fresh engine gives the same state hash,
  and snapshot / from_snapshot round-trips it.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.core.commands import (
    CancelAll,
    CancelOrder,
    Deposit,
    PlaceOrder,
    SetStake,
    Tick,
    UpdateIndex,
    Withdraw,
)
from engine.core.engine import Engine
from engine.core.events import Deposited, FundingApplied, OrderAccepted, Withdrawn
from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.core.rules import FLAG_FOK, FLAG_IOC, FLAG_POST_ONLY, FLAG_REDUCE_ONLY
from engine.core.wad import WAD
from tests.engine.engine_helpers import SIG, T0, ohash

TRADERS = tuple("0x" + f"{i:02x}" * 20 for i in range(1, 5))
MIDS = {1: 2_000 * WAD, 2: 30_000 * WAD}
FLAGS = (0, 0, 0, FLAG_IOC, FLAG_FOK, FLAG_POST_ONLY, FLAG_REDUCE_ONLY,
         FLAG_REDUCE_ONLY | FLAG_IOC)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.markets = default_markets()
        self.engine = Engine(self.markets)
        self.commands: list = []
        self.ts = T0
        self.net_deposits = 0
        self.hashes: list[tuple[str, bytes]] = []
        self.nonce = 0
        self.index = dict(MIDS)
        for market, mid in MIDS.items():
            self.run(UpdateIndex(market, mid, self.ts))

    def run(self, cmd: object) -> list:
        self.commands.append(cmd)
        events = self.engine.apply(cmd)
        for ev in events:
            if isinstance(ev, Deposited):
                self.net_deposits += ev.amount
            elif isinstance(ev, Withdrawn):
                self.net_deposits -= ev.amount
            elif isinstance(ev, FundingApplied):
                assert sum(p[2] for p in ev.payments) == ev.dust >= 0
            elif isinstance(ev, OrderAccepted):
                self.hashes.append((ev.trader, ev.order_hash))
        return events

    def later(self, ms: int) -> int:
        self.ts += ms
        return self.ts

    @rule(trader=st.sampled_from(TRADERS), amount=st.integers(1, 50_000))
    def deposit(self, trader, amount):
        self.run(Deposit(trader, amount * WAD, self.later(10)))

    @rule(trader=st.sampled_from(TRADERS), amount=st.integers(1, 20_000))
    def withdraw(self, trader, amount):
        self.run(Withdraw(trader, amount * WAD, self.later(10)))

    @rule(trader=st.sampled_from(TRADERS), market=st.sampled_from((1, 2)),
          is_buy=st.booleans(), ticks=st.integers(-30, 30), steps=st.integers(1, 3_000),
          flags=st.sampled_from(FLAGS), expiry_s=st.sampled_from((0, 0, 5, 60)))
    def place(self, trader, market, is_buy, ticks, steps, flags, expiry_s):
        spec = self.markets[market - 1]
        price = self.index[market] // spec.tick_size * spec.tick_size + ticks * spec.tick_size * 10
        self.nonce += 1
        ts = self.later(100)
        expiry = ts // 1000 + expiry_s if expiry_s else 0
        order = Order(trader, market, is_buy, steps * spec.step_size, max(price, spec.tick_size),
                      0, flags, 10**15, self.nonce, expiry)
        self.run(PlaceOrder(order, ohash(order), SIG, ts))

    @rule(trader=st.sampled_from(TRADERS), market=st.sampled_from((1, 2)), is_buy=st.booleans(),
          pct=st.integers(-3, 3))
    def place_stop(self, trader, market, is_buy, pct):
        spec = self.markets[market - 1]
        trigger = self.index[market] * (100 + pct) // 100 // spec.tick_size * spec.tick_size
        limit = trigger * (101 if is_buy else 99) // 100 // spec.tick_size * spec.tick_size
        self.nonce += 1
        order = Order(trader, market, is_buy, 100 * spec.step_size, limit, trigger, 0, 10**15,
                      self.nonce, 0)
        self.run(PlaceOrder(order, ohash(order), SIG, self.later(100)))

    @rule(pick=st.integers(0, 10_000), stranger=st.booleans())
    def cancel(self, pick, stranger):
        if not self.hashes:
            return
        trader, h = self.hashes[pick % len(self.hashes)]
        self.run(CancelOrder(TRADERS[0] if stranger else trader, h, self.later(10)))

    @rule(trader=st.sampled_from(TRADERS), market=st.sampled_from((1, 2, None)))
    def cancel_all(self, trader, market):
        self.run(CancelAll(trader, market, self.later(10)))

    @rule(market=st.sampled_from((1, 2)), bps=st.integers(-400, 400))
    def move_index(self, market, bps):
        self.index[market] = max(WAD, self.index[market] * (10_000 + bps) // 10_000)
        self.run(UpdateIndex(market, self.index[market], self.later(2_000)))

    @rule(hours=st.integers(0, 9))
    def tick(self, hours):
        self.run(Tick(self.later(hours * 3_600_000 + 5_000)))

    @rule(trader=st.sampled_from(TRADERS), stake=st.sampled_from((0, 1_000, 100_000, 600_000)))
    def set_stake(self, trader, stake):
        self.run(SetStake(trader, stake * WAD, self.later(10)))

    @invariant()
    def book_never_crossed(self):
        for book in self.engine.books.values():
            bid, ask = book.best_bid(), book.best_ask()
            assert bid is None or ask is None or bid < ask

    @invariant()
    def positions_sum_to_zero(self):
        self.engine.ledger.check_invariants()

    @invariant()
    def money_conserved(self):
        assert self.engine.ledger.total_balance() == self.net_deposits

    def teardown(self):
        expected = self.engine.state_hash()
        replayed = Engine(self.markets)
        for cmd in self.commands:
            replayed.apply(cmd)
        assert replayed.state_hash() == expected
        assert Engine.from_snapshot(self.engine.snapshot()).state_hash() == expected


EngineMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineMachine = EngineMachine.TestCase
