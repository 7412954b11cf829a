"""The Exchange on ape's EthTester (py-evm): real transactions, real gas.

Signatures made by eth-account verify on chain, a change to any signed field
or to the domain makes the batch revert with its exact message, and a
reverted batch moves nothing.
"""

import dataclasses

import ape
import pytest

from engine.chain.encode import BatchArgs, FillArgs, SignedOrder
from engine.core import rules
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC, FLAG_REDUCE_ONLY
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, sign_order

from .conftest import post_price

BPS = WAD // 10_000
SIZE = 2 * WAD
PRICE = 2000 * WAD


def _orders(roles, nonce):
    ask = Order(trader=roles["maker"].address, market=1, is_buy=False, size=SIZE,
                limit_price=PRICE, max_fee_rate=2 * BPS, nonce=nonce)
    bid = Order(trader=roles["taker"].address, market=1, is_buy=True, size=SIZE,
                limit_price=2010 * WAD, flags=FLAG_IOC, max_fee_rate=5 * BPS, nonce=nonce)
    return ask, bid


def _batch(exchange, chain, ask, ask_sig, bid, bid_sig):
    fill = FillArgs(SignedOrder(ask, ask_sig), SignedOrder(bid, bid_sig), SIZE, PRICE,
                    rules.fee_amount(SIZE, PRICE, 2 * BPS), rules.fee_amount(SIZE, PRICE, 5 * BPS))
    return BatchArgs(exchange.last_batch_id() + 1, 1, 2, b"\x00" * 32,
                     chain.pending_timestamp - 1, (fill,)).as_tuple()


def _snapshot(stack, roles):
    ex = stack["exchange"]
    return [(ex.cash(roles[w]), ex.position(roles[w], 1)) for w in ("maker", "taker")] + [
        ex.fee_pool(), ex.insurance(), ex.last_batch_id()]


def test_order_hash__view__equals_engine_eip712(priced, roles, domain):
    ask, _ = _orders(roles, 1)
    assert bytes(priced["exchange"].order_hash(rules_tuple(ask))) == order_hash(domain, ask)


def rules_tuple(order):
    from engine.chain.encode import order_tuple
    return order_tuple(order)


def test_settle__eth_account_signatures__fill_moves_exact_cash_and_fees(priced, roles, domain, chain):
    ex = priced["exchange"]
    ask, bid = _orders(roles, 100)
    before_maker, before_taker = ex.cash(roles["maker"]), ex.cash(roles["taker"])
    tx = ex.settle(_batch(ex, chain, ask, sign_order(roles["maker"].private_key, domain, ask),
                          bid, sign_order(roles["taker"].private_key, domain, bid)),
                   sender=roles["settler"])
    # 2 ETH at 2,000: notional 4,000; maker fee 0.02% = 0.8, taker fee 0.05% = 2.0
    assert ex.cash(roles["maker"]) - before_maker == 4000 * WAD - 8 * WAD // 10
    assert before_taker - ex.cash(roles["taker"]) == 4000 * WAD + 2 * WAD
    assert ex.position(roles["maker"], 1)[0] == -SIZE
    assert ex.position(roles["taker"], 1)[0] == SIZE
    assert tx.gas_used > 0
    assert [log.batch_id for log in tx.decode_logs(ex.BatchSettled)] == [ex.last_batch_id()]


@pytest.mark.parametrize("field,value", [
    ("size", 3 * WAD), ("limit_price", 2005 * WAD), ("trigger_price", 1), ("flags", FLAG_IOC | FLAG_REDUCE_ONLY),
    ("max_fee_rate", 6 * BPS), ("nonce", 201), ("expiry", 4_000_000_000),
])
def test_settle__taker_field_tampered__reverts_wrong_signer_and_moves_nothing(
        priced, roles, domain, chain, field, value):
    ex = priced["exchange"]
    ask, bid = _orders(roles, 200)
    bid_sig = sign_order(roles["taker"].private_key, domain, bid)
    tampered = dataclasses.replace(bid, **{field: value})
    before = _snapshot(priced, roles)
    with ape.reverts("exchange: wrong signer"):
        ex.settle(_batch(ex, chain, ask, sign_order(roles["maker"].private_key, domain, ask),
                         tampered, bid_sig), sender=roles["settler"])
    assert _snapshot(priced, roles) == before


