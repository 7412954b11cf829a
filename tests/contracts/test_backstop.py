"""Exchange: what the book cannot absorb of a liquidation -- the insurance
account's takeover and auto-deleveraging (flag 64, "backstop") at exactly the
bankruptcy price, and funding-risk step reductions (flag 128) of accounts
below initial margin; all signed by the settler, with worked numbers."""

import boa
import pytest

from engine.core.accounts import INSURANCE
from engine.core.rules import bankruptcy_price, trade_cash
from tests.contracts.conftest import ETH, ETH_PRICE, USDC, WAD
from tests.contracts.engine_orders import (
    BACKSTOP, IOC, LIQ, MARK, RO, STEP, engine_leg, fund_insurance,
)


def open_long(desk, trader, maker) -> None:
    """trader: long 1 ETH at 2000 with 120 USDC (equity 120, IM 100), maker short."""
    desk.fund(trader, 120 * USDC)
    desk.fund(maker, 100_000 * USDC)
    desk.settle([desk.fill(desk.leg(trader, ETH, True, WAD, ETH_PRICE),
                           desk.leg(maker, ETH, False, WAD, ETH_PRICE, flags=IOC), WAD, ETH_PRICE)])


@pytest.fixture
def underwater(desk, trader, maker):
    """trader: long 1 ETH from 2000 (maker short) with 120 USDC, then the mark
    falls to 1920: equity 40 < maintenance 57.6, bankruptcy price 1880."""
    open_long(desk, trader, maker)
    desk.post_price(ETH, MARK)
    return desk


def backstop_fill(desk, account: str, counterparty: str, size: int, price: int,
                  counterparty_flags: int, fees: tuple[int, int] = (0, 0)) -> tuple:
    """The long `account` sells `size` to `counterparty` at `price` (the backstop is maker)."""
    liq = engine_leg(desk, account, False, size, price, LIQ | IOC | RO)
    bs = engine_leg(desk, counterparty, True, size, price, counterparty_flags)
    return desk.fill(bs, liq, size, price, *fees)


def test_insurance__constant__is_the_dead_address(desk):
    assert desk.exchange.INSURANCE() == INSURANCE
    assert desk.exchange.insurance() == desk.exchange.cash(INSURANCE) == 0


def test_settle__takeover_at_bankruptcy__insurance_holds_the_position(underwater, trader, maker,
                                                                     traders):
    desk = underwater
    fund_insurance(desk, maker, traders[5])
    bp = bankruptcy_price(WAD, MARK, desk.exchange.equity(trader.address))
    assert bp == 1_880 * WAD
    desk.settle([backstop_fill(desk, trader.address, INSURANCE, WAD, bp, BACKSTOP | IOC)])
    log = [x for x in desk.exchange.get_logs() if type(x).__name__ == "Backstopped"][0]
    assert (log.account, log.counterparty, log.market, log.size, log.price) == (
        trader.address, INSURANCE, ETH, WAD, bp)
    assert desk.exchange.position(trader.address, ETH) == (0, 0)
    assert desk.exchange.cash(trader.address) == 0
    assert desk.exchange.position(INSURANCE, ETH)[0] == WAD
    assert desk.exchange.insurance() == 95 * WAD - 1_880 * WAD
    # insurance equity 95 - 1880 + 1920 = 135 >= initial margin 96
    assert desk.exchange.equity(INSURANCE) == 135 * WAD
    desk.check_conservation()


def test_settle__takeover_without_insurance_margin__reverts(underwater, trader):
    desk = underwater  # insurance cash 0: equity after 40 < initial margin 96
    with boa.reverts("exchange: below initial margin after batch"):
        desk.settle([backstop_fill(desk, trader.address, INSURANCE, WAD, 1_880 * WAD,
                                   BACKSTOP | IOC)])


def test_settle__adl_at_bankruptcy__profitable_short_closed(underwater, trader, maker):
    desk = underwater  # maker: short 1 from 2000, +80 at 1920
    desk.settle([backstop_fill(desk, trader.address, maker.address, WAD, 1_880 * WAD,
                               BACKSTOP | IOC | RO)])
    assert desk.exchange.position(trader.address, ETH) == (0, 0)
    assert desk.exchange.position(maker.address, ETH) == (0, 0)
    assert desk.exchange.cash(trader.address) == 0
    assert desk.exchange.cash(maker.address) == 100_000 * WAD + 2_000 * WAD - 1_880 * WAD
    assert desk.exchange.open_interest(ETH) == 0
    desk.check_conservation()


