"""Orders, cancels and reads through a real HTTP connection to uvicorn on 127.0.0.1."""

from __future__ import annotations

from engine.core.rules import FLAG_IOC
from engine.api.wire import to_wad
from tests.api.conftest import CHAIN_ID, EXCHANGE


def test_get_info__fresh_engine__domain_and_limits(rpc):
    info = rpc.ok("get_info")
    assert info["chain_id"] == CHAIN_ID and info["verifying_contract"].lower() == EXCHANGE
    assert info["last_seq"] == 0 and info["dev"] is True and info["chain_connected"] is False
    assert (info["rate_limit_per_s"], info["rate_limit_burst"]) == (50, 40)


def test_place_order__taker_crosses_resting_ask__trade_positions_and_fees(funded, maker, taker):
    rpc = funded
    ask = rpc.ok("place_order", maker.order_params(maker.order(1, False, "2", "2000")))
    assert (ask["status"], ask["filled"], ask["remaining"], ask["trades"]) == \
        ("open", "0", "2", [])
    bid = rpc.ok("place_order", taker.order_params(
        taker.order(1, True, "2", "2010", flags=FLAG_IOC)))
    assert (bid["status"], bid["filled"], bid["remaining"]) == ("filled", "2", "0")
    (trade,) = bid["trades"]
    assert (trade["size"], trade["price"], trade["maker_fee"], trade["taker_fee"]) == \
        ("2", "2000", "0.8", "2")
    assert (trade["maker"], trade["taker"]) == (maker.address, taker.address)
    assert rpc.ok("get_order", {"order_hash": ask["order_hash"]})["status"] == "filled"
    (pos,) = rpc.ok("get_positions", {"account": taker.address})
    assert (pos["market"], pos["size"], pos["entry_price"], pos["mark"]) == (1, "2", "2000", "2000")
    assert (pos["unrealized_pnl"], pos["adl_rank"]) == ("0", None)
    (short,) = rpc.ok("get_positions", {"account": maker.address})
    assert short["size"] == "-2"
    acct = rpc.ok("get_account", {"account": taker.address})
    # the chain's cash model: the buyer's cash pays the notional, equity counts the position
    assert (acct["cash"], acct["equity"]) == ("5998", "9998")
    assert (acct["initial_margin"], acct["margin_used"], acct["free_collateral"]) == \
        ("200", "200", "9798")
    assert [t["price"] for t in rpc.ok("get_trades", {"market": 1})] == ["2000"]
    assert [f["size"] for f in rpc.ok("get_fills", {"account": maker.address})] == ["2"]


def test_place_orders__good_and_bad_mixed__good_ones_accepted_in_order(funded, maker):
    rpc = funded
    good1 = maker.order_params(maker.order(1, True, "1", "1990"))
    off_tick = maker.order_params(maker.order(1, True, "1", "1990.005"))
    good2 = maker.order_params(maker.order(1, True, "0.5", "1980"))
    res = rpc.ok("place_orders", {"orders": [good1, off_tick, good2]})["results"]
    assert res[0]["result"]["status"] == "open" and res[2]["result"]["status"] == "open"
    assert res[1]["error"]["code"] == 1004
    assert res[2]["result"]["seq"] == res[0]["result"]["seq"] + 1
    book = rpc.ok("get_book", {"market": 1, "depth": 5})
    assert book["bids"] == [["1990", "1"], ["1980", "0.5"]] and book["asks"] == []
    opens = rpc.ok("get_open_orders", {"account": maker.address})
    assert [o["limit_price"] for o in opens] == ["1990", "1980"]


def test_cancel_order__signed_cancel__order_leaves_the_book(funded, maker):
    rpc = funded
    placed = rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", "2100")))
    res = rpc.ok("cancel_order", maker.cancel_params(placed["order_hash"]))
    assert (res["status"], res["remaining"]) == ("cancelled", "1")
    view = rpc.ok("get_order", {"order_hash": placed["order_hash"]})
    assert (view["status"], view["reason"]) == ("cancelled", "user")
    assert rpc.ok("get_book", {"market": 1})["asks"] == []


def test_cancel_orders__by_ids__each_cancelled(funded, maker):
    rpc = funded
    hashes = [rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", p)))["order_hash"]
              for p in ("2100", "2200")]
    res = rpc.ok("cancel_orders", {"cancels": [maker.cancel_params(h) for h in hashes]})
    assert [r["result"]["order_hash"] for r in res["results"]] == hashes


