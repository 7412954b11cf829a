"""The Exchange wired to the JEX economy: fee tiers from Staking (stake as of
the block before), sweep_fees to the FeeRouter and InsuranceFund, bad debt
drawn from the InsuranceFund. Exact numbers, exact revert messages."""

import boa
import pytest
from eth_utils import keccak

from engine.core.accounts import INSURANCE, Ledger
from engine.core.markets import default_markets
from engine.core.rules import fee_cap, trade_cash
from tests.contracts.conftest import (
    ESCAPE_DELAY, ETH, ETH_PRICE, FUNDING_ROLE, GOVERNANCE_ROLE, GUARDIAN_ROLE,
    PRICE_SIGNER_ROLE, SETTLER_ROLE, USDC, WAD, ZERO, Desk,
)
from tests.contracts.engine_orders import (
    BACKSTOP, IOC, LIQ, RO, engine_leg, fund_insurance,
)
from tests.contracts.jex_fixtures import JEX, REFERENCE_PRICE, SUPPLY, contract

BPS = WAD // 10_000
MAKER, TAKER = 2 * BPS, 5 * BPS


@pytest.fixture
def jex_desk(roles, contract_deployers):
    """A desk whose Exchange is wired to Staking, FeeRouter and InsuranceFund."""
    admin, treasury = roles["admin"].address, boa.env.generate_address("treasury")
    with boa.env.anchor():
        with boa.env.prank(admin):
            usdc = contract_deployers["MockUSDC"].deploy()
            jex = contract("JexToken").deploy(treasury, SUPPLY)
            fund = contract("InsuranceFund").deploy(usdc.address, jex.address)
            staking = contract("Staking").deploy(jex.address, usdc.address)
            buyback = contract("BuybackBurn").deploy(usdc.address, jex.address, REFERENCE_PRICE)
            router = contract("FeeRouter").deploy(usdc.address, fund.address, staking.address,
                                                  buyback.address, treasury)
            markets = contract_deployers["Markets"].deploy()
            ex = contract_deployers["Exchange"].deploy(usdc.address, markets.address, ESCAPE_DELAY,
                                                       staking.address, router.address,
                                                       fund.address)
            markets.set_exchange(ex.address)
            fund.set_exchange(ex.address)
            fund.set_fee_router(router.address)
            staking.set_fee_router(router.address)
            buyback.set_fee_router(router.address)
            router.set_exchange(ex.address)
            ex.grantRole(SETTLER_ROLE, roles["settler"].address)
            ex.grantRole(GUARDIAN_ROLE, roles["guardian"].address)
            markets.grantRole(GOVERNANCE_ROLE, roles["governor"].address)
            markets.grantRole(FUNDING_ROLE, roles["funder"].address)
            markets.grantRole(PRICE_SIGNER_ROLE, roles["price_signer"].address)
        with boa.env.prank(roles["governor"].address):
            markets.add_market(WAD // 100, WAD // 1000, 5 * WAD // 100, 3 * WAD // 100,
                               8 * 3600, WAD // 100, WAD // 100)
        desk = Desk(usdc, markets, ex, roles)
        desk.post_price(ETH, ETH_PRICE)
        desk.jex, desk.ifund, desk.staking, desk.router, desk.buyback = jex, fund, staking, router, buyback
        desk.treasury = treasury
        yield desk


def stake(desk, who, amount):
    with boa.env.prank(desk.treasury):
        desk.jex.transfer(who.address, amount)
    with boa.env.prank(who.address):
        desk.jex.approve(desk.staking.address, amount)
        desk.staking.stake(amount)


def legs(desk, maker, taker, size=WAD, price=ETH_PRICE):
    m = desk.leg(maker, ETH, True, size, price, max_fee_rate=10 * BPS)
    t = desk.leg(taker, ETH, False, size, price, flags=4, max_fee_rate=10 * BPS)
    return m, t


def test_constructor__partly_wired__reverts(roles, contract_deployers, desk):
    with boa.reverts("exchange: zero address"):
        contract_deployers["Exchange"].deploy(desk.usdc.address, desk.markets.address,
                                              ESCAPE_DELAY, desk.usdc.address, ZERO, ZERO)


def test_markets__fee_rates__defaults_and_bounds(jex_desk):
    mk = jex_desk.markets
    assert (mk.maker_fee_rate(ETH), mk.taker_fee_rate(ETH)) == (MAKER, TAKER)
    with boa.env.prank(jex_desk.governor.address):
        with boa.reverts("markets: maker fee out of bounds"):
            mk.set_maker_fee_rate(ETH, 10 * BPS + 1)
        with boa.reverts("markets: taker fee out of bounds"):
            mk.set_taker_fee_rate(ETH, 20 * BPS + 1)
        mk.set_taker_fee_rate(ETH, 7 * BPS)
    assert mk.market_risk(ETH)[8] == 7 * BPS


def test_settle__fee_at_base_rate__accepted_one_wei_more_refused(jex_desk, maker, taker):
    desk = jex_desk
    desk.fund(maker, 10_000 * USDC)
    desk.fund(taker, 10_000 * USDC)
    m, t = legs(desk, maker, taker)
    top = fee_cap(WAD, ETH_PRICE, TAKER)  # 1.0 ETH at 2000: 1 USDC
    assert top == WAD
    with boa.reverts("exchange: fee above tier"):
        desk.settle([desk.fill(m, t, WAD, ETH_PRICE, 0, top + 1)])
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE, fee_cap(WAD, ETH_PRICE, MAKER), top)])
    assert desk.exchange.fee_pool() == 4 * WAD // 10 + WAD


