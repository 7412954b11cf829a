"""Exchange: withdrawals against initial margin, the margin check after a
batch, pause, funding payments, liquidations and the escape hatch, with
exact worked numbers."""

import boa
import pytest

from engine.core.rules import (
    bankruptcy_price,
    funding_index_step,
    funding_owed,
    liquidation_fee,
    position_value,
    trade_cash,
)
from tests.contracts.conftest import (
    NO_JEX,
    ESCAPE_DELAY,
    ETH,
    ETH_PRICE,
    SETTLER_ROLE,
    USDC,
    WAD,
)

STEP = WAD // 1000


def ioc_pair(desk, buyer, seller, size, price, *, buyer_rests=True, buyer_flags=0,
             seller_flags=0):
    rest_flags, take_flags = (buyer_flags, seller_flags | 4) if buyer_rests else (
        seller_flags, buyer_flags | 4)
    if buyer_rests:
        m = desk.leg(buyer, ETH, True, size, price, flags=rest_flags)
        t = desk.leg(seller, ETH, False, size, price, flags=take_flags)
    else:
        m = desk.leg(seller, ETH, False, size, price, flags=rest_flags)
        t = desk.leg(buyer, ETH, True, size, price, flags=take_flags)
    return desk.fill(m, t, size, price)


# ------------------------------------------------------------------ deposit / withdraw


def test_deposit__tokens__cash_in_wad_and_event(desk, trader):
    desk.fund(trader, 1_234_567)
    log = [x for x in desk.exchange.get_logs() if type(x).__name__ == "Deposit"][0]
    assert desk.exchange.cash(trader.address) == 1_234_567 * 10**12
    assert (type(log).__name__, log.amount, log.cash) == ("Deposit", 1_234_567, 1_234_567 * 10**12)
    desk.check_conservation()


def test_deposit__zero__reverts(desk, trader):
    with boa.env.prank(trader.address), boa.reverts("exchange: zero amount"):
        desk.exchange.deposit(0)


def test_withdraw__free_cash__paid_in_tokens(desk, trader):
    desk.fund(trader, 500 * USDC)
    desk.withdraw(trader, 200 * USDC)
    assert desk.usdc.balanceOf(trader.address) == 200 * USDC
    assert desk.exchange.cash(trader.address) == 300 * WAD
    with boa.reverts("exchange: below initial margin"):
        desk.withdraw(trader, 300 * USDC + 1)
    desk.check_conservation()


def test_withdraw__exactly_at_initial_margin__passes_one_unit_more_reverts(desk, trader, maker):
    desk.fund(trader, 1_000 * USDC)
    desk.fund(maker, 10_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    # equity 1000, IM = 2000 x 5% = 100: 900 USDC are free
    assert desk.exchange.equity(trader.address) == 1_000 * WAD
    assert desk.exchange.initial_margin(trader.address) == 100 * WAD
    assert desk.exchange.maintenance_margin(trader.address) == 60 * WAD
    with boa.reverts("exchange: below initial margin"):
        desk.withdraw(trader, 900 * USDC + 1)
    desk.withdraw(trader, 900 * USDC)
    assert desk.exchange.equity(trader.address) == desk.exchange.initial_margin(trader.address)
    desk.check_conservation()


def test_withdraw__zero__reverts(desk, trader):
    with boa.env.prank(trader.address), boa.reverts("exchange: zero amount"):
        desk.exchange.withdraw(0)


def test_withdraw__during_final_settlement__free_cash_still_allowed(desk, trader):
    desk.fund(trader, 100 * USDC)
    boa.env.time_travel(seconds=ESCAPE_DELAY)
    desk.exchange.start_final_settlement()
    desk.withdraw(trader, 40 * USDC)
    with boa.env.prank(trader.address):
        desk.exchange.withdraw_final()
    assert desk.usdc.balanceOf(trader.address) == 100 * USDC
    desk.check_conservation()


def test_init__token_with_19_decimals__reverts(desk, contract_deployers):
    token = boa.loads("""
# pragma version ~=0.4.3
@external
@view
def decimals() -> uint8:
    return 19
""")
    with boa.reverts("exchange: token decimals above 18"):
        contract_deployers["Exchange"].deploy(token.address, desk.markets.address, ESCAPE_DELAY,
                                              *NO_JEX)


def test_set_exchange__zero_address__reverts(desk, contract_deployers, monkeypatch):
    # titanoboa renders repr(contract) (a storage dump) on every revert, and that dump
    # crashes on this contract's struct-valued HashMap in some test orders (StructT
    # key_type): give the contract class a plain repr for this test
    with boa.env.prank(desk.admin.address):
        fresh = contract_deployers["Markets"].deploy()
    monkeypatch.setattr(type(fresh), "__repr__", lambda self: f"<contract {self.address}>")
    with boa.env.prank(desk.admin.address):
        with boa.reverts("markets: zero address"):
            fresh.set_exchange("0x" + "00" * 20)


def test_withdraw__paused__still_allowed(desk, trader):
    desk.fund(trader, 100 * USDC)
    with boa.env.prank(desk.guardian.address):
        desk.exchange.pause()
    desk.withdraw(trader, 100 * USDC)
    assert desk.usdc.balanceOf(trader.address) == 100 * USDC


# ------------------------------------------------------------------ margin after a batch


def test_settle__buyer_below_initial_margin__reverts(desk, trader, maker):
    desk.fund(trader, 99 * USDC)
    desk.fund(maker, 10_000 * USDC)
    with boa.reverts("exchange: below initial margin after batch"):
        desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    desk.fund(trader, 1 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])