def test_cancel_all__one_market__only_that_market_cancelled(funded, maker):
    rpc = funded
    eth = rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", "2100")))
    btc = rpc.ok("place_order", maker.order_params(maker.order(2, False, "0.1", "40000")))
    res = rpc.ok("cancel_all", maker.cancel_all_params(1))
    assert res["cancelled"] == [eth["order_hash"]]
    assert [o["order_hash"] for o in rpc.ok("get_open_orders", {"account": maker.address})] \
        == [btc["order_hash"]]
    res = rpc.ok("cancel_all", maker.cancel_all_params(None))
    assert res["cancelled"] == [btc["order_hash"]]


def test_get_markets__default_markets__parameters_as_decimals(rpc):
    eth, btc = rpc.ok("get_markets")
    assert (eth["symbol"], eth["tick_size"], eth["step_size"], eth["imf"], eth["mmf"]) == \
        ("ETH-USD", "0.01", "0.001", "0.05", "0.03")
    assert (btc["symbol"], btc["tick_size"], btc["taker_fee_rate"]) == ("BTC-USD", "0.1", "0.0005")


def test_get_prices__after_index__index_mark_and_book_top(funded, maker):
    rpc = funded
    rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", "2001")))
    p = rpc.ok("get_prices", {"market": 1})
    assert (p["index"], p["mark"], p["best_ask"], p["best_bid"]) == ("2000", "2000", "2001", None)
    assert p["next_funding_ts_ms"] % (8 * 3600 * 1000) == 0
    assert rpc.ok("get_prices", {"market": 2})["index"] == "40000"


def test_get_prices__before_any_index__prices_null(rpc):
    p = rpc.ok("get_prices", {"market": 2})
    assert (p["index"], p["mark"], p["next_funding_ts_ms"]) == (None, None, None)


def test_get_positions__premium_above_index__funding_projection_consistent(funded, maker, taker):
    rpc = funded
    rpc.ok("place_order", maker.order_params(maker.order(1, False, "1", "2000")))
    rpc.ok("place_order", taker.order_params(taker.order(1, True, "1", "2000", flags=FLAG_IOC)))
    (pos,) = rpc.ok("get_positions", {"account": taker.address})
    funding = rpc.ok("get_funding", {"market": 1})
    assert pos["funding_rate_projected"] == funding["projected_rate"]
    # the book had no bid at the first sample: premium 0, so interest alone, 0.01% per 8 h
    assert funding["projected_rate"] == "0.0001"
    # 1 ETH x mark 2000 x 0.0001 = 0.2 paid by the long, received by the short
    assert pos["funding_next_payment"] == "0.2"
    (short,) = rpc.ok("get_positions", {"account": maker.address})
    assert short["funding_next_payment"] == "-0.2"
    assert pos["next_funding_ts_ms"] == funding["next_funding_ts_ms"]
    accrued = to_wad(pos["funding_accrued"], "accrued")
    assert 0 < accrued <= to_wad("0.2", "x")


def test_get_insurance__fresh_engine__zero_balance_no_history(rpc):
    assert rpc.ok("get_insurance") == {"balance": "0", "history": []}


def test_get_adl_queue__no_positions__empty(funded):
    assert funded.ok("get_adl_queue", {"market": 1, "side": "long"}) == []


def test_notification__no_id__no_answer_but_applied(funded, maker):
    rpc = funded
    body = {"jsonrpc": "2.0", "method": "place_order",
            "params": maker.order_params(maker.order(1, False, "1", "2300"))}
    assert rpc.post(body) is None
    assert [o["limit_price"] for o in rpc.ok("get_open_orders", {"account": maker.address})] \
        == ["2300"]


def test_batch__place_orders_and_reads__answers_in_request_order(funded, maker):
    rpc = funded
    a = maker.order_params(maker.order(1, False, "1", "2300"))
    b = maker.order_params(maker.order(1, False, "1", "2400"))
    body = [{"jsonrpc": "2.0", "id": "a", "method": "place_order", "params": a},
            {"jsonrpc": "2.0", "id": "b", "method": "place_order", "params": b},
            {"jsonrpc": "2.0", "id": "c", "method": "get_book", "params": {"market": 1}}]
    resp = rpc.post(body)
    assert [r["id"] for r in resp] == ["a", "b", "c"]
    assert resp[1]["result"]["seq"] == resp[0]["result"]["seq"] + 1
    assert resp[2]["result"]["asks"] == [["2300", "1"], ["2400", "1"]]