def test_settle__staked_tier__discounted_cap_and_flash_stake_gets_none(jex_desk, maker, taker):
    desk = jex_desk
    desk.fund(maker, 10_000 * USDC)
    desk.fund(taker, 10_000 * USDC)
    stake(desk, taker, 250_000 * JEX)  # tier 6: 40% off, counts from the next block
    discounted = TAKER * 60 // 100
    assert desk.staking.max_fee_rate(TAKER, taker.address, boa.env.evm.patch.block_number) == TAKER
    m, t = legs(desk, maker, taker)
    # same block as the stake: no discount, the full base rate is allowed
    with boa.env.anchor():
        desk.settle([desk.fill(m, t, WAD, ETH_PRICE, 0, fee_cap(WAD, ETH_PRICE, TAKER))])
    boa.env.time_travel(blocks=1)
    assert desk.staking.max_fee_rate(TAKER, taker.address,
                                     boa.env.evm.patch.block_number) == discounted
    with boa.reverts("exchange: fee above tier"):
        desk.settle([desk.fill(m, t, WAD, ETH_PRICE, 0, fee_cap(WAD, ETH_PRICE, discounted) + 1)])
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE, 0, fee_cap(WAD, ETH_PRICE, discounted))])
    assert desk.exchange.fee_pool() == 6 * WAD // 10


def test_sweep_fees__routes_token_units_and_leaves_wad_dust(jex_desk, maker, taker, stranger):
    desk = jex_desk
    desk.fund(maker, 10_000 * USDC)
    desk.fund(taker, 10_000 * USDC)
    with boa.env.prank(stranger.address), boa.reverts("exchange: nothing to sweep"):
        desk.exchange.sweep_fees()
    size, price = 1_234 * WAD // 1000, 2_001_37 * WAD // 100
    m, t = legs(desk, maker, taker, size, price)
    maker_fee, taker_fee = fee_cap(size, price, MAKER), fee_cap(size, price, TAKER)
    desk.settle([desk.fill(m, t, size, price, maker_fee, taker_fee)])
    fees = maker_fee + taker_fee
    dust = trade_cash(size, price).dust
    with boa.env.prank(stranger.address):
        desk.exchange.sweep_fees()
    units = fees // 10**12
    assert desk.exchange.fee_pool() == fees - units * 10**12
    assert desk.exchange.insurance() == dust  # below one token unit: stays
    assert desk.router.total_fees() == units
    assert desk.router.last_routed_batch() == 1
    insurance_share = units // 10
    assert desk.ifund.total_fee_shares() == insurance_share
    desk.check_conservation()
    # the router takes each batch once
    with boa.env.prank(stranger.address), boa.reverts("exchange: nothing to sweep"):
        desk.exchange.sweep_fees()


def test_cover_bad_debt__solvent_account__reverts(jex_desk, maker):
    desk = jex_desk
    desk.fund(maker, 10 * USDC)
    with boa.reverts("exchange: no bad debt"):
        desk.exchange.cover_bad_debt(maker.address)


