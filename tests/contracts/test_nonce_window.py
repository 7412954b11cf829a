"""The nonce window: nonces 0 .. NONCE_WINDOW - 1 of a signer are spent as bits
of its account word (no extra slot for a new trader), larger nonces in the
used_nonces bitmap. Both halves behave the same at the boundary: fills, reuse,
cancels, the nonce_used / order_filled views, and cash is untouched."""

import boa
import pytest

from engine.core.rules import trade_cash
from tests.contracts.conftest import ETH, ETH_PRICE, USDC, WAD, filled_on_chain, order_tuple

WINDOW = 64
START = 100_000 * WAD


@pytest.fixture
def funded(desk, maker, taker):
    for actor in (maker, taker):
        desk.fund(actor, 100_000 * USDC)
    return desk


def test_nonce_window__constant__is_64(desk):
    assert desk.exchange.NONCE_WINDOW() == WINDOW


@pytest.mark.parametrize("nonce", [0, WINDOW - 1, WINDOW, 255, 256, 2**200])
def test_settle__nonce_at_window_boundary__spent_once_and_cash_exact(funded, maker, taker, nonce):
    desk, ex = funded, funded.exchange
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE, nonce=nonce)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=nonce)
    assert not ex.nonce_used(maker.address, nonce)
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    cash = trade_cash(WAD, ETH_PRICE)
    assert ex.nonce_used(maker.address, nonce) and ex.nonce_used(taker.address, nonce)
    assert filled_on_chain(ex, m.order) == WAD
    assert ex.cash(maker.address) == START - cash.buyer_pays
    assert ex.cash(taker.address) == START + cash.seller_receives
    in_window = nonce < WINDOW
    assert (ex.used_nonces(maker.address, nonce >> 8) == 0) == in_window
    # neighbours stay free
    for other in (nonce - 1, nonce + 1):
        if other >= 0:
            assert not ex.nonce_used(maker.address, other)
    m2 = desk.leg(maker, ETH, True, WAD, ETH_PRICE, nonce=nonce)
    t2 = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=nonce + 1)
    with boa.reverts("exchange: nonce already used"):
        desk.settle([desk.fill(m2, t2, WAD, ETH_PRICE)])
    desk.check_conservation()


def test_settle__last_window_nonce_and_first_outside__independent(funded, maker, taker):
    desk, ex = funded, funded.exchange
    inside = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=WINDOW - 1)
    outside = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=WINDOW)
    m1 = desk.leg(maker, ETH, True, WAD, ETH_PRICE, nonce=1)
    m2 = desk.leg(maker, ETH, True, WAD, ETH_PRICE, nonce=2)
    desk.settle([desk.fill(m1, inside, WAD, ETH_PRICE)])
    assert ex.nonce_used(taker.address, WINDOW - 1)
    assert not ex.nonce_used(taker.address, WINDOW)
    desk.settle([desk.fill(m2, outside, WAD, ETH_PRICE)])
    assert ex.nonce_used(taker.address, WINDOW)
    assert ex.used_nonces(taker.address, 0) == 1 << WINDOW
    assert ex.position(taker.address, ETH) == (-2 * WAD, 0)


@pytest.mark.parametrize("nonce", [WINDOW - 1, WINDOW])
def test_cancel__resting_order_in_and_outside_window__fill_reverts(funded, maker, taker, nonce):
    desk, ex = funded, funded.exchange
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE, nonce=nonce)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=5)
    cash_before = ex.cash(maker.address)
    with boa.env.prank(maker.address):
        ex.cancel(order_tuple(m.order))
    assert ex.nonce_used(maker.address, nonce)
    assert filled_on_chain(ex, m.order) == 2**256 - 1
    assert ex.cash(maker.address) == cash_before
    with boa.reverts("exchange: order cancelled"):
        desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])


@pytest.mark.parametrize("nonce", [WINDOW - 1, WINDOW])
def test_cancel__ioc_in_and_outside_window__fill_reverts(funded, maker, taker, nonce):
    desk, ex = funded, funded.exchange
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE, nonce=7)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=nonce)
    with boa.env.prank(taker.address):
        ex.cancel(order_tuple(t.order))
    assert ex.nonce_used(taker.address, nonce)
    assert filled_on_chain(ex, t.order) == WAD
    with boa.reverts("exchange: nonce already used"):
        desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])


def test_settle__resting_partial_fill_in_window__continues_until_used_up(funded, maker, taker):
    desk, ex = funded, funded.exchange
    m = desk.leg(maker, ETH, True, 2 * WAD, ETH_PRICE, nonce=3)
    desk.settle([desk.fill(m, desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=10),
                           WAD, ETH_PRICE)])
    assert ex.nonce_used(maker.address, 3)
    assert ex.filled(desk.hash(m.order)) == WAD
    assert filled_on_chain(ex, m.order) == WAD
    desk.settle([desk.fill(m, desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4, nonce=11),
                           WAD, ETH_PRICE)])
    assert ex.filled(desk.hash(m.order)) == 0
    assert filled_on_chain(ex, m.order) == 2 * WAD
    with boa.reverts("exchange: nonce already used"):
        desk.settle([desk.fill(m, desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4,
                                           nonce=12), WAD, ETH_PRICE)])


def test_nonce_window__window_bits__never_change_cash_or_positions(funded, maker, taker):
    desk, ex = funded, funded.exchange
    # spend every nonce of the window on a cancel: cash reads the same
    for n in range(WINDOW):
        o = desk.order(maker, ETH, True, WAD, ETH_PRICE, nonce=n, flags=4)
        with boa.env.prank(maker.address):
            ex.cancel(order_tuple(o))
    assert ex.cash(maker.address) == START
    assert all(ex.nonce_used(maker.address, n) for n in range(WINDOW))
    assert not ex.nonce_used(maker.address, WINDOW)
    assert ex.used_nonces(maker.address, 0) == 0
    desk.withdraw(maker, 100_000 * USDC)
    assert ex.cash(maker.address) == 0
    assert ex.nonce_used(maker.address, WINDOW - 1)
