"""engine/eip712: direct keccak hashing equals eth-account's typed-data hashing,
signatures recover, and every signed field matters."""

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from engine.core.orders import Order
from engine.eip712 import (
    Domain,
    SignatureError,
    cancel_hash,
    order_hash,
    order_message,
    price_hash,
    recover,
    sign_digest,
    sign_order,
    typed_data,
)

TRADER = Account.from_key(b"\x11" * 32)
DOMAIN = Domain(chain_id=1337, verifying_contract="0x" + "ab" * 20)
ORDER = Order(trader=TRADER.address, market=1, is_buy=True, size=2 * 10**18,
              limit_price=2000 * 10**18, trigger_price=0, flags=4, max_fee_rate=5 * 10**14,
              nonce=9, expiry=1_900_000_000)


def _eth_account_digest(domain: Domain, primary: str, message: dict) -> bytes:
    signable = encode_typed_data(full_message=typed_data(domain, primary, message))
    from eth_utils import keccak
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def test_order_hash__direct_keccak__equals_eth_account_typed_data():
    assert order_hash(DOMAIN, ORDER) == _eth_account_digest(DOMAIN, "Order", order_message(ORDER))


def test_cancel_and_price_hash__direct__equal_typed_data():
    oh = order_hash(DOMAIN, ORDER)
    msg = {"trader": TRADER.address, "orderHash": oh, "nonce": 3}
    assert cancel_hash(DOMAIN, TRADER.address, oh, 3) == _eth_account_digest(DOMAIN, "Cancel", msg)
    msg = {"market": 1, "index": 5, "mark": 6, "timestamp": 7}
    assert price_hash(DOMAIN, 1, 5, 6, 7) == _eth_account_digest(DOMAIN, "Price", msg)


def test_sign_order__wallet_signature__recovers_trader_and_equals_raw_signer():
    sig = sign_order(TRADER.key, DOMAIN, ORDER)
    assert recover(order_hash(DOMAIN, ORDER), sig) == TRADER.address
    assert sign_digest(TRADER.key, order_hash(DOMAIN, ORDER)) == sig


@pytest.mark.parametrize("field,value", [
    ("trader", "0x" + "12" * 20), ("market", 2), ("is_buy", False), ("size", 2 * 10**18 + 1),
    ("limit_price", 2001 * 10**18), ("trigger_price", 1), ("flags", 0), ("max_fee_rate", 10**15),
    ("nonce", 10), ("expiry", 1_900_000_001),
])
def test_recover__one_field_tampered__does_not_recover_trader(field, value):
    sig = sign_order(TRADER.key, DOMAIN, ORDER)
    tampered = dataclasses.replace(ORDER, **{field: value})
    assert recover(order_hash(DOMAIN, tampered), sig) != TRADER.address


@pytest.mark.parametrize("domain", [Domain(1, DOMAIN.verifying_contract),
                                    Domain(1337, "0x" + "cd" * 20)])
def test_recover__other_domain__does_not_recover_trader(domain):
    sig = sign_order(TRADER.key, DOMAIN, ORDER)
    assert recover(order_hash(domain, ORDER), sig) != TRADER.address


def test_recover__high_s__rejected_as_malleable():
    sig = sign_order(TRADER.key, DOMAIN, ORDER)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(sig[32:64], "big")
    flipped = sig[:32] + (n - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with pytest.raises(SignatureError, match="malleable"):
        recover(order_hash(DOMAIN, ORDER), flipped)


def test_recover__short_signature__names_length():
    with pytest.raises(SignatureError, match="65 bytes"):
        recover(b"\x00" * 32, b"\x01" * 64)
