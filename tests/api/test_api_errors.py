"""Every error code of the API, through real HTTP: the code, a message naming the field,
and no state change from any malformed request."""

from __future__ import annotations

import time

import pytest

from engine.api.ratelimit import RateLimit, RateLimiter
from engine.core.rules import FLAG_IOC, FLAG_POST_ONLY
from engine.eip712 import SECP256K1_HALF_N


def _state(seq) -> tuple[int, str]:
    return seq.last_seq, seq.query(lambda e: e.state_hash())


def _with(params: dict, **changes) -> dict:
    out = dict(params)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def test_malformed_requests__each__documented_code_and_no_state_change(funded, stack, maker,
                                                                      stranger):
    rpc, seq = funded, stack[2]
    good = maker.order_params(maker.order(1, False, "1", "2100"))
    placed = rpc.ok("place_order", good)
    before = _state(seq)
    other_sig = stranger.order_params(stranger.order(1, False, "1", "2100"))["signature"]
    cases = [
        ({"trader": "0x" + "ab" * 20}, 4001, "signature: recovers"),
        ({"signature": other_sig}, 4001, "signature: recovers"),
        ({"signature": good["signature"][:-2] + "05"}, 4001, "signature: signature v must be"),
        ({"signature": good["signature"][:66] + hex(SECP256K1_HALF_N + 1)[2:]
          + good["signature"][-2:]}, 4001, "signature: signature s is not in the lower half"),
        ({"chain_id": 1}, 4002, "chain_id: 1 is not this exchange's chain 31337"),
        ({"verifying_contract": "0x" + "12" * 20}, 4003, "verifying_contract: 0x1212"),
        ({"market": 9}, 1001, "market: 9 is not listed"),
        ({"size": "0"}, 1002, "size: must be > 0"),
        ({"size": "0.0005"}, 1003, "size: 500000000000000 is not a multiple of step_size"),
        ({"limit_price": "2100.001"}, 1004, "limit_price: 2100001000000000000000 is not a mult"),
        ({"limit_price": "0"}, 1011, "limit_price: must be > 0"),
        ({"trigger_price": "1.001"}, 1013, "trigger_price: 1001000000000000000 must be 0 or"),
        ({"flags": FLAG_POST_ONLY | FLAG_IOC}, 1008, "flags: post-only (2) cannot be combined"),
        ({"expiry": 1}, 1005, "expiry: 1 (unix s) is not after the time"),
        ({}, 1007, f"order_hash: {placed['order_hash']} was already accepted"),
        ({"size": None}, -32602, "size: missing (required)"),
        ({"size": 1}, -32602, "size: expected string, got integer"),
        ({"size": "1e3"}, -32602, "size: '1e3' is not an unsigned decimal string"),
        ({"size": "-1"}, -32602, "size: '-1' must not be negative"),
        ({"is_buy": "yes"}, -32602, "is_buy: expected boolean, got string"),
        ({"market": "1"}, -32602, "market: expected integer, got string"),
        ({"color": "red"}, -32602, "color: unknown field"),
        ({"trader": "0xDc8e2bFFb792e7E37CF46070AdcFd3d3F3292FD4"}, -32602,
         "trader: 0xDc8e2bFFb792e7E37CF46070AdcFd3d3F3292FD4 has a bad EIP-55 checksum"),
        ({"signature": "0x1234"}, -32602, "signature: expected 0x hex of 65 bytes"),
    ]
    for change, code, message in cases:
        err = rpc.err("place_order", _with(good, **change))
        assert (err["code"], err["message"][:len(message)]) == (code, message), (change, err)
    # another order signed with the spent nonce: refused before the journal, like a replay
    reused = maker.order_params(maker.order(1, False, "1", "2101", nonce=good["nonce"]))
    err = rpc.err("place_order", reused)
    assert (err["code"], err["message"]) == (1016, f"nonce: {good['nonce']} was already used by "
                                                   f"an accepted order of {maker.address}; sign "
                                                   "the order with a fresh nonce")
    assert _state(seq) == before


def test_envelope_errors__each__standard_codes(rpc, stack):
    seq = stack[2]
    before = _state(seq)
    assert rpc.post(b"{not json")["error"]["code"] == -32700
    assert rpc.post([])["error"]["code"] == -32600
    assert rpc.post({"jsonrpc": "1.0", "id": 1, "method": "get_info"})["error"] == {
        "code": -32600, "message": 'jsonrpc: must be "2.0"', "data": {"name": "INVALID_REQUEST",
                                                                      "id": 1}}
    assert rpc.post({"jsonrpc": "2.0", "id": True, "method": "get_info"})["error"]["message"] \
        == "id: must be a string, integer or null"
    assert rpc.post({"jsonrpc": "2.0", "id": 1, "method": 5})["error"]["message"] == \
        "method: must be a string"
    assert rpc.err("no_such_method")["message"] == "method: 'no_such_method' does not exist"
    assert rpc.err("get_book", [1, 2])["message"] == "params: must be an object (parameters by " \
                                                     "name)"
    assert rpc.err("get_book", {"market": 1, "depth": 0})["message"] == \
        "depth: must be >= 1, got 0"
    assert rpc.err("get_book", {"market": 7})["code"] == 1001
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "get_info"} for i in range(1001)]
    assert rpc.post(too_many)["error"]["code"] == 4007
    assert rpc.err("subscribe", {"channel": "trades"})["code"] == 4008
    assert rpc.err("get_last_batch")["code"] == 4005
    assert rpc.err("get_order", {"order_hash": "0x" + "00" * 32})["code"] == 1009
    assert _state(seq) == before


