"""InsuranceFund: caused inflows, bad-debt outflows, coverage ratio, wiring."""

from __future__ import annotations

import boa

from tests.contracts.jex_fixtures import *  # noqa: F403
from tests.contracts.jex_fixtures import JEX, USDC, WAD, contract, give_jex, route_fees

ZERO = "0x" + "00" * 20


def _liquidation_fee(s, account, batch_id, amount):
    s.usdc.mint(s.exchange, amount)
    with boa.env.prank(s.exchange):
        s.usdc.approve(s.insurance.address, amount)
        s.insurance.deposit_liquidation_fee(account, batch_id, amount)


def test_deposit_liquidation_fee__exchange__recorded_with_cause(system, trader):
    s = system
    _liquidation_fee(s, trader, 7, 250 * USDC)
    logs = s.insurance.get_logs()
    assert [type(e).__name__ for e in logs][-1] == "LiquidationFeeReceived"
    event = logs[-1]
    assert (event.account, event.batch_id, event.amount, event.balance) == (trader, 7, 250 * USDC, 250 * USDC)
    assert s.insurance.fund_balance() == 250 * USDC
    assert s.insurance.total_liquidation_fees() == 250 * USDC
    assert s.insurance.total_inflows() == 250 * USDC


def test_deposit_liquidation_fee__stranger__reverts(system, stranger, trader):
    with boa.env.prank(stranger), boa.reverts("insurance: caller is not the exchange"):
        system.insurance.deposit_liquidation_fee(trader, 1, 1)


def test_deposit_liquidation_fee__zero__reverts(system, trader):
    with boa.env.prank(system.exchange), boa.reverts("insurance: zero amount"):
        system.insurance.deposit_liquidation_fee(trader, 1, 0)


def test_deposit_fee_share__stranger__reverts(system, stranger):
    with boa.env.prank(stranger), boa.reverts("insurance: caller is not the fee router"):
        system.insurance.deposit_fee_share(1, 1)


def test_deposit_fee_share__routed_fees__ten_percent_recorded(system):
    route_fees(system, 1, 1_000 * USDC)
    assert system.insurance.total_fee_shares() == 100 * USDC
    assert system.insurance.fund_balance() == 100 * USDC
    logs = system.router.get_logs(include_child_logs=True)
    events = [e for e in logs if type(e).__name__ == "FeeShareReceived"]
    assert [(e.batch_id, e.amount, e.balance) for e in events] == [(1, 100 * USDC, 100 * USDC)]


def test_cover_bad_debt__exchange__pays_and_records_account_and_batch(system, trader):
    s = system
    _liquidation_fee(s, trader, 1, 1_000 * USDC)
    with boa.env.prank(s.exchange):
        paid = s.insurance.cover_bad_debt(trader, 9, 400 * USDC)
    event = s.insurance.get_logs()[-1]
    assert paid == 400 * USDC
    assert (event.account, event.batch_id, event.requested, event.covered, event.balance) == (
        trader, 9, 400 * USDC, 400 * USDC, 600 * USDC)
    assert s.usdc.balanceOf(s.exchange) == 400 * USDC
    assert s.insurance.total_outflows() == 400 * USDC
    assert s.insurance.fund_balance() == 600 * USDC


def test_cover_bad_debt__shortfall_above_fund__pays_what_it_has(system, trader):
    s = system
    _liquidation_fee(s, trader, 1, 300 * USDC)
    with boa.env.prank(s.exchange):
        paid = s.insurance.cover_bad_debt(trader, 2, 500 * USDC)
    assert paid == 300 * USDC
    assert s.insurance.fund_balance() == 0
    assert s.insurance.total_bad_debt_covered() == 300 * USDC


def test_cover_bad_debt__same_account_and_batch_twice__reverts(system, trader):
    s = system
    _liquidation_fee(s, trader, 1, 300 * USDC)
    with boa.env.prank(s.exchange):
        s.insurance.cover_bad_debt(trader, 2, 100 * USDC)
        with boa.reverts("insurance: bad debt already covered"):
            s.insurance.cover_bad_debt(trader, 2, 100 * USDC)


def test_cover_bad_debt__stranger__reverts(system, stranger, trader):
    with boa.env.prank(stranger), boa.reverts("insurance: caller is not the exchange"):
        system.insurance.cover_bad_debt(trader, 1, 1)


def test_cover_bad_debt__zero__reverts(system, trader):
    with boa.env.prank(system.exchange), boa.reverts("insurance: zero amount"):
        system.insurance.cover_bad_debt(trader, 1, 0)


def test_coverage_ratio__fund_and_open_interest__wad_ratio(system, trader):
    _liquidation_fee(system, trader, 1, 5_000 * USDC)
    # 5,000 USDC over 200,000 USDC of open interest = 2.5%
    assert system.insurance.coverage_ratio(200_000 * WAD) == 25 * 10**15
    assert system.insurance.coverage_ratio(0) == 2**256 - 1
    # 5,000 / 3 rounds down
    assert system.insurance.coverage_ratio(3 * WAD) == 5_000 * WAD // 3


def test_contribute__anyone__recorded_as_contribution(system, stranger):
    s = system
    s.usdc.mint(stranger, 50 * USDC)
    with boa.env.prank(stranger):
        s.usdc.approve(s.insurance.address, 50 * USDC)
        s.insurance.contribute(50 * USDC)
    assert s.insurance.total_contributions() == 50 * USDC
    assert s.insurance.fund_balance() == s.insurance.total_inflows() - s.insurance.total_outflows()


def test_contribute_jex__holder__jex_reserve_grows(system, stranger):
    s = system
    give_jex(s, stranger, 1_000 * JEX)
    with boa.env.prank(stranger):
        s.jex.approve(s.insurance.address, 1_000 * JEX)
        s.insurance.contribute_jex(1_000 * JEX)
    assert s.insurance.jex_balance() == 1_000 * JEX
    assert s.jex.balanceOf(s.insurance.address) == 1_000 * JEX


def test_absorb_surplus__plain_transfer__recorded_then_nothing_left(system, stranger):
    s = system
    s.usdc.mint(stranger, 20 * USDC)
    with boa.env.prank(stranger):
        s.usdc.transfer(s.insurance.address, 20 * USDC)
    assert s.insurance.fund_balance() == 20 * USDC
    assert s.insurance.total_inflows() == 0
    assert s.insurance.absorb_surplus() == 20 * USDC
    assert s.insurance.total_contributions() == 20 * USDC
    with boa.reverts("insurance: no surplus"):
        s.insurance.absorb_surplus()


def test_set_exchange__second_time__reverts(system, deployer, stranger):
    with boa.env.prank(deployer), boa.reverts("insurance: exchange already set"):
        system.insurance.set_exchange(stranger)
    with boa.env.prank(deployer), boa.reverts("insurance: fee router already set"):
        system.insurance.set_fee_router(stranger)


def test_set_exchange__stranger__reverts(stranger):
    usdc = contract("MockUSDC").deploy()
    fund = contract("InsuranceFund").deploy(usdc.address, usdc.address)
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        fund.set_exchange(stranger)
    with boa.reverts("insurance: zero address"):
        fund.set_exchange(ZERO)
