"""Staking: stake, cooldown, USDC rewards, checkpointed fee tiers, yield."""

from __future__ import annotations

import boa

from tests.contracts.jex_fixtures import *  # noqa: F403
from tests.contracts.jex_fixtures import DAY, JEX, USDC, WAD, WEEK, mine, route_fees, stake, to_epoch_start

TAKER_RATE = 5 * 10**14  # 0.05%


def test_stake__holder__stake_and_total_recorded(system, staker):
    stake(system, staker, 2_000 * JEX)
    event = system.staking.get_logs()[-1]
    assert (event.account, event.amount, event.stake, event.total_staked) == (staker, 2_000 * JEX, 2_000 * JEX, 2_000 * JEX)
    assert system.staking.stake_of(staker) == 2_000 * JEX
    assert system.jex.balanceOf(system.staking.address) == 2_000 * JEX


def test_stake__zero__reverts(system, staker):
    with boa.env.prank(staker), boa.reverts("staking: zero amount"):
        system.staking.stake(0)


def test_unstake__above_stake__reverts(system, staker):
    stake(system, staker, 10 * JEX)
    with boa.env.prank(staker), boa.reverts("staking: amount exceeds stake"):
        system.staking.unstake(10 * JEX + 1)


def test_withdraw__before_cooldown__reverts_then_pays_after(system, staker):
    s = system
    stake(s, staker, 10 * JEX)
    with boa.env.prank(staker):
        s.staking.unstake(4 * JEX)
        ready_at = s.staking.pending(staker)[1]
        assert ready_at == boa.env.evm.patch.timestamp + 7 * DAY
        assert s.staking.stake_of(staker) == 6 * JEX
        boa.env.time_travel(seconds=7 * DAY - 1)
        with boa.reverts("staking: cooldown not over"):
            s.staking.withdraw()
        boa.env.time_travel(seconds=1)
        assert s.staking.withdraw() == 4 * JEX
        with boa.reverts("staking: nothing to withdraw"):
            s.staking.withdraw()
    assert s.jex.balanceOf(staker) == 4 * JEX


def test_unstake__second_request__restarts_cooldown_for_all(system, staker):
    s = system
    stake(s, staker, 10 * JEX)
    with boa.env.prank(staker):
        s.staking.unstake(1 * JEX)
        boa.env.time_travel(seconds=6 * DAY)
        s.staking.unstake(2 * JEX)
        boa.env.time_travel(seconds=6 * DAY)
        with boa.reverts("staking: cooldown not over"):
            s.staking.withdraw()
        boa.env.time_travel(seconds=DAY)
        assert s.staking.withdraw() == 3 * JEX


def test_claim__two_stakers__paid_pro_rata(system, staker, trader):
    s = system
    stake(s, staker, 3_000 * JEX)
    stake(s, trader, 1_000 * JEX)
    route_fees(s, 1, 1_000 * USDC)  # stakers get 450 USDC
    assert s.staking.earned(staker) == 337_500_000
    assert s.staking.earned(trader) == 112_500_000
    with boa.env.prank(staker):
        assert s.staking.claim() == 337_500_000
        with boa.reverts("staking: nothing to claim"):
            s.staking.claim()
    assert s.usdc.balanceOf(staker) == 337_500_000
    assert s.staking.total_rewards_paid() == 337_500_000


def test_claim__stake_after_reward__earns_only_later_rewards(system, staker, trader):
    s = system
    stake(s, staker, 1_000 * JEX)
    route_fees(s, 1, 1_000 * USDC)
    stake(s, trader, 1_000 * JEX)
    route_fees(s, 2, 1_000 * USDC)
    assert s.staking.earned(staker) == 450 * USDC + 225 * USDC
    assert s.staking.earned(trader) == 225 * USDC


def test_notify_reward__nobody_staked__queued_for_next(system, staker):
    s = system
    route_fees(s, 1, 100 * USDC)
    assert s.staking.queued_rewards() == 45 * USDC
    stake(s, staker, 1 * JEX)
    route_fees(s, 2, 100 * USDC)
    assert s.staking.queued_rewards() == 0
    assert s.staking.earned(staker) == 90 * USDC


def test_notify_reward__stranger__reverts(system, stranger):
    with boa.env.prank(stranger), boa.reverts("staking: caller is not the fee router"):
        system.staking.notify_reward(1, 1)


