"""Exchange.settle: worked numbers of a fill, the batch-level checks and every
per-fill check, each reverting with its exact message and moving nothing."""

import dataclasses

import boa
import pytest

from engine.core.rules import fee_cap, trade_cash
from engine.eip712 import Domain, order_hash
from tests.contracts.conftest import BTC, ETH, ETH_PRICE, USDC, WAD, Desk, filled_on_chain, replace

STEP = WAD // 1000
TICK = WAD // 100
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def funded(desk, maker, taker, trader):
    for actor in (maker, taker, trader):
        desk.fund(actor, 100_000 * USDC)
    return desk


def state(desk: Desk, *actors) -> tuple:
    ex = desk.exchange
    per = tuple((ex.cash(a.address), ex.position(a.address, ETH), ex.position(a.address, BTC))
                for a in actors)
    return per + (ex.last_batch_id(), ex.fee_pool(), ex.insurance(), ex.open_interest(ETH),
                  desk.usdc.balanceOf(ex.address))


def pair(desk, maker, taker, size=WAD, price=ETH_PRICE, **taker_kw):
    """A resting buy of `maker` and an IOC sell of `taker`, both signed."""
    m = desk.leg(maker, ETH, True, size, price)
    t = desk.leg(taker, ETH, False, size, price, flags=taker_kw.pop("flags", 4), **taker_kw)
    return m, t


def expect_revert(desk, message, fills, actors, **batch_kw):
    before = state(desk, *actors)
    with boa.reverts(message):
        desk.settle(fills, **batch_kw)
    assert state(desk, *actors) == before


# ------------------------------------------------------------------ worked numbers


def test_settle__one_fill__exact_cash_fees_and_positions(funded, maker, taker):
    desk = funded
    size, price = 1_234 * STEP, 2_001_37 * TICK  # 1.234 ETH at 2001.37
    m, t = pair(desk, maker, taker, size, price)
    cap = fee_cap(size, price, 10**15)
    maker_fee, taker_fee = cap // 3, cap
    desk.settle([desk.fill(m, t, size, price, maker_fee, taker_fee)])
    cash = trade_cash(size, price)
    start = 100_000 * WAD
    ex = desk.exchange
    assert ex.cash(maker.address) == start - cash.buyer_pays - maker_fee
    assert ex.cash(taker.address) == start + cash.seller_receives - taker_fee
    assert ex.position(maker.address, ETH) == (size, 0)
    assert ex.position(taker.address, ETH) == (-size, 0)
    assert ex.fee_pool() == maker_fee + taker_fee
    assert ex.insurance() == cash.dust
    assert ex.open_interest(ETH) == size
    # a resting order used up in one go marks its nonce instead of a filled slot
    assert ex.filled(desk.hash(m.order)) == 0
    assert ex.nonce_used(maker.address, m.order.nonce)
    assert filled_on_chain(ex, m.order) == size
    assert ex.nonce_used(taker.address, t.order.nonce)
    assert ex.last_batch_id() == 1
    desk.check_conservation()


def test_settle__wei_tick_market__dust_goes_to_insurance(funded, maker, taker):
    desk = funded
    with boa.env.prank(desk.governor.address):
        market = desk.markets.add_market(7, 3, 5 * 10**16, 3 * 10**16, 8 * 3600, 10**16, 10**16)
    desk.post_price(market, 7 * 10**17)
    m = desk.leg(maker, market, True, 3, 7 * 10**17)
    t = desk.leg(taker, market, False, 3, 7 * 10**17, flags=4)
    desk.settle([desk.fill(m, t, 3, 7 * 10**17)])
    cash = trade_cash(3, 7 * 10**17)
    assert (cash.buyer_pays, cash.seller_receives, cash.dust) == (3, 2, 1)
    assert desk.exchange.cash(maker.address) == 100_000 * WAD - 3
    assert desk.exchange.cash(taker.address) == 100_000 * WAD + 2
    assert desk.exchange.insurance() == 1
    desk.check_conservation()


