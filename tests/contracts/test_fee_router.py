"""FeeRouter: the split of settled fees and its governed shares."""

from __future__ import annotations

import boa

from tests.contracts.jex_fixtures import *  # noqa: F403
from tests.contracts.jex_fixtures import USDC, WAD, WEEK, route_fees, stake, JEX

ZERO = "0x" + "00" * 20


def test_route_fees__default_shares__exact_split(system, staker, treasury):
    s = system
    stake(s, staker, 1_000 * JEX)
    treasury_before = s.usdc.balanceOf(treasury)
    route_fees(s, 1, 1_000 * USDC)
    event = s.router.get_logs()[-1]
    # insurance 10% of fees; net 900; stakers 50% = 450, buyback 20% = 180, treasury 270
    assert (event.fees, event.insurance, event.net_revenue, event.stakers, event.buyback, event.treasury) == (
        1_000 * USDC, 100 * USDC, 900 * USDC, 450 * USDC, 180 * USDC, 270 * USDC)
    assert s.usdc.balanceOf(s.insurance.address) == 100 * USDC
    assert s.usdc.balanceOf(s.staking.address) == 450 * USDC
    assert s.usdc.balanceOf(s.buyback.address) == 180 * USDC
    assert s.usdc.balanceOf(treasury) - treasury_before == 270 * USDC
    assert s.usdc.balanceOf(s.router.address) == 0
    epoch = boa.env.evm.patch.timestamp // WEEK
    assert s.router.epoch_net_revenue(epoch) == 900 * USDC
    assert s.router.epoch_buyback(epoch) == 180 * USDC
    assert s.router.last_routed_batch() == 1


def test_route_fees__odd_amount__treasury_takes_dust_and_sum_is_exact(system):
    route_fees(system, 1, 999_999)
    # insurance floor(99,999.9) = 99,999; net 900,000; 450,000 / 180,000 / 270,000
    assert system.router.preview_split(999_999) == [99_999, 900_000, 450_000, 180_000, 270_000]
    assert system.router.preview_split(7) == [0, 7, 3, 1, 3]
    t = system.router
    assert t.total_to_insurance() + t.total_to_stakers() + t.total_to_buyback() + t.total_to_treasury() == 999_999


def test_route_fees__stranger__reverts(system, stranger):
    with boa.env.prank(stranger), boa.reverts("fee_router: caller is not the exchange"):
        system.router.route_fees(1, 1)


def test_route_fees__same_batch_twice__reverts(system):
    route_fees(system, 4, 10 * USDC)
    with boa.reverts("fee_router: batch already routed"):
        route_fees(system, 4, 10 * USDC)
    with boa.reverts("fee_router: batch already routed"):
        route_fees(system, 3, 10 * USDC)


def test_route_fees__zero__reverts(system):
    with boa.env.prank(system.exchange), boa.reverts("fee_router: zero amount"):
        system.router.route_fees(1, 0)


def test_set_revenue_shares__governance__applies_and_logs(system, deployer):
    with boa.env.prank(deployer):
        system.router.set_revenue_shares(6 * 10**17, 3 * 10**17, 10**17)
    event = system.router.get_logs()[-1]
    assert (event.staker_share, event.buyback_share, event.treasury_share) == (6 * 10**17, 3 * 10**17, 10**17)
    assert system.router.treasury_share() == 10**17
    assert system.router.preview_split(1_000 * USDC) == [100 * USDC, 900 * USDC, 540 * USDC, 270 * USDC, 90 * USDC]


def test_set_revenue_shares__out_of_bounds__reverts(system, deployer):
    r = system.router
    with boa.env.prank(deployer):
        with boa.reverts("fee_router: staker share out of bounds"):
            r.set_revenue_shares(8 * 10**17 + 1, 10**17, WAD - 9 * 10**17 - 1)
        with boa.reverts("fee_router: buyback share out of bounds"):
            r.set_revenue_shares(5 * 10**17, 5 * 10**16 - 1, WAD - 55 * 10**16 + 1)
        with boa.reverts("fee_router: buyback share out of bounds"):
            r.set_revenue_shares(0, 5 * 10**17 + 1, 5 * 10**17 - 1)
        with boa.reverts("fee_router: shares do not sum to one"):
            r.set_revenue_shares(5 * 10**17, 2 * 10**17, 3 * 10**17 + 1)


def test_set_insurance_share__bounds__enforced(system, deployer):
    with boa.env.prank(deployer):
        system.router.set_insurance_share(5 * 10**17)
        assert system.router.get_logs()[-1].insurance_share == 5 * 10**17
        with boa.reverts("fee_router: insurance share out of bounds"):
            system.router.set_insurance_share(5 * 10**17 + 1)


def test_setters__stranger__reverts(system, stranger):
    r = system.router
    with boa.env.prank(stranger):
        with boa.reverts("ownable: caller is not the owner"):
            r.set_insurance_share(0)
        with boa.reverts("ownable: caller is not the owner"):
            r.set_revenue_shares(5 * 10**17, 2 * 10**17, 3 * 10**17)
        with boa.reverts("ownable: caller is not the owner"):
            r.set_treasury(stranger)


def test_set_treasury__zero__reverts_and_valid_updates(system, deployer, stranger):
    with boa.env.prank(deployer):
        with boa.reverts("fee_router: zero address"):
            system.router.set_treasury(ZERO)
        system.router.set_treasury(stranger)
    route_fees(system, 1, 100 * USDC)
    # the new treasury gets 30% of the 90 USDC of net revenue; with nobody
    # staked, the stakers' 45 USDC waits in Staking for the next notification
    assert system.usdc.balanceOf(stranger) == 27 * USDC
    assert system.staking.queued_rewards() == 45 * USDC


def test_set_exchange__second_time__reverts(system, deployer, stranger):
    with boa.env.prank(deployer), boa.reverts("fee_router: exchange already set"):
        system.router.set_exchange(stranger)