def test_sweep_fees__insurance_holds_a_takeover__only_equity_above_its_margin(
        jex_desk, maker, trader, stranger, traders):
    """Insurance 95 (a liquidation fee), then it takes over a short of 1 ETH at its
    bankruptcy price 2120 (mark 2080): cash 2,215, equity 135, initial margin 104.
    The sweep sends the 31 above the margin to the InsuranceFund and leaves exactly
    the margin behind."""
    desk = jex_desk
    desk.fund(maker, 100_000 * USDC)
    fund_insurance(desk, maker, traders[5])
    desk.post_price(ETH, ETH_PRICE)
    desk.fund(trader, 120 * USDC)
    desk.settle([desk.fill(desk.leg(maker, ETH, True, WAD, ETH_PRICE),
                           desk.leg(trader, ETH, False, WAD, ETH_PRICE, flags=IOC),
                           WAD, ETH_PRICE)])
    desk.post_price(ETH, 2_080 * WAD)  # trader: equity 40 < maintenance 62.4
    bp = 2_120 * WAD
    liq = engine_leg(desk, trader.address, True, WAD, bp, LIQ | IOC | RO)
    take = engine_leg(desk, INSURANCE, False, WAD, bp, BACKSTOP | IOC)
    desk.settle([desk.fill(take, liq, WAD, bp)])
    assert desk.exchange.insurance() == 2_215 * WAD
    assert desk.exchange.equity(INSURANCE) == 135 * WAD
    assert desk.exchange.initial_margin(INSURANCE) == 104 * WAD
    with boa.env.prank(stranger.address):
        desk.exchange.sweep_fees()
    assert desk.ifund.total_exchange_surplus() == 31 * USDC
    assert desk.exchange.insurance() == 2_184 * WAD
    assert desk.exchange.equity(INSURANCE) == desk.exchange.initial_margin(INSURANCE)
    with boa.env.prank(stranger.address), boa.reverts("exchange: nothing to sweep"):
        desk.exchange.sweep_fees()
    desk.check_conservation()


ACCOUNTS_SLOT = 2  # Exchange storage: _accounts (HashMap[address, uint256])


def _word_slot(account: str) -> int:
    """Vyper's HashMap slot: keccak256(slot ++ key), both as 32-byte words."""
    return int.from_bytes(keccak(ACCOUNTS_SLOT.to_bytes(32, "big")
                                 + bytes.fromhex(account[2:]).rjust(32, b"\0")), "big")


def _set_cash(desk, account: str, cash: int) -> None:
    """Rewrite the cash bits (low 128, two's complement) of an account word."""
    slot = _word_slot(account)
    word = boa.env.get_storage(desk.exchange.address, slot)
    assert desk.exchange.cash(account) == (word & (2**128 - 1)) - (
        2**128 if word & 2**127 else 0)  # the layout this test assumes
    boa.env.set_storage(desk.exchange.address, slot,
                        (word & ~(2**128 - 1)) | (cash & (2**128 - 1)))


@pytest.mark.parametrize("fund_usdc, debt", [(1_000, 40 * WAD + 7), (25, 40 * WAD)])
def test_cover_bad_debt__flat_account_below_zero__split_equals_engine_ledger(
        jex_desk, trader, stranger, fund_usdc, debt):
    """A flat account at -debt (the insurance account holding its counterpart, so the
    tokens still cover every balance): the fund pays what it can, rounded up to token
    units; the account is credited up to zero, the rest goes to insurance -- exactly
    what engine.core.accounts.Ledger.receive_bad_debt_cover does with the same amount."""
    desk = jex_desk
    desk.fund(trader, 100 * USDC)
    _set_cash(desk, trader.address, -debt)
    _set_cash(desk, INSURANCE, 100 * WAD + debt)
    desk.check_conservation()
    desk.usdc.mint(stranger.address, fund_usdc * USDC)
    with boa.env.prank(stranger.address):
        desk.usdc.approve(desk.ifund.address, fund_usdc * USDC)
        desk.ifund.contribute(fund_usdc * USDC)
    desk.exchange.cover_bad_debt(trader.address)
    paid = (desk.ifund.total_bad_debt_covered()) * 10**12
    assert paid == min(fund_usdc * USDC, debt // 10**12 + 1) * 10**12

    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.deposit(trader.address, 1)
    ledger.accounts[trader.address].cash = -debt
    ledger.insurance = 100 * WAD + debt
    credited = ledger.receive_bad_debt_cover(trader.address, paid)
    assert desk.exchange.cash(trader.address) == ledger.accounts[trader.address].cash
    assert desk.exchange.insurance() == ledger.insurance
    assert credited == min(paid, debt)
    desk.check_conservation()
