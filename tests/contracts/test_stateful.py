"""A hypothesis state machine over the Exchange and Markets (titanoboa):
random deposits, withdrawals, trades, prices, funding and liquidations.

Invariants after every step: tokens held x 1e12 == sum(cash, the insurance
account's included) + fee_pool + sum(funding_pool); every market's positions sum to zero and its
open interest is the sum of the longs; a withdrawal succeeds exactly when
the account keeps its initial margin."""

import os

import boa
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.core.accounts import INSURANCE
from engine.core.rules import bankruptcy_price, fee_cap, liquidation_fee, position_value, trade_cash
from tests.contracts.conftest import BTC, ETH, USDC, WAD

MARKETS = (ETH, BTC)
TICK = {ETH: WAD // 100, BTC: WAD // 10}
STEP = {ETH: WAD // 1000, BTC: WAD // 10_000}
SCALE = 10**12


SEEN: Counter = Counter()


def event(name: str) -> None:
    """Count what the machine did, so the test can show it explored."""
    SEEN[name] += 1


def make_machine(desk, traders, lp):
    class ExchangeMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self._anchor = boa.env.anchor()
            self._anchor.__enter__()
            desk.fund(lp, 100_000_000 * USDC)
            for t in traders:
                desk.fund(t, 1_000 * USDC)
            # every example starts with one trader 15x long against the LP, so the
            # random price moves reach liquidations whatever the example stream is
            market, bold = MARKETS[0], traders[-1]
            price = self.price_near(market, 0)
            size = 15_000 * WAD * WAD // price // STEP[market] * STEP[market]
            desk.settle([desk.fill(desk.leg(lp, market, False, size, price),
                                   desk.leg(bold, market, True, size, price, flags=4),
                                   size, price)])

        def teardown(self):
            self._anchor.__exit__(None, None, None)

        # ------------------------------------------------------------ helpers
        def mark(self, market):
            return desk.markets.markets(market)[8]

        def price_near(self, market, ticks):
            tick = TICK[market]
            return max(tick, (self.mark(market) // tick + ticks) * tick)

        # ------------------------------------------------------------ rules
        @rule(who=st.integers(0, len(traders) - 1), amount=st.integers(1, 50_000 * USDC))
        def deposit(self, who, amount):
            desk.fund(traders[who], amount)

        @rule(who=st.integers(0, len(traders) - 1), share=st.integers(1, 100))
        def withdraw(self, who, share):
            t = traders[who].address
            equity, im = desk.exchange.equity(t), desk.exchange.initial_margin(t)
            cash = desk.exchange.cash(t)
            amount = max(1, max(cash, 0) // SCALE * share // 100)
            if equity - amount * SCALE < im:
                with boa.reverts("exchange: below initial margin"):
                    desk.withdraw(traders[who], amount)
                event("withdraw refused")
                return
            desk.withdraw(traders[who], amount)
            event("withdraw paid")
            assert desk.exchange.equity(t) >= desk.exchange.initial_margin(t)

        @rule(buyer=st.integers(0, len(traders) - 1), seller=st.integers(0, len(traders) - 1),
              market=st.sampled_from(MARKETS), leverage_pct=st.sampled_from([5, 30, 70, 95, 130]),
              ticks=st.integers(-20, 20), buyer_rests=st.booleans(),
              fee_pct=st.integers(0, 100))
        def trade(self, buyer, seller, market, leverage_pct, ticks, buyer_rests, fee_pct):
            """A fill whose notional is `leverage_pct` of what the poorer side's
            equity allows at 20x (above 100: expect the margin check to refuse)."""
            if buyer == seller:
                seller = (seller + 1) % len(traders)
            price = self.price_near(market, ticks)
            equity = min(desk.exchange.equity(traders[buyer].address),
                         desk.exchange.equity(traders[seller].address))
            steps = max(1, equity * 20 * leverage_pct // 100 * WAD // price // STEP[market])
            size = steps * STEP[market]
            b, s = traders[buyer], traders[seller]
            bo = desk.leg(b, market, True, size, price, flags=0 if buyer_rests else 4)
            so = desk.leg(s, market, False, size, price, flags=4 if buyer_rests else 0)
            maker, taker = (bo, so) if buyer_rests else (so, bo)
            fee = fee_cap(size, price, 10**15) * fee_pct // 100
            fills = [desk.fill(maker, taker, size, price, fee, fee)]
            try:
                desk.settle(fills)
                event("trade settled")
            except Exception:  # noqa: BLE001 - re-run under boa.reverts to pin the message
                with boa.reverts("exchange: below initial margin after batch"):
                    desk.settle(fills)
                event("trade refused: margin")

        @rule(market=st.sampled_from(MARKETS),
              bps=st.sampled_from([-1_000, -400, -150, -30, 0, 30, 150, 400, 1_000]))
        def move_price(self, market, bps):
            mark = self.mark(market) * (10_000 + bps) // 10_000
            desk.post_price(market, mark, mark)
            event(f"price moved {bps}")
            self.liquidate()  # what the keeper does after a price move

        @rule(market=st.sampled_from(MARKETS), change=st.integers(-50, 50))
        def funding(self, market, change):
            m = desk.markets.markets(market)
            rate = max(-m[5], min(m[5], m[13] + change * 10**14))
            desk.apply_funding(market, rate)

        @rule()
        def liquidate(self):
            """Liquidate, at its bankruptcy price, every account below maintenance
            with a single open market."""
            for t in traders:
                self._liquidate(t)

        def _liquidate(self, t):
            a = t.address
            open_ = [m for m in MARKETS if desk.exchange.position(a, m)[0] != 0]
            equity = desk.exchange.equity(a)
            if not open_ or equity >= desk.exchange.maintenance_margin(a):
                return
            if len(open_) != 1:
                event("liquidation skipped: two markets")
                return
            market = open_[0]
            size = desk.exchange.position(a, market)[0]
            mark, tick = self.mark(market), TICK[market]
            bp = bankruptcy_price(size, mark, equity)
            price = -(-bp // tick) * tick if size > 0 else bp // tick * tick
            if price == 0:
                event("liquidation skipped: zero price")
                return
            q = abs(size)
            c = trade_cash(q, price)
            if size > 0:
                after = equity + c.seller_receives - position_value(size, mark)
            else:
                after = equity - c.buyer_pays - position_value(size, mark)
            fee = liquidation_fee(q, price, 5 * 10**15, after)
            liq = desk.sign(desk.settler, desk.order(t, market, size < 0, q, price, flags=36))
            bid = desk.leg(lp, market, size > 0, q, price)
            desk.settle([desk.fill(bid, liq, q, price, 0, fee)])
            assert desk.exchange.position(a, market) == (0, 0)
            event("liquidated")

        # ------------------------------------------------------------ invariants
        @invariant()
        def tokens_cover_every_balance_exactly(self):
            assert desk.usdc.balanceOf(desk.exchange.address) * SCALE == desk.accounted()
            total = sum(desk.exchange.cash(a) for a in [*(t.address for t in [*traders, lp]),
                                                        INSURANCE])
            assert desk.exchange.cash(INSURANCE) == desk.exchange.insurance()
            assert total == desk.exchange.total_cash()

        @invariant()
        def positions_net_to_zero(self):
            for m in MARKETS:
                sizes = [desk.exchange.position(t.address, m)[0] for t in [*traders, lp]]
                assert sum(sizes) == 0
                assert desk.exchange.open_interest(m) == sum(s for s in sizes if s > 0)
                assert desk.exchange.funding_pool(m) >= 0 or desk.exchange.open_interest(m) > 0

    return ExchangeMachine


def test_exchange_state_machine__random_operations__invariants_hold(_session_desk, traders):
    machine = make_machine(_session_desk, traders[:4], traders[7])
    machine.TestCase.settings = settings(
        max_examples=int(os.environ.get("PERPX_STATEFUL_EXAMPLES", "12")),
        stateful_step_count=30, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck))
    SEEN.clear()
    machine.TestCase().runTest()
    print(dict(SEEN))
    # the run reached every outcome, so the invariants were checked on them
    for outcome in ("trade settled", "trade refused: margin", "withdraw paid", "liquidated"):
        assert SEEN[outcome] > 0, (outcome, dict(SEEN))