def test_settle__events__batch_settled_and_post_state_per_account(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    batch = desk.batch([desk.fill(m, t, WAD, ETH_PRICE)], first_seq=10, last_seq=12,
                       digest=b"\x42" * 32)
    desk.settle_batch(batch)
    logs = desk.exchange.get_logs()
    names = [type(log).__name__ for log in logs]
    assert names == ["AccountSettled", "AccountSettled", "BatchSettled"]
    done = logs[-1]
    assert (done.batch_id, done.first_seq, done.last_seq, done.journal_digest) == (
        1, 10, 12, b"\x42" * 32)
    posts = {log.account: log for log in logs[:2]}
    post = posts[maker.address]
    assert post.cash == 100_000 * WAD - 2000 * WAD
    assert post.equity == 100_000 * WAD
    assert [tuple(p) for p in post.positions] == [(ETH, WAD, 0)]


def test_settle__taker_sweeps_makers__one_ioc_run(funded, maker, taker, trader):
    desk = funded
    t = desk.leg(taker, ETH, True, 3 * WAD, 2002 * WAD, flags=4)
    m1 = desk.leg(maker, ETH, False, WAD, 2000 * WAD)
    m2 = desk.leg(trader, ETH, False, 2 * WAD, 2001 * WAD)
    desk.settle([desk.fill(m1, t, WAD, 2000 * WAD), desk.fill(m2, t, 2 * WAD, 2001 * WAD)])
    assert desk.exchange.position(taker.address, ETH)[0] == 3 * WAD
    assert desk.exchange.cash(taker.address) == 100_000 * WAD - 6002 * WAD


def test_settle__run_exceeds_ioc_size__reverts(funded, maker, taker, trader):
    desk = funded
    t = desk.leg(taker, ETH, True, 2 * WAD, 2002 * WAD, flags=4)
    m1 = desk.leg(maker, ETH, False, WAD, 2000 * WAD)
    m2 = desk.leg(trader, ETH, False, 2 * WAD, 2001 * WAD)
    expect_revert(desk, "exchange: order overfilled",
                  [desk.fill(m1, t, WAD, 2000 * WAD), desk.fill(m2, t, 2 * WAD, 2001 * WAD)],
                  [maker, taker, trader])


def test_settle__fok_filled_across_two_makers__accepted(funded, maker, taker, trader):
    desk = funded
    t = desk.leg(taker, ETH, True, 3 * WAD, 2002 * WAD, flags=8)
    m1 = desk.leg(maker, ETH, False, WAD, 2000 * WAD)
    m2 = desk.leg(trader, ETH, False, 2 * WAD, 2001 * WAD)
    desk.settle([desk.fill(m1, t, WAD, 2000 * WAD), desk.fill(m2, t, 2 * WAD, 2001 * WAD)])
    assert desk.exchange.position(taker.address, ETH)[0] == 3 * WAD


def test_settle__fok_partially_filled__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, 2 * WAD, flags=8)
    expect_revert(desk, "exchange: fill-or-kill not filled", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__resting_order_filled_in_two_batches__up_to_its_size(funded, maker, taker):
    desk = funded
    m = desk.leg(maker, ETH, True, 2 * WAD, ETH_PRICE)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4)
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    # partially filled: the nonce is spent and the slot holds the amount
    assert desk.exchange.filled(desk.hash(m.order)) == WAD
    assert desk.exchange.nonce_used(maker.address, m.order.nonce)
    assert filled_on_chain(desk.exchange, m.order) == WAD
    t = desk.leg(taker, ETH, False, 2 * WAD, ETH_PRICE, flags=4)
    expect_revert(desk, "exchange: order overfilled", [desk.fill(m, t, WAD + STEP, ETH_PRICE)],
                  [maker, taker])
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    # used up: the slot is freed
    assert desk.exchange.filled(desk.hash(m.order)) == 0
    assert desk.exchange.nonce_used(maker.address, m.order.nonce)
    assert filled_on_chain(desk.exchange, m.order) == 2 * WAD
    t = desk.leg(taker, ETH, False, STEP, ETH_PRICE, flags=4)
    expect_revert(desk, "exchange: nonce already used", [desk.fill(m, t, STEP, ETH_PRICE)],
                  [maker, taker])


def test_settle__resting_order_partial_then_rest_in_one_batch__slot_freed(funded, maker, taker,
                                                                          trader):
    desk = funded
    m = desk.leg(maker, ETH, True, 3 * WAD, ETH_PRICE)
    t1 = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4)
    t2 = desk.leg(trader, ETH, False, 2 * WAD, ETH_PRICE, flags=4)
    desk.settle([desk.fill(m, t1, WAD, ETH_PRICE), desk.fill(m, t2, 2 * WAD, ETH_PRICE)])
    assert desk.exchange.filled(desk.hash(m.order)) == 0
    assert filled_on_chain(desk.exchange, m.order) == 3 * WAD
    assert desk.exchange.position(maker.address, ETH)[0] == 3 * WAD


