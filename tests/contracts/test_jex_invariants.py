"""Hypothesis stateful invariants of the JEX token economy (titanoboa)."""

from __future__ import annotations

import boa
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.contracts.jex_fixtures import DAY, JEX, SUPPLY, USDC, deploy_system, mine, to_epoch_start
from tests.contracts.test_governor import STAND_IN, selector, set_fee_call
from tests.contracts.jex_fixtures import contract

ACTORS = 3
SETTINGS = settings(max_examples=12, stateful_step_count=25, deadline=None,
                    suppress_health_check=list(HealthCheck))


class Economy(RuleBasedStateMachine):
    """Fees routed, stakes moved, rewards claimed, auctions filled, bad debt covered."""

    @initialize()
    def deploy(self):
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        names = ["deployer", "exchange", "treasury"]
        self.s = deploy_system(*(boa.env.generate_address(n) for n in names))
        self.actors = [boa.env.generate_address(f"staker{i}") for i in range(ACTORS)]
        for a in self.actors:
            with boa.env.prank(self.s.treasury):
                self.s.jex.transfer(a, 1_000_000 * JEX)
            with boa.env.prank(a):
                self.s.jex.approve(self.s.staking.address, 2**256 - 1)
                self.s.jex.approve(self.s.buyback.address, 2**256 - 1)
        self.batch = 0
        self.burned = 0

    def teardown(self):
        if hasattr(self, "_anchor"):
            self._anchor.__exit__(None, None, None)

    @rule(who=st.integers(0, ACTORS - 1), amount=st.integers(1, 300_000 * JEX))
    def stake(self, who, amount):
        amount = min(amount, self.s.jex.balanceOf(self.actors[who]))
        if amount:
            with boa.env.prank(self.actors[who]):
                self.s.staking.stake(amount)

    @rule(who=st.integers(0, ACTORS - 1), frac=st.integers(1, 100))
    def unstake(self, who, frac):
        staked = self.s.staking.stake_of(self.actors[who])
        amount = staked * frac // 100
        if amount:
            with boa.env.prank(self.actors[who]):
                self.s.staking.unstake(amount)

    @rule(who=st.integers(0, ACTORS - 1))
    def withdraw(self, who):
        amount, ready_at = self.s.staking.pending(self.actors[who])
        if amount and boa.env.evm.patch.timestamp >= ready_at:
            with boa.env.prank(self.actors[who]):
                self.s.staking.withdraw()

    @rule(who=st.integers(0, ACTORS - 1))
    def claim(self, who):
        if self.s.staking.earned(self.actors[who]):
            with boa.env.prank(self.actors[who]):
                self.s.staking.claim()

    @rule(amount=st.integers(1, 50_000 * USDC))
    def route(self, amount):
        self.batch += 1
        self.s.usdc.mint(self.s.exchange, amount)
        with boa.env.prank(self.s.exchange):
            self.s.usdc.approve(self.s.router.address, amount)
            self.s.router.route_fees(self.batch, amount)

    @rule(amount=st.integers(1, 5_000 * USDC), requested=st.integers(1, 10_000 * USDC))
    def liquidation_then_bad_debt(self, amount, requested):
        self.batch += 1
        s = self.s
        s.usdc.mint(s.exchange, amount)
        with boa.env.prank(s.exchange):
            s.usdc.approve(s.insurance.address, amount)
            s.insurance.deposit_liquidation_fee(self.actors[0], self.batch, amount)
            s.insurance.cover_bad_debt(self.actors[1], self.batch, requested)

    @rule(seconds=st.integers(1, 3 * DAY))
    def wait(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule()
    def start_auction(self):
        to_epoch_start(1)
        if self.s.usdc.balanceOf(self.s.buyback.address):
            self.s.buyback.start_auction()

    @rule(who=st.integers(0, ACTORS - 1), frac=st.integers(1, 100))
    def fill_auction(self, who, frac):
        b = self.s.buyback
        n = b.auction_count()
        if n == 0 or b.current_price() == 0:
            return
        amount = b.auctions(n).remaining * frac // 100
        if amount and b.quote(amount) <= self.s.jex.balanceOf(self.actors[who]):
            with boa.env.prank(self.actors[who]):
                self.burned += b.fill(amount, 2**256 - 1)

    @invariant()
    def rewards_paid_never_exceed_funded(self):
        st_ = self.s.staking
        owed = sum(st_.earned(a) for a in self.actors)
        assert st_.total_rewards_paid() + owed + st_.queued_rewards() <= st_.total_rewards_funded()
        assert self.s.usdc.balanceOf(st_.address) == st_.total_rewards_funded() - st_.total_rewards_paid()

    @invariant()
    def supply_falls_by_exactly_what_is_burned(self):
        assert self.s.jex.totalSupply() == SUPPLY - self.burned
        assert self.s.jex.total_burned() == self.burned == self.s.buyback.total_jex_burned()

    @invariant()
    def insurance_balance_is_inflows_minus_outflows(self):
        f = self.s.insurance
        assert f.fund_balance() == f.total_inflows() - f.total_outflows()

    @invariant()
    def router_keeps_nothing(self):
        assert self.s.usdc.balanceOf(self.s.router.address) == 0


Economy.TestCase.settings = SETTINGS
TestEconomy = Economy.TestCase

LOW, HIGH = 10**14, 10**15  # the stand-in's hard bounds on the taker fee


class Governance(RuleBasedStateMachine):
    """Random proposals through the full lifecycle never leave the target's bounds."""

    @initialize()
    def deploy(self):
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.deployer, self.voter = boa.env.generate_address("deployer"), boa.env.generate_address("voter")
        self.small = boa.env.generate_address("small")
        self.jex = contract("JexToken").deploy(self.deployer, SUPPLY)
        with boa.env.prank(self.deployer):
            self.gov = contract("Governor").deploy(self.jex.address, 1, 5, 4 * 10**16, 3600)
            self.target = boa.loads(STAND_IN, self.gov.address)
            self.gov.set_whitelisted(self.target.address, selector("set_taker_fee(uint256)"), True)
            self.gov.lock_whitelist()
            self.jex.transfer(self.voter, 10_000_000 * JEX)
        with boa.env.prank(self.voter):
            self.jex.delegate(self.voter)
        with boa.env.prank(self.small):
            self.jex.delegate(self.small)
        mine()

    def teardown(self):
        if hasattr(self, "_anchor"):
            self._anchor.__exit__(None, None, None)

    @rule(rate=st.one_of(st.integers(0, 2 * HIGH), st.integers(0, 2**256 - 1)))
    def propose_and_execute(self, rate):
        with boa.env.prank(self.voter):
            pid = self.gov.propose(self.target.address, set_fee_call(rate), "fee")
            mine(2)
            self.gov.cast_vote(pid, 1)
        mine(6)
        self.gov.queue(pid)
        boa.env.time_travel(seconds=3600)
        before = self.target.taker_fee()
        if LOW <= rate <= HIGH:
            self.gov.execute(pid)
            assert self.target.taker_fee() == rate
        else:
            with boa.reverts("stand_in: taker fee out of bounds"):
                self.gov.execute(pid)
            assert self.target.taker_fee() == before

    @rule(amount=st.integers(0, 10_000 * JEX - 1))
    def proposer_under_threshold_reverts(self, amount):
        held = self.jex.balanceOf(self.small)
        with boa.env.prank(self.deployer):
            if amount > held:
                self.jex.transfer(self.small, amount - held)
        with boa.env.prank(self.small):
            if held > amount:
                self.jex.transfer(self.deployer, held - amount)
        mine()
        with boa.env.prank(self.small), boa.reverts("governor: proposer votes below threshold"):
            self.gov.propose(self.target.address, set_fee_call(LOW), "fee")

    @invariant()
    def taker_fee_within_bounds(self):
        assert LOW <= self.target.taker_fee() <= HIGH


Governance.TestCase.settings = settings(SETTINGS, max_examples=8, stateful_step_count=10)
TestGovernance = Governance.TestCase


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(amount=st.integers(1, 10**9 * JEX // 10), base_rate=st.integers(0, 10**16))
def test_discount_at__flash_staked_fill__no_discount(amount, base_rate):
    with boa.env.anchor():
        s = deploy_system(*(boa.env.generate_address(n) for n in ("deployer", "exchange", "treasury")))
        taker = boa.env.generate_address("taker")
        with boa.env.prank(s.treasury):
            s.jex.transfer(taker, min(amount, SUPPLY))
        with boa.env.prank(taker):
            s.jex.approve(s.staking.address, amount)
            s.staking.stake(min(amount, SUPPLY))
        now = boa.env.evm.patch.block_number
        assert s.staking.discount_at(taker, now) == 0
        assert s.staking.max_fee_rate(base_rate, taker, now) == base_rate