def test_settle__adl_at_off_tick_bankruptcy__settles_exactly(desk, trader, maker):
    """A fee at the open leaves the bankruptcy price off the 0.01 tick grid."""
    desk.fund(trader, 120 * USDC)
    desk.fund(maker, 100_000 * USDC)
    fee = WAD // 3
    desk.settle([desk.fill(desk.leg(maker, ETH, False, WAD, ETH_PRICE),
                           desk.leg(trader, ETH, True, WAD, ETH_PRICE, flags=IOC),
                           WAD, ETH_PRICE, 0, fee)])
    desk.post_price(ETH, MARK)
    equity = desk.exchange.equity(trader.address)
    assert equity == 40 * WAD - fee
    bp = bankruptcy_price(WAD, MARK, equity)
    assert bp == 1_880 * WAD + fee and bp % (WAD // 100) != 0
    desk.settle([backstop_fill(desk, trader.address, maker.address, WAD, bp, BACKSTOP | IOC | RO)])
    assert desk.exchange.cash(trader.address) == 120 * WAD - fee - trade_cash(
        WAD, ETH_PRICE).buyer_pays + trade_cash(WAD, bp).seller_receives == 0
    desk.check_conservation()


def test_settle__adl_that_increases_a_position__reverts(underwater, trader, stranger):
    desk = underwater
    desk.fund(stranger, 10_000 * USDC)
    with boa.reverts("exchange: reduce-only increases position"):
        desk.settle([backstop_fill(desk, trader.address, stranger.address, WAD, 1_880 * WAD,
                                   BACKSTOP | IOC)])


@pytest.mark.parametrize("price, fees, message", [
    (1_881 * WAD, (0, 0), "exchange: bad backstop fill"),  # better than bankruptcy
    (1_880 * WAD - 1, (0, 0), "exchange: price beyond bankruptcy"),  # the liquidation's check
    (1_880 * WAD, (WAD, 0), "exchange: bad backstop fill"),
    (1_880 * WAD, (0, WAD), "exchange: bad backstop fill"),
])
def test_settle__backstop_off_bankruptcy_or_with_fee__reverts(underwater, trader, maker, price,
                                                              fees, message):
    desk = underwater
    fill = backstop_fill(desk, trader.address, maker.address, WAD, price, BACKSTOP | IOC | RO,
                         fees)
    with boa.reverts(message):
        desk.settle([fill])


def test_settle__backstop_against_a_signed_order__reverts(underwater, trader, maker):
    desk = underwater  # the trader's own sell, not a liquidation: no bankruptcy price
    sell = desk.leg(trader, ETH, False, WAD, 1_920 * WAD, flags=IOC | RO)
    bs = engine_leg(desk, maker.address, True, WAD, 1_920 * WAD, BACKSTOP | IOC | RO)
    with boa.reverts("exchange: bad backstop fill"):
        desk.settle([desk.fill(bs, sell, WAD, 1_920 * WAD)])


def test_settle__backstop_signed_by_counterparty__reverts(underwater, trader, maker):
    desk = underwater
    liq = engine_leg(desk, trader.address, False, WAD, 1_880 * WAD, LIQ | IOC | RO)
    bs = desk.leg(maker, ETH, True, WAD, 1_880 * WAD, flags=BACKSTOP | IOC | RO)
    with boa.reverts("exchange: engine order not signed by settler"):
        desk.settle([desk.fill(bs, liq, WAD, 1_880 * WAD)])


def test_settle__step_reduction_below_initial_margin__reduces(desk, trader, maker):
    """Mark 1950: equity 70, maintenance 58.5 <= 70 < initial 97.5: a quarter goes."""
    open_long(desk, trader, maker)
    desk.post_price(ETH, 1_950 * WAD)
    step = engine_leg(desk, trader.address, False, WAD // 4, 1_950 * WAD, STEP | IOC | RO,
                      max_fee_rate=5 * 10**14)
    bid = desk.leg(maker, ETH, True, WAD // 4, 1_950 * WAD)
    fee = 243_750_000_000_000_000  # 0.05% of 487.5
    desk.settle([desk.fill(bid, step, WAD // 4, 1_950 * WAD, 0, fee)])
    assert desk.exchange.position(trader.address, ETH)[0] == 3 * WAD // 4
    assert desk.exchange.equity(trader.address) == 70 * WAD - fee
    assert desk.exchange.fee_pool() == fee
    desk.check_conservation()


def test_settle__step_reduction_above_initial_margin__reverts(desk, trader, maker):
    open_long(desk, trader, maker)
    step = engine_leg(desk, trader.address, False, WAD // 4, ETH_PRICE, STEP | IOC | RO)
    bid = desk.leg(maker, ETH, True, WAD // 4, ETH_PRICE)
    with boa.reverts("exchange: account not liquidatable"):  # equity 120 >= initial 100
        desk.settle([desk.fill(bid, step, WAD // 4, ETH_PRICE)])


def test_settle__step_order_that_increases__reverts(desk, trader, maker):
    open_long(desk, trader, maker)
    desk.post_price(ETH, 1_950 * WAD)
    step = engine_leg(desk, trader.address, True, WAD // 4, 1_950 * WAD, STEP | IOC)
    ask = desk.leg(maker, ETH, False, WAD // 4, 1_950 * WAD)
    with boa.reverts("exchange: reduce-only increases position"):
        desk.settle([desk.fill(ask, step, WAD // 4, 1_950 * WAD)])