def test_settle__resting_order_on_both_sides_of_a_batch__cannot_double_fill(funded, maker, taker):
    desk = funded
    o = desk.leg(maker, ETH, True, WAD, ETH_PRICE)
    t1 = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4)
    m2 = desk.leg(taker, ETH, False, WAD, ETH_PRICE)
    expect_revert(desk, "exchange: nonce already used",
                  [desk.fill(o, t1, WAD, ETH_PRICE), desk.fill(m2, o, WAD, ETH_PRICE)],
                  [maker, taker])


# ------------------------------------------------------------------ batch checks


def test_settle__stranger__reverts(funded, maker, taker, stranger):
    desk = funded
    m, t = pair(desk, maker, taker)
    with boa.env.prank(stranger.address), boa.reverts("access_control: account is missing role"):
        desk.exchange.settle(desk.batch([desk.fill(m, t, WAD, ETH_PRICE)]))


@pytest.mark.parametrize("offset", [0, 2])
def test_settle__batch_id_not_next__reverts(funded, maker, taker, offset):
    desk = funded
    m, t = pair(desk, maker, taker)
    expect_revert(desk, "exchange: batch out of order", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker], batch_id=offset)


def test_settle__same_batch_twice__second_reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    batch = desk.batch([desk.fill(m, t, WAD, ETH_PRICE)])
    desk.settle_batch(batch)
    with boa.reverts("exchange: batch out of order"):
        desk.settle_batch(batch)


def test_settle__timestamp_in_future__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    expect_revert(desk, "exchange: batch from the future", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker], timestamp=boa.env.evm.patch.timestamp + 1)


def test_settle__timestamp_before_previous_batch__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    boa.env.time_travel(seconds=10)
    m, t = pair(desk, maker, taker)
    expect_revert(desk, "exchange: batch timestamp decreased", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker], timestamp=desk.exchange.last_batch_ts() - 1)


def test_settle__accounts_unsorted_or_duplicate__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    fills = [desk.fill(m, t, WAD, ETH_PRICE)]
    ordered = sorted([maker.address, taker.address], key=lambda a: int(a, 16))
    for accounts in (ordered[::-1], [ordered[0], ordered[0], ordered[1]],
                     ["0x" + "00" * 20] + ordered):
        expect_revert(desk, "exchange: accounts not sorted", fills, [maker, taker],
                      accounts=accounts)


def test_settle__trader_missing_from_accounts__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    expect_revert(desk, "exchange: account not in batch", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker], accounts=[maker.address])


def test_settle__bad_sequence_range__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    expect_revert(desk, "exchange: bad sequence range", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker], first_seq=5, last_seq=4)


# ------------------------------------------------------------------ signatures


@pytest.mark.parametrize(
    "field, value",
    [
        ("size", 2 * WAD),
        ("limit_price", ETH_PRICE + TICK),
        ("trigger_price", 1),
        ("flags", 2),
        ("max_fee_rate", 10**15 + 1),
        ("nonce", 10**9),
        ("expiry", 2**40),
    ],
)
def test_settle__maker_field_tampered__wrong_signer(funded, maker, taker, field, value):
    desk = funded
    m, t = pair(desk, maker, taker)
    m = dataclasses.replace(m, order=replace(m.order, **{field: value}))
    expect_revert(desk, "exchange: wrong signer", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__trader_field_tampered__wrong_signer(funded, maker, taker, trader):
    desk = funded
    m, t = pair(desk, maker, taker)
    m = dataclasses.replace(m, order=replace(m.order, trader=trader.address))
    expect_revert(desk, "exchange: wrong signer", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker, trader])