def test_batch__bad_requests_among_good__good_ones_still_succeed(funded, stack, maker):
    rpc = funded
    good = maker.order_params(maker.order(1, False, "1", "2100"))
    bad_sig = _with(maker.order_params(maker.order(1, False, "1", "2200")), chain_id=5)
    body = [
        {"jsonrpc": "2.0", "id": 1, "method": "place_order", "params": bad_sig},
        {"jsonrpc": "2.0", "id": 2, "method": "place_order", "params": good},
        {"jsonrpc": "2.0", "id": 3, "method": "place_order", "params": good},
        7,
        {"jsonrpc": "2.0", "id": 5, "method": "nope"},
        {"jsonrpc": "2.0", "id": 6, "method": "get_open_orders",
         "params": {"account": maker.address}},
    ]
    resp = rpc.post(body)
    assert [r.get("id") for r in resp] == [1, 2, 3, None, 5, 6]
    assert [r["error"]["code"] if "error" in r else "ok" for r in resp] == \
        [4002, "ok", 1007, -32600, -32601, "ok"]
    assert [o["limit_price"] for o in resp[5]["result"]] == ["2100"]


def test_cancel_errors__each__code_and_no_state_change(funded, stack, maker, stranger):
    rpc, seq = funded, stack[2]
    placed = rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", "2100")))
    before = _state(seq)
    assert rpc.err("cancel_order", maker.cancel_params("0x" + "11" * 32))["code"] == 1009
    err = rpc.err("cancel_order", stranger.cancel_params(placed["order_hash"]))
    assert (err["code"], err["message"][:22]) == (1010, "trader: order 0x" + placed[
        "order_hash"][2:8])
    forged = _with(stranger.cancel_params(placed["order_hash"]), trader=maker.address)
    assert rpc.err("cancel_order", forged)["code"] == 4001
    stale = maker.cancel_all_params(1)
    stale = _with(stale, nonce=stale["nonce"] - 120_000)
    assert rpc.err("cancel_all", stale)["code"] == 4001  # the nonce is signed
    assert _state(seq) == before


def test_cancel_all__stale_or_reused_nonce__4006(funded, maker, monkeypatch):
    rpc = funded
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() - 120_000_000_000)
    stale = maker.cancel_all_params(None)
    monkeypatch.setattr(time, "time_ns", real)
    err = rpc.err("cancel_all", stale)
    assert (err["code"], err["message"][:6]) == (4006, "nonce:")
    fresh = maker.cancel_all_params(None)
    assert rpc.ok("cancel_all", fresh)["cancelled"] == []
    assert rpc.err("cancel_all", fresh)["message"].endswith("sign a new cancel-all")


def test_place_orders__rate_limit_exceeded__4029_for_the_rest(funded, stack, maker):
    rpc, service = funded, stack[1]
    service.limiter = RateLimiter(RateLimit(rate_per_s=1, burst=3), clock=lambda: 100.0)
    orders = [maker.order_params(maker.order(1, False, "1", str(2100 + i))) for i in range(5)]
    res = rpc.ok("place_orders", {"orders": orders})["results"]
    assert ["result" in r for r in res] == [True, True, True, False, False]
    err = res[3]["error"]
    assert err["code"] == 4029
    assert err["message"] == (f"trader: {maker.address} exceeded its rate limit of 1 orders and "
                              "cancels per second (burst 3); retry in 1001 ms")
    assert err["data"]["retry_after_ms"] == 1001


def test_place_order__engine_rejections__risk_and_matching_codes(funded, maker, stranger):
    rpc = funded
    err = rpc.err("place_order", stranger.order_params(stranger.order(1, True, "1", "2000")))
    assert (err["code"], err["message"][:5]) == (2001, "size:")
    assert err["data"]["seq"] > 0  # a business rejection is journaled, with its seq
    err = rpc.err("place_order", maker.order_params(maker.order(1, True, "1", "2000",
                                                                flags=FLAG_IOC)))
    assert err["code"] == 3004
    rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", "2010")))
    err = rpc.err("place_order", maker.order_params(
        maker.order(1, True, "1", "2020", max_fee_rate="0.00001")))
    assert (err["code"], err["message"][:13]) == (1006, "max_fee_rate:")


def test_place_order__sequencer_closed__engine_unavailable(funded, stack, maker):
    rpc, seq = funded, stack[2]
    seq.close()
    err = rpc.err("place_order", maker.order_params(maker.order(1, False, "1", "2100")))
    assert (err["code"], err["message"]) == (-32000, "engine: the sequencer is closed")


@pytest.mark.parametrize("size", ["0.1234567890123456789", "1.", ".5", " 1"])
def test_place_order__bad_decimal_strings__32602(funded, maker, size):
    good = maker.order_params(maker.order(1, False, "1", "2100"))
    assert funded.err("place_order", _with(good, size=size))["code"] == -32602