def test_settle__trader_swapped__reverts_wrong_signer(priced, roles, domain, chain):
    ex = priced["exchange"]
    ask, bid = _orders(roles, 300)
    # the taker's signature on an order claiming to be the maker's
    forged = dataclasses.replace(ask, trader=roles["taker"].address)
    with ape.reverts("exchange: wrong signer"):
        ex.settle(_batch(ex, chain, forged, sign_order(roles["taker"].private_key, domain, ask),
                         bid, sign_order(roles["taker"].private_key, domain, bid)),
                  sender=roles["settler"])


@pytest.mark.parametrize("bad_domain", ["chain", "contract"])
def test_settle__signed_for_other_domain__reverts_wrong_signer(priced, roles, domain, chain, bad_domain):
    ex = priced["exchange"]
    other = (Domain(domain.chain_id + 1, domain.verifying_contract) if bad_domain == "chain"
             else Domain(domain.chain_id, priced["markets"].address))
    ask, bid = _orders(roles, 400)
    with ape.reverts("exchange: wrong signer"):
        ex.settle(_batch(ex, chain, ask, sign_order(roles["maker"].private_key, domain, ask),
                         bid, sign_order(roles["taker"].private_key, other, bid)),
                  sender=roles["settler"])


def test_settle__same_batch_twice__second_reverts_out_of_order(priced, roles, domain, chain):
    ex = priced["exchange"]
    ask, bid = _orders(roles, 500)
    batch = _batch(ex, chain, ask, sign_order(roles["maker"].private_key, domain, ask),
                   bid, sign_order(roles["taker"].private_key, domain, bid))
    ex.settle(batch, sender=roles["settler"])
    with ape.reverts("exchange: batch out of order"):
        ex.settle(batch, sender=roles["settler"])


def test_settle__stranger__reverts_access_control(priced, roles, domain, chain):
    ex = priced["exchange"]
    ask, bid = _orders(roles, 600)
    with ape.reverts("access_control: account is missing role"):
        ex.settle(_batch(ex, chain, ask, sign_order(roles["maker"].private_key, domain, ask),
                         bid, sign_order(roles["taker"].private_key, domain, bid)),
                  sender=roles["stranger"])


def test_cancel__trader_on_chain__later_fill_reverts_cancelled(priced, roles, domain, chain):
    ex = priced["exchange"]
    ask, bid = _orders(roles, 700)
    from engine.chain.encode import order_tuple
    ex.cancel(order_tuple(ask), sender=roles["maker"])
    with ape.reverts("exchange: order cancelled"):
        ex.settle(_batch(ex, chain, ask, sign_order(roles["maker"].private_key, domain, ask),
                         bid, sign_order(roles["taker"].private_key, domain, bid)),
                  sender=roles["settler"])


def test_post_prices__mark_beyond_half_percent__reverts(priced, roles, chain):
    with ape.reverts("markets: mark too far from index"):
        post_price(priced, chain, roles, 1, 2000 * WAD, 2010 * WAD + 1)


def test_post_prices__signed_by_settler__reverts_bad_signature(priced, roles, chain):
    from engine.eip712 import price_hash, sign_digest
    ts = chain.pending_timestamp - 1
    dom = Domain(chain.chain_id, priced["markets"].address)
    sig = sign_digest(roles["settler"].private_key, price_hash(dom, 2, 100 * WAD, 100 * WAD, ts))
    with ape.reverts("markets: bad price signature"):
        priced["markets"].post_prices(2, 100 * WAD, 100 * WAD, ts, sig, sender=roles["stranger"])


def test_withdraw__free_collateral__paid_without_operator(priced, roles):
    ex, usdc = priced["exchange"], priced["usdc"]
    taker = roles["taker"]
    free = ex.equity(taker) - ex.initial_margin(taker)
    amount = free // 10**12
    before = usdc.balanceOf(taker)
    ex.withdraw(amount, sender=taker)
    assert usdc.balanceOf(taker) - before == amount
    with ape.reverts("exchange: below initial margin"):
        ex.withdraw(1, sender=taker)
