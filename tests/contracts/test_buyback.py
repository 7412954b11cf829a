"""BuybackBurn: the epoch's Dutch auction of USDC for JEX, and the burn."""

from __future__ import annotations

import boa

from tests.contracts.jex_fixtures import *  # noqa: F403
from tests.contracts.jex_fixtures import DAY, JEX, SUPPLY, USDC, WAD, WEEK, give_jex, route_fees, to_epoch_start


def _started(s, fees=1_000 * USDC):
    """Route `fees` (20% of the 90% net goes to the buyback) and start an auction at an epoch start."""
    route_fees(s, 1, fees)
    to_epoch_start()
    return s.buyback.start_auction()


def _fill(s, buyer, usdc_amount, max_price=2**256 - 1):
    give_jex(s, buyer, 10_000 * JEX)
    with boa.env.prank(buyer):
        s.jex.approve(s.buyback.address, 10_000 * JEX)
        return s.buyback.fill(usdc_amount, max_price)


def test_start_auction__funded__lot_and_prices_from_reference(system):
    assert _started(system) == 1
    a = system.buyback.auctions(1)
    now = boa.env.evm.patch.timestamp
    # lot 180 USDC; reference 4 JEX/USDC: start 2x = 8, end 0.5x = 2
    assert (a.start_time, a.end_time, a.start_price, a.end_price, a.lot, a.remaining) == (
        now, now + DAY, 8 * WAD, 2 * WAD, 180 * USDC, 180 * USDC)
    assert system.buyback.current_price() == 8 * WAD


def test_current_price__halfway__falls_linearly(system):
    _started(system)
    boa.env.time_travel(seconds=DAY // 2)
    assert system.buyback.current_price() == 5 * WAD
    boa.env.time_travel(seconds=DAY // 4)
    assert system.buyback.current_price() == 35 * WAD // 10
    assert system.buyback.quote(1 * USDC) == 35 * JEX // 10


def test_fill__halfway__pays_jex_burns_it_and_gets_usdc(system, trader):
    s = system
    _started(s)
    boa.env.time_travel(seconds=DAY // 2)
    paid = _fill(s, trader, 100 * USDC, 5 * WAD)
    logs = s.buyback.get_logs()
    assert paid == 500 * JEX
    assert s.usdc.balanceOf(trader) == 100 * USDC
    assert s.jex.balanceOf(trader) == 9_500 * JEX
    assert s.jex.totalSupply() == SUPPLY - 500 * JEX
    assert s.jex.balanceOf(s.buyback.address) == 0
    assert s.buyback.total_jex_burned() == 500 * JEX
    assert s.buyback.auctions(1).remaining == 80 * USDC
    filled, burned = logs[-2], logs[-1]
    assert (filled.auction_id, filled.buyer, filled.price, filled.usdc_amount, filled.jex_amount, filled.remaining) == (
        1, trader, 5 * WAD, 100 * USDC, 500 * JEX, 80 * USDC)
    assert (burned.amount, burned.total_burned) == (500 * JEX, 500 * JEX)


def test_fill__odd_amount__jex_rounds_up(system, trader):
    _started(system)
    boa.env.time_travel(seconds=DAY // 3)  # price 8 - 6/3 = 6
    assert system.buyback.current_price() == 6 * WAD
    assert _fill(system, trader, 1) == 6 * 10**12  # one micro-USDC costs 6e12 JEX wei


def test_fill__price_above_limit__reverts(system, trader):
    _started(system)
    with boa.reverts("buyback: price above limit"):
        _fill(system, trader, 1 * USDC, 8 * WAD - 1)


def test_fill__more_than_lot__reverts(system, trader):
    _started(system)
    with boa.reverts("buyback: amount exceeds lot"):
        _fill(system, trader, 180 * USDC + 1)


def test_fill__zero__reverts(system, trader):
    _started(system)
    with boa.reverts("buyback: zero amount"):
        _fill(system, trader, 0)


def test_fill__after_end__reverts(system, trader):
    _started(system)
    boa.env.time_travel(seconds=DAY)
    assert system.buyback.current_price() == 0
    with boa.reverts("buyback: no running auction"):
        _fill(system, trader, 1)


def test_start_auction__same_epoch_twice__reverts(system):
    _started(system)
    boa.env.time_travel(seconds=2 * DAY)
    with boa.reverts("buyback: auction already held this epoch"):
        system.buyback.start_auction()


def test_start_auction__empty__reverts(system):
    with boa.reverts("buyback: nothing to sell"):
        system.buyback.start_auction()


def test_start_auction__previous_still_running__reverts(system, deployer):
    s = system
    with boa.env.prank(deployer):
        s.buyback.set_auction_duration(6 * DAY)
    route_fees(s, 1, 1_000 * USDC)
    to_epoch_start(WEEK - 3600)
    s.buyback.start_auction()
    to_epoch_start()
    with boa.reverts("buyback: auction running"):
        s.buyback.start_auction()


def test_start_auction__after_fills__reference_follows_last_price(system, trader):
    s = system
    _started(s)
    boa.env.time_travel(seconds=DAY // 2)
    _fill(s, trader, 100 * USDC)  # at 5 JEX/USDC
    route_fees(s, 2, 1_000 * USDC)
    to_epoch_start()
    assert s.buyback.start_auction() == 2
    a = s.buyback.auctions(2)
    assert s.buyback.reference_price() == 5 * WAD
    # unsold 80 USDC rolls over, plus 180 new
    assert (a.start_price, a.end_price, a.lot) == (10 * WAD, 25 * WAD // 10, 260 * USDC)


def test_start_auction__nothing_sold__reference_drops_to_end_price(system):
    s = system
    _started(s)
    to_epoch_start()
    s.buyback.start_auction()
    a = s.buyback.auctions(2)
    assert s.buyback.reference_price() == 2 * WAD
    assert (a.start_price, a.end_price, a.lot) == (4 * WAD, 1 * WAD, 180 * USDC)


def test_fund__stranger__reverts(system, stranger):
    with boa.env.prank(stranger), boa.reverts("buyback: caller is not the fee router"):
        system.buyback.fund(1, 1)


def test_setters__out_of_bounds__revert(system, deployer, stranger):
    b = system.buyback
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        b.set_auction_duration(3600)
    with boa.env.prank(deployer):
        with boa.reverts("buyback: duration out of bounds"):
            b.set_auction_duration(3599)
        with boa.reverts("buyback: duration out of bounds"):
            b.set_auction_duration(6 * DAY + 1)
        with boa.reverts("buyback: start multiplier out of bounds"):
            b.set_multipliers(11 * 10**17 - 1, WAD // 2)
        with boa.reverts("buyback: start multiplier out of bounds"):
            b.set_multipliers(10 * WAD + 1, WAD // 2)
        with boa.reverts("buyback: end multiplier out of bounds"):
            b.set_multipliers(2 * WAD, 10**17 - 1)
        with boa.reverts("buyback: end multiplier out of bounds"):
            b.set_multipliers(2 * WAD, 95 * 10**16 + 1)
        b.set_multipliers(3 * WAD, 9 * 10**17)
        assert (b.get_logs()[-1].start_multiplier, b.get_logs()[-1].end_multiplier) == (3 * WAD, 9 * 10**17)