def test_discount_at__flash_stake_same_block__no_discount(system, trader):
    s = system
    stake(s, trader, 300_000 * JEX)
    now = boa.env.evm.patch.block_number
    assert s.staking.discount_at(trader, now) == 0
    assert s.staking.max_fee_rate(TAKER_RATE, trader, now) == TAKER_RATE
    mine()
    assert s.staking.discount_at(trader, now + 1) == 40 * 10**16
    assert s.staking.max_fee_rate(TAKER_RATE, trader, now + 1) == 3 * 10**14


def test_discount_at__each_tier__exact_discount(system, trader):
    s = system
    expected = [
        (999, 0), (1_000, 5), (4_999, 5), (5_000, 10), (10_000, 15),
        (50_000, 20), (100_000, 30), (250_000, 40), (1_000_000, 40),
    ]
    staked = 0
    for whole, pct in expected:
        stake(s, trader, whole * JEX - staked)
        staked = whole * JEX
        mine()
        block = boa.env.evm.patch.block_number
        assert s.staking.discount_at(trader, block) == pct * 10**16, whole
        assert s.staking.tier_of(whole * JEX) == [0, 5, 10, 15, 20, 30, 40].index(pct)
        assert s.staking.max_fee_rate(TAKER_RATE, trader, block) == TAKER_RATE * (100 - pct) // 100


def test_discount_at__unstaked__tier_drops_next_block(system, trader):
    s = system
    stake(s, trader, 10_000 * JEX)
    mine()
    with boa.env.prank(trader):
        s.staking.unstake(10_000 * JEX)
    block = boa.env.evm.patch.block_number
    assert s.staking.discount_at(trader, block) == 15 * 10**16  # as of the block before
    mine()
    assert s.staking.discount_at(trader, block + 1) == 0


def test_stake_at__current_block__reverts(system, trader):
    now = boa.env.evm.patch.block_number
    with boa.reverts("staking: future lookup"):
        system.staking.stake_at(trader, now)
    with boa.reverts("staking: future lookup"):
        system.staking.discount_at(trader, now + 1)
    with boa.reverts("staking: future lookup"):
        system.staking.total_staked_at(now)


def test_stake_at__history__value_at_each_block(system, trader):
    s = system
    stake(s, trader, 5 * JEX)
    b1 = boa.env.evm.patch.block_number
    mine(3)
    stake(s, trader, 7 * JEX)
    b2 = boa.env.evm.patch.block_number
    mine()
    assert s.staking.stake_at(trader, b1 - 1) == 0
    assert s.staking.stake_at(trader, b1) == 5 * JEX
    assert s.staking.stake_at(trader, b2 - 1) == 5 * JEX
    assert s.staking.stake_at(trader, b2) == 12 * JEX
    assert s.staking.total_staked_at(b2) == 12 * JEX


def test_set_tier_thresholds__invalid__reverts(system, deployer, stranger):
    st = system.staking
    good = [i * 100 * JEX for i in range(1, 7)]
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        st.set_tier_thresholds(good)
    with boa.env.prank(deployer):
        with boa.reverts("staking: thresholds not increasing"):
            st.set_tier_thresholds([100 * JEX, 100 * JEX] + good[2:])
        with boa.reverts("staking: threshold out of bounds"):
            st.set_tier_thresholds([JEX - 1] + good[1:])
        with boa.reverts("staking: threshold out of bounds"):
            st.set_tier_thresholds(good[:5] + [10**7 * JEX + 1])
        st.set_tier_thresholds(good)
        assert list(st.get_logs()[-1].thresholds) == good
    assert st.tier_of(600 * JEX) == 6


def test_set_cooldown__bounds__enforced(system, deployer):
    with boa.env.prank(deployer):
        with boa.reverts("staking: cooldown out of bounds"):
            system.staking.set_cooldown(DAY - 1)
        with boa.reverts("staking: cooldown out of bounds"):
            system.staking.set_cooldown(30 * DAY + 1)
        system.staking.set_cooldown(DAY)
    assert system.staking.cooldown() == DAY


def test_annualized_yield__last_epoch_fees__annualized_per_jex(system, staker):
    s = system
    to_epoch_start(60)
    stake(s, staker, 100_000 * JEX)
    route_fees(s, 1, 1_000 * USDC)  # 450 USDC to stakers this epoch
    assert s.staking.annualized_yield() == 0  # the previous epoch paid nothing
    to_epoch_start(60)
    # 450 USDC / 100,000 JEX x 52.142857 weeks = 0.234642857142857142 USDC per JEX per year
    assert s.staking.annualized_yield() == 450 * 10**18 * WAD * 365 * DAY // (100_000 * JEX * WEEK)
    assert s.staking.annualized_yield() == 234_642_857_142_857_142
