"""The API's fast signature path agrees with engine.eip712.recover; insurance history."""

from __future__ import annotations

import pytest

from engine.api.verify import order_shape_ok, signer_bytes
from engine.chain.node import derive_key
from engine.core.rules import FLAG_IOC
from engine.eip712 import SECP256K1_HALF_N, SignatureError, recover, sign_digest


def _sig_with_s(sig: bytes, s: int) -> bytes:
    return sig[:32] + s.to_bytes(32, "big") + sig[64:]


@pytest.mark.parametrize("n", range(5))
def test_signer_bytes__valid_signature__same_address_as_recover(n):
    key = derive_key(f"trader-{n}")
    digest = bytes([n]) * 32
    sig = sign_digest(key.key, digest)
    assert "0x" + signer_bytes(digest, sig).hex() == recover(digest, sig).lower()


def test_signer_bytes__malformed__same_refusals_as_recover():
    digest = b"\x07" * 32
    sig = sign_digest(derive_key("trader").key, digest)
    high_s = _sig_with_s(sig, SECP256K1_HALF_N + 1)
    for bad in (sig[:64], sig[:64] + b"\x1d", high_s, _sig_with_s(sig, 0)):
        with pytest.raises(SignatureError) as fast:
            signer_bytes(digest, bad)
        with pytest.raises(SignatureError) as slow:
            recover(digest, bad)
        assert str(fast.value) == str(slow.value)


def test_order_shape_ok__bool_as_int_or_extra_field__false(maker):
    good = maker.order_params(maker.order(1, True, "1", "2000"))
    assert order_shape_ok(good)
    assert not order_shape_ok({**good, "market": True})
    assert not order_shape_ok({**good, "is_buy": 1})
    assert not order_shape_ok({**good, "extra": 1})
    assert not order_shape_ok({k: v for k, v in good.items() if k != "nonce"})


def test_get_insurance__liquidation_fee__history_records_the_inflow(funded, stack, maker, taker):
    rpc, seq = funded, stack[2]
    rpc.ok("dev_withdraw", {"account": taker.address, "amount": "9000"})  # 1,000 left
    rpc.ok("place_order", maker.order_params(maker.order(1, False, "9", "2000")))
    rpc.ok("place_order", taker.order_params(taker.order(1, True, "9", "2000", flags=FLAG_IOC)))
    rpc.ok("place_order", maker.order_params(maker.order(1, True, "9", "1890")))
    events = rpc.ok("dev_set_index", {"market": 1, "index": "1900"})
    assert "LiquidationStarted" in [e["type"] for e in events]
    ins = rpc.ok("get_insurance")
    assert ins["balance"] == seq.query(lambda e: _dec(e.ledger.insurance))
    assert ins["history"] and ins["history"][-1]["balance"] == ins["balance"]
    assert ins["history"][-1]["cause"] in ("TradeExecuted", "InsuranceTakeover")
    assert ins["history"][-1]["seq"] == seq.last_seq


def _dec(wad: int) -> str:
    from engine.api.wire import from_wad

    return from_wad(wad)