def test_settle__under_margin_account_reduces__accepted_increase_reverts(desk, trader, maker):
    desk.fund(trader, 150 * USDC)
    desk.fund(maker, 10_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    desk.post_price(ETH, 1_900 * WAD)  # equity 50 < IM 95
    with boa.reverts("exchange: below initial margin after batch"):
        desk.settle([ioc_pair(desk, trader, maker, STEP, 1_900 * WAD)])
    # selling half at the mark: IM - equity goes from 45 to 47.5 - 50 < 45
    desk.settle([ioc_pair(desk, maker, trader, WAD // 2, 1_900 * WAD)])
    assert desk.exchange.position(trader.address, ETH)[0] == WAD // 2


# ------------------------------------------------------------------ pause


def test_pause__increasing_fill_reverts_reducing_fill_and_deposit_pass(desk, trader, maker):
    desk.fund(trader, 1_000 * USDC)
    desk.fund(maker, 10_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    with boa.env.prank(desk.guardian.address):
        desk.exchange.pause()
    assert desk.exchange.paused()
    with boa.reverts("exchange: paused"):
        desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    desk.settle([ioc_pair(desk, maker, trader, WAD, ETH_PRICE)])  # both reduce to zero
    assert desk.exchange.position(trader.address, ETH) == (0, 0)
    desk.fund(trader, 1 * USDC)
    with boa.env.prank(desk.guardian.address):
        desk.exchange.unpause()
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])


def test_pause__flip_counts_as_increase__reverts(desk, trader, maker):
    desk.fund(trader, 1_000 * USDC)
    desk.fund(maker, 10_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    with boa.env.prank(desk.guardian.address):
        desk.exchange.pause()
    with boa.reverts("exchange: paused"):
        desk.settle([ioc_pair(desk, maker, trader, 2 * WAD, ETH_PRICE)])


def test_pause__stranger_or_twice__reverts(desk, stranger):
    with boa.env.prank(stranger.address), boa.reverts("access_control: account is missing role"):
        desk.exchange.pause()
    with boa.env.prank(desk.guardian.address):
        with boa.reverts("exchange: not paused"):
            desk.exchange.unpause()
        desk.exchange.pause()
        with boa.reverts("exchange: already paused"):
            desk.exchange.pause()


# ------------------------------------------------------------------ funding


def test_funding__longs_pay_shorts__exact_and_dust_to_insurance(desk, traders):
    long_a, short_b, short_c, closer = traders[:4]
    for t in (long_a, short_b, short_c, closer):
        desk.fund(t, 100_000 * USDC)
    mark = 2_000 * WAD + 7  # an odd mark makes the index step and payments round
    desk.post_price(ETH, mark, mark)
    price = ETH_PRICE
    desk.settle([ioc_pair(desk, long_a, short_b, 1_001 * STEP, price),
                 ioc_pair(desk, long_a, short_c, 2_003 * STEP, price)])
    rate = 10**14 + 1
    desk.apply_funding(ETH, rate)
    index = funding_index_step(rate, mark)
    assert desk.index(ETH) == index
    sizes = {long_a: 3_004 * STEP, short_b: -1_001 * STEP, short_c: -2_003 * STEP}
    owed = {t: funding_owed(s, index, 0) for t, s in sizes.items()}
    for t, s in sizes.items():  # equity already counts the funding owed
        assert desk.exchange.equity(t.address) == (
            desk.exchange.cash(t.address) + position_value(s, mark) - owed[t])
    cash_before = {t: desk.exchange.cash(t.address) for t in sizes}
    # close everything against `closer` at the same price: each touch settles funding
    desk.settle([ioc_pair(desk, closer, long_a, 3_004 * STEP, price)])
    desk.settle([ioc_pair(desk, short_b, closer, 1_001 * STEP, price, buyer_rests=False),
                 ioc_pair(desk, short_c, closer, 2_003 * STEP, price, buyer_rests=False)])
    paid = {}
    for t, s in sizes.items():
        c = trade_cash(abs(s), price)
        leg = c.seller_receives if s > 0 else -c.buyer_pays
        paid[t] = cash_before[t] + leg - desk.exchange.cash(t.address)
        assert paid[t] == owed[t]
    assert owed[long_a] > 0 > owed[short_b]
    dust = sum(owed.values())
    assert 0 <= dust <= 3
    assert desk.exchange.open_interest(ETH) == 0
    assert desk.exchange.funding_pool(ETH) == 0
    trade_dust = sum(trade_cash(abs(s), price).dust for s in sizes.values()) * 2
    assert desk.exchange.insurance() == dust + trade_dust
    desk.check_conservation()


def test_funding__position_opened_after_interval__pays_nothing_for_it(desk, trader, maker):
    desk.fund(trader, 10_000 * USDC)
    desk.fund(maker, 10_000 * USDC)
    desk.apply_funding(ETH, 20 * 10**14)
    index = desk.index(ETH)
    assert index != 0
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    assert desk.exchange.position(trader.address, ETH) == (WAD, index)
    assert desk.exchange.equity(trader.address) == 10_000 * WAD
    desk.settle([ioc_pair(desk, maker, trader, WAD, ETH_PRICE)])
    assert desk.exchange.cash(trader.address) == 10_000 * WAD


# ------------------------------------------------------------------ liquidation


@pytest.fixture
def underwater(desk, trader, maker):
    """trader: long 1 ETH from 2000 with 120 USDC, then the mark falls to 1920
    (equity 40 < maintenance 57.6)."""
    desk.fund(trader, 120 * USDC)
    desk.fund(maker, 100_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    desk.post_price(ETH, 1_920 * WAD)
    return desk


def liquidation(desk, trader, maker, price, size=WAD, signer=None, fee=None, rate=5 * 10**15):
    order = desk.order(trader, ETH, False, size, price, flags=32 | 4)
    leg = desk.sign(signer or desk.settler, order)
    bid = desk.leg(maker, ETH, True, size, price)
    if fee is None:
        equity = desk.exchange.equity(trader.address)
        cash = desk.exchange.cash(trader.address) + trade_cash(size, price).seller_receives
        size_after = desk.exchange.position(trader.address, ETH)[0] - size
        equity_after = cash + position_value(size_after, 1_920 * WAD)
        fee = liquidation_fee(size, price, rate, equity_after)
        del equity
    return desk.fill(bid, leg, size, price, 0, fee), fee


def test_liquidation__at_bankruptcy_price__fee_capped_at_zero_equity(underwater, trader, maker):
    desk = underwater
    equity = desk.exchange.equity(trader.address)
    assert equity == 40 * WAD < desk.exchange.maintenance_margin(trader.address)
    bp = bankruptcy_price(WAD, 1_920 * WAD, equity)
    assert bp == 1_880 * WAD
    fill, fee = liquidation(desk, trader, maker, bp)
    assert fee == 0
    desk.settle([fill])
    assert desk.exchange.position(trader.address, ETH) == (0, 0)
    assert desk.exchange.equity(trader.address) == 0
    desk.check_conservation()


def test_liquidation__better_than_bankruptcy__fee_to_insurance(underwater, trader, maker):
    desk = underwater
    insurance = desk.exchange.insurance()
    fill, fee = liquidation(desk, trader, maker, 1_900 * WAD)
    assert fee == 95 * WAD // 10  # 0.5% of 1900, below the 20 of equity left
    desk.settle([fill])
    log = [x for x in desk.exchange.get_logs() if type(x).__name__ == "Liquidated"][0]
    assert (log.account, log.size, log.price, log.fee) == (trader.address, WAD, 1_900 * WAD, fee)
    assert desk.exchange.cash(trader.address) == 20 * WAD - fee
    assert desk.exchange.insurance() == insurance + fee
    desk.check_conservation()


def test_liquidation__beyond_bankruptcy__reverts(underwater, trader, maker):
    desk = underwater
    fill, _ = liquidation(desk, trader, maker, 1_879_99 * WAD // 100, fee=0)
    with boa.reverts("exchange: price beyond bankruptcy"):
        desk.settle([fill])


def test_liquidation__above_maintenance__reverts(underwater, trader, maker):
    desk = underwater
    desk.post_price(ETH, 1_950 * WAD)  # equity 70 >= maintenance 58.5
    fill, _ = liquidation(desk, trader, maker, 1_950 * WAD, fee=0)
    with boa.reverts("exchange: account not liquidatable"):
        desk.settle([fill])


def test_liquidation__signed_by_trader__reverts(underwater, trader, maker):
    desk = underwater
    fill, _ = liquidation(desk, trader, maker, 1_900 * WAD, signer=trader)
    with boa.reverts("exchange: engine order not signed by settler"):
        desk.settle([fill])


def test_liquidation__wrong_fee_field__reverts(underwater, trader, maker):
    desk = underwater
    fill, fee = liquidation(desk, trader, maker, 1_900 * WAD)
    for bad in (fee - 1, fee + 1):
        with boa.reverts("exchange: wrong liquidation fee"):
            desk.settle([fill[:7] + (bad,)])


def test_liquidation__larger_than_position__reverts(underwater, trader, maker):
    desk = underwater
    fill, _ = liquidation(desk, trader, maker, 1_900 * WAD, size=2 * WAD, fee=0)
    with boa.reverts("exchange: reduce-only increases position"):
        desk.settle([fill])


def test_liquidation__settler_role_revoked__reverts(underwater, trader, maker):
    desk = underwater
    fill, _ = liquidation(desk, trader, maker, 1_900 * WAD, signer=desk.guardian)
    with boa.reverts("exchange: engine order not signed by settler"):
        desk.settle([fill])
    assert not desk.exchange.hasRole(SETTLER_ROLE, desk.guardian.address)


# ------------------------------------------------------------------ escape hatch


def test_escape_hatch__end_to_end__everyone_withdraws_equity(desk, trader, maker, stranger):
    desk.fund(trader, 1_000 * USDC)
    desk.fund(maker, 5_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    boa.env.time_travel(seconds=ESCAPE_DELAY - 1)
    with boa.reverts("exchange: escape delay not elapsed"):
        desk.exchange.start_final_settlement()
    boa.env.time_travel(seconds=1)
    desk.post_price(ETH, 2_010 * WAD + 3)
    with boa.env.prank(stranger.address):
        desk.exchange.start_final_settlement()
    assert desk.exchange.final_settlement()
    with boa.reverts("exchange: final settlement started"):
        desk.exchange.start_final_settlement()
    with boa.reverts("exchange: final settlement"):
        desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    with boa.env.prank(trader.address), boa.reverts("exchange: final settlement"):
        desk.exchange.deposit(1)
    with boa.reverts("markets: final settlement"):
        desk.post_price(ETH, ETH_PRICE)
    with boa.reverts("markets: final settlement"):
        desk.apply_funding(ETH, 0)
    mark = 2_010 * WAD + 3
    expected = {
        trader: -1_000 * WAD + position_value(WAD, mark),
        maker: 7_000 * WAD + position_value(-WAD, mark),
    }
    for actor, equity in expected.items():
        assert desk.exchange.equity(actor.address) == equity
        with boa.env.prank(actor.address):
            desk.exchange.withdraw_final()
        assert desk.usdc.balanceOf(actor.address) == equity // 10**12
        assert desk.exchange.cash(actor.address) == 0
        assert desk.exchange.position(actor.address, ETH) == (0, 0)
        desk.check_conservation()
    assert desk.exchange.insurance() >= 0


def test_escape_hatch__negative_equity__pays_nothing_insurance_absorbs(desk, trader, maker):
    desk.fund(trader, 150 * USDC)
    desk.fund(maker, 5_000 * USDC)
    desk.settle([ioc_pair(desk, trader, maker, WAD, ETH_PRICE)])
    boa.env.time_travel(seconds=ESCAPE_DELAY)
    desk.post_price(ETH, 1_800 * WAD)
    desk.exchange.start_final_settlement()
    with boa.env.prank(trader.address):
        desk.exchange.withdraw_final()
    assert desk.usdc.balanceOf(trader.address) == 0
    desk.check_conservation()
    # the maker's 5,200 of equity meets 5,150 held: 5,150 paid, 50 stays a claim
    with boa.env.prank(maker.address):
        desk.exchange.withdraw_final()
    assert desk.usdc.balanceOf(maker.address) == 5_150 * USDC
    assert desk.exchange.cash(maker.address) == 50 * WAD
    assert desk.exchange.insurance() == -50 * WAD
    desk.check_conservation()


def test_withdraw_final__before_start__reverts(desk, trader):
    with boa.env.prank(trader.address), boa.reverts("exchange: final settlement not started"):
        desk.exchange.withdraw_final()