def test_settle__market_and_side_tampered__wrong_signer(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    m2 = dataclasses.replace(m, order=replace(m.order, market=BTC))
    t2 = dataclasses.replace(t, order=replace(t.order, market=BTC))
    expect_revert(desk, "exchange: wrong signer", [desk.fill(m2, t2, WAD, ETH_PRICE)],
                  [maker, taker])
    m3 = dataclasses.replace(m, order=replace(m.order, is_buy=False, limit_price=ETH_PRICE))
    t3 = dataclasses.replace(t, order=replace(t.order, is_buy=True))
    expect_revert(desk, "exchange: wrong signer", [desk.fill(m3, t3, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__taker_field_tampered__wrong_signer(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    t = dataclasses.replace(t, order=replace(t.order, limit_price=ETH_PRICE - TICK))
    expect_revert(desk, "exchange: wrong signer", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__signed_by_another_key__wrong_signer(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    forged = desk.sign(taker, m.order)
    expect_revert(desk, "exchange: wrong signer", [desk.fill(forged, t, WAD, ETH_PRICE)],
                  [maker, taker])


@pytest.mark.parametrize("which", ["chain", "contract"])
def test_settle__wrong_domain__wrong_signer(funded, maker, taker, which):
    desk = funded
    m, t = pair(desk, maker, taker)
    domain = (Domain(desk.chain_id + 1, desk.exchange.address) if which == "chain"
              else Domain(desk.chain_id, desk.markets.address))
    m = desk.sign(maker, m.order, domain)
    expect_revert(desk, "exchange: wrong signer", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__malleable_or_bad_v_signature__invalid(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    v, r, s = m.sig
    high = (55 - v, r, (N - int.from_bytes(s, "big")).to_bytes(32, "big"))
    for sig in (high, (29, r, s), (v, b"\x00" * 32, s)):
        bad = dataclasses.replace(m, sig=sig)
        expect_revert(desk, "exchange: invalid signature", [desk.fill(bad, t, WAD, ETH_PRICE)],
                      [maker, taker])


def test_order_hash__any_order__equals_engine_eip712(desk, maker):
    o = desk.order(maker, BTC, False, 7, 9, flags=13, max_fee_rate=11, nonce=2**200, expiry=5,
                   trigger=3)
    assert desk.exchange.order_hash(
        (o.trader, o.market, o.is_buy, o.size, o.limit_price, o.trigger_price, o.flags,
         o.max_fee_rate, o.nonce, o.expiry)) == desk.hash(o)


def test_order_hash__after_a_chain_fork__uses_the_new_chain_id(desk, maker):
    """modules/eip712.vy caches the separator for the deployment chain and rebuilds
    it when chain.id differs (a fork), as snekmate's module does."""
    o = desk.order(maker, ETH, True, WAD, ETH_PRICE)
    before = boa.env.evm.patch.chain_id
    boa.env.evm.patch.chain_id = before + 1
    try:
        forked = order_hash(Domain(before + 1, desk.exchange.address), o)
        assert desk.exchange.order_hash(desk_tuple(o)) == forked != desk.hash(o)
    finally:
        boa.env.evm.patch.chain_id = before
    assert desk.exchange.order_hash(desk_tuple(o)) == desk.hash(o)


# ------------------------------------------------------------------ per-fill checks


def test_settle__expiry_at_batch_timestamp__expired(funded, maker, taker):
    desk = funded
    now = boa.env.evm.patch.timestamp
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE, expiry=now)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4)
    expect_revert(desk, "exchange: order expired", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE, expiry=now + 1)
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])


def test_cancel__resting_order__later_fill_reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    with boa.env.prank(maker.address):
        desk.exchange.cancel(desk_tuple(m.order))
    log = desk.exchange.get_logs()[-1]
    assert (type(log).__name__, log.order_hash) == ("OrderCancelled", desk.hash(m.order))
    assert desk.exchange.filled(desk.hash(m.order)) == 2**256 - 1
    expect_revert(desk, "exchange: order cancelled", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_cancel__ioc_order__nonce_burned_later_fill_reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    with boa.env.prank(taker.address):
        desk.exchange.cancel(desk_tuple(t.order))
    assert desk.exchange.nonce_used(taker.address, t.order.nonce)
    expect_revert(desk, "exchange: nonce already used", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_cancel__not_the_trader__reverts(desk, maker, stranger):
    o = desk.order(maker, ETH, True, WAD, ETH_PRICE)
    with boa.env.prank(stranger.address), boa.reverts("exchange: not the trader"):
        desk.exchange.cancel(desk_tuple(o))


def test_cancel__liquidation_order__reverts(desk, maker):
    o = desk.order(maker, ETH, False, WAD, ETH_PRICE, flags=32 | 4)
    with boa.env.prank(maker.address), boa.reverts("exchange: cannot cancel a liquidation"):
        desk.exchange.cancel(desk_tuple(o))


def test_settle__ioc_reused_in_later_batch__reverts(funded, maker, taker):
    desk = funded
    m = desk.leg(maker, ETH, True, 2 * WAD, ETH_PRICE)
    t = desk.leg(taker, ETH, False, 2 * WAD, ETH_PRICE, flags=4)
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    expect_revert(desk, "exchange: nonce already used", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__fill_larger_than_order__overfilled(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, WAD)
    expect_revert(desk, "exchange: order overfilled", [desk.fill(m, t, WAD + STEP, ETH_PRICE)],
                  [maker, taker])


def test_settle__price_outside_limits__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, WAD, ETH_PRICE)
    expect_revert(desk, "exchange: price outside limit", [desk.fill(m, t, WAD, ETH_PRICE + TICK)],
                  [maker, taker])
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE + TICK, flags=4)
    expect_revert(desk, "exchange: price outside limit", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__fee_one_wei_above_cap__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    cap = fee_cap(WAD, ETH_PRICE, 10**15)
    expect_revert(desk, "exchange: fee above max", [desk.fill(m, t, WAD, ETH_PRICE, cap + 1, 0)],
                  [maker, taker])
    expect_revert(desk, "exchange: fee above max", [desk.fill(m, t, WAD, ETH_PRICE, 0, cap + 1)],
                  [maker, taker])
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE, cap, cap)])
    assert desk.exchange.fee_pool() == 2 * cap


def test_settle__off_step_or_tick__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, 2 * WAD, ETH_PRICE)
    expect_revert(desk, "exchange: size off step", [desk.fill(m, t, WAD + 1, ETH_PRICE)],
                  [maker, taker])
    expect_revert(desk, "exchange: size off step", [desk.fill(m, t, 0, ETH_PRICE)],
                  [maker, taker])
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE + TICK)
    expect_revert(desk, "exchange: price off tick", [desk.fill(m, t, WAD, ETH_PRICE + 1)],
                  [maker, taker])


def test_settle__orders_disagree__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker)
    t_btc = desk.leg(taker, BTC, False, WAD, ETH_PRICE, flags=4)
    expect_revert(desk, "exchange: market mismatch", [desk.fill(m, t_btc, WAD, ETH_PRICE)],
                  [maker, taker])
    t_buy = desk.leg(taker, ETH, True, WAD, ETH_PRICE, flags=4)
    expect_revert(desk, "exchange: same side", [desk.fill(m, t_buy, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__unknown_or_unpriced_market__reverts(funded, maker, taker):
    desk = funded
    m = desk.leg(maker, 3, True, WAD, ETH_PRICE)
    t = desk.leg(taker, 3, False, WAD, ETH_PRICE, flags=4)
    expect_revert(desk, "exchange: unknown market", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])
    with boa.env.prank(desk.governor.address):
        desk.markets.add_market(TICK, STEP, 5 * 10**16, 3 * 10**16, 8 * 3600, 10**16, 10**16)
    expect_revert(desk, "exchange: no price", [desk.fill(m, t, WAD, ETH_PRICE)], [maker, taker])


def test_settle__post_only_as_taker__reverts(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, flags=2)
    expect_revert(desk, "exchange: post-only taker", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__post_only_as_maker__accepted(funded, maker, taker):
    desk = funded
    m = desk.leg(maker, ETH, True, WAD, ETH_PRICE, flags=2)
    t = desk.leg(taker, ETH, False, WAD, ETH_PRICE, flags=4)
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    assert desk.exchange.position(maker.address, ETH)[0] == WAD


def test_settle__isolated_flag__unsupported(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, flags=16)
    expect_revert(desk, "exchange: unsupported flags", [desk.fill(m, t, WAD, ETH_PRICE)],
                  [maker, taker])


def test_settle__reduce_only__reduces_but_never_opens_or_flips(funded, maker, taker):
    desk = funded
    m, t = pair(desk, maker, taker, flags=1 | 4)
    expect_revert(desk, "exchange: reduce-only increases position",
                  [desk.fill(m, t, WAD, ETH_PRICE)], [maker, taker])
    desk.trade(taker, maker, WAD, ETH_PRICE)  # taker long 1, maker short 1
    m, t = pair(desk, maker, taker, 2 * WAD, flags=1 | 4)
    expect_revert(desk, "exchange: reduce-only increases position",
                  [desk.fill(m, t, 2 * WAD, ETH_PRICE)], [maker, taker])
    desk.settle([desk.fill(m, t, WAD, ETH_PRICE)])
    assert desk.exchange.position(taker.address, ETH) == (0, 0)
    assert desk.exchange.open_interest(ETH) == 0


def desk_tuple(o):
    return (o.trader, o.market, o.is_buy, o.size, o.limit_price, o.trigger_price, o.flags,
            o.max_fee_rate, o.nonce, o.expiry)
