"""Orders the engine makes and the settler signs (flags 32, 64, 128), for the
contract tests of liquidation backstops (test_backstop.py, test_jex_wiring.py)."""

from engine.core.orders import Order
from tests.contracts.conftest import ETH, ETH_PRICE, USDC, WAD

LIQ, BACKSTOP, STEP, IOC, RO = 32, 64, 128, 4, 1
MARK = 1_920 * WAD


def engine_leg(desk, account: str, is_buy: bool, size: int, limit: int, flags: int,
               max_fee_rate: int = 0):
    """An order the engine makes for `account`, signed by the settler."""
    desk._nonce += 1
    order = Order(account, ETH, is_buy, size, limit, 0, flags, max_fee_rate, desk._nonce, 0)
    return desk.sign(desk.settler, order)


def fund_insurance(desk, maker, whale):
    """Liquidate a 10 ETH long (1,200 USDC, equity 400 < MM 576 at 1920) at 1900 to
    the maker's bid: fee 0.5% x 19,000 = 95 to the insurance account."""
    desk.fund(whale, 1_200 * USDC)
    desk.post_price(ETH, ETH_PRICE)
    desk.settle([desk.fill(desk.leg(whale, ETH, True, 10 * WAD, ETH_PRICE),
                           desk.leg(maker, ETH, False, 10 * WAD, ETH_PRICE, flags=IOC),
                           10 * WAD, ETH_PRICE)])
    desk.post_price(ETH, MARK)
    liq = engine_leg(desk, whale.address, False, 10 * WAD, 1_900 * WAD, LIQ | IOC | RO)
    bid = desk.leg(maker, ETH, True, 10 * WAD, 1_900 * WAD)
    desk.settle([desk.fill(bid, liq, 10 * WAD, 1_900 * WAD, 0, 95 * WAD)])
    assert desk.exchange.insurance() == 95 * WAD
